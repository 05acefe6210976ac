package dev.registrypolicy.controller.nodestatus;

import dev.registrypolicy.common.NodeReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How many nodes are on the current policy and bundle, and which are not and why: a pure function
 * of the Nodes, the report Leases, the {@link Target} and the time. Its {@link #text} is the status
 * ConfigMap's {@code nodes} value. The text holds only states and absolute times (no ages), so it
 * changes only when a node's state does: a Lease renewal alone never changes it.
 *
 * @param counts nodes per state (every state present)
 * @param withProblems nodes whose agent reports problems, whatever their state
 * @param deletedNodeReports report Leases whose node no longer exists
 * @param ignored report Leases that name no node, or are not named for the node they name (a
 *     duplicate), and so count for nothing
 * @param lines one per node that is not current or has problems, and one per report of a deleted
 *     node, in that order of importance, then by name
 * @param orphans the report Leases of deleted nodes (name and uid), for garbage collection
 * @param target what the nodes were compared with
 */
public record FleetStatus(
    Map<NodeState, Integer> counts,
    int withProblems,
    int deletedNodeReports,
    int ignored,
    List<Line> lines,
    List<Orphan> orphans,
    Target target) {

  /** Lines listed in {@link #text} at most; the rest is one "... and K more" line. */
  public static final int MAX_LINES = 50;

  /** Characters of a policy hash shown (as in the Lease's label). */
  private static final int SHORT = NodeReport.SHORT_HASH;

  /** One node's (or one deleted node's report's) line. */
  public record Line(int rank, String node, String text) {}

  /** A report Lease of a node that no longer exists. */
  public record Orphan(String lease, String uid, String node) {}

  public FleetStatus {
    counts = Map.copyOf(counts);
    lines = List.copyOf(lines);
    orphans = List.copyOf(orphans);
  }

  /** Nodes in {@code state}. */
  public int count(NodeState state) {
    return counts.getOrDefault(state, 0);
  }

  /** All nodes that exist. */
  public int nodes() {
    int n = 0;
    for (int c : counts.values()) {
      n += c;
    }
    return n;
  }

  /**
   * Compares every node with {@code target}.
   *
   * @param nodes the names of the Nodes that exist
   * @param leases every report Lease (label-selected)
   */
  public static FleetStatus of(
      Target target, Set<String> nodes, Collection<ReportLease> leases, Instant now) {
    Map<String, ReportLease> byNode = new HashMap<>();
    int ignored = 0;
    for (ReportLease l : leases) {
      if (!l.wellNamed()) {
        ignored++; // names no node, or a second Lease claiming a node: not the agent's report
        continue;
      }
      byNode.put(l.report().node(), l);
    }
    Map<NodeState, Integer> counts = new EnumMap<>(NodeState.class);
    for (NodeState s : NodeState.values()) {
      counts.put(s, 0);
    }
    List<Line> lines = new ArrayList<>();
    int withProblems = 0;
    for (String node : nodes) {
      ReportLease l = byNode.get(node);
      NodeState state = state(target, l, now);
      counts.merge(state, 1, Integer::sum);
      List<String> problems = l == null ? List.of() : l.report().problems();
      if (!problems.isEmpty()) {
        withProblems++;
      }
      if (state != NodeState.CURRENT || !problems.isEmpty()) {
        lines.add(new Line(rank(state), node, node + ": " + why(target, state, l, problems)));
      }
    }
    List<Orphan> orphans = new ArrayList<>();
    for (ReportLease l : byNode.values()) {
      String node = l.report().node();
      if (!nodes.contains(node)) {
        orphans.add(new Orphan(l.name(), l.uid(), node));
        lines.add(
            new Line(
                ORPHAN_RANK,
                node,
                node + ": no such node; its report Lease " + l.name() + " is removed"));
      }
    }
    lines.sort(Comparator.comparingInt(Line::rank).thenComparing(Line::node));
    orphans.sort(Comparator.comparing(Orphan::lease));
    return new FleetStatus(counts, withProblems, orphans.size(), ignored, lines, orphans, target);
  }

  /** Where a report of a deleted node is listed: last. */
  private static final int ORPHAN_RANK = 4;

  /**
   * Listing order: behind first (the edit has not reached them), then silent nodes, then problems.
   */
  private static int rank(NodeState s) {
    return switch (s) {
      case BEHIND -> 0;
      case NOT_REPORTING -> 1;
      case NO_REPORT -> 2;
      case CURRENT -> 3;
    };
  }

  private static NodeState state(Target t, ReportLease l, Instant now) {
    if (l == null) {
      return NodeState.NO_REPORT;
    }
    if (l.staleAt(now)) {
      return NodeState.NOT_REPORTING;
    }
    return behind(t, l.report()) == null ? NodeState.CURRENT : NodeState.BEHIND;
  }

  /** What differs from the target, or null when nothing does. */
  private static String behind(Target t, NodeReport r) {
    List<String> parts = new ArrayList<>();
    if (t.policySha256() != null && !t.policySha256().equals(r.policySha256())) {
      parts.add(
          (r.policySha256() == null
                  ? "no policy"
                  : "policy " + r.policySha256().substring(0, SHORT))
              + (r.appliedAt() == null ? "" : " applied " + r.appliedAt()));
    }
    if (t.bundleRevision() != null && !t.bundleRevision().equals(r.bundleRevision())) {
      parts.add(
          "bundle " + (r.bundleRevision() == null ? "none" : "revision " + r.bundleRevision()));
    }
    return parts.isEmpty() ? null : String.join(", ", parts);
  }

  private static String why(Target t, NodeState s, ReportLease l, List<String> problems) {
    String text =
        switch (s) {
          case NO_REPORT -> "no agent report";
          case NOT_REPORTING ->
              l.renewed() == null
                  ? "not reporting (its report Lease has no renewTime)"
                  : l.validFor() == null
                      ? "not reporting (its report Lease has no leaseDurationSeconds)"
                      : "not reporting since " + l.renewed();
          case BEHIND -> "behind: " + behind(t, l.report());
          case CURRENT -> "current";
        };
    if (!problems.isEmpty()) {
      text +=
          "; "
              + problems.size()
              + (problems.size() == 1 ? " problem: " : " problems, first: ")
              + problems.get(0);
    }
    return text;
  }

  /**
   * The status ConfigMap's {@code nodes} value: one summary line, then at most {@code maxLines}
   * lines of nodes that are not current (or have problems), then "... and K more".
   */
  public String text(int maxLines) {
    StringBuilder b = new StringBuilder();
    b.append(nodes())
        .append(nodes() == 1 ? " node: " : " nodes: ")
        .append(count(NodeState.CURRENT))
        .append(" current, ")
        .append(count(NodeState.BEHIND))
        .append(" behind, ")
        .append(count(NodeState.NOT_REPORTING))
        .append(" not reporting, ")
        .append(count(NodeState.NO_REPORT))
        .append(" without agent report, ")
        .append(withProblems)
        .append(" with problems");
    if (deletedNodeReports > 0) {
      b.append(", ").append(deletedNodeReports).append(" reports of deleted nodes");
    }
    if (ignored > 0) {
      b.append(", ")
          .append(ignored)
          .append(" report Leases ignored (no valid holder, or a duplicate)");
    }
    b.append("; compared with ");
    if (target.policySha256() == null) {
      b.append("no policy (no valid policy yet)");
    } else {
      b.append("policy ").append(target.policySha256(), 0, SHORT);
    }
    if (target.bundleRevision() != null) {
      b.append(", bundle revision ").append(target.bundleRevision());
    }
    if (target.policyNote() != null) {
      b.append(" (").append(target.policyNote()).append(")");
    }
    int shown = Math.min(maxLines, lines.size());
    for (int i = 0; i < shown; i++) {
      b.append('\n').append(lines.get(i).text());
    }
    if (lines.size() > shown) {
      b.append("\n... and ").append(lines.size() - shown).append(" more");
    }
    return b.toString();
  }
}
