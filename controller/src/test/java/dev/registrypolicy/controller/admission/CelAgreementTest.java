package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.ContainerKind;
import dev.registrypolicy.admission.InvalidWorkloadException;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The generated policies and the Java verdict agree on seeded random requests: every workload kind,
 * the three container lists, creates and updates (unchanged containers allowed), the ephemeral
 * containers subresource, scoped sources and rules, exempt namespaces, and images from the random
 * generator mixed with images near the policy's prefixes and bypass attempts. For each action, the
 * policy bound with it fails exactly when the Java verdict has a finding of that action, with
 * exactly {@code Verdict.message(action)}.
 */
class CelAgreementTest {
  private static final long SEED = 77L;
  private static final int REQUESTS = 3_000;

  static final String POLICY =
      """
      admission:
        mode: Deny
        exemptNamespaces: [kube-system, registry-policy]
        allowedSources:
          - prefix: registry.corp
          - prefix: registry.corp:5000
          - prefix: ghcr.io/corp
          - prefix: docker.io/library
          - prefix: localhost:5000/a/b
          - prefix: "[::1]:5000"
          - prefix: other.corp/team-a
            scope:
              names: [team-a]
              selector: {matchLabels: {team: a}}
          - prefix: other.corp/x/y
            scope:
              selector:
                matchExpressions: [{key: env, operator: In, values: [prod, stage]}]
          - prefix: third.corp
            scope:
              selector:
                matchExpressions:
                  - {key: env, operator: NotIn, values: [prod]}
                  - {key: team, operator: Exists}
                  - {key: frozen, operator: DoesNotExist}
        rules:
          - name: prod-pinned
            namespaces:
              selector: {matchLabels: {env: prod}}
            requireDigest: true
          - name: no-latest
            blockLatestTag: true
            blockUntagged: true
            mode: Warn
          - name: approved-tags
            mode: Audit
            namespaces: {names: [team-a]}
            allowedNameTags:
              - {name: "registry.corp/team-a/*", tag: "v*"}
              - {name: "docker.io/library/*"}
          - name: blocked
            blockedImages:
              - {host: "*.evil.example"}
              - {host: registry.corp, port: 5000, name: "legacy/*"}
              - {name: "busybox", tag: "1.2*"}
              - {name: "b?"}
          - name: warn-blocked
            mode: Warn
            blockedImages:
              - {tag: "*-rc?"}
      """;

  static final List<String> NEAR =
      List.of(
          "registry.corp/app:1",
          "registry.corp.evil.example/x",
          "registry.corp:443/x",
          "registry.corp:5000/legacy/app:1",
          "registry.corp:5000/ok:v1",
          "ghcr.io/corp/app",
          "ghcr.io/corp-evil/app",
          "ghcr.io/corpx",
          "ghcr.io/corp",
          "nginx",
          "nginx:latest",
          "library/nginx:1.25",
          "docker.io/nginx",
          "index.docker.io/library/nginx:1",
          "registry-1.docker.io/library/nginx:1",
          "busybox:1.23",
          "bb:1",
          "b2",
          "localhost:5000/a/b",
          "localhost:5000/a/bc",
          "localhost:5000/a/b/c:1",
          "localhost/a/b",
          "[::1]:5000/x:1",
          "[::1]/x",
          "other.corp/team-a/x:v2",
          "other.corp/team-ab/x",
          "other.corp/x/y/z@sha256:" + "a".repeat(64),
          "other.corp/x/yy",
          "third.corp/t:1",
          "Registry.Corp/x",
          "registry.corp/team-a/app:v1.2",
          "registry.corp/team-a/app:1.2",
          "registry.corp/app:1.0-rc1",
          "registry.corp/app@sha256:" + "b".repeat(64),
          "registry.corp/app:1@sha256:" + "c".repeat(64),
          "x.evil.example/a:1");

  static final List<Map<String, Object>> NAMESPACES =
      List.of(
          CelRequests.namespace("apps", Map.of()),
          CelRequests.namespace("team-a", Map.of()),
          CelRequests.namespace("prod", Map.of("env", "prod", "team", "a")),
          CelRequests.namespace("stage", Map.of("env", "stage", "team", "b")),
          CelRequests.namespace("frozen", Map.of("team", "c", "frozen", "yes")),
          CelRequests.namespace("kube-system", Map.of()),
          CelRequests.namespace("registry-policy", Map.of()));

