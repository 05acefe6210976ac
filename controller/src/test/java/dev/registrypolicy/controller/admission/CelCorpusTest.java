package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.InvalidWorkloadException;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.admission.corpus.AdmissionCorpus;
import dev.registrypolicy.admission.corpus.Case;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * Every case of the shared admission corpus through the generated ValidatingAdmissionPolicies
 * (evaluated with dev.cel:cel by {@link CelHarness}) and through {@link AdmissionCheck}: for each
 * action, the policy bound with it fails exactly when the Java verdict has a finding of that
 * action, with the same message ({@link CelExpected#message}).
 */
class CelCorpusTest {
  private static final List<Action> ACTIONS = List.of(Action.DENY, Action.WARN, Action.AUDIT);

  @Test
  void everyCorpusCaseAgrees() throws InvalidWorkloadException {
    List<Case> cases = AdmissionCorpus.load();
    assertTrue(cases.size() >= 200, "corpus has " + cases.size() + " cases");
    Map<String, Map<Action, CelHarness.Compiled>> byPolicy = new HashMap<>();
    List<String> failures = new ArrayList<>();
    Map<Action, Integer> findings = new EnumMap<>(Action.class);
    for (Case c : cases) {
      Map<Action, CelHarness.Compiled> vaps =
          byPolicy.computeIfAbsent(
              c.policyId() + "\u0000" + c.ownNamespace() + "\u0000" + c.id().split("#")[0],
              k -> {
                ValidatingPolicies.Result r =
                    ValidatingPolicies.build(c.policy(), c.ownNamespace());
                assertEquals(List.of(), r.problems(), c.id());
                return CelAgreementTest.compiled(r);
              });
      WorkloadKind kind = WorkloadKind.ofKind(String.valueOf(c.object().get("kind")));
      AdmissionCheck check = AdmissionCheck.of(c.policy(), c.ownNamespace());
      Workload w = Workload.fromObject(c.object(), c.namespace().name());
      Workload old =
          c.oldObject() == null ? null : Workload.fromObject(c.oldObject(), c.namespace().name());
      Verdict v = w == null ? null : check.check(c.namespace(), w, old);
      CelHarness.Request req = request(c, kind);
      for (Action a : ACTIONS) {
        String want = v == null ? null : CelExpected.message(v, a);
        if (want != null) {
          findings.merge(a, 1, Integer::sum);
        }
        CelHarness.Compiled vap = vaps.get(a);
        String got = null;
        if (vap != null && req != null) {
          CelHarness.Outcome o = vap.evaluate(req);
          got = !o.failed() ? null : o.error() != null ? "error: " + o.error() : o.message();
        }
        if (!Objects.equals(want, got)) {
          failures.add(c.id() + " " + a + "\n  java: " + want + "\n  cel:  " + got);
        }
      }
    }
    assertTrue(
        failures.isEmpty(),
        () ->
            failures.size()
                + " disagreements:\n"
                + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
    for (Action a : ACTIONS) {
      assertTrue(findings.getOrDefault(a, 0) > 0, "no " + a + " case in the corpus: " + findings);
    }
  }

  /** The request the API server would evaluate, or null for an object of no checked kind. */
  static CelHarness.Request request(Case c, WorkloadKind kind) {
    if (kind == null) {
      return null;
    }
    Map<String, String> labels = new LinkedHashMap<>(c.namespace().labels());
    labels.put(ValidatingPolicies.NAMESPACE_NAME_LABEL, c.namespace().name());
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("name", c.namespace().name());
    meta.put("labels", labels);
    if (!c.namespace().annotations().isEmpty()) {
      meta.put("annotations", c.namespace().annotations());
    }
    Map<String, Object> ns = Map.of("apiVersion", "v1", "kind", "Namespace", "metadata", meta);
    boolean ephemeral = AdmissionCorpus.EPHEMERAL_SUBRESOURCE.equals(c.subResource());
    return new CelHarness.Request(
        c.isUpdate() ? "UPDATE" : "CREATE",
        kind.group(),
        kind.version(),
        kind.resource(),
        ephemeral ? AdmissionCorpus.EPHEMERAL_SUBRESOURCE : "",
        c.object(),
        c.oldObject(),
        ns);
  }
}
