package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.WorkloadKind;
import io.kubernetes.client.openapi.models.V1NamedRuleWithOperations;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1Variable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shape of what {@link ValidatingPolicies#build} makes, its limits and its escaping. */
class ValidatingPoliciesTest {
  private static final Map<String, Object> APPS = CelRequests.namespace("apps", Map.of());

  @Test
  void emptyOrMissingSectionMakesNothing() {
    for (String yaml :
        List.of(
            "",
            "admission: {}\n",
            "admission:\n  mode: Warn\n  rules:\n    - name: meta\n      imageMetadata: {denyRunAsRoot: true}\n")) {
      ValidatingPolicies.Result r = ValidatingPolicies.build(CelRequests.policy(yaml), "rp");
      assertEquals(List.of(), r.policies(), yaml);
      assertEquals(List.of(), r.bindings());
      assertEquals(List.of(), r.problems());
    }
  }

  @Test
  void onePolicyAndBindingPerActionWithFixedNamesLabelsAndMatchRules() {
    ValidatingPolicies.Result r =
        ValidatingPolicies.build(CelRequests.policy(CelAgreementTest.POLICY), "rp");
    assertEquals(
        List.of("registry-policy-deny", "registry-policy-warn", "registry-policy-audit"),
        r.policies().stream().map(p -> p.getMetadata().getName()).toList());
    for (int i = 0; i < 3; i++) {
      V1ValidatingAdmissionPolicy p = r.policies().get(i);
      V1ValidatingAdmissionPolicyBinding b = r.bindings().get(i);
      assertEquals(p.getMetadata().getName(), b.getMetadata().getName());
      assertEquals(p.getMetadata().getName(), b.getSpec().getPolicyName());
      assertEquals(
          List.of(List.of("Deny"), List.of("Warn"), List.of("Audit")).get(i),
          b.getSpec().getValidationActions());
      assertEquals(
          Map.of("app.kubernetes.io/managed-by", "registry-policy-controller"),
          p.getMetadata().getLabels());
      assertEquals(p.getMetadata().getLabels(), b.getMetadata().getLabels());
      assertEquals("Fail", p.getSpec().getFailurePolicy());
      assertNull(p.getSpec().getParamKind());
      List<V1NamedRuleWithOperations> rules = p.getSpec().getMatchConstraints().getResourceRules();
      assertEquals(WorkloadKind.values().length + 1, rules.size());
      assertEquals(List.of("pods/ephemeralcontainers"), rules.get(rules.size() - 1).getResources());
      assertEquals(List.of("UPDATE"), rules.get(rules.size() - 1).getOperations());
      // The exempt namespaces the policy lists, by the label the API server sets.
      var req = b.getSpec().getMatchResources().getNamespaceSelector().getMatchExpressions().get(0);
      assertEquals("kubernetes.io/metadata.name", req.getKey());
      assertEquals("NotIn", req.getOperator());
      assertEquals(List.of("kube-system", "registry-policy"), req.getValues());
    }
  }

  @Test
  void exemptionDefaultIsKubeSystemAndOwnNamespaceAndAnEmptyListExemptsNothing() {
    String base = "admission:\n  allowedSources: [{prefix: registry.corp}]\n";
    ValidatingPolicies.Result r = ValidatingPolicies.build(CelRequests.policy(base), "rp-ns");
    assertEquals(
        List.of("kube-system", "rp-ns"),
        r.bindings()
            .get(0)
            .getSpec()
            .getMatchResources()
            .getNamespaceSelector()
            .getMatchExpressions()
            .get(0)
            .getValues());
    CelHarness.Compiled vap = CelHarness.compile(r.policies().get(0), r.bindings().get(0));
    List<CelRequests.C> bad = List.of(CelRequests.c("web", "nginx"));
    assertFalse(
        vap.evaluate(
                CelRequests.create(WorkloadKind.POD, CelRequests.namespace("rp-ns", Map.of()), bad))
            .applies());
    assertTrue(vap.evaluate(CelRequests.create(WorkloadKind.POD, APPS, bad)).failed());

    r = ValidatingPolicies.build(CelRequests.policy(base + "  exemptNamespaces: []\n"), "rp-ns");
    List<?> none =
        r.bindings()
            .get(0)
            .getSpec()
            .getMatchResources()
            .getNamespaceSelector()
            .getMatchExpressions();
    assertTrue(none == null || none.isEmpty(), String.valueOf(none));
    vap = CelHarness.compile(r.policies().get(0), r.bindings().get(0));
    assertTrue(
        vap.evaluate(
                CelRequests.create(
                    WorkloadKind.POD, CelRequests.namespace("kube-system", Map.of()), bad))
            .failed());
  }

  @Test
  void updatesCheckOnlyWhatChangesAndTheEphemeralSubresourceIsMatched() {
    ValidatingPolicies.Result r =
        ValidatingPolicies.build(
            CelRequests.policy("admission:\n  allowedSources: [{prefix: registry.corp}]\n"), "rp");
    CelHarness.Compiled vap = CelHarness.compile(r.policies().get(0), r.bindings().get(0));
    List<CelRequests.C> old = List.of(CelRequests.c("web", "nginx"));
    List<CelRequests.C> now =
        List.of(CelRequests.c("web", "nginx"), CelRequests.eph("dbg", "busybox"));
    CelHarness.Outcome o = vap.evaluate(CelRequests.ephemeral(APPS, now, old));
    assertTrue(o.applies());
    assertEquals(
        "ephemeral container \"dbg\": image \"docker.io/library/busybox:latest\" is not from an allowed source (rule allowedSources)",
        o.message());
    assertFalse(vap.evaluate(CelRequests.update(WorkloadKind.DEPLOYMENT, APPS, old, old)).failed());
    o =
        vap.evaluate(
            CelRequests.update(
                WorkloadKind.CRON_JOB, APPS, List.of(CelRequests.c("web", "nginx:2")), old));
    assertEquals(
        "container \"web\": image \"docker.io/library/nginx:2\" is not from an allowed source (rule allowedSources)",
        o.message());
    // A plain CREATE of a pods subresource other than ephemeralcontainers is not matched.
    CelHarness.Request status =
        new CelHarness.Request(
            "UPDATE",
            "",
            "v1",
            "pods",
            "status",
            CelRequests.object(WorkloadKind.POD, "apps", "w", now),
            null,
            APPS);
    assertFalse(vap.evaluate(status).applies());
  }

  @Test
  void anyTextRoundTripsThroughACelLiteral() {
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
    String alphabet = "a'\"\\\n\r\t\u0000\u007f\u00e9\u2028\u202e\ufeff\ud83d\ude00 ${}?*.()[]";
    StringBuilder lits = new StringBuilder("[");
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      StringBuilder t = new StringBuilder();
      int n = rnd.nextInt(12);
      for (int j = 0; j < n; j++) {
        char c = alphabet.charAt(rnd.nextInt(alphabet.length()));
        t.append(c);
        if (Character.isHighSurrogate(c)) {
          t.append('\ude00');
        } else if (Character.isLowSurrogate(c)) {
          t.setLength(t.length() - 1);
        }
      }
      texts.add(t.toString());
      lits.append(i == 0 ? "" : ", ").append(CelLiterals.string(t.toString()));
    }
    Object got = CelHarness.eval(lits.append(']').toString());
    assertEquals(texts, got);
  }

  @Test
  void globRegexesMatchAsGlobsDo() {
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
    String alphabet = "ab.*?-/:[]\\^$|+(){}";
    StringBuilder expr = new StringBuilder("[");
    List<Boolean> want = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      String g = random(rnd, "ab.*?-/:[]\\^$|+(){}", 6);
      String subject = random(rnd, "ab.-/:[]\\^$|+(){}", 6);
      dev.registrypolicy.policy.Glob glob = dev.registrypolicy.policy.Glob.of(g);
      want.add(glob.matches(subject));
      expr.append(i == 0 ? "" : ", ").append(CelGlob.matches(CelLiterals.string(subject), glob));
    }
    assertTrue(alphabet.length() > 0);
    assertEquals(want, CelHarness.eval(expr.append(']').toString()));
  }

  private static String random(java.util.SplittableRandom rnd, String chars, int max) {
    StringBuilder sb = new StringBuilder();
    int n = rnd.nextInt(max + 1);
    for (int i = 0; i < n; i++) {
      sb.append(chars.charAt(rnd.nextInt(chars.length())));
    }
    return sb.toString();
  }

  @Test
  void aLargeAllowlistIsSplitUnderTheExpressionLimitAndLookupsStillWork() {
    StringBuilder yaml = new StringBuilder("admission:\n  allowedSources:\n");
    for (int i = 0; i < 5000; i++) {
      yaml.append("    - prefix: registry")
          .append(i)
          .append(".corp.example/team-")
          .append(i)
          .append("/sub\n");
    }
    ValidatingPolicies.Result r =
        ValidatingPolicies.build(CelRequests.policy(yaml.toString()), "rp");
    assertEquals(List.of(), r.problems());
    V1ValidatingAdmissionPolicy p = r.policies().get(0);
    List<String> maps = new ArrayList<>();
    for (V1Variable v : p.getSpec().getVariables()) {
      int n = CelLiterals.codePoints(v.getExpression());
      assertTrue(n <= ValidatingPolicies.MAX_EXPRESSION_CODE_POINTS, v.getName() + " " + n);
      CelHarness.ast(v.getExpression()); // compiles with cel-java's 100,000 code point limit
      if (v.getName().startsWith("allow")) {
        maps.add(v.getName());
      }
    }
    assertTrue(maps.size() >= 2, "split into " + maps);
    CelHarness.Compiled vap = CelHarness.compile(p, r.bindings().get(0));
    assertFalse(
        vap.evaluate(
                CelRequests.create(
                    WorkloadKind.POD,
                    APPS,
                    List.of(
                        CelRequests.c("a", "registry4999.corp.example/team-4999/sub/x:1"),
                        CelRequests.c("b", "registry0.corp.example/team-0/sub:1"))))
            .failed());
    assertTrue(
        vap.evaluate(
                CelRequests.create(
                    WorkloadKind.POD,
                    APPS,
                    List.of(CelRequests.c("a", "registry4999.corp.example/team-4999/subx:1"))))
            .failed());
  }

  @Test
  void anExpressionOrObjectOverTheLimitsIsAProblemNotAnException() {
    ValidatingPolicies.Result r =
        ValidatingPolicies.build(CelRequests.policy(blocked(300, 100)), "rp");
    assertEquals(List.of(), r.policies());
    assertEquals(List.of(), r.bindings());
    assertEquals(1, r.problems().size(), r.problems().toString());
    assertTrue(
        r.problems().get(0).startsWith("registry-policy-deny: variable ruleFindings has "),
        r.problems().get(0));
    assertTrue(r.problems().get(0).endsWith("admission falls back to the webhook"));

    r = ValidatingPolicies.build(CelRequests.policy(blocked(1000, 250)), "rp");
    assertEquals(List.of(), r.policies());
    assertTrue(
        r.problems().stream()
            .anyMatch(
                m ->
                    m.startsWith("ValidatingAdmissionPolicy registry-policy-deny would be ")
                        && m.contains("bytes, over the 1048576 bytes")),
        r.problems().toString());
  }

  /** A rule blocking n name patterns of about len characters, mostly dots (escaped in RE2). */
  private static String blocked(int n, int len) {
    StringBuilder yaml =
        new StringBuilder("admission:\n  rules:\n    - name: many\n      blockedImages:\n");
    for (int i = 0; i < n; i++) {
      String name = ("a." + "b-".repeat(len / 2)).substring(0, len - 6) + i;
      yaml.append("        - {name: \"").append(name).append("\"}\n");
    }
    return yaml.toString();
  }
}
