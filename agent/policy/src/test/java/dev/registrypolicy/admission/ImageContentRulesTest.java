package dev.registrypolicy.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Plan, evaluate, merge: the image-content rules on whole requests. */
class ImageContentRulesTest {
  static final String HEAD = "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";
  static final NamespaceInfo APP = new NamespaceInfo("app", Map.of("tier", "web"), Map.of());
  static final String ROOT_IMAGE = "registry.corp.example/app:1";
  static final String USER_IMAGE = "registry.corp.example/user:1";

  static Policy policy(String yaml) {
    try {
      return PolicyParser.parse(HEAD + yaml);
    } catch (PolicyException e) {
      throw new AssertionError(e.problems().toString(), e);
    }
  }

  /** A Pod from decoded YAML: containers (name=image pairs), optional securityContexts. */
  static Workload pod(Map<String, Object> podSecurity, Object... nameImageSecurity)
      throws InvalidWorkloadException {
    List<Object> cs = new ArrayList<>();
    for (int i = 0; i < nameImageSecurity.length; i += 3) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("name", nameImageSecurity[i]);
      c.put("image", nameImageSecurity[i + 1]);
      if (nameImageSecurity[i + 2] != null) {
        c.put("securityContext", nameImageSecurity[i + 2]);
      }
      cs.add(c);
    }
    Map<String, Object> spec = new HashMap<>();
    spec.put("containers", cs);
    if (podSecurity != null) {
      spec.put("securityContext", podSecurity);
    }
    return Workload.fromObject(
        Map.of("apiVersion", "v1", "kind", "Pod", "metadata", Map.of("name", "p"), "spec", spec),
        "app");
  }

  static MetadataLookup lookup(ImageRef ref) {
    String user = ref.name().endsWith("/app") ? "" : "1000";
    return MetadataLookup.found(
        new ImageMetadata(
            "sha256:" + "c".repeat(64), null, user, Map.of(), "linux", "amd64", "", 10));
  }

  static Verdict run(String yaml, NamespaceInfo ns, Workload w, Workload old) {
    Policy p = policy(yaml);
    Verdict base = AdmissionCheck.of(p, "registry-policy").check(ns, w, old);
    ImageContentRules rules = ImageContentRules.of(p, "registry-policy");
    List<ImageContentRules.Need> plan = rules.plan(ns, w, old, base);
    return ImageContentRules.merge(
        base, rules.evaluate(plan, ImageContentRulesTest::lookup, null), true);
  }

  static List<String> messages(Verdict v) {
    return v.findings().stream().map(Finding::message).collect(Collectors.toList());
  }

  @ParameterizedTest
  @CsvSource({"Deny, DENY", "Warn, WARN", "Audit, AUDIT"})
  void modeOfTheRule(String mode, Action action) throws Exception {
    Verdict v =
        run(
            "admission:\n  rules:\n    - {name: no-root, mode: "
                + mode
                + ", imageMetadata: {denyRunAsRoot: true}}\n",
            APP,
            pod(null, "web", ROOT_IMAGE, null, "side", USER_IMAGE, null),
            null);
    assertEquals(action, v.action());
    assertEquals(
        List.of(
            "container \"web\": image \"registry.corp.example/app:1\" runs as root (config user"
                + " \"\") (rule no-root)"),
        messages(v));
    assertEquals(action, v.containers().get(0).action());
    assertEquals("no-root", v.containers().get(0).rule());
    assertEquals(Action.ALLOW, v.containers().get(1).action());
  }

  @Test
  void admissionDefaultModeApplies() throws Exception {
    Verdict v =
        run(
            "admission:\n  mode: Warn\n  rules:\n    - {name: r, imageMetadata: {denyRunAsRoot: true}}\n",
            APP,
            pod(null, "web", ROOT_IMAGE, null),
            null);
    assertEquals(Action.WARN, v.action());
  }

  @Test
  void podAndContainerSecurityContextAreRead() throws Exception {
    String yaml = "admission:\n  rules:\n    - {name: r, imageMetadata: {denyRunAsRoot: true}}\n";
    assertEquals(
        Action.ALLOW,
        run(yaml, APP, pod(Map.of("runAsNonRoot", true), "web", ROOT_IMAGE, null), null).action());
    assertEquals(
        Action.DENY,
        run(
                yaml,
                APP,
                pod(Map.of("runAsNonRoot", true), "web", ROOT_IMAGE, Map.of("runAsNonRoot", false)),
                null)
            .action());
    assertEquals(
        Action.ALLOW,
        run(yaml, APP, pod(null, "web", ROOT_IMAGE, Map.of("runAsUser", 1000L)), null).action());
    assertEquals(
        Action.DENY,
        run(
                yaml,
                APP,
                pod(Map.of("runAsUser", 1000), "web", USER_IMAGE, Map.of("runAsUser", 0)),
                null)
            .action());
  }

  @Test
  void securityContextOfTheWrongTypeIsAnInvalidWorkload() {
    InvalidWorkloadException e =
        assertThrows(
            InvalidWorkloadException.class,
            () -> pod(null, "web", ROOT_IMAGE, Map.of("runAsUser", "1000")));
    assertEquals(
        "spec.containers[0].securityContext.runAsUser: must be an integer, found a string",
        e.getMessage());
    e =
        assertThrows(
            InvalidWorkloadException.class,
            () -> pod(Map.of("runAsNonRoot", "true"), "web", ROOT_IMAGE, null));
    assertEquals(
        "spec.securityContext.runAsNonRoot: must be true or false, found a string", e.getMessage());
    e = assertThrows(InvalidWorkloadException.class, () -> pod(null, "web", ROOT_IMAGE, List.of()));
    assertEquals(
        "spec.containers[0].securityContext: must be an object, found a list", e.getMessage());
  }

  @Test
  void oneResponseCarriesEveryReason() throws Exception {
    Verdict v =
        run(
            "admission:\n  allowedSources: [{prefix: registry.corp.example}]\n  rules:\n"
                + "    - {name: latest, mode: Warn, blockLatestTag: true}\n"
                + "    - {name: no-root, mode: Warn, imageMetadata: {denyRunAsRoot: true}}\n",
            APP,
            pod(null, "web", "registry.corp.example/app", null),
            null);
    assertEquals(
        List.of(
            "container \"web\": image \"registry.corp.example/app:latest\" uses the latest tag"
                + " (rule latest)",
            "container \"web\": image \"registry.corp.example/app:latest\" runs as root (config"
                + " user \"\") (rule no-root)"),
        messages(v));
  }

  @Test
  void whatIsNotFetched() throws Exception {
    String yaml =
        "admission:\n  allowedSources: [{prefix: registry.corp.example}]\n  rules:\n"
            + "    - {name: r, imageMetadata: {denyRunAsRoot: true}}\n";
    Policy p = policy(yaml);
    ImageContentRules rules = ImageContentRules.of(p, "registry-policy");
    AdmissionCheck check = AdmissionCheck.of(p, "registry-policy");
    Workload w =
        pod(
            null,
            "outside",
            "evil.example/x:1",
            null,
            "invalid",
            "UPPER/x",
            null,
            "ok",
            ROOT_IMAGE,
            null,
            "ok2",
            ROOT_IMAGE,
            null);
    List<ImageContentRules.Need> plan = rules.plan(APP, w, null, check.check(APP, w, null));
    assertEquals(List.of("ok", "ok2"), plan.stream().map(n -> n.container().name()).toList());
    assertEquals(1, ImageContentRules.images(plan).size(), "one fetch per distinct image");
    NamespaceInfo kubeSystem = NamespaceInfo.named("kube-system");
    assertEquals(List.of(), rules.plan(kubeSystem, w, null, check.check(kubeSystem, w, null)));
    // UPDATE: unchanged containers (same image and run-as) are not fetched; a changed run-as is.
    Workload old = pod(null, "ok", ROOT_IMAGE, Map.of("runAsUser", 1000));
    Workload now = pod(null, "ok", ROOT_IMAGE, Map.of("runAsUser", 1000));
    assertEquals(List.of(), rules.plan(APP, now, old, check.check(APP, now, old)));
    Workload changed = pod(null, "ok", ROOT_IMAGE, null);
    assertEquals(1, rules.plan(APP, changed, old, check.check(APP, changed, old)).size());
  }

  @Test
  void namespacesOfTheRule() throws Exception {
    String yaml =
        "admission:\n  rules:\n    - {name: r, namespaces: {selector: {matchLabels: {tier: db}}},"
            + " imageMetadata: {denyRunAsRoot: true}}\n";
    assertEquals(Action.ALLOW, run(yaml, APP, pod(null, "web", ROOT_IMAGE, null), null).action());
    NamespaceInfo db = new NamespaceInfo("db", Map.of("tier", "db"), Map.of());
    assertEquals(Action.DENY, run(yaml, db, pod(null, "web", ROOT_IMAGE, null), null).action());
  }

  @Test
  void mergeWithoutBaseKeepsOnlyContentFindings() throws Exception {
    Policy p =
        policy(
            "admission:\n  rules:\n    - {name: latest, mode: Warn, blockLatestTag: true}\n"
                + "    - {name: r, mode: Audit, imageMetadata: {denyRunAsRoot: true}}\n");
    Workload w = pod(null, "a", "registry.corp.example/app", null, "b", USER_IMAGE + "x", null);
    Verdict base = AdmissionCheck.of(p, "ns").check(APP, w, null);
    ImageContentRules rules = ImageContentRules.of(p, "ns");
    List<Finding> content =
        rules.evaluate(rules.plan(APP, w, null, base), ImageContentRulesTest::lookup, null);
    Verdict only = ImageContentRules.merge(base, content, false);
    assertEquals(Action.AUDIT, only.action());
    assertEquals(1, only.findings().size());
    assertEquals("r", only.findings().get(0).rule());
    assertSame(w.containers().get(0), only.containers().get(0).container());
    assertEquals(
        "container \"b\": image \"registry.corp.example/user:1x\" is allowed",
        only.containers().get(1).message());
    Verdict both = ImageContentRules.merge(base, content, true);
    assertEquals(Action.WARN, both.action());
    assertEquals(2, both.findings().size());
    assertSame(base, ImageContentRules.merge(base, List.of(), true));
  }

  @Test
  void failuresWithOnErrorAndMetricsDecisions() throws Exception {
    Policy p =
        policy(
            "admission:\n  rules:\n    - {name: strict, imageMetadata: {denyRunAsRoot: true}}\n"
                + "    - {name: lenient, imageMetadata: {denyRunAsRoot: true, onError: Allow}}\n");
    Workload w = pod(null, "web", ROOT_IMAGE, null);
    Verdict base = AdmissionCheck.of(p, "ns").check(APP, w, null);
    ImageContentRules rules = ImageContentRules.of(p, "ns");
    List<ImageContentRules.Decided> decided = new ArrayList<>();
    List<Finding> f =
        rules.evaluate(
            rules.plan(APP, w, null, base),
            r -> MetadataLookup.failed(MetadataFailure.TIMEOUT, "no answer within 4000 ms"),
            decided);
    assertEquals(
        List.of(
            "container \"web\": image \"registry.corp.example/app:1\" could not be checked"
                + " (timeout: no answer within 4000 ms; onError Deny) (rule strict)"),
        f.stream().map(Finding::message).toList());
    assertEquals(
        List.of(ImageContentCheck.Decision.ERROR_DENIED, ImageContentCheck.Decision.ERROR_ALLOWED),
        decided.stream().map(d -> d.outcome().decision()).toList());
    assertTrue(decided.stream().allMatch(d -> d.failure() == MetadataFailure.TIMEOUT));
  }
}
