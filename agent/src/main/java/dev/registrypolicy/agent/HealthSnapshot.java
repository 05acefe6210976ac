package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.common.Health;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the agent knows after a pass, published as one immutable value (a volatile reference) so
 * that {@code /healthz}, {@code /readyz} and the gauges read it without waiting for a pass.
 *
 * @param plan the plan in force (the last good one, held hosts included); null before the first
 *     good policy
 * @param report what the last apply did; null before the first apply
 * @param problems the current problems
 * @param diagnosis containerd's config.toml as last read; null without {@code --containerd-config}
 * @param fingerprint the inputs the last pass read ({@link PolicySource#fingerprint()}); null
 *     before the first
 * @param lastSuccessMillis when a pass last applied the current policy with no write failure (0:
 *     never)
 * @param passes passes completed
 */
record HealthSnapshot(
    Plan plan,
    CertsDir.Report report,
    List<AgentProblem> problems,
    ContainerdConfig.Diagnosis diagnosis,
    String fingerprint,
    long lastSuccessMillis,
    long passes) {
  static final HealthSnapshot START = new HealthSnapshot(null, null, List.of(), null, null, 0, 0);

  HealthSnapshot {
    problems = List.copyOf(problems);
  }

  /** Host directories of the plan that are the agent's (not those left alone as foreign). */
  List<String> managedHosts() {
    if (plan == null) {
      return List.of();
    }
    List<String> hosts = new ArrayList<>(plan.dirs().keySet());
    if (report != null) {
      hosts.removeAll(report.foreign());
    }
    return hosts;
  }

  /**
   * The probe answer. Liveness is whether passes complete ({@code passStuck} false): per-host
   * failures are problems and metrics, which a restart would not fix. Readiness is a completed pass
   * that had a good policy to apply.
   */
  Health health(boolean passStuck) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("policySha256", plan == null ? null : plan.policySha256());
    d.put("managedHosts", managedHosts());
    d.put("heldHosts", plan == null ? List.of() : List.copyOf(plan.held().keySet()));
    d.put("lastSuccessUnixSeconds", lastSuccessMillis / 1000);
    d.put("passes", passes);
    List<String> texts = new ArrayList<>();
    for (AgentProblem p : problems) {
      texts.add(p.detail());
    }
    d.put("problems", texts);
    if (report != null) {
      d.put("lastApply", CertsDir.describe(report));
    }
    if (diagnosis != null) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("configVersion", diagnosis.configVersion());
      c.put("configPath", diagnosis.configPath());
      c.put("pointsAtCertsDir", diagnosis.pointsAtCertsDir());
      c.put("containerd", diagnosis.containerdMajor());
      c.put("warnings", diagnosis.warnings());
      d.put("containerd", c);
    }
    if (passStuck) {
      d.put(
          "stuck",
          "a pass has been running for longer than " + Agent.STUCK_AFTER.toSeconds() + " s");
    }
    return new Health(!passStuck, plan != null && passes > 0, d);
  }
}
