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
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyParserTest {
  static final Path EXAMPLE = Path.of("../../manifests/examples/policy-configmap.yaml");

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
    assertTrue(
        teamA
            .namespaces()
            .grants(new NamespaceInfo("x", Map.of("team", "a", "env", "prod"), Map.of())));
    assertFalse(
        teamA
            .namespaces()
            .grants(new NamespaceInfo("x", Map.of("team", "a", "env", "qa"), Map.of())));
    assertTrue(p.access().get(2).serviceAccounts().all());
    assertTrue(p.access().get(0).namespaces().grants(NamespaceInfo.named("anything")));
    assertFalse(p.access().get(0).namespaces().grants(NamespaceInfo.named("kube-system")));
    assertFalse(
        p.access()
            .get(0)
            .namespaces()
            .grants(
                new NamespaceInfo(
                    "opted", Map.of(), Map.of(NamespaceSelector.OPT_OUT_ANNOTATION, "true"))));

    Admission a = p.admission();
    assertEquals(AdmissionMode.DENY, a.mode());
    assertEquals(Set.of("kube-system", "registry-policy"), a.exemptNamespaces());
    assertEquals(5, a.allowedSources().size());
    assertTrue(a.allowedSources().get(0).isGlobal());
    assertFalse(a.allowedSources().get(4).isGlobal());
    assertEquals(6, a.rules().size());
    assertEquals(AdmissionMode.WARN, a.rules().get(1).mode());
    assertEquals(AdmissionMode.AUDIT, a.rules().get(2).mode());
    assertEquals(2L << 30, a.rules().get(5).imageMetadata().maxSizeBytes());
    assertEquals(64, p.sha256().length());
  }

  @Test
  void parse_severalMistakes_reportsEveryOneWithItsPath() {
    String yaml =
        HEAD
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
    List<String> want =
        List.of(
            "access[0].name: invalid name \"Bad_Name\" (want lowercase letters, digits and \"-\", at most 63)",
            "access[0].namespaces.names[1]: invalid namespace name \"NOT_OK\"",
            "access[0].serviceAccounts: must be \"default\", \"all\", \"none\" or a list of ServiceAccount names, found \"some\"",
            "admission.mode: must be Deny, Warn or Audit, found \"Block\"",
            "registries[1].mirrrors: unknown key (did you mean \"mirrors\"?)",
            "registries[2].mirrors[0].capabilities[1]: unknown capability \"fetch\" (want pull, resolve or push)",
            "registries[2].mirrors[0].credentials: unknown credentials \"nope\" (not in credentials)",
            "registries[2].mirrors[0].dialTimeout: invalid duration \"soon\": expected a number at \"s\" (want a Go duration such as 500ms, 2s or 1h30m)",
            "registries[2].mirrors[0].url: scheme \"ftp\" not allowed (want http or https)",
            "registries[3].host: invalid host \"../../etc\": a host has no path (remove everything from \"/\" on)",
            "registries[4].host: duplicate registry \"docker.io\" (also at registries[0])");
    for (String w : want) {
      assertTrue(got.contains(w), () -> "missing: " + w + "\ngot:\n  " + String.join("\n  ", got));
    }
    assertTrue(
        got.stream().anyMatch(s -> s.startsWith("admission.allowedSources[0].prefix: ")),
        got::toString);
    assertEquals(want.size() + 1, got.size(), () -> String.join("\n", got));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "..",
        "../x",
        "a/b",
        "a b",
        "a\tb",
        "a\u0000b",
        "a\nb",
        ".",
        "x..y",
        "-x.example",
        "x.example:0",
        "x.example:70000",
        "x.example:",
        "[::1",
        "é.example",
        "C:\\\\evil",
        "_default"
      })
  void parse_hostThatCouldEscapeCertsD_isRejected(String host) {
    String yaml =
        HEAD
            + "registries:\n  - host: \""
            + host.replace("\\", "\\\\")
                .replace("\n", "\\n")
                .replace("\t", "\\t")
                .replace("\u0000", "\\0")
            + "\"\n";
    List<String> got = problems(yaml);
    assertEquals(1, got.size(), got::toString);
    assertTrue(got.get(0).startsWith("registries[0].host: "), got::toString);
    for (char c : got.get(0).toCharArray()) {
      assertTrue(c >= 0x20, "message must not carry raw control characters");
    }
  }

  @Test
  void parse_inlinePassword_isRejectedWithoutEchoingIt() {
    String yaml =
        HEAD
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
    assertTrue(
        e.getMessage()
            .contains("credentials[0].password: unknown key (inline credentials are not allowed"),
        e.getMessage());
    assertTrue(
        e.getMessage().contains("registries[0].mirrors[0].url: URL must not contain credentials"),
        e.getMessage());
  }

  @Test
  void parse_yamlSyntaxError_givesLineAndColumnButNotTheLine() {
    String yaml =
        HEAD + "credentials:\n  - name: corp\n    secret: \"hunter2-secret\n  broken: [\n";
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
    assertEquals(
        List.of(
            "apiVersion: unsupported version \"v2\" (want registry-policy.dev/v1alpha1)",
            "kind: must be RegistryPolicy, found \"Policy\""),
        got);
  }

  @Test
  void parse_neverWithoutMirrors_isReported() {
    List<String> got = problems(HEAD + "registries:\n  - host: quay.io\n    upstream: Never\n");
    assertEquals(
        List.of(
            "registries[0].upstream: Never needs at least one mirror (the registry would be unreachable)"),
        got);
  }

  @Test
  void parse_normalizesHostsAndUrls() throws Exception {
    Policy p =
        PolicyParser.parse(
            HEAD
                + "registries:\n"
                + "  - host: Index.Docker.IO\n    mirrors: [{url: \"HTTPS://Mirror.Example:8443/base/\"}]\n"
                + "  - host: \"[::1]:5000\"\n"
                + "  - host: 10.0.0.7:5000\n    url: http://10.0.0.7:5000\n");
    assertEquals("docker.io", p.registries().get(0).host());
    assertEquals(
        "https://mirror.example:8443/base",
        p.registries().get(0).mirrors().get(0).url().toString());
    assertEquals("[::1]:5000", p.registries().get(1).host());
    assertEquals("http://10.0.0.7:5000", p.registries().get(2).upstreamUrl().toString());
  }

  @Test
  void parse_catchAllMustNotHaveUrl() {
    assertEquals(
        List.of("registries[0].url: the catch-all registry \"*\" has no URL of its own"),
        problems(HEAD + "registries:\n  - host: \"*\"\n    url: https://x.example\n"));
  }

  @Test
  void parse_caAsFilePath_isRejected() {
    List<String> got =
        problems(HEAD + "registries:\n  - host: a.example\n    ca: /etc/ssl/ca.pem\n");
    assertEquals(1, got.size());
    assertTrue(
        got.get(0).startsWith("registries[0].ca: must reference a Secret key"), got::toString);
  }

  @Test
  void parse_dialTimeoutAsNumber_explainsTheUnit() {
    List<String> got =
        problems(
            HEAD
                + "registries:\n  - host: a.example\n    mirrors: [{url: https://m.example, dialTimeout: 2}]\n");
    assertEquals(
        List.of(
            "registries[0].mirrors[0].dialTimeout: must be a duration string such as \"500ms\" or \"2s\", found a number"),
        got);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "3000000h",
        "99999999999999999999s",
        "2000000h2000000h",
        "2562048h",
        "2562047h47m16.854775808s"
      })
  void parse_dialTimeoutGoRejectsForOverflow_isAProblemAtItsPath(String duration) {
    String problem =
        "dialTimeout: duration \""
            + duration
            + "\" is out of range (at most 2562047h47m16.854775807s)";
    assertEquals(
        List.of("registries[0]." + problem),
        problems(
            HEAD + "registries:\n  - host: a.example\n    dialTimeout: \"" + duration + "\"\n"));
    assertEquals(
        List.of("registries[0].mirrors[0]." + problem),
        problems(
            HEAD
                + "registries:\n  - host: a.example\n    mirrors: [{url: https://m.example, dialTimeout: \""
                + duration
                + "\"}]\n"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2s",
        "500ms",
        "1h30m",
        "1.5h",
        "1\u00b5s",
        "2562047h47m16.854775807s",
        "9223372036854775807ns"
      })
  void parse_dialTimeoutWithinRange_isKeptAsWritten(String duration) throws Exception {
    Policy p =
        PolicyParser.parse(
            HEAD
                + "registries:\n  - host: a.example\n    mirrors: [{url: https://m.example, dialTimeout: \""
                + duration
                + "\"}]\n");
    assertEquals(duration, p.registries().get(0).mirrors().get(0).dialTimeout());
  }

  @Test
  void parse_accessReferencesUnknownCredentials_andNeedsNamespaces() {
    List<String> got = problems(HEAD + "access:\n  - name: g\n    credentials: ghost\n");
    assertEquals(
        List.of(
            "access[0].credentials: unknown credentials \"ghost\" (not in credentials)",
            "access[0].namespaces: required (use {} to grant every namespace)"),
        got);
  }

  @Test
  void parse_duplicateSecretNamesAcrossGrants_areReported() {
    List<String> got =
        problems(
            HEAD
                + "credentials: [{name: c, secret: s}]\naccess:\n"
                + "  - {name: a, credentials: c, secretName: pull, namespaces: {}}\n"
                + "  - {name: b, credentials: c, secretName: pull, namespaces: {}}\n");
    assertEquals(
        List.of("access[1].secretName: Secret name \"pull\" is also used by access[0]"), got);
  }

  @Test
  void parse_ruleThatChecksNothing_isReported() {
    List<String> got = problems(HEAD + "admission:\n  rules:\n    - name: empty\n");
    assertEquals(
        List.of(
            "admission.rules[0]: rule checks nothing (set requireDigest, blockLatestTag, blockUntagged, "
                + "allowedNameTags, blockedImages or imageMetadata)"),
        got);
  }

  @Test
  void parse_labelSelectorErrors() {
    List<String> got =
        problems(
            HEAD
                + "credentials: [{name: c, secret: s}]\naccess:\n"
                + "  - name: a\n    credentials: c\n    namespaces:\n      selector:\n"
                + "        matchLabels: {\"bad key!\": x}\n"
                + "        matchExpressions:\n          - {key: env, operator: Has}\n          - {key: env, operator: In}\n");
    assertEquals(
        List.of(
            "access[0].namespaces.selector.matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist, found \"Has\"",
            "access[0].namespaces.selector.matchExpressions[1].values: required and non-empty for In",
            "access[0].namespaces.selector.matchLabels[\"bad key!\"]: invalid label key \"bad key!\""),
        got);
  }

  @Test
  void parse_emptyDocument_isAProblem() {
    assertEquals(List.of("the policy is empty (no YAML document)"), problems(""));
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
    String cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: registry-policy, namespace: registry-policy}\n"
            + "data:\n  policy.yaml: |\n    apiVersion: registry-policy.dev/v1alpha1\n    kind: RegistryPolicy\n";
    assertEquals(HEAD, PolicyDocument.policyText(cm));
    String multi =
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: registry-policy}\n---\n"
            + cm
            + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {}\n";
    assertEquals(HEAD, PolicyDocument.policyText(multi));
  }

  @Test
  void policyDocument_wrongNamespaceOrMissingKey_isReported() {
    String cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: registry-policy, namespace: default}\ndata: {other: x}\n";
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyDocument.policyText(cm));
    assertEquals(
        List.of(
            "metadata.namespace: the agent and controller read namespace registry-policy, found \"default\"",
            "data.policy.yaml: required: the ConfigMap holds the policy under this key"),
        e.problems().stream().map(Problem::toString).collect(Collectors.toList()));
  }

  @Test
  void problems_neverContainSecretValues_evenWhenPastedEverywhere() throws IOException {
    String secret = "S3CRET-VALUE-42";
    String yaml =
        HEAD
            + "credentials:\n  - {name: c, secret: s, password: "
            + secret
            + ", token: "
            + secret
            + "}\n"
            + "registries:\n  - host: a.example\n    header: {Authorization: Basic "
            + secret
            + "}\n"
            + "    mirrors: [{url: \"https://u:"
            + secret
            + "@m.example\", auth: "
            + secret
            + "}]\n"
            + "access:\n  - {name: g, credentials: c, namespaces: {}, dockerconfigjson: "
            + secret
            + "}\n";
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyParser.parse(yaml));
    assertFalse(e.getMessage().contains(secret), e.getMessage());
    assertTrue(e.problems().size() >= 5, e.getMessage());
  }

  // ---- bracketed hosts: only real IPv6 addresses, and never an exception other than
  // PolicyException

  @ParameterizedTest
  @ValueSource(
      strings = {
        "[..]",
        "[.]:5000",
        "[1.2.3.4]",
        "[1::2::3]",
        "[:]",
        "[fffff::1]",
        "[::ffff:1.2.3.4]",
        "[1:2:3:4:5:6:7]",
        "[1:2:3:4:5:6:7::8]"
      })
  void parse_bracketedHostThatIsNoIpv6Address_isReportedWithTheOtherProblems(String host) {
    String yaml =
        "apiVersion: registry-policy.dev/v1alpha1\nkind: Policy\n"
            + "credentials:\n  - {name: c, secret: s, registry: \""
            + host
            + "\"}\n"
            + "registries:\n  - host: \""
            + host
            + "\"\n"
            + "  - host: a.example\n    mirrors: [{url: \"https://"
            + host
            + "/\"}]\n";
    List<String> got = problems(yaml); // assertThrows: any exception but PolicyException fails here
    String invalid = "invalid host \"" + host + "\": " + ImageRef.IPV6_RULE;
    assertEquals(4, got.size(), got::toString);
    assertEquals("credentials[0].registry: " + invalid, got.get(0));
    assertEquals("kind: must be RegistryPolicy, found \"Policy\"", got.get(1));
    assertEquals("registries[0].host: " + invalid, got.get(2));
    assertTrue(got.get(3).startsWith("registries[1].mirrors[0].url: "), got::toString);
  }

  @ParameterizedTest
  @CsvSource({
    "'[::1]', https://[::1]",
    "'[2001:DB8::1]:5000', https://[2001:db8::1]:5000",
    "'[1:2:3:4:5:6:7:8]', https://[1:2:3:4:5:6:7:8]",
    "'[::]:443', https://[::]:443"
  })
  void parse_bracketedIpv6Host_isAccepted(String host, String url) throws Exception {
    Policy p = PolicyParser.parse(HEAD + "registries:\n  - host: \"" + host + "\"\n");
    assertEquals(url, p.registries().get(0).upstreamUrl().toString());
  }

  // ---- URLs and hosts never echo user info, query or fragment
  // -------------------------------------

  static final List<String> URL_SECRETS =
      List.of("s3cr3tPW", "Hunter2", "SECRET", "Secret@", "p@ss", "pa/ss");

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://user:s3cr3tPW@host_name.corp/",
        "https://x:Hunter2@Secret@m.corp",
        "https://m.corp/v2?token=SECRET",
        "https://m.corp#SECRET",
        "https://m.corp/#SECRET",
        "HTTPS://M.corp:99999/v2/?SECRET",
        "https://u:p@ss w@h",
        "https://u:pa/ss@m.corp",
        "ftp://u:s3cr3tPW@m.corp",
        "m.corp?token=SECRET",
        "u:s3cr3tPW@m.corp",
      })
  void parse_urlWithUserInfoQueryOrFragment_neverQuotesThem(String url) {
    String quoted = "\"" + url.replace("\\", "\\\\") + "\"";
    String yaml =
        HEAD
            + "registries:\n  - host: a.example\n    url: "
            + quoted
            + "\n"
            + "    mirrors: [{url: "
            + quoted
            + "}]\n";
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyParser.parse(yaml));
    List<String> got = e.problems().stream().map(Problem::toString).collect(Collectors.toList());
    assertEquals(2, got.size(), got::toString);
    assertTrue(got.get(0).startsWith("registries[0].mirrors[0].url: URL must not "), got::toString);
    assertTrue(got.get(1).startsWith("registries[0].url: URL must not "), got::toString);
    for (String secret : URL_SECRETS) {
      assertFalse(e.getMessage().contains(secret), () -> secret + " in " + e.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "user:s3cr3tPW@h.example",
        "https://u:s3cr3tPW@h.example/",
        "h.example?token=SECRET",
        "h.example#SECRET",
        "u:pa/ss@h.example"
      })
  void parse_hostWithUserInfoQueryOrFragment_neverQuotesThem(String host) {
    PolicyException e =
        assertThrows(
            PolicyException.class,
            () ->
                PolicyParser.parse(
                    HEAD
                        + "credentials: [{name: c, secret: s, registry: \""
                        + host
                        + "\"}]\nregistries:\n  - host: \""
                        + host
                        + "\"\n"));
    assertEquals(2, e.problems().size(), e::getMessage);
    assertEquals("credentials[0].registry", e.problems().get(0).path());
    assertEquals("registries[0].host", e.problems().get(1).path());
    for (String secret : URL_SECRETS) {
      assertFalse(e.getMessage().contains(secret), () -> secret + " in " + e.getMessage());
    }
  }

  // ---- YAML errors name a category, never the token -------------------------------------------

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "password: *Hunter2Secret         | undefined alias",
        "password: !Hunter2Secret         | unknown tag",
        "password: !Hunter2Secret x       | unknown tag",
        "password: !!Hunter2Secret x      | unknown tag",
        "password: !h!Hunter2Secret x     | undefined tag handle",
        "password: &Hunter2Secret x       | ''",
        "password: *Hunter2Secret*        | syntax error",
        "'password: \tHunter2Secret'      | a tab where a token must start \\(indent with spaces\\)",
        "'\tpassword: Hunter2Secret'      | a tab where a token must start \\(indent with spaces\\)",
      })
  void parse_yamlAliasOrTagError_reportsACategoryWithoutTheToken(String line, String category) {
    PolicyException e =
        assertThrows(
            PolicyException.class,
            () ->
                PolicyParser.parse(
                    HEAD + "credentials:\n  - name: c\n    secret: s\n    " + line + "\n"));
    assertFalse(e.getMessage().contains("Hunter2"), e::getMessage);
    if (!category.isEmpty()) {
      assertEquals(1, e.problems().size(), e::getMessage);
      String got = e.problems().get(0).toString();
      assertTrue(got.matches("invalid YAML at line 6, column \\d+: " + category), got);
    }
  }

  // ---- every item problem names the item's index in the user's list
  // --------------------------------

  static Stream<Arguments> listItemProblems() {
    return Stream.of(
        Arguments.of(
            "registries: [{host: a.example, mirrors: [{url: https://m.example, capabilities: ['', fetch, 7]}]}]",
            List.of(
                "registries[0].mirrors[0].capabilities[0]: must be a non-empty string, found an empty string",
                "registries[0].mirrors[0].capabilities[1]: unknown capability \"fetch\" (want pull, resolve or push)",
                "registries[0].mirrors[0].capabilities[2]: must be a non-empty string, found a number")),
        Arguments.of(
            "credentials: [{name: c, secret: s}]\naccess: [{name: g, credentials: ['', c, ghost], namespaces: {}}]",
            List.of(
                "access[0].credentials[0]: must be a non-empty string, found an empty string",
                "access[0].credentials[2]: unknown credentials \"ghost\" (not in credentials)")),
        Arguments.of(
            "credentials: [{name: c, secret: s}]\n"
                + "access: [{name: g, credentials: c, namespaces: {}, serviceAccounts: ['', ok, Bad_SA]}]",
            List.of(
                "access[0].serviceAccounts[0]: must be a non-empty string, found an empty string",
                "access[0].serviceAccounts[2]: invalid ServiceAccount name \"Bad_SA\"")),
        Arguments.of(
            "credentials: [{name: c, secret: s}]\n"
                + "access: [{name: g, credentials: c, namespaces: {names: ['', NOT_OK], exclude: [ok, '', BAD]}}]",
            List.of(
                "access[0].namespaces.exclude[1]: must be a non-empty string, found an empty string",
                "access[0].namespaces.exclude[2]: invalid namespace name \"BAD\"",
                "access[0].namespaces.names[0]: must be a non-empty string, found an empty string",
                "access[0].namespaces.names[1]: invalid namespace name \"NOT_OK\"")),
        Arguments.of(
            "admission: {exemptNamespaces: ['', kube-system, Kube_System]}",
            List.of(
                "admission.exemptNamespaces[0]: must be a non-empty string, found an empty string",
                "admission.exemptNamespaces[2]: invalid namespace name \"Kube_System\"")),
        Arguments.of(
            "admission: {allowedSources: [{prefix: registry.corp, scope: {names: ['', X]}}]}",
            List.of(
                "admission.allowedSources[0].scope.names[0]: must be a non-empty string, found an empty string",
                "admission.allowedSources[0].scope.names[1]: invalid namespace name \"X\"")));
  }

  @ParameterizedTest
  @MethodSource("listItemProblems")
  void parse_badListItems_areReportedAtTheirOwnIndex(String yaml, List<String> want) {
    assertEquals(want, problems(HEAD + yaml + "\n"));
  }

  // ---- label selector values
  // ----------------------------------------------------------------------

  @Test
  void parse_matchExpressionValues_mustBeLabelValues() {
    List<String> got =
        problems(
            HEAD
                + "credentials: [{name: c, secret: s}]\naccess:\n"
                + "  - name: a\n    credentials: c\n    namespaces:\n      selector:\n        matchExpressions:\n"
                + "          - {key: env, operator: NotIn, values: [\"bad value!\", \"-x\", ok, \"\", \""
                + "v".repeat(64)
                + "\", 7]}\n"
                + "          - {key: tier, operator: In, values: [\"x-\"]}\n");
    assertEquals(
        List.of(
            "access[0].namespaces.selector.matchExpressions[0].values[0]: invalid label value \"bad value!\"",
            "access[0].namespaces.selector.matchExpressions[0].values[1]: invalid label value \"-x\"",
            "access[0].namespaces.selector.matchExpressions[0].values[4]: invalid label value \""
                + "v".repeat(64)
                + "\"",
            "access[0].namespaces.selector.matchExpressions[0].values[5]: must be a string, found a number",
            "access[0].namespaces.selector.matchExpressions[1].values[0]: invalid label value \"x-\""),
        got);
  }

  @Test
  void parse_matchExpressionValues_acceptLabelValuesAndTheEmptyString() throws Exception {
    Policy p =
        PolicyParser.parse(
            HEAD
                + "credentials: [{name: c, secret: s}]\naccess:\n"
                + "  - name: a\n    credentials: c\n    namespaces:\n      selector:\n        matchExpressions:\n"
                + "          - {key: env, operator: NotIn, values: [\"\", qa, a.b_c-D9]}\n");
    NamespaceSelector ns = p.access().get(0).namespaces();
    assertTrue(ns.grants(new NamespaceInfo("x", Map.of("env", "prod"), Map.of())));
    assertFalse(ns.grants(new NamespaceInfo("x", Map.of("env", ""), Map.of())));
    assertFalse(ns.grants(new NamespaceInfo("x", Map.of("env", "a.b_c-D9"), Map.of())));
  }

  // ---- admission patterns are normalized as image references are
  // ---------------------------------

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // check                                                  | image
        //    | matches
        "blockedImages: [{name: busybox}]                          | busybox                             | true",
        "blockedImages: [{name: busybox}]                          | busybox:1.36                        | true",
        "blockedImages: [{name: busybox}]                          | docker.io/library/busybox:1.36      | true",
        "blockedImages: [{name: busybox}]                          | index.docker.io/busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000 | true",
        "blockedImages: [{name: busybox}]                          | registry.corp/busybox               | true",
        "blockedImages: [{name: busybox}]                          | registry.corp/library/busybox       | false",
        "blockedImages: [{name: busybox}]                          | bitnami/busybox                     | false",
        "blockedImages: [{name: busybox}]                          | busybox-extra                       | false",
        "blockedImages: [{name: 'busy*', tag: '1.*'}]              | busybox:1.36                        | true",
        "blockedImages: [{name: 'busy*', tag: '1.*'}]              | busybox:2.0                         | false",
        "blockedImages: [{name: library/busybox}]                  | busybox                             | true",
        "blockedImages: [{host: docker.io, name: busybox}]         | busybox:1.36                        | true",
        "blockedImages: [{host: docker.io, name: busybox}]         | registry.corp/busybox               | false",
        "blockedImages: [{host: index.docker.io}]                  | nginx                               | true",
        "blockedImages: [{host: Registry-1.Docker.IO}]             | bitnami/redis:7                     | true",
        "blockedImages: [{host: index.docker.io}]                  | registry.corp/nginx                 | false",
        "blockedImages: [{host: '*.Corp.Example'}]                 | registry.corp.example/x             | true",
        "blockedImages: [{host: registry.corp, port: 5000}]        | registry.corp:5000/x                | true",
        "blockedImages: [{host: registry.corp, port: 5000}]        | registry.corp/x                     | false",
        "allowedNameTags: [{name: nginx}]                          | nginx:1.25                          | true",
        "allowedNameTags: [{name: nginx}]                          | docker.io/library/nginx             | true",
        "allowedNameTags: [{name: nginx}]                          | registry.corp/nginx                 | false",
        "allowedNameTags: [{name: nginx}]                          | nginxinc/nginx-unprivileged         | false",
        "allowedNameTags: [{name: docker.io/nginx}]                | nginx                               | true",
        "allowedNameTags: [{name: Index.Docker.IO/nginx}]          | nginx:1.25                          | true",
        "allowedNameTags: [{name: 'nginx*'}]                       | nginx-unprivileged                  | true",
        "allowedNameTags: [{name: 'bitnami/*'}]                    | bitnami/redis:7                     | true",
        "allowedNameTags: [{name: 'bitnami/*'}]                    | registry.corp/bitnami/redis         | false",
        "allowedNameTags: [{name: 'docker.io/*'}]                  | bitnami/redis                       | true",
        "allowedNameTags: [{name: 'docker.io/*'}]                  | nginx                               | true",
        "allowedNameTags: [{name: '*'}]                            | registry.corp/team/app              | true",
        "allowedNameTags: [{name: '*/nginx'}]                      | registry.corp/team/nginx            | true",
        "allowedNameTags: [{name: 'Registry.Corp/team/*', tag: 'v*'}] | registry.corp/team/app:v1        | true",
        "allowedNameTags: [{name: 'Registry.Corp/team/*', tag: 'v*'}] | registry.corp/team/app             | false",
        "allowedNameTags: [{name: 'localhost:5000/x'}]             | localhost:5000/x:1                  | true",
      })
  void parse_admissionPatterns_matchImagesAsTheyAreNormalized(
      String check, String image, boolean want) throws Exception {
    Policy p =
        PolicyParser.parse(HEAD + "admission:\n  rules:\n    - name: r\n      " + check + "\n");
    AdmissionRule rule = p.admission().rules().get(0);
    ImageRef ref = ImageRef.parse(image);
    boolean got =
        rule.blockedImages().stream().anyMatch(b -> b.matches(ref))
            || rule.allowedNameTags().stream().anyMatch(t -> t.matches(ref));
    assertEquals(want, got, () -> check + " vs " + ref);
  }

  @Test
  void parse_admissionPatternsThatCouldNeverMatch_areReported() {
    List<String> got =
        problems(
            HEAD
                + "admission:\n  rules:\n    - name: r\n"
                + "      blockedImages: [{host: 'registry.corp:5000'}, {host: '[::1]:5000'}, {name: 'busybox:1.36'}, {name: 'x@sha256'}]\n"
                + "      allowedNameTags: [{name: 'nginx:1.25'}]\n");
    assertEquals(
        List.of(
            "admission.rules[0].allowedNameTags[0].name: name pattern \"nginx:1.25\" has a tag (put it under tag)",
            "admission.rules[0].blockedImages[0].host: host \"registry.corp:5000\" has a port (put it under port)",
            "admission.rules[0].blockedImages[1].host: host \"[::1]:5000\" has a port (put it under port)",
            "admission.rules[0].blockedImages[2].name: name \"busybox:1.36\" has a tag or digest (put the tag under tag)",
            "admission.rules[0].blockedImages[3].name: name \"***@sha256\" has a tag or digest (put the tag under tag)"),
        got);
  }

  // ---- problems sort with numeric indexes
  // -----------------------------------------------------------

  @Test
  void parse_problems_sortIndexesAsNumbers() {
    StringBuilder yaml = new StringBuilder(HEAD + "registries:\n");
    for (int i = 0; i < 12; i++) {
      yaml.append("  - host: \"bad host ").append(i).append("\"\n");
    }
    List<String> paths =
        assertThrows(PolicyException.class, () -> PolicyParser.parse(yaml.toString()))
            .problems()
            .stream()
            .map(Problem::path)
            .collect(Collectors.toList());
    assertEquals(
        IntStream.range(0, 12)
            .mapToObj(i -> "registries[" + i + "].host")
            .collect(Collectors.toList()),
        paths);
  }

  @Test
  void problem_compareTo_readsIndexesAsNumbers_andPutsAMappingBeforeItsKeys() {
    List<Problem> ps =
        new java.util.ArrayList<>(
            List.of(
                new Problem("registries[10].host", "b"),
                new Problem("registries[2].mirrors[10].url", "a"),
                new Problem("registries[2].mirrors[9].url", "a"),
                new Problem("registries[2]", "z"),
                new Problem("registries[1].host", "line 10"),
                new Problem("registries[1].host", "line 9"),
                new Problem("kind", "x"),
                new Problem("", "empty policy")));
    ps.sort(null);
    assertEquals(
        List.of(
            new Problem("", "empty policy"),
            new Problem("kind", "x"),
            new Problem("registries[1].host", "line 9"),
            new Problem("registries[1].host", "line 10"),
            new Problem("registries[2]", "z"),
            new Problem("registries[2].mirrors[9].url", "a"),
            new Problem("registries[2].mirrors[10].url", "a"),
            new Problem("registries[10].host", "b")),
        ps);
    assertTrue(Problem.compareNatural("a[01]", "a[1]") > 0);
    assertEquals(0, Problem.compareNatural("a[1]", "a[1]"));
  }
}
