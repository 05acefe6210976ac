package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code validate}'s warnings about the product's own images and imageMetadata rules. */
class CheckOwnImagesTest {
  @TempDir Path tmp;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int validate(String policy, String... more) throws Exception {
    Path p = tmp.resolve("policy.yaml");
    Files.writeString(p, policy);
    String[] args = new String[3 + more.length];
    args[0] = "validate";
    args[1] = "--policy";
    args[2] = p.toString();
    System.arraycopy(more, 0, args, 3, more.length);
    return ControllerMain.run(
        args,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private static String policy(String admission) {
    return "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nadmission:\n"
        + admission;
  }

  @Test
  void defaultImagesAreTheManifestsImages() throws Exception {
    Pattern image = Pattern.compile("(?m)^\\s*image:\\s*(\\S+)\\s*$");
    TreeSet<String> found = new TreeSet<>();
    try (Stream<Path> files = Files.list(Path.of("../manifests"))) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.toString().endsWith(".yaml")) {
          Matcher m = image.matcher(Files.readString(f));
          while (m.find()) {
            found.add(m.group(1));
          }
        }
      }
    }
    assertEquals(found, new TreeSet<>(CheckOwnImages.DEFAULT_IMAGES));
  }

  @Test
  void warnsWhenOwnNamespaceIsCheckedAndImagesAreNotAllowed() throws Exception {
    String p =
        policy(
            "  exemptNamespaces: [kube-system]\n  allowedSources: [{prefix: registry.corp.example}]\n");
    assertEquals(0, validate(p), err.toString(StandardCharsets.UTF_8));
    String o = out();
    assertTrue(
        o.contains(
            "warning: admission would deny the product's own image in its namespace registry-policy:"
                + " container \"agent\": image \"registry-policy.invalid/agent:0.1.0\" is not from"
                + " an allowed source (rule allowedSources)"),
        o);
    assertTrue(o.contains("image \"registry-policy.invalid/controller:0.1.0\""), o);
  }

  @Test
  void noWarningWhenExemptByDefaultOrAllowed() throws Exception {
    assertEquals(0, validate(policy("  allowedSources: [{prefix: registry.corp.example}]\n")));
    assertFalse(out().contains("warning"), out());
    out.reset();
    String allowsHub =
        policy("  exemptNamespaces: []\n  allowedSources: [{prefix: registry-policy.invalid}]\n");
    assertEquals(0, validate(allowsHub));
    assertFalse(out().contains("warning"), out());
  }

  @Test
  void ownImageAndNamespaceFlags() throws Exception {
    String p =
        policy(
            "  exemptNamespaces: [kube-system]\n  allowedSources: [{prefix: registry.corp.example}]\n");
    assertEquals(
        0,
        validate(
            p,
            "--own-image",
            "registry.corp.example/rp/agent:1",
            "--own-image=registry.corp.example/rp/controller:1"));
    assertFalse(out().contains("warning"), out());
    out.reset();
    assertEquals(
        0, validate(p, "--own-image", "quay.io/rp/agent:1", "--own-namespace", "platform"));
    assertTrue(
        out()
            .contains(
                "in its namespace platform: container \"agent\": image \"quay.io/rp/agent:1\""),
        out());
    assertEquals(2, validate(p, "--own-image"));
    assertEquals(2, validate(p, "--own-namespace", "UPPER"));
  }

  @Test
  void warnModeIsReportedAsWarn() throws Exception {
    String p =
        policy(
            "  mode: Warn\n  exemptNamespaces: []\n  rules: [{name: pinned, requireDigest: true}]\n");
    assertEquals(0, validate(p));
    assertTrue(
        out().contains("warning: admission would warn about the product's own image")
            && out().contains("is not pinned by digest (rule pinned)"),
        out());
  }

  @Test
  void imageMetadataRulesSayWhatEvaluatesThem() throws Exception {
    String p = policy("  rules: [{name: content, imageMetadata: {denyRunAsRoot: true}}]\n");
    assertEquals(0, validate(p));
    assertTrue(out().contains("note: rule content: its imageMetadata checks"), out());
    assertTrue(out().contains("admission webhook (run --webhook"), out());
    assertTrue(out().contains("check --registry-access"), out());
    assertTrue(out().contains("onError (Deny)"), out());
    assertFalse(out().contains("not enforced"), out());
  }

  @Test
  void containerNames() {
    assertEquals("agent", CheckOwnImages.containerName("registry-policy/agent:0.1.0", 0));
    assertEquals("c", CheckOwnImages.containerName("a.example:5000/b/c@sha256:00", 0));
    assertEquals("image-2", CheckOwnImages.containerName("UPPER", 1));
  }
}
