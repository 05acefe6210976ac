package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyParserTest {
  static final Path EXAMPLE = Path.of("../../manifests/policy-configmap.yaml");

  static final String HEAD = "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";

  static List<String> problems(String yaml) {
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyParser.parse(yaml));
    return e.problems().stream().map(Problem::toString).collect(Collectors.toList());
  }

  @Test
  void parse_example_exercisesEverySection() throws Exception {
    Policy p = PolicyDocument.parse(Files.readString(EXAMPLE));
    assertEquals(Policy.API_VERSION, p.apiVersion());
    assertEquals(5, p.registries().size());
    Registry hub = p.registry("docker.io").orElseThrow();
    assertEquals(UpstreamMode.FALLBACK, hub.upstreamMode());
    assertEquals("https://registry-1.docker.io", hub.upstreamUrl().toString());
    assertEquals(2, hub.mirrors().size());
    Endpoint m0 = hub.mirrors().get(0);
    assertEquals("https://hub-mirror.corp.example", m0.url().toString());
    assertEquals(List.of(Capability.PULL, Capability.RESOLVE), m0.orderedCapabilities());
    assertEquals("2s", m0.dialTimeout());
    assertEquals(List.of(new SecretKeyRef("corp-ca", "ca.crt")), m0.ca());
    assertEquals("hub-mirror", m0.credentials());
    Endpoint m1 = hub.mirrors().get(1);
    assertTrue(m1.overridePath());
    assertEquals(Set.of(Capability.PULL), m1.capabilities());
    assertEquals(new SecretKeyRef("pull-through-client", "tls.crt"), m1.clientCert().cert());
    assertEquals(new SecretKeyRef("pull-through-client", "tls.key"), m1.clientCert().key());
    assertEquals(2, m1.ca().size());
    assertEquals(UpstreamMode.NEVER, p.registry("ghcr.io").orElseThrow().upstreamMode());
    Registry priv = p.registry("registry.corp.example:5000").orElseThrow();
    assertEquals("corp", priv.upstream().credentials());
    assertEquals("https://registry.corp.example:5000", priv.upstreamUrl().toString());
    assertTrue(p.registry("lab-registry.corp.example").orElseThrow().upstream().skipVerify());
    Registry all = p.registry("*").orElseThrow();
    assertTrue(all.isCatchAll());
    assertEquals("_default", all.hostDirectory());
    assertNull(all.upstreamUrl());

    assertEquals(3, p.credentials().size());
    assertEquals("registry.corp.example", p.credential("corp").orElseThrow().registry());
    assertEquals(3, p.access().size());
    AccessGrant teamA = p.access().get(1);
    assertEquals("registry-policy-team-a", teamA.secretName());
    assertEquals(List.of("team-a-robot", "corp"), teamA.credentials());
    assertEquals(Set.of("default", "builder", "deployer"), teamA.serviceAccounts().names());
    assertTrue(teamA.namespaces().grants(new NamespaceInfo("x", Map.of("team", "a", "env", "prod"), Map.of())));
    assertFalse(teamA.namespaces().grants(new NamespaceInfo("x", Map.of("team", "a", "env", "qa"), Map.of())));
    assertTrue(p.access().get(2).serviceAccounts().all());
    assertTrue(p.access().get(0).namespaces().grants(NamespaceInfo.named("anything")));
    assertFalse(p.access().get(0).namespaces().grants(NamespaceInfo.named("kube-system")));
    assertFalse(p.access().get(0).namespaces().grants(
        new NamespaceInfo("opted", Map.of(), Map.of(NamespaceSelector.OPT_OUT_ANNOTATION, "true"))));

    Admission a = p.admission();
    assertEquals(AdmissionMode.DENY, a.mode());
    assertEquals(Set.of("kube-system", "registry-policy"), a.exemptNamespaces());
    assertEquals(5, a.allowedSources().size());
    assertTrue(a.allowedSources().get(0).isGlobal());
    assertFalse(a.allowedSources().get(4).isGlobal());
    assertEquals(5, a.rules().size());
    assertEquals(AdmissionMode.WARN, a.rules().get(1).mode());
    assertEquals(2L << 30, a.rules().get(4).imageMetadata().maxSizeBytes());
    assertEquals(64, p.sha256().length());
  }

  @Test
  void parse_severalMistakes_reportsEveryOneWithItsPath() {
    String yaml = HEAD
        + "credentials:\n"
        + "  - name: corp\n"
        + "    secret: corp-pull\n"
        + "registries:\n"
        + "  - host: docker.io\n"
        + "    mirrors: [{url: https://m1.example}]\n"
        + "  - host: quay.io\n"
        + "    mirrrors: []\n"
        + "  - host: ghcr.io\n"
        + "    mirrors:\n"
        + "      - url: ftp://files.example/x\n"
        + "        dialTimeout: soon\n"
        + "        capabilities: [pull, fetch]\n"
        + "        credentials: nope\n"
        + "  - host: ../../etc\n"
        + "  - host: docker.io\n"
        + "access:\n"
        + "  - name: Bad_Name\n"
        + "    credentials: [corp]\n"
        + "    namespaces: {names: [ok, NOT_OK]}\n"
        + "    serviceAccounts: some\n"
        + "admission:\n"
        + "  mode: Block\n"
        + "  allowedSources:\n"
        + "    - prefix: registry.corp/team:latest\n";
    List<String> got = problems(yaml);
    List<String> want = List.of(
        "access[0].name: invalid name \"Bad_Name\" (want lowercase letters, digits and \"-\", at most 63)",
        "access[0].namespaces.names[1]: invalid namespace name \"NOT_OK\"",
        "access[0].serviceAccounts: must be \"default\", \"all\", \"none\" or a list of ServiceAccount names, found \"some\"",
        "admission.mode: must be Deny, Warn or Audit, found \"Block\"",
        "registries[1].mirrrors: unknown key (did you mean \"mirrors\"?)",
        "registries[2].mirrors[0].capabilities[1]: unknown capability \"fetch\" (want pull, resolve or push)",
        "registries[2].mirrors[0].credentials: unknown credentials \"nope\" (not in credentials)",
        "registries[2].mirrors[0].dialTimeout: invalid duration \"soon\" (want a Go duration such as \"500ms\" or \"2s\")",
        "registries[2].mirrors[0].url: scheme \"ftp\" not allowed (want http or https)",
        "registries[3].host: invalid host \"../../etc\": a host has no path (remove everything from \"/\" on)",
        "registries[4].host: duplicate registry \"docker.io\" (also at registries[0])");
    for (String w : want) {
      assertTrue(got.contains(w), () -> "missing: " + w + "\ngot:\n  " + String.join("\n  ", got));
    }
    assertTrue(got.stream().anyMatch(s -> s.startsWith("admission.allowedSources[0].prefix: ")), got::toString);
    assertEquals(want.size() + 1, got.size(), () -> String.join("\n", got));
  }

  @ParameterizedTest
  @ValueSource(strings = {"..", "../x", "a/b", "a b", "a\tb", "a\u0000b", "a\nb", ".", "x..y", "-x.example",
      "x.example:0", "x.example:70000", "x.example:", "[::1", "é.example", "C:\\\\evil", "_default"})
  void parse_hostThatCouldEscapeCertsD_isRejected(String host) {
    String yaml = HEAD + "registries:\n  - host: \"" + host.replace("\\", "\\\\").replace("\n", "\\n")
        .replace("\t", "\\t").replace("\u0000", "\\0") + "\"\n";
    List<String> got = problems(yaml);
    assertEquals(1, got.size(), got::toString);
    assertTrue(got.get(0).startsWith("registries[0].host: "), got::toString);
    for (char c : got.get(0).toCharArray()) {
      assertTrue(c >= 0x20, "message must not carry raw control characters");
    }
  }

  @Test
  void parse_inlinePassword_isRejectedWithoutEchoingIt() {
    String yaml = HEAD
        + "credentials:\n"
        + "  - name: corp\n"
        + "    secret: corp-pull\n"
        + "    username: bob\n"
        + "    password: hunter2-very-secret\n"
        + "registries:\n"
        + "  - host: docker.io\n"
        + "    mirrors:\n"
        + "      - url: https://bob:s3cr3t-pass@mirror.example\n";
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyParser.parse(yaml));
    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cr3t"), e.getMessage());
    assertTrue(e.getMessage().contains("credentials[0].password: unknown key (inline credentials are not allowed"), e.getMessage());
    assertTrue(e.getMessage().contains("registries[0].mirrors[0].url: URL must not contain credentials"), e.getMessage());
  }

  @Test
  void parse_yamlSyntaxError_givesLineAndColumnButNotTheLine() {
    String yaml = HEAD + "credentials:\n  - name: corp\n    secret: \"hunter2-secret\n  broken: [\n";
    List<String> got = problems(yaml);
    assertEquals(1, got.size(), got::toString);
    assertTrue(got.get(0).startsWith("invalid YAML at line "), got::toString);
    assertFalse(got.get(0).contains("hunter2"), got::toString);
  }

  @Test
  void parse_duplicateKey_isReported() {
    List<String> got = problems(HEAD + "registries: []\nregistries: []\n");
    assertTrue(got.get(0).contains("duplicate key"), got::toString);
  }

  @Test
  void parse_wrongVersionAndKind_areReported() {
    List<String> got = problems("apiVersion: v2\nkind: Policy\n");
    assertEquals(List.of(
        "apiVersion: unsupported version \"v2\" (want registry-policy.dev/v1alpha1)",
        "kind: must be RegistryPolicy, found \"Policy\""), got);
  }

  @Test
  void parse_neverWithoutMirrors_isReported() {
    List<String> got = problems(HEAD + "registries:\n  - host: quay.io\n    upstream: Never\n");
    assertEquals(List.of("registries[0].upstream: Never needs at least one mirror (the registry would be unreachable)"), got);
  }

  @Test
  void parse_normalizesHostsAndUrls() throws Exception {
    Policy p = PolicyParser.parse(HEAD + "registries:\n"
        + "  - host: Index.Docker.IO\n    mirrors: [{url: \"HTTPS://Mirror.Example:8443/base/\"}]\n"
        + "  - host: \"[::1]:5000\"\n"
        + "  - host: 10.0.0.7:5000\n    url: http://10.0.0.7:5000\n");
    assertEquals("docker.io", p.registries().get(0).host());
    assertEquals("https://mirror.example:8443/base", p.registries().get(0).mirrors().get(0).url().toString());
    assertEquals("[::1]:5000", p.registries().get(1).host());
    assertEquals("http://10.0.0.7:5000", p.registries().get(2).upstreamUrl().toString());
  }

  @Test
  void parse_catchAllMustNotHaveUrl() {
    assertEquals(List.of("registries[0].url: the catch-all registry \"*\" has no URL of its own"),
        problems(HEAD + "registries:\n  - host: \"*\"\n    url: https://x.example\n"));
  }

  @Test
  void parse_caAsFilePath_isRejected() {
    List<String> got = problems(HEAD + "registries:\n  - host: a.example\n    ca: /etc/ssl/ca.pem\n");
    assertEquals(1, got.size());
    assertTrue(got.get(0).startsWith("registries[0].ca: must reference a Secret key"), got::toString);
  }

  @Test
  void parse_dialTimeoutAsNumber_explainsTheUnit() {
    List<String> got = problems(HEAD + "registries:\n  - host: a.example\n    mirrors: [{url: https://m.example, dialTimeout: 2}]\n");
    assertEquals(List.of("registries[0].mirrors[0].dialTimeout: must be a duration string such as \"500ms\" or \"2s\", found a number"), got);
  }

  /** Go's time.ParseDuration in nanoseconds; -1 where it fails for overflow (containerd 2.1 then drops the file). */
  @ParameterizedTest
  @CsvSource({
      "2s, 2000000000",
      "500ms, 500000000",
      "1h30m, 5400000000000",
      "1.5h, 5400000000000",
      ".5s, 500000000",
      "1.s, 1000000000",
      "1us, 1000",
      "1\u00b5s, 1000",
      "0.1ns, 0",
      "2562047h, 9223369200000000000",
      "2562047.7h, 9223371720000000000",
      "2562047h47m16.854775807s, 9223372036854775807",
      "2562047h47m16.8547758079999s, 9223372036854775807",
      "9223372036854775807ns, 9223372036854775807",
      "0.000000000000000000000000001h1ns, 1",
      "2562047h47m16.854775808s, -1",
      "9223372036854775808ns, -1",
      "2562048h, -1",
      "2562047.9999999h, -1",
      "3000000h, -1",
      "99999999999999999999s, -1",
      "2000000h2000000h, -1",
      "1h9223372036854775807ns, -1",
  })
  void durationNanos_matchesGoParseDuration(String duration, long nanos) {
    assertTrue(PolicyParser.validDuration(duration), duration);
    assertEquals(nanos, PolicyParser.durationNanos(duration), duration);
  }

  @ParameterizedTest
  @ValueSource(strings = {"3000000h", "99999999999999999999s", "2000000h2000000h", "2562048h", "2562047h47m16.854775808s"})
  void parse_dialTimeoutGoRejectsForOverflow_isAProblemAtItsPath(String duration) {
    String problem = "dialTimeout: duration \"" + duration + "\" is out of range (at most 2562047h47m16.854775807s)";
    assertEquals(List.of("registries[0]." + problem),
        problems(HEAD + "registries:\n  - host: a.example\n    dialTimeout: \"" + duration + "\"\n"));
    assertEquals(List.of("registries[0].mirrors[0]." + problem),
        problems(HEAD + "registries:\n  - host: a.example\n    mirrors: [{url: https://m.example, dialTimeout: \""
            + duration + "\"}]\n"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"2s", "500ms", "1h30m", "1.5h", "1\u00b5s", "2562047h47m16.854775807s", "9223372036854775807ns"})
  void parse_dialTimeoutWithinRange_isKeptAsWritten(String duration) throws Exception {
    Policy p = PolicyParser.parse(HEAD + "registries:\n  - host: a.example\n    mirrors: [{url: https://m.example, dialTimeout: \""
        + duration + "\"}]\n");
    assertEquals(duration, p.registries().get(0).mirrors().get(0).dialTimeout());
  }

  @Test
  void parse_accessReferencesUnknownCredentials_andNeedsNamespaces() {
    List<String> got = problems(HEAD + "access:\n  - name: g\n    credentials: ghost\n");
    assertEquals(List.of(
        "access[0].credentials: unknown credentials \"ghost\" (not in credentials)",
        "access[0].namespaces: required (use {} to grant every namespace)"), got);
  }

  @Test
  void parse_duplicateSecretNamesAcrossGrants_areReported() {
    List<String> got = problems(HEAD + "credentials: [{name: c, secret: s}]\naccess:\n"
        + "  - {name: a, credentials: c, secretName: pull, namespaces: {}}\n"
        + "  - {name: b, credentials: c, secretName: pull, namespaces: {}}\n");
    assertEquals(List.of("access[1].secretName: Secret name \"pull\" is also used by access[0]"), got);
  }

  @Test
  void parse_ruleThatChecksNothing_isReported() {
    List<String> got = problems(HEAD + "admission:\n  rules:\n    - name: empty\n");
    assertEquals(List.of("admission.rules[0]: rule checks nothing (set requireDigest, blockLatestTag, blockUntagged, "
        + "allowedNameTags, blockedImages or imageMetadata)"), got);
  }

  @Test
  void parse_labelSelectorErrors() {
    List<String> got = problems(HEAD + "credentials: [{name: c, secret: s}]\naccess:\n"
        + "  - name: a\n    credentials: c\n    namespaces:\n      selector:\n"
        + "        matchLabels: {\"bad key!\": x}\n"
        + "        matchExpressions:\n          - {key: env, operator: Has}\n          - {key: env, operator: In}\n");
    assertEquals(List.of(
        "access[0].namespaces.selector.matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist, found \"Has\"",
        "access[0].namespaces.selector.matchExpressions[1].values: required and non-empty for In",
        "access[0].namespaces.selector.matchLabels.bad key!: invalid label key \"bad key!\""), got);
  }

  @Test
  void parse_emptyDocument_isAProblem() {
    assertEquals(List.of("empty policy"), problems(""));
    assertEquals(List.of("must be a mapping, found a list"), problems("- a\n"));
  }

  @Test
  void sha256_changesWithText() throws Exception {
    Policy a = PolicyParser.parse(HEAD);
    Policy b = PolicyParser.parse(HEAD + "# comment\n");
    assertFalse(a.sha256().equals(b.sha256()));
  }

  @Test
  void policyDocument_acceptsBarePolicyConfigMapAndMultiDocumentManifests() throws Exception {
    String bare = HEAD + "registries: [{host: quay.io}]\n";
    assertEquals(bare, PolicyDocument.policyText(bare));
    String cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: registry-policy, namespace: registry-policy}\n"
        + "data:\n  policy.yaml: |\n    apiVersion: registry-policy.dev/v1alpha1\n    kind: RegistryPolicy\n";
    assertEquals(HEAD, PolicyDocument.policyText(cm));
    String multi = "apiVersion: v1\nkind: Namespace\nmetadata: {name: registry-policy}\n---\n" + cm
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {}\n";
    assertEquals(HEAD, PolicyDocument.policyText(multi));
  }

  @Test
  void policyDocument_wrongNamespaceOrMissingKey_isReported() {
    String cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: registry-policy, namespace: default}\ndata: {other: x}\n";
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyDocument.policyText(cm));
    assertEquals(List.of(
        "metadata.namespace: the agent and controller read namespace registry-policy, found \"default\"",
        "data.policy.yaml: required: the ConfigMap holds the policy under this key"),
        e.problems().stream().map(Problem::toString).collect(Collectors.toList()));
  }

  @Test
  void problems_neverContainSecretValues_evenWhenPastedEverywhere() throws IOException {
    String secret = "S3CRET-VALUE-42";
    String yaml = HEAD
        + "credentials:\n  - {name: c, secret: s, password: " + secret + ", token: " + secret + "}\n"
        + "registries:\n  - host: a.example\n    header: {Authorization: Basic " + secret + "}\n"
        + "    mirrors: [{url: \"https://u:" + secret + "@m.example\", auth: " + secret + "}]\n"
        + "access:\n  - {name: g, credentials: c, namespaces: {}, dockerconfigjson: " + secret + "}\n";
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyParser.parse(yaml));
    assertFalse(e.getMessage().contains(secret), e.getMessage());
    assertTrue(e.problems().size() >= 5, e.getMessage());
  }
}
