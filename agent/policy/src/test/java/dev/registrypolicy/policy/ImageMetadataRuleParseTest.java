package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.AdmissionRule.ImageMetadataRule;
import dev.registrypolicy.policy.AdmissionRule.OnError;
import dev.registrypolicy.policy.AdmissionRule.Platform;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code rules[].imageMetadata}: every field, its validation, limits and typo hints. */
class ImageMetadataRuleParseTest {
  static final String HEAD = PolicyParserTest.HEAD + "admission:\n  rules:\n    - name: content\n";

  static ImageMetadataRule meta(String body) throws PolicyException {
    Policy p = PolicyParser.parse(HEAD + "      imageMetadata:\n" + body);
    return p.admission().rules().get(0).imageMetadata();
  }

  static List<String> problems(String body) {
    return PolicyParserTest.problems(HEAD + "      imageMetadata:\n" + body);
  }

  @Test
  void everyField() throws Exception {
    ImageMetadataRule m =
        meta(
            "        denyRunAsRoot: true\n"
                + "        maxSize: 500Mi\n"
                + "        requiredLabels:\n"
                + "          - {key: org.opencontainers.image.source, value: 'https://git.corp/*'}\n"
                + "          - {key: team}\n"
                + "        allowedPlatforms: [linux/amd64, linux/arm64/v8]\n"
                + "        requireKnownDigest: true\n"
                + "        onError: Allow\n");
    assertTrue(m.denyRunAsRoot());
    assertEquals(500L << 20, m.maxSizeBytes());
    assertEquals(2, m.requiredLabels().size());
    assertEquals("org.opencontainers.image.source", m.requiredLabels().get(0).key());
    assertEquals("https://git.corp/*", m.requiredLabels().get(0).value().pattern());
    assertNull(m.requiredLabels().get(1).value());
    assertEquals(
        List.of(new Platform("linux", "amd64", ""), new Platform("linux", "arm64", "v8")),
        m.allowedPlatforms());
    assertTrue(m.requireKnownDigest());
    assertEquals(OnError.ALLOW, m.onError());
  }

  @Test
  void onErrorDefaultsToDeny() throws Exception {
    assertEquals(OnError.DENY, meta("        denyRunAsRoot: true\n").onError());
    assertEquals(OnError.DENY, OnError.DEFAULT);
  }

