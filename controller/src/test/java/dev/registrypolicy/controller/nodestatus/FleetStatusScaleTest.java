package dev.registrypolicy.controller.nodestatus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.policy.bench.ProcInfo;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The node status stays cheap at 5,000 nodes: one pass (reading every cached Lease tolerantly,
 * comparing, sorting, writing the text) is timed 100 times after a warm-up, and the median and the
 * slowest printed with the machine. Re-run alone: {@code ./mvnw -o -pl controller -am test
 * -Dimage.skip -Dtest=FleetStatusScaleTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FleetStatusScaleTest {
  static final int NODES = 5_000;

  @Test
  void fiveThousandNodes() {
    Instant now = FleetStatusTest.NOW;
    Set<String> nodes = new HashSet<>();
    List<V1Lease> leases = new ArrayList<>();
    for (int i = 0; i < NODES; i++) {
      String node =
          String.format(Locale.ROOT, "ip-10-0-%d-%d.eu-west-1.compute.internal", i / 250, i % 250);
      nodes.add(node);
      if (i % 250 == 7) {
        continue; // 20 nodes without report
      }
      String policy = i % 100 == 3 ? FleetStatusTest.OLD : FleetStatusTest.CURRENT; // 50 behind
      List<String> problems =
          i % 250 == 11
              ? List.of("cannot write hosts.toml for registry " + i + ": disk full")
              : List.of();
      Instant renewed =
          i % 250 == 13 ? now.minusSeconds(120) : now.minusSeconds(i % 10); // 20 stale
      leases.add(
          FleetStatusTest.lease(
              node,
              new NodeReport(node, policy, "rev2", problems, Instant.parse("2026-12-02T09:00:00Z")),
              renewed,
              40));
    }
    for (int i = 0; i < 10; i++) {
      String gone = "deleted-node-" + i;
      leases.add(
          FleetStatusTest.lease(
              gone,
              new NodeReport(gone, FleetStatusTest.CURRENT, "rev2", List.of(), null),
              now,
              40));
    }
    FleetStatus f = null;
    String text = null;
    int rounds = 100;
    long[] nanos = new long[rounds];
    for (int r = -30; r < rounds; r++) {
      long t0 = System.nanoTime();
      List<ReportLease> reports = new ArrayList<>(leases.size());
      for (V1Lease l : leases) {
        reports.add(ReportLease.of(l));
      }
      f = FleetStatus.of(FleetStatusTest.TARGET, nodes, reports, now);
      text = f.text(FleetStatus.MAX_LINES);
      if (r >= 0) {
        nanos[r] = System.nanoTime() - t0;
      }
    }
    Arrays.sort(nanos);
    System.out.printf(
        Locale.ROOT,
        "node status of %d nodes, %d report Leases: median %.2f ms, slowest %.2f ms per pass"
            + " (%d passes); text %d bytes; %d cores, %s, JDK %s%n",
        NODES,
        leases.size(),
        nanos[rounds / 2] / 1e6,
        nanos[rounds - 1] / 1e6,
        rounds,
        text.length(),
        Runtime.getRuntime().availableProcessors(),
        ProcInfo.cpuModel(),
        Runtime.version());
    assertEquals(NODES - 20 - 50 - 20, f.count(NodeState.CURRENT), f.text(3));
    assertEquals(50, f.count(NodeState.BEHIND));
    assertEquals(20, f.count(NodeState.NOT_REPORTING));
    assertEquals(20, f.count(NodeState.NO_REPORT));
    assertEquals(10, f.deletedNodeReports());
    assertEquals(FleetStatus.MAX_LINES + 2, text.split("\n").length);
    assertTrue(
        text.endsWith("... and " + (50 + 20 + 20 + 20 + 10 - FleetStatus.MAX_LINES) + " more"),
        text);
    // A pathology (a quadratic step) would take seconds; a pass is a few milliseconds.
    assertTrue(nanos[rounds / 2] < 250_000_000L, "median pass " + nanos[rounds / 2] / 1e6 + " ms");
  }
}
