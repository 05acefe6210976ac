package dev.registrypolicy.admission.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.InvalidWorkloadException;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The verdict function against every corpus case. */
class AdmissionCorpusTest {
  private static List<Case> cases;

  private static synchronized List<Case> cases() {
    if (cases == null) {
      cases = AdmissionCorpus.load();
    }
    return cases;
  }

  @Test
  void corpusIsLargeAndIdsAreUnique() {
    assertTrue(cases().size() >= 200, "want at least 200 cases, found " + cases().size());
    Set<String> ids = new HashSet<>();
    for (Case c : cases()) {
      assertTrue(ids.add(c.id()), "duplicate id " + c.id());
    }
  }

  @Test
  void everyWorkloadKindAndUpdateAndSubresourceIsCovered() {
    Set<WorkloadKind> kinds = EnumSet.noneOf(WorkloadKind.class);
    boolean update = false;
    boolean ephemeral = false;
    for (Case c : cases()) {
      WorkloadKind k = WorkloadKind.ofKind(String.valueOf(c.object().get("kind")));
      if (k != null) {
        kinds.add(k);
      }
      update |= c.isUpdate();
      ephemeral |= AdmissionCorpus.EPHEMERAL_SUBRESOURCE.equals(c.subResource());
    }
    assertEquals(EnumSet.allOf(WorkloadKind.class), kinds);
    assertTrue(update && ephemeral);
  }

  @Test
  void numbersAreLongs() {
    Map<String, Object> obj =
        AdmissionCorpus.longs(Map.of("a", List.of(1, Map.of("b", 2)), "c", "x"));
    Object a = obj.get("a");
    assertInstanceOf(Long.class, ((List<?>) a).get(0));
    assertInstanceOf(Long.class, ((Map<?, ?>) ((List<?>) a).get(1)).get("b"));
  }

  @Test
  void loaderErrorsNameFileAndCase() {
    String policy =
        "policies:\n  p: |\n    apiVersion: registry-policy.dev/v1alpha1\n    kind: RegistryPolicy\n"
            + "namespaces:\n  apps: {}\n";
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                AdmissionCorpus.parseFile(
                    "x.yaml",
                    policy
                        + "cases:\n  - {name: bad-one, policy: p, namespace: apps, image: nginx,"
                        + " expect: allow, typo: 1}\n"));
    assertTrue(
        e.getMessage().contains("x.yaml") && e.getMessage().contains("bad-one"), e::getMessage);
    e =
        assertThrows(
            IllegalStateException.class,
            () ->
                AdmissionCorpus.parseFile(
                    "y.yaml",
                    policy
                        + "cases:\n  - {name: no-ns, policy: p, namespace: nope, image: nginx,"
                        + " expect: allow}\n"));
    assertTrue(
        e.getMessage().contains("y.yaml") && e.getMessage().contains("no-ns"), e::getMessage);
    e =
        assertThrows(
            IllegalStateException.class,
            () ->
                AdmissionCorpus.parseFile(
                    "z.yaml",
                    policy
                        + "cases:\n  - {name: bad-action, policy: p, namespace: apps, image: nginx,"
                        + " expect: reject}\n"));
    assertTrue(
        e.getMessage().contains("z.yaml") && e.getMessage().contains("bad-action"), e::getMessage);
    // A shorthand Deployment nests its pod spec at spec.template.spec.
    List<Case> ok =
        AdmissionCorpus.parseFile(
            "w.yaml",
            policy
                + "cases:\n  - {name: dep, policy: p, namespace: apps, kind: CronJob, image: nginx,"
                + " expect: allow}\n");
    Object spec = ok.get(0).object();
    for (String k : WorkloadKind.CRON_JOB.podSpecPath()) {
      spec = ((Map<?, ?>) spec).get(k);
    }
    assertEquals(
        "nginx",
        ((Map<?, ?>) ((List<?>) ((Map<?, ?>) spec).get("containers")).get(0)).get("image"));
  }

  @TestFactory
  Stream<DynamicTest> verdictFunctionAgreesWithCorpus() {
    return cases().stream().map(c -> DynamicTest.dynamicTest(c.id(), () -> run(c)));
  }

  private static void run(Case c) throws InvalidWorkloadException {
    Verdict v = verdict(c);
    List<String> m = c.expected().mismatches(v);
    if (!m.isEmpty()) {
      List<String> lines = new ArrayList<>();
      lines.add(c.id() + (c.note() == null ? "" : " (" + c.note() + ")"));
      lines.addAll(m);
      fail(String.join("\n  ", lines));
    }
  }

  /** The Java verdict on a case, as the webhook computes it. */
  static Verdict verdict(Case c) throws InvalidWorkloadException {
    AdmissionCheck check = AdmissionCheck.of(c.policy(), c.ownNamespace());
    String ns = c.namespace().name();
    Workload w = Workload.fromObject(c.object(), ns);
    Workload old = c.oldObject() == null ? null : Workload.fromObject(c.oldObject(), ns);
    return check.check(c.namespace(), w, old);
  }
}