  @Test
  void contentRulesAreNotCheckedAtAdmissionButNeedTheWebhook() throws Exception {
    Policy p = PolicyParser.parse(HEAD + "      imageMetadata: {requireKnownDigest: true}\n");
    AdmissionRule r = p.admission().rules().get(0);
    assertFalse(r.checksAtAdmission());
    assertTrue(r.checksImageContent());
    assertFalse(p.admission().enforcesSomething());
    assertTrue(p.admission().hasImageContentRules());
    Policy none = PolicyParser.parse(PolicyParserTest.HEAD + "admission:\n  allowedSources: []\n");
    assertFalse(none.admission().hasImageContentRules());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "maxSize: 2Gi | 2147483648",
        "maxSize: 1 | 1",
        "maxSize: 1500M | 1500000000",
      })
  void sizes(String line, long bytes) throws Exception {
    assertEquals(bytes, meta("        " + line + "\n").maxSizeBytes());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "maxSize: 0 | admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found \"0\"",
        "maxSize: -1 | admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found \"-1\"",
        "maxSize: 2GB | admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found \"2GB\"",
        "maxSize: true | admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found a boolean",
        "maxSize: 1.5 | admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found \"1.5\"",
        "maxSize: 99999999999Pi | admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found \"99999999999Pi\"",
        "maxSize: [1] | admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found a list",
        "onError: allow | admission.rules[0].imageMetadata.onError: must be Allow or Deny, found \"allow\"",
        "onError: 1 | admission.rules[0].imageMetadata.onError: must be a string, found a number",
        "denyRunAsRoot: yes please | admission.rules[0].imageMetadata.denyRunAsRoot: must be true or false, found a string",
        "requireKnownDigest: false | admission.rules[0].imageMetadata: checks nothing (set denyRunAsRoot, maxSize, requiredLabels, allowedPlatforms or requireKnownDigest)",
        "onError: Allow | admission.rules[0].imageMetadata: checks nothing (set denyRunAsRoot, maxSize, requiredLabels, allowedPlatforms or requireKnownDigest)",
        "runAsRoot: true | admission.rules[0].imageMetadata.runAsRoot: unknown key (use denyRunAsRoot)",
        "requireResolvable: true | admission.rules[0].imageMetadata.requireResolvable: unknown key (use requireKnownDigest)",
        "platforms: [linux/amd64] | admission.rules[0].imageMetadata.platforms: unknown key (use allowedPlatforms)",
        "onFailure: Deny | admission.rules[0].imageMetadata.onFailure: unknown key (use onError)",
        "maxSzie: 1Gi | admission.rules[0].imageMetadata.maxSzie: unknown key (did you mean \"maxSize\"?)",
        "allowedPlatforms: [linux] | admission.rules[0].imageMetadata.allowedPlatforms[0]: invalid platform \"linux\" (want os/architecture or os/architecture/variant, such as linux/amd64 or linux/arm64/v8: lowercase letters, digits, \".\", \"_\" and \"-\", at most 32 per part)",
        "allowedPlatforms: [Linux/AMD64] | admission.rules[0].imageMetadata.allowedPlatforms[0]: invalid platform \"Linux/AMD64\" (want os/architecture or os/architecture/variant, such as linux/amd64 or linux/arm64/v8: lowercase letters, digits, \".\", \"_\" and \"-\", at most 32 per part)",
        "allowedPlatforms: [linux/arm/v7/x] | admission.rules[0].imageMetadata.allowedPlatforms[0]: invalid platform \"linux/arm/v7/x\" (want os/architecture or os/architecture/variant, such as linux/amd64 or linux/arm64/v8: lowercase letters, digits, \".\", \"_\" and \"-\", at most 32 per part)",
        "allowedPlatforms: [linux//v7] | admission.rules[0].imageMetadata.allowedPlatforms[0]: invalid platform \"linux//v7\" (want os/architecture or os/architecture/variant, such as linux/amd64 or linux/arm64/v8: lowercase letters, digits, \".\", \"_\" and \"-\", at most 32 per part)",
        "allowedPlatforms: [''] | admission.rules[0].imageMetadata.allowedPlatforms[0]: must be a non-empty string, found an empty string",
        "allowedPlatforms: linux/amd64 | admission.rules[0].imageMetadata.allowedPlatforms: must be a list, found a string",
        "requiredLabels: [{value: x}] | admission.rules[0].imageMetadata.requiredLabels[0].key: required",
        "requiredLabels: [{key: ''}] | admission.rules[0].imageMetadata.requiredLabels[0].key: must not be empty",
        "requiredLabels: [{key: a, value: 3}] | admission.rules[0].imageMetadata.requiredLabels[0].value: must be a string, found a number",
        "requiredLabels: [{name: a}] | admission.rules[0].imageMetadata.requiredLabels[0].key: required",
        "requiredLabels: [team] | admission.rules[0].imageMetadata.requiredLabels[0]: must be a mapping, found a string",
        "requiredLabels: {team: x} | admission.rules[0].imageMetadata.requiredLabels: must be a list, found a mapping",
        "labels: {team: x} | admission.rules[0].imageMetadata.labels: unknown key (use requiredLabels: [{key: ..., value: ...}])",
      })
  void problemsNameTheirPath(String line, String expected) {
    List<String> got = problems("        " + line + "\n");
    assertTrue(got.contains(expected), () -> got.toString());
  }

  @Test
  void unknownKeyInALabelHasAHint() {
    List<String> got = problems("        requiredLabels: [{key: a, pattern: 'x*'}]\n");
    assertTrue(
        got.contains(
            "admission.rules[0].imageMetadata.requiredLabels[0].pattern: unknown key (use value)"),
        got::toString);
  }

  @Test
  void duplicateLabelKey() {
    List<String> got = problems("        requiredLabels: [{key: a}, {key: a, value: b}]\n");
    assertEquals(
        List.of("admission.rules[0].imageMetadata.requiredLabels[1].key: duplicate label \"a\""),
        got);
  }

  @Test
  void limits() {
    StringBuilder labels = new StringBuilder("        requiredLabels:\n");
    for (int i = 0; i <= PolicyLimits.MAX_REQUIRED_LABELS; i++) {
      labels.append("          - {key: k").append(i).append("}\n");
    }
    assertEquals(
        List.of("admission.rules[0].imageMetadata.requiredLabels: too many items (65, at most 64)"),
        problems(labels.toString()));

    StringBuilder platforms = new StringBuilder("        allowedPlatforms:\n");
    for (int i = 0; i <= PolicyLimits.MAX_ALLOWED_PLATFORMS; i++) {
      platforms.append("          - linux/a").append(i).append("\n");
    }
    assertEquals(
        List.of(
            "admission.rules[0].imageMetadata.allowedPlatforms: too many platforms (33, at most"
                + " 32)"),
        problems(platforms.toString()));

    String longKey = "k".repeat(PolicyLimits.MAX_LABEL_KEY_CHARS + 1);
    assertEquals(
        List.of(
            "admission.rules[0].imageMetadata.requiredLabels[0].key: too long (257 characters,"
                + " at most 256)"),
        problems("        requiredLabels: [{key: " + longKey + "}]\n"));
    String longGlob = "*".repeat(PolicyLimits.MAX_LABEL_VALUE_PATTERN_CHARS + 1);
    assertEquals(
        List.of(
            "admission.rules[0].imageMetadata.requiredLabels[0].value: pattern too long (1025"
                + " characters, at most 1024)"),
        problems("        requiredLabels: [{key: a, value: '" + longGlob + "'}]\n"));
    assertEquals(
        List.of(
            "admission.rules[0].imageMetadata.allowedPlatforms[0]: invalid platform \"linux/"
                + "a".repeat(33)
                + "\" (want os/architecture or os/architecture/variant, such as linux/amd64 or"
                + " linux/arm64/v8: lowercase letters, digits, \".\", \"_\" and \"-\", at most 32"
                + " per part)"),
        problems("        allowedPlatforms: [linux/" + "a".repeat(33) + "]\n"));
  }

  @Test
  void controlCharactersInALabelKeyAreRefusedAndNotEchoed() {
    List<String> got = problems("        requiredLabels: [{key: \"a\\u0007b\"}]\n");
    assertEquals(
        List.of(
            "admission.rules[0].imageMetadata.requiredLabels[0].key: must not contain control"
                + " characters"),
        got);
  }

  @Test
  void anInvalidImageMetadataIsNotAlsoAnEmptyRule() {
    List<String> got = problems("        maxSize: nope\n");
    assertEquals(
        List.of(
            "admission.rules[0].imageMetadata.maxSize: must be a size such as 500Mi or 2Gi, found"
                + " \"nope\""),
        got);
  }

  @Test
  void summaryDescribesTheChecks() throws Exception {
    Policy p =
        PolicyParser.parse(
            HEAD
                + "      imageMetadata: {denyRunAsRoot: true, maxSize: 1Ki,"
                + " allowedPlatforms: [linux/amd64], requiredLabels: [{key: a}]}\n");
    String s = PolicySummary.describe(p.admission().rules().get(0).imageMetadata());
    assertEquals(
        "no root user, platforms linux/amd64, max 1024 bytes, 1 required labels, onError Deny", s);
  }
}
