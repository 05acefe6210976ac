package dev.registrypolicy.agent;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * The agent's Prometheus series on {@link Metrics}. Counters are bumped by the pass; every gauge is
 * read from the published {@link HealthSnapshot} at scrape time, so a scrape never waits for a
 * pass.
 */
final class AgentMetrics {
  final Metrics.Counter written;
  final Metrics.Counter removed;
  final Metrics.Counter driftRepairs;
  final Metrics.Gauge problem;
  private final Metrics.Counter reconciles;
  private final Metrics.Gauge policyInfo;

  /**
   * The sha256 label of the one series {@link #policyInfo} has, or null before the first good
   * policy.
   */
  private String policyInfoSha;

  AgentMetrics(Metrics metrics, Supplier<HealthSnapshot> snapshot, boolean containerdConfig) {
    written =
        metrics.counter("registry_policy_agent_files_written_total", "Files written to certs.d.");
    removed =
        metrics.counter("registry_policy_agent_files_removed_total", "Files removed from certs.d.");
    driftRepairs =
        metrics.counter(
            "registry_policy_agent_drift_repairs_total",
            "Files rewritten because they had drifted from the unchanged policy (edited, deleted, wiped).");
    reconciles =
        metrics.counter(
            "registry_policy_agent_reconciles_total", "Reconcile passes by outcome.", "outcome");
    problem =
        metrics.gauge(
            "registry_policy_agent_problem",
            "Current problems (1 while present).",
            "kind",
            "subject");
    metrics.gauge(
        "registry_policy_agent_last_success_timestamp_seconds",
        "Unix time of the last reconcile that applied the current policy.",
        () -> snapshot.get().lastSuccessMillis() / 1000.0);
    metrics.gauge(
        "registry_policy_agent_problems",
        "Number of current problems.",
        () -> snapshot.get().problems().size());
    metrics.gauge(
        "registry_policy_agent_managed_hosts",
        "Host directories of the applied plan that the agent manages (not those left alone as foreign).",
        () -> snapshot.get().managedHosts().size());
    policyInfo =
        metrics.gauge(
            "registry_policy_agent_policy_info",
            "1 for the last good policy, labelled with its full sha256 (as policySha256 in /healthz).",
            "sha256");
    if (containerdConfig) {
      // Only with --containerd-config: without it there is nothing to diagnose.
      metrics.gauge(
          "registry_policy_agent_containerd_config_version",
          "containerd config.toml's version (1 when it has none, 2 or 3); 0 while it cannot be read.",
          () ->
              snapshot.get().diagnosis() == null ? 0 : snapshot.get().diagnosis().configVersion());
      metrics.gauge(
          "registry_policy_agent_containerd_config_path_ok",
          "1 when containerd's registry config_path names the certs dir, else 0 (also while config.toml cannot be read).",
          () ->
              snapshot.get().diagnosis() != null && snapshot.get().diagnosis().pointsAtCertsDir()
                  ? 1
                  : 0);
    }
  }

  void pass(Agent.Outcome o) {
    reconciles.labels(o.name().toLowerCase(Locale.ROOT)).inc();
  }

  /**
   * Moves the policy_info series to {@code sha}: the new series first, so a scrape never sees none.
   */
  void policy(String sha) {
    if (!sha.equals(policyInfoSha)) {
      policyInfo.labels(sha).set(1);
      if (policyInfoSha != null) {
        policyInfo.remove(policyInfoSha);
      }
      policyInfoSha = sha;
    }
  }
}
