package dev.registrypolicy.controller;

import java.util.concurrent.atomic.AtomicLong;

/** The controller's counters, exposed on /metrics in Prometheus text format. */
final class Metrics {
  final AtomicLong writes = new AtomicLong();
  final AtomicLong conflicts = new AtomicLong();
  final AtomicLong conflictsRetried = new AtomicLong();
  final AtomicLong invalidPolicies = new AtomicLong();
  final AtomicLong reconciles = new AtomicLong();
  volatile boolean leader;

  String render() {
    StringBuilder sb = new StringBuilder();
    counter(sb, "registry_policy_controller_writes_total", "API writes made by the controller.", writes.get());
    counter(sb, "registry_policy_controller_secret_conflicts_total",
        "Same-named Secrets not owned by the controller that blocked a grant.", conflicts.get());
    counter(sb, "registry_policy_controller_write_races_total",
        "Writes that lost to a concurrent writer (409/422) and were retried.", conflictsRetried.get());
    counter(sb, "registry_policy_controller_invalid_policies_total", "Distinct invalid policies seen.", invalidPolicies.get());
    counter(sb, "registry_policy_controller_reconciles_total", "Reconcile passes.", reconciles.get());
    sb.append("# HELP registry_policy_controller_leader 1 on the replica that holds the lease.\n")
        .append("# TYPE registry_policy_controller_leader gauge\n")
        .append("registry_policy_controller_leader ").append(leader ? 1 : 0).append('\n');
    return sb.toString();
  }

  private static void counter(StringBuilder sb, String name, String help, long v) {
    sb.append("# HELP ").append(name).append(' ').append(help).append('\n')
        .append("# TYPE ").append(name).append(" counter\n")
        .append(name).append(' ').append(v).append('\n');
  }
}
