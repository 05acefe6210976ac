package dev.registrypolicy.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.ImageContentCheck.Decision;
import dev.registrypolicy.admission.ImageContentCheck.Outcome;
import dev.registrypolicy.policy.AdmissionRule.ImageMetadataRule;
import dev.registrypolicy.policy.AdmissionRule.OnError;
import dev.registrypolicy.policy.AdmissionRule.Platform;
import dev.registrypolicy.policy.AdmissionRule.RequiredLabel;
import dev.registrypolicy.policy.Glob;
import dev.registrypolicy.policy.ImageRef;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The truth table of one image-content rule on one container. */
class ImageContentCheckTest {
  static final ImageRef REF = ref("registry.corp.example/app:1");

  static ImageRef ref(String s) {
    try {
      return ImageRef.parse(s);
    } catch (dev.registrypolicy.policy.InvalidImageRefException e) {
      throw new AssertionError(e);
    }
  }

  static final ImageMetadataRule ROOT = new ImageMetadataRule(true, null);

  static ImageMetadata md(String user) {
    return md(user, 1000, Map.of(), "linux", "amd64", "");
  }

  static ImageMetadata md(
      String user, long size, Map<String, String> labels, String os, String arch, String variant) {
    return new ImageMetadata(
        "sha256:" + "a".repeat(64), null, user, labels, os, arch, variant, size);
  }

