package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.WorkloadKind;
import java.util.List;
import java.util.Map;

/**
 * What {@code controller.bench.CelBenchmark} needs from this package: the generated deny policy for
 * a policy with {@code prefixes} global allowed sources and a few rules, compiled by {@link
 * CelHarness}, and a three-container Pod it admits.
 */
public final class CelBenchAccess {
  private final CelHarness.Compiled vap;
  private final CelHarness.Request request;
  private final int policyBytes;
  private final int bindingBytes;

  /**
   * @param literalsOnce build the request-independent variables (the allowlist maps) once instead
   *     of on every evaluation
   */
  public CelBenchAccess(int prefixes, boolean literalsOnce) {
    StringBuilder yaml = new StringBuilder("admission:\n  allowedSources:\n");
    for (int i = 0; i < prefixes; i++) {
      yaml.append("    - prefix: registry")
          .append(i)
          .append(".corp.example/team-")
          .append(i)
          .append('\n');
    }
    yaml.append(
        """
          rules:
            - name: no-latest
              blockLatestTag: true
            - name: blocked
              blockedImages:
                - {host: "*.evil.example"}
                - {name: "busybox", tag: "1.2*"}
        """);
    ValidatingPolicies.Result r =
        ValidatingPolicies.build(CelRequests.policy(yaml.toString()), CelRequests.OWN);
    if (!r.problems().isEmpty()) {
      throw new IllegalStateException(String.join("; ", r.problems()));
    }
    CelHarness.Compiled c = CelHarness.compile(r.policies().get(0), r.bindings().get(0));
    vap = literalsOnce ? c.literalsOnce() : c;
    policyBytes = ValidatingPolicies.jsonBytes(r.policies().get(0));
    bindingBytes = ValidatingPolicies.jsonBytes(r.bindings().get(0));
    int last = prefixes - 1;
    request =
        CelRequests.create(
            WorkloadKind.POD,
            CelRequests.namespace("apps", Map.of()),
            List.of(
                CelRequests.c(
                    "app", "registry" + last + ".corp.example/team-" + last + "/app:1.2.3"),
                CelRequests.c("sidecar", "registry0.corp.example/team-0/proxy:2"),
                CelRequests.init(
                    "setup",
                    "registry"
                        + (last / 2)
                        + ".corp.example/team-"
                        + (last / 2)
                        + "/init@sha256:"
                        + "a".repeat(64))));
    if (vap.evaluate(request).failed()) {
      throw new IllegalStateException("the benchmark Pod is refused");
    }
  }

  /** Evaluates the policy on the Pod; true when it admits it. */
  public boolean admits() {
    return !vap.evaluate(request).failed();
  }

  /** JSON size of the ValidatingAdmissionPolicy. */
  public int policyBytes() {
    return policyBytes;
  }

  /** JSON size of its binding. */
  public int bindingBytes() {
    return bindingBytes;
  }
}