  @Test
  void celAgreesWithTheVerdictOnRandomRequests() {
    Policy policy = CelRequests.policy(POLICY);
    ValidatingPolicies.Result built = ValidatingPolicies.build(policy, CelRequests.OWN);
    assertEquals(List.of(), built.problems());
    assertEquals(3, built.policies().size());
    Map<Action, CelHarness.Compiled> vaps = compiled(built);
    AdmissionCheck check = AdmissionCheck.of(policy, CelRequests.OWN);
    SplittableRandom rnd = new SplittableRandom(SEED);
    CelImageGenerator gen = new CelImageGenerator(SEED);
    List<String> failures = new ArrayList<>();
    Map<Action, Integer> seen = new EnumMap<>(Action.class);
    for (int i = 0; i < REQUESTS; i++) {
      Map<String, Object> ns = NAMESPACES.get(rnd.nextInt(NAMESPACES.size()));
      int n = 1 + rnd.nextInt(4);
      List<CelRequests.C> cs = new ArrayList<>();
      for (int j = 0; j < n; j++) {
        String image =
            rnd.nextInt(3) == 0 ? gen.next(i * 7 + j) : NEAR.get(rnd.nextInt(NEAR.size()));
        ContainerKind kind = ContainerKind.values()[rnd.nextInt(3)];
        cs.add(new CelRequests.C(kind, "c" + j, image));
      }
      CelHarness.Request req;
      List<CelRequests.C> old = List.of();
      WorkloadKind kind = WorkloadKind.values()[rnd.nextInt(WorkloadKind.values().length)];
      switch (rnd.nextInt(4)) {
        case 0 -> {
          old = someOf(cs, rnd);
          req = CelRequests.update(kind, ns, cs, old);
        }
        case 1 -> {
          old = someOf(cs, rnd);
          req = CelRequests.ephemeral(ns, cs, old);
        }
        default -> req = CelRequests.create(kind, ns, cs);
      }
      NamespaceInfo info =
          new NamespaceInfo(CelRequests.nsName(ns), CelRequests.nsLabels(ns), Map.of());
      Verdict verdict = verdict(check, info, req);
      for (Action a : List.of(Action.DENY, Action.WARN, Action.AUDIT)) {
        CelHarness.Outcome got = vaps.get(a).evaluate(req);
        String expected = CelExpected.message(verdict, a);
        if (expected != null) {
          seen.merge(a, 1, Integer::sum);
        }
        String gotMessage =
            got.failed() ? (got.error() != null ? "error: " + got.error() : got.message()) : null;
        if (!java.util.Objects.equals(expected, gotMessage) && failures.size() < 15) {
          failures.add(
              a
                  + " "
                  + CelRequests.nsName(ns)
                  + " "
                  + req.operation()
                  + " "
                  + kind
                  + " "
                  + cs
                  + " old "
                  + old
                  + "\n  java: "
                  + expected
                  + "\n  cel:  "
                  + gotMessage);
        }
      }
    }
    assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
    for (Action a : List.of(Action.DENY, Action.WARN, Action.AUDIT)) {
      assertTrue(seen.getOrDefault(a, 0) > REQUESTS / 20, a + " findings: " + seen);
    }
  }

  /** The Java verdict on the request, read from its objects as the webhook reads them. */
  static Verdict verdict(AdmissionCheck check, NamespaceInfo ns, CelHarness.Request req) {
    try {
      Workload w = Workload.fromObject(req.object(), ns.name());
      Workload old =
          req.oldObject() == null ? null : Workload.fromObject(req.oldObject(), ns.name());
      return check.check(ns, w, old);
    } catch (InvalidWorkloadException e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  static Map<Action, CelHarness.Compiled> compiled(ValidatingPolicies.Result built) {
    Map<Action, CelHarness.Compiled> out = new EnumMap<>(Action.class);
    for (int i = 0; i < built.policies().size(); i++) {
      String name = built.policies().get(i).getMetadata().getName();
      Action a =
          switch (name) {
            case ValidatingPolicies.DENY_NAME -> Action.DENY;
            case ValidatingPolicies.WARN_NAME -> Action.WARN;
            default -> Action.AUDIT;
          };
      out.put(a, CelHarness.compile(built.policies().get(i), built.bindings().get(i)));
    }
    return out;
  }

  /** Some of the containers, some with another image (a changed container is checked). */
  private static List<CelRequests.C> someOf(List<CelRequests.C> cs, SplittableRandom rnd) {
    List<CelRequests.C> old = new ArrayList<>();
    for (CelRequests.C c : cs) {
      int r = rnd.nextInt(3);
      if (r == 0) {
        old.add(c);
      } else if (r == 1) {
        old.add(new CelRequests.C(c.kind(), c.name(), c.image() + "x"));
      }
    }
    return old;
  }

  static Set<String> names(List<CelRequests.C> cs) {
    Set<String> out = new TreeSet<>();
    cs.forEach(c -> out.add(c.name()));
    return out;
  }
}