  static Outcome eval(ImageMetadataRule rule, RunAs runAs, ImageMetadata md) {
    return ImageContentCheck.evaluate(rule, runAs, REF, MetadataLookup.found(md));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "0", "root", "0:0", "root:root", "root:1000", "0:1000", "00", ":0"})
  void rootSpellingsAreRoot(String user) {
    assertTrue(ImageContentCheck.isRootUser(user));
    Outcome o = eval(ROOT, RunAs.UNSET, md(user));
    assertEquals(Decision.BROKEN, o.decision());
    assertEquals("runs as root (config user \"" + user + "\")", o.what());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"1000", "1000:1000", "nobody", "app:0", "65534:0", "10", "rootless", "Root"})
  void nonRootUsersPass(String user) {
    assertFalse(ImageContentCheck.isRootUser(user));
    assertEquals(Decision.PASS, eval(ROOT, RunAs.UNSET, md(user)).decision());
  }

  /** Pod level, container level, effective: container fields override the Pod's, one by one. */
  @ParameterizedTest
  @CsvSource(
      nullValues = "-",
      value = {
        // podNonRoot, podUser, ctrNonRoot, ctrUser, rootImageDenied
        "-, -, -, -, true",
        "true, -, -, -, false",
        "-, 1000, -, -, false",
        "-, -, true, -, false",
        "-, -, -, 1000, false",
        "true, -, false, -, true", // the container turns the Pod's runAsNonRoot off
        "false, -, true, -, false",
        "-, 1000, -, 0, true", // the container asks for uid 0
        "-, 0, -, 1000, false",
        "true, 0, -, -, true", // runAsUser 0: root whatever runAsNonRoot says
        "false, -, -, -, true",
        "-, 0, -, -, true",
      })
  void securityContextOverrides(
      Boolean podNonRoot, Long podUser, Boolean ctrNonRoot, Long ctrUser, boolean denied) {
    RunAs eff = new RunAs(ctrNonRoot, ctrUser).over(new RunAs(podNonRoot, podUser));
    Outcome o = eval(ROOT, eff, md("root"));
    assertEquals(denied ? Decision.BROKEN : Decision.PASS, o.decision(), () -> eff.toString());
  }

  @Test
  void runAsUserZeroIsRootEvenForANonRootImage() {
    Outcome o = eval(ROOT, new RunAs(null, 0L), md("1000"));
    assertEquals("runs as root (securityContext runAsUser 0)", o.what());
  }

  @Test
  void sizeBoundaries() {
    ImageMetadataRule rule = new ImageMetadataRule(false, 2L << 30);
    assertEquals(
        Decision.PASS,
        eval(rule, RunAs.UNSET, md("", 2L << 30, Map.of(), "linux", "amd64", "")).decision());
    Outcome over = eval(rule, RunAs.UNSET, md("", (2L << 30) + 1, Map.of(), "linux", "amd64", ""));
    assertEquals(
        "is 2.0 GiB (2147483649 bytes of layers), over the maxSize of 2.0 GiB (2147483648 bytes)",
        over.what());
    Outcome big = eval(rule, RunAs.UNSET, md("", 2_468_421_632L, Map.of(), "linux", "amd64", ""));
    assertEquals(
        "is 2.3 GiB (2468421632 bytes of layers), over the maxSize of 2.0 GiB (2147483648 bytes)",
        big.what());
    ImageMetadataRule tiny = new ImageMetadataRule(false, 100L);
    assertEquals(
        "is 101 B (101 bytes of layers), over the maxSize of 100 B (100 bytes)",
        eval(tiny, RunAs.UNSET, md("", 101, Map.of(), "linux", "amd64", "")).what());
    assertEquals("1.5 KiB", ImageContentCheck.humanBytes(1536));
    assertEquals("8.0 EiB", ImageContentCheck.humanBytes(Long.MAX_VALUE));
  }

  static ImageMetadataRule labels(RequiredLabel... ls) {
    return new ImageMetadataRule(false, null, List.of(ls), List.of(), false, OnError.DENY);
  }

  @Test
  void labelsWithAndWithoutGlobs() {
    ImageMetadataRule rule =
        labels(
            new RequiredLabel("org.opencontainers.image.source", Glob.of("https://git.corp/*")),
            new RequiredLabel("team", null));
    Map<String, String> good =
        Map.of("org.opencontainers.image.source", "https://git.corp/shop/app", "team", "");
    assertEquals(
        Decision.PASS, eval(rule, RunAs.UNSET, md("", 1, good, "linux", "amd64", "")).decision());
    assertEquals(
        "lacks the required label \"team\"",
        eval(
                rule,
                RunAs.UNSET,
                md(
                    "",
                    1,
                    Map.of("org.opencontainers.image.source", "https://git.corp/x"),
                    "linux",
                    "amd64",
                    ""))
            .what());
    assertEquals(
        "has label \"org.opencontainers.image.source\" = \"https://evil.example/x\", which does"
            + " not match \"https://git.corp/*\"",
        eval(
                rule,
                RunAs.UNSET,
                md(
                    "",
                    1,
                    Map.of(
                        "org.opencontainers.image.source", "https://evil.example/x", "team", "a"),
                    "linux",
                    "amd64",
                    ""))
            .what());
    assertEquals(
        "lacks the required label \"org.opencontainers.image.source\"",
        eval(rule, RunAs.UNSET, md("", 1, Map.of(), "linux", "amd64", "")).what());
  }

  @Test
  void questionMarkGlobAndHostileLabelValue() {
    ImageMetadataRule rule = labels(new RequiredLabel("v", Glob.of("1.?.*")));
    assertEquals(
        Decision.PASS,
        eval(rule, RunAs.UNSET, md("", 1, Map.of("v", "1.2.3"), "linux", "amd64", "")).decision());
    String huge = "1.2." + "x".repeat(ImageContentCheck.MAX_LABEL_VALUE_COMPARED);
    Outcome o = eval(rule, RunAs.UNSET, md("", 1, Map.of("v", huge), "linux", "amd64", ""));
    assertEquals(Decision.BROKEN, o.decision());
    assertTrue(o.what().endsWith("(values over 4096 characters never match)"), o.what());
    assertTrue(o.what().length() < 400, "the value is cut in the message");
    Outcome ctl =
        eval(
            labels(new RequiredLabel("v", Glob.of("ok"))),
            RunAs.UNSET,
            md("", 1, Map.of("v", "bad\nline\u202e"), "linux", "amd64", ""));
    assertFalse(ctl.what().contains("\n"), ctl.what());
    assertFalse(ctl.what().contains("\u202e"), ctl.what());
  }

  @Test
  void platforms() {
    ImageMetadataRule rule =
        new ImageMetadataRule(
            false,
            null,
            List.of(),
            List.of(new Platform("linux", "amd64", ""), new Platform("linux", "arm", "v7")),
            false,
            OnError.DENY);
    assertEquals(
        Decision.PASS,
        eval(rule, RunAs.UNSET, md("", 1, Map.of(), "linux", "amd64", "v3")).decision());
    assertEquals(
        Decision.PASS,
        eval(rule, RunAs.UNSET, md("", 1, Map.of(), "linux", "arm", "v7")).decision());
    assertEquals(
        "is for platform \"linux/arm/v6\", not one of the allowed platforms linux/amd64,"
            + " linux/arm/v7",
        eval(rule, RunAs.UNSET, md("", 1, Map.of(), "linux", "arm", "v6")).what());
    assertEquals(
        "is for platform \"linux/arm\", not one of the allowed platforms linux/amd64, linux/arm/v7",
        eval(rule, RunAs.UNSET, md("", 1, Map.of(), "linux", "arm", "")).what());
    assertEquals(
        "is for platform \"windows/amd64\", not one of the allowed platforms linux/amd64,"
            + " linux/arm/v7",
        eval(rule, RunAs.UNSET, md("", 1, Map.of(), "windows", "amd64", "")).what());
  }

  @Test
  void firstBrokenCheckInOrder() {
    ImageMetadataRule all =
        new ImageMetadataRule(
            true,
            10L,
            List.of(new RequiredLabel("a", null)),
            List.of(new Platform("linux", "amd64", "")),
            true,
            OnError.DENY);
    assertTrue(
        eval(all, RunAs.UNSET, md("0", 99, Map.of(), "windows", "x", ""))
            .what()
            .startsWith("runs as root"));
    assertTrue(
        eval(all, RunAs.UNSET, md("1", 99, Map.of(), "windows", "x", ""))
            .what()
            .startsWith("is for platform"));
    assertTrue(
        eval(all, RunAs.UNSET, md("1", 99, Map.of(), "linux", "amd64", ""))
            .what()
            .startsWith("is 99 B"));
    assertTrue(
        eval(all, RunAs.UNSET, md("1", 9, Map.of(), "linux", "amd64", ""))
            .what()
            .startsWith("lacks"));
    assertEquals(
        Decision.PASS,
        eval(all, RunAs.UNSET, md("1", 9, Map.of("a", "b"), "linux", "amd64", "")).decision());
  }

  @Test
  void notFound() {
    ImageMetadataRule known =
        new ImageMetadataRule(false, null, List.of(), List.of(), true, OnError.ALLOW);
    MetadataLookup nf = MetadataLookup.failed(MetadataFailure.NOT_FOUND, "manifest unknown");
    assertEquals(
        new Outcome(Decision.BROKEN, "is not in its registry (tag \"1\" not found)"),
        ImageContentCheck.evaluate(known, RunAs.UNSET, REF, nf));
    ImageRef pinned = ref("registry.corp.example/app@sha256:" + "b".repeat(64));
    assertEquals(
        "is not in its registry (digest \"sha256:" + "b".repeat(64) + "\" not found)",
        ImageContentCheck.evaluate(known, RunAs.UNSET, pinned, nf).what());
    // Without requireKnownDigest, "not found" is an error like the others: onError decides.
    assertEquals(
        Decision.ERROR_ALLOWED,
        ImageContentCheck.evaluate(
                new ImageMetadataRule(true, null, List.of(), List.of(), false, OnError.ALLOW),
                RunAs.UNSET,
                REF,
                nf)
            .decision());
  }

  /** Each failure kind x onError: Deny breaks the rule (with the reason), Allow passes it. */
  @ParameterizedTest
  @EnumSource(MetadataFailure.class)
  void failuresFollowOnError(MetadataFailure kind) {
    MetadataLookup failed =
        MetadataLookup.failed(kind, "registry registry.corp.example: something\nwent wrong");
    Outcome denied =
        ImageContentCheck.evaluate(
            new ImageMetadataRule(true, null, List.of(), List.of(), false, OnError.DENY),
            RunAs.UNSET,
            REF,
            failed);
    assertEquals(Decision.ERROR_DENIED, denied.decision());
    assertEquals(
        "could not be checked ("
            + kind.words()
            + ": registry registry.corp.example: something?went wrong; onError Deny)",
        denied.what());
    Outcome allowed =
        ImageContentCheck.evaluate(
            new ImageMetadataRule(true, null, List.of(), List.of(), false, OnError.ALLOW),
            RunAs.UNSET,
            REF,
            failed);
    assertEquals(Decision.ERROR_ALLOWED, allowed.decision());
    assertNull(allowed.what());
    assertFalse(allowed.finding());
  }

  @Test
  void longReasonsAreCut() {
    Outcome o =
        ImageContentCheck.evaluate(
            ROOT,
            RunAs.UNSET,
            REF,
            MetadataLookup.failed(MetadataFailure.ERROR, "x".repeat(10_000)));
    assertTrue(o.what().length() < 400, o.what());
  }
}
