package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.NamespaceSelector;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyParser;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DesiredTest {
  static final String POLICY =
      String.join(
          "\n",
          "apiVersion: registry-policy.dev/v1alpha1",
          "kind: RegistryPolicy",
          "credentials:",
          "  - {name: corp, secret: corp-pull, registry: registry.corp.example}",
          "  - {name: robot, secret: robot-basic, registry: ghcr.io}",
          "  - {name: hub, secret: hub-basic}",
          "registries:",
          "  - host: docker.io",
          "    mirrors: [{url: https://m.example, credentials: hub, ca: {secret: corp-ca}}]",
          "access:",
          "  - name: everywhere",
          "    credentials: corp",
          "    secretName: corp-pull",
          "    namespaces: {exclude: [kube-system]}",
          "  - name: team-a",
          "    credentials: [robot, corp]",
          "    namespaces: {names: [team-a], selector: {matchLabels: {team: a}}}",
          "    serviceAccounts: [default, builder]",
          "  - name: ci",
          "    credentials: robot",
          "    secretName: ci-pull",
          "    namespaces: {selector: {matchExpressions: [{key: ci, operator: Exists}]}}",
          "    serviceAccounts: all",
          "");

  static final Map<String, SourceSecret> SOURCES =
      Map.of(
          "corp-pull",
              new SourceSecret(
                  "corp-pull",
                  SourceSecret.DOCKERCONFIGJSON_TYPE,
                  Map.of(
                      ".dockerconfigjson",
                      bytes(
                          "{\"auths\":{\"https://registry.corp.example/v1/\":{\"auth\":\"YTpi\"},\"other.example\":{\"auth\":\"Yzpk\"}}}"))),
          "robot-basic",
              new SourceSecret(
                  "robot-basic",
                  SourceSecret.BASIC_AUTH_TYPE,
                  Map.of("username", bytes("robot"), "password", bytes("robot-pass"))),
          "hub-basic",
              new SourceSecret(
                  "hub-basic",
                  SourceSecret.BASIC_AUTH_TYPE,
                  Map.of("username", bytes("hub"), "password", bytes("hub-pass"))),
          "corp-ca", new SourceSecret("corp-ca", "Opaque", Map.of("ca.crt", bytes("PEM"))));

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Policy policy() throws Exception {
    return PolicyParser.parse(POLICY);
  }

  static Stream<Arguments> namespaces() {
    return Stream.of(
        // namespace, labels, annotations, service accounts present, expected secrets, expected SA →
        // secrets
        Arguments.of(
            "plain",
            Map.of(),
            Map.of(),
            Set.of("default", "builder"),
            Set.of("corp-pull"),
            Map.of("default", Set.of("corp-pull"))),
        Arguments.of("kube-system", Map.of(), Map.of(), Set.of("default"), Set.of(), Map.of()),
        Arguments.of(
            "team-a",
            Map.of(),
            Map.of(),
            Set.of("default", "builder", "deployer"),
            Set.of("corp-pull", "registry-policy-team-a"),
            Map.of(
                "default",
                Set.of("corp-pull", "registry-policy-team-a"),
                "builder",
                Set.of("registry-policy-team-a"))),
        Arguments.of(
            "by-label",
            Map.of("team", "a"),
            Map.of(),
            Set.of("builder"),
            Set.of("corp-pull", "registry-policy-team-a"),
            Map.of("builder", Set.of("registry-policy-team-a"))),
        Arguments.of(
            "runner",
            Map.of("ci", "yes"),
            Map.of(),
            Set.of("default", "job-1", "job-2"),
            Set.of("corp-pull", "ci-pull"),
            Map.of(
                "default",
                Set.of("corp-pull", "ci-pull"),
                "job-1",
                Set.of("ci-pull"),
                "job-2",
                Set.of("ci-pull"))),
        Arguments.of(
            "opted-out",
            Map.of("ci", "yes"),
            Map.of(NamespaceSelector.OPT_OUT_ANNOTATION, "true"),
            Set.of("default"),
            Set.of(),
            Map.of()),
        Arguments.of("no-sa-yet", Map.of(), Map.of(), Set.of(), Set.of("corp-pull"), Map.of()),
        Arguments.of(Policy.NAMESPACE, Map.of(), Map.of(), Set.of("default"), Set.of(), Map.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("namespaces")
  void forNamespace(
      String name,
      Map<String, String> labels,
      Map<String, String> annotations,
      Set<String> sas,
      Set<String> wantSecrets,
      Map<String, Set<String>> wantSas)
      throws Exception {
    Policy p = policy();
    Desired.Keyed g = Desired.grants(p, SOURCES);
    assertTrue(g.problems().isEmpty(), g.problems()::toString);
    Desired.Namespace d =
        Desired.forNamespace(p, g, new NamespaceInfo(name, labels, annotations), sas);
    assertEquals(wantSecrets, d.secrets().keySet());
    assertEquals(wantSas, d.serviceAccounts());
  }

  @Test
  void grants_mergeCredentialsIntoOneDockerConfig() throws Exception {
    Desired.Keyed g = Desired.grants(policy(), SOURCES);
    String teamA = new String(g.values().get("team-a"), StandardCharsets.UTF_8);
    assertEquals(
        "{\"auths\":{\"ghcr.io\":{\"username\":\"robot\",\"password\":\"robot-pass\",\"auth\":\"cm9ib3Q6cm9ib3QtcGFzcw==\"},"
            + "\"https://registry.corp.example/v1/\":{\"auth\":\"YTpi\"}}}",
        teamA);
    String everywhere = new String(g.values().get("everywhere"), StandardCharsets.UTF_8);
    assertFalse(everywhere.contains("other.example"), "only the named auths entry is copied");
  }

  @Test
  void grants_missingSourceIsAProblemAndTheGrantsSecretIsHeldAsItIs() throws Exception {
    Desired.Keyed g = Desired.grants(policy(), Map.of("corp-pull", SOURCES.get("corp-pull")));
    assertEquals(
        List.of(
            "access team-a: credentials robot: Secret registry-policy/robot-basic not found",
            "access ci: credentials robot: Secret registry-policy/robot-basic not found"),
        g.problems());
    Desired.Namespace d =
        Desired.forNamespace(policy(), g, NamespaceInfo.named("team-a"), Set.of("default"));
    assertEquals(Set.of("corp-pull"), d.secrets().keySet());
    assertEquals(1, d.problems().size());
    Desired.Namespace all =
        Desired.forNamespace(
            policy(),
            Desired.grants(policy(), SOURCES),
            NamespaceInfo.named("team-a"),
            Set.of("default"));
    Set<String> missing = new java.util.TreeSet<>(all.secrets().keySet());
    missing.removeAll(d.secrets().keySet());
    assertEquals(
        missing, d.held(), "neither created, updated nor deleted while the source is missing");
    assertFalse(d.held().isEmpty());
  }

  static Stream<Arguments> saChanges() {
    return Stream.of(
        // current list, ours (annotation), wanted, expected list, expected ours
        Arguments.of(List.of(), Set.of(), Set.of("a"), List.of("a"), Set.of("a")),
        Arguments.of(List.of("x", "y"), Set.of(), Set.of("a"), List.of("x", "y", "a"), Set.of("a")),
        Arguments.of(List.of("x", "a", "y"), Set.of("a"), Set.of(), List.of("x", "y"), Set.of()),
        Arguments.of(
            List.of("a", "x"),
            Set.of("a"),
            Set.of("a", "b"),
            List.of("a", "x", "b"),
            Set.of("a", "b")),
        // someone else listed "a" before us: keep it, never claim it, never remove it
        Arguments.of(List.of("a"), Set.of(), Set.of("a"), List.of("a"), Set.of()),
        Arguments.of(List.of("a"), Set.of(), Set.of(), List.of("a"), Set.of()),
        // others' duplicates and entries without a name are theirs: kept as they are
        Arguments.of(
            List.of("x", "x", "a"), Set.of("a"), Set.of("a"), List.of("x", "x", "a"), Set.of("a")),
        Arguments.of(
            java.util.Arrays.asList("x", null, "x"),
            Set.of(),
            Set.of(),
            java.util.Arrays.asList("x", null, "x"),
            Set.of()),
        Arguments.of(
            java.util.Arrays.asList(null, "a", "y"),
            Set.of("a"),
            Set.of(),
            java.util.Arrays.asList(null, "y"),
            Set.of()),
        // ours but removed by hand: re-added
        Arguments.of(List.of("x"), Set.of("a"), Set.of("a"), List.of("x", "a"), Set.of("a")));
  }

  @ParameterizedTest
  @MethodSource("saChanges")
  void serviceAccount_keepsOthersAndTheirOrder(
      List<String> current,
      Set<String> ours,
      Set<String> wanted,
      List<String> wantList,
      Set<String> wantOurs) {
    Desired.SaChange c = Desired.serviceAccount(current, ours, new LinkedHashSet<>(wanted));
    assertEquals(wantList, c.imagePullSecrets());
    assertEquals(wantOurs, c.ours());
  }

  @Test
  void bundle_holdsEveryNodeReferencedKey() throws Exception {
    Desired.Keyed b = Desired.bundle(policy(), SOURCES);
    assertTrue(b.problems().isEmpty(), b.problems()::toString);
    assertEquals(
        Set.of("corp-ca_ca.crt", "hub-basic_username", "hub-basic_password"), b.values().keySet());
    assertTrue(Arrays.equals(bytes("hub-pass"), b.values().get("hub-basic_password")));
    assertEquals(List.of("hub"), Desired.nodeLevelCredentials(policy()));
  }

  @Test
  void bundle_missingSourceIsReported() throws Exception {
    Desired.Keyed b = Desired.bundle(policy(), Map.of());
    assertEquals(2, b.problems().size(), b.problems()::toString);
    assertNull(b.values().get("corp-ca_ca.crt"));
  }

  @Test
  void toString_neverShowsSecretData() {
    Desired.PullSecret s =
        new Desired.PullSecret("n", "g", bytes("{\"auths\":{\"x\":{\"auth\":\"c2VjcmV0\"}}}"));
    assertFalse(s.toString().contains("c2VjcmV0"));
    assertFalse(SOURCES.get("hub-basic").toString().contains("hub-pass"));
  }
}
