package dev.registrypolicy.controller;

import dev.registrypolicy.controller.nodestatus.FleetStatus;
import dev.registrypolicy.controller.nodestatus.OrphanGrace;
import dev.registrypolicy.controller.nodestatus.ReportLease;
import dev.registrypolicy.controller.nodestatus.Target;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.ApiException;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The node status on the leader: the status ConfigMap's {@code nodes} text, the node gauges, and
 * the removal of report Leases whose Node is gone (after {@link NodeStatusSettings#grace}).
 */
final class NodeStatusPass {
  /** The {@code nodes} text until both caches have synced. */
  static final String WAITING =
      "not known yet: the Node and node report Lease caches have not synced (the controller"
          + " lists and watches nodes, and leases in namespace "
          + Policy.NAMESPACE
          + ")";

  /** Report Leases deleted per pass at most; the rest follow on the next ticks. */
  static final int MAX_DELETES_PER_PASS = 100;

  private static final Logger LOG = Logger.getLogger(NodeStatusPass.class.getName());

  /** What the pass reads. */
  interface View {
    boolean hasSynced();

    Set<String> nodeNames();

    List<ReportLease> reports();
  }

  private final View view;
  private final ClusterWrites writes;
  private final Metrics metrics;
  private final Supplier<Instant> clock;
  private final OrphanGrace orphans;

  /** The text the status was last computed with. */
  private volatile String lastText;

  NodeStatusPass(
      View view,
      ClusterWrites writes,
      Metrics metrics,
      NodeStatusSettings settings,
      Supplier<Instant> clock,
      java.util.function.LongSupplier nanoTime) {
    this.view = view;
    this.writes = writes;
    this.metrics = metrics;
    this.clock = clock;
    this.orphans = new OrphanGrace(settings.grace(), nanoTime);
  }

  /** The status as the caches show it now, or null while they have not synced. */
  FleetStatus compute(Target target) {
    if (!view.hasSynced()) {
      return null;
    }
    FleetStatus f = FleetStatus.of(target, view.nodeNames(), view.reports(), clock.get());
    metrics.nodes = f;
    return f;
  }

  /**
   * The status ConfigMap's {@code nodes} value (remembered, see {@link #changed}), or null while
   * the caches have not synced: the caller then keeps what the status says (a new leader must not
   * blank what the last one wrote), or writes {@link #WAITING} when it says nothing yet.
   */
  String text(Target target) {
    FleetStatus f = compute(target);
    String t = f == null ? null : f.text(FleetStatus.MAX_LINES);
    lastText = t;
    return t;
  }

  /**
   * The leader's periodic and event-driven pass: removes report Leases of Nodes gone for longer
   * than the grace, and says whether the {@code nodes} text differs from the one the status was
   * last computed with (a node went stale, came back, moved to the current policy, ...).
   */
  boolean changed(Target target) {
    FleetStatus f = compute(target);
    if (f == null) {
      return false; // nothing known yet: the status keeps what it says
    }
    collect(f);
    return !f.text(FleetStatus.MAX_LINES).equals(lastText);
  }

  private void collect(FleetStatus f) {
    if (view.nodeNames().isEmpty()) {
      // No Node at all, yet agents (which run on nodes) reported: more likely a broken or
      // truncated list than a cluster without nodes. Nothing is deleted on that.
      orphans.due(List.of());
      return;
    }
    List<FleetStatus.Orphan> due = orphans.due(f.orphans());
    int deleted = 0;
    for (FleetStatus.Orphan o : due) {
      if (deleted == MAX_DELETES_PER_PASS) {
        break;
      }
      try {
        writes.deleteLease(Policy.NAMESPACE, o.lease(), o.uid());
        metrics.writes.inc();
        deleted++;
        LOG.info(
            Log.kv(
                "deleted node report Lease",
                "lease",
                o.lease(),
                "node",
                o.node(),
                "reason",
                "the node no longer exists"));
      } catch (ApiException e) {
        if (e.getCode() == 404 || e.getCode() == 409) {
          continue; // gone already, or re-made since (another uid): the next pass looks again
        }
        LOG.log(
            Level.WARNING,
            Log.kv(
                "node report Lease delete failed; will retry on the next pass",
                "lease",
                o.lease(),
                "node",
                o.node()),
            e);
      }
    }
  }
}
