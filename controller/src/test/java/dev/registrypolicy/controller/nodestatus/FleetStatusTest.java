package dev.registrypolicy.controller.nodestatus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.common.NodeReport;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FleetStatusTest {
  static final String CURRENT = "a".repeat(64);
  static final String OLD = "b".repeat(64);
  static final Instant NOW = Instant.parse("2026-12-02T10:00:00Z");
  static final Target TARGET = new Target(CURRENT, null, "rev2");

  static V1Lease lease(String node, NodeReport r, Instant renewed, Integer seconds) {
    Map<String, String> labels = new HashMap<>(r == null ? Map.of() : r.labels());
    return new V1Lease()
        .metadata(
            new V1ObjectMeta()
                .name(NodeReport.leaseName(node))
                .uid("uid-" + node)
                .labels(labels)
                .annotations(r == null ? null : r.annotations()))
        .spec(
            new V1LeaseSpec()
                .holderIdentity(node)
                .leaseDurationSeconds(seconds)
                .renewTime(
                    renewed == null ? null : OffsetDateTime.ofInstant(renewed, ZoneOffset.UTC)));
  }

  static ReportLease fresh(String node, String policy, String bundle, List<String> problems) {
    return ReportLease.of(
        lease(
            node,
            new NodeReport(node, policy, bundle, problems, Instant.parse("2026-12-02T09:00:00Z")),
            NOW.minusSeconds(5),
            40));
  }

  @Test
  void everyKindOfNode() {
    Set<String> nodes =
        new LinkedHashSet<>(
            List.of("ok-1", "ok-2", "old", "stale", "missing", "sick", "oldbundle"));
    List<ReportLease> leases =
        List.of(
            fresh("ok-1", CURRENT, "rev2", List.of()),
            fresh("ok-2", CURRENT, "rev2", List.of()),
            fresh("old", OLD, "rev2", List.of()),
            ReportLease.of(
                lease(
                    "stale",
                    new NodeReport("stale", CURRENT, "rev2", List.of(), null),
                    NOW.minusSeconds(41),
                    40)),
            fresh(
                "sick",
                CURRENT,
                "rev2",
                List.of("cannot write hosts.toml for quay.io: disk full", "second")),
            fresh("oldbundle", CURRENT, "rev1", List.of()),
            fresh("gone", CURRENT, "rev2", List.of()));
    FleetStatus f = FleetStatus.of(TARGET, nodes, leases, NOW);
    assertEquals(3, f.count(NodeState.CURRENT));
    assertEquals(2, f.count(NodeState.BEHIND));
    assertEquals(1, f.count(NodeState.NOT_REPORTING));
    assertEquals(1, f.count(NodeState.NO_REPORT));
    assertEquals(1, f.withProblems());
    assertEquals(1, f.deletedNodeReports());
    assertEquals(
        List.of(new FleetStatus.Orphan(NodeReport.leaseName("gone"), "uid-gone", "gone")),
        f.orphans());
    assertEquals(
        String.join(
            "\n",
            "7 nodes: 3 current, 2 behind, 1 not reporting, 1 without agent report, 1 with problems,"
                + " 1 reports of deleted nodes; compared with policy aaaaaaaaaaaa, bundle revision rev2",
            "old: behind: policy bbbbbbbbbbbb applied 2026-12-02T09:00:00Z",
            "oldbundle: behind: bundle revision rev1",
            "stale: not reporting since 2026-12-02T09:59:19Z",
            "missing: no agent report",
            "sick: current; 2 problems, first: cannot write hosts.toml for quay.io: disk full",
            "gone: no such node; its report Lease registry-policy-node-gone is removed"),
        f.text(FleetStatus.MAX_LINES));
  }

  /** Exactly at renewTime + leaseDurationSeconds the report is still valid; a moment later not. */
  @Test
  void staleAfterRenewTimePlusDuration() {
    ReportLease l =
        ReportLease.of(
            lease(
                "n",
                new NodeReport("n", CURRENT, "rev2", List.of(), null),
                NOW.minusSeconds(40),
                40));
    assertFalse(l.staleAt(NOW));
    assertTrue(l.staleAt(NOW.plusMillis(1)));
    ReportLease noTime =
        ReportLease.of(lease("n", new NodeReport("n", CURRENT, null, List.of(), null), null, 40));
    ReportLease noDuration =
        ReportLease.of(lease("n", new NodeReport("n", CURRENT, null, List.of(), null), NOW, null));
    ReportLease negative =
        ReportLease.of(lease("n", new NodeReport("n", CURRENT, null, List.of(), null), NOW, -5));
    ReportLease forever =
        ReportLease.of(
            lease(
                "n", new NodeReport("n", CURRENT, null, List.of(), null), NOW, Integer.MAX_VALUE));
    assertTrue(noTime.staleAt(NOW));
    assertTrue(noDuration.staleAt(NOW));
    assertTrue(negative.staleAt(NOW));
    assertEquals(ReportLease.MAX_VALID_FOR, forever.validFor());
    assertTrue(forever.staleAt(NOW.plus(Duration.ofHours(1)).plusSeconds(1)));
    String text =
        FleetStatus.of(TARGET, Set.of("n"), List.of(noTime), NOW).text(10)
            + FleetStatus.of(TARGET, Set.of("n"), List.of(noDuration), NOW).text(10);
    assertTrue(text.contains("n: not reporting (its report Lease has no renewTime)"), text);
    assertTrue(
        text.contains("n: not reporting (its report Lease has no leaseDurationSeconds)"), text);
  }

  /** The text holds no age: a renewal that keeps the state keeps the text, byte for byte. */
  @Test
  void renewalsAloneDoNotChangeTheText() {
    Set<String> nodes = Set.of("a", "b");
    String first =
        FleetStatus.of(
                TARGET,
                nodes,
                List.of(fresh("a", OLD, "rev2", List.of()), fresh("b", CURRENT, "rev2", List.of())),
                NOW)
            .text(50);
    List<ReportLease> renewed =
        List.of(
            ReportLease.of(
                lease(
                    "a",
                    new NodeReport(
                        "a", OLD, "rev2", List.of(), Instant.parse("2026-12-02T09:00:00Z")),
                    NOW.plusSeconds(30),
                    40)),
            ReportLease.of(
                lease(
                    "b",
                    new NodeReport(
                        "b", CURRENT, "rev2", List.of(), Instant.parse("2026-12-02T09:00:00Z")),
                    NOW.plusSeconds(30),
                    40)));
    assertEquals(first, FleetStatus.of(TARGET, nodes, renewed, NOW.plusSeconds(35)).text(50));
  }

  @Test
  void invalidPolicyIsSaidNotCountedAgainstNodes() {
    Target t = new Target(CURRENT, "the policy ConfigMap holds no valid policy now", null);
    FleetStatus f =
        FleetStatus.of(t, Set.of("a"), List.of(fresh("a", CURRENT, "whatever", List.of())), NOW);
    assertEquals(1, f.count(NodeState.CURRENT), "no bundle revision: bundles are not compared");
    assertTrue(
        f.text(5)
            .endsWith(
                "compared with policy aaaaaaaaaaaa (the policy ConfigMap holds no valid policy now)"),
        f.text(5));
    FleetStatus none =
        FleetStatus.of(
            new Target(null, null, null),
            Set.of("a"),
            List.of(fresh("a", null, null, List.of())),
            NOW);
    assertTrue(
        none.text(5).contains("compared with no policy (no valid policy yet)"), none.text(5));
  }

  @Test
  void longListsAreCut() {
    Set<String> nodes = new LinkedHashSet<>();
    for (int i = 0; i < 120; i++) {
      nodes.add(String.format("node-%03d", i));
    }
    FleetStatus f = FleetStatus.of(TARGET, nodes, List.of(), NOW);
    String[] lines = f.text(FleetStatus.MAX_LINES).split("\n");
    assertEquals(FleetStatus.MAX_LINES + 2, lines.length);
    assertEquals("node-000: no agent report", lines[1]);
    assertEquals("... and 70 more", lines[lines.length - 1]);
    assertEquals(2, f.text(0).split("\n").length);
  }

  /** Leases that name no node, or claim a node under another name, count for nothing. */
  @Test
  void hostileLeasesAreIgnored() {
    V1Lease noHolder = lease("x", null, NOW, 40);
    noHolder.getSpec().setHolderIdentity(null);
    V1Lease injected = lease("y", null, NOW, 40);
    injected.getSpec().setHolderIdentity("a\nfake: current");
    V1Lease impostor = lease("a", new NodeReport("a", CURRENT, "rev2", List.of(), null), NOW, 40);
    impostor.getMetadata().setName("registry-policy-node-someone-else");
    V1Lease noMeta = new V1Lease();
    V1Lease huge = lease("a", null, NOW, 40);
    huge.getMetadata()
        .setAnnotations(
            Map.of(
                NodeReport.POLICY_ANNOTATION, "z".repeat(1 << 20),
                NodeReport.PROBLEMS_ANNOTATION, "p\n".repeat(1 << 19)));
    List<ReportLease> leases = new ArrayList<>();
    for (V1Lease l : List.of(noHolder, injected, impostor, noMeta, huge)) {
      leases.add(ReportLease.of(l));
    }
    FleetStatus f = FleetStatus.of(TARGET, Set.of("a"), leases, NOW);
    assertEquals(1, f.count(NodeState.BEHIND), f.text(10));
    assertEquals(4, f.ignored());
    assertTrue(f.orphans().isEmpty());
    String text = f.text(10);
    assertEquals(2, text.split("\n").length, text);
    assertTrue(text.contains("4 report Leases ignored"), text);
    assertTrue(text.endsWith("\na: behind: no policy, bundle none"), text);
    assertNull(ReportLease.of(noMeta).name());
  }

  @Test
  void orphansAreDueAfterTheGraceOnly() {
    AtomicLong clock = new AtomicLong();
    OrphanGrace g = new OrphanGrace(Duration.ofSeconds(10), clock::get);
    FleetStatus.Orphan a = new FleetStatus.Orphan("l-a", "u", "a");
    FleetStatus.Orphan b = new FleetStatus.Orphan("l-b", "u", "b");
    assertEquals(List.of(), g.due(List.of(a)));
    clock.set(Duration.ofSeconds(5).toNanos());
    assertEquals(List.of(), g.due(List.of(a, b)));
    clock.set(Duration.ofSeconds(10).toNanos());
    assertEquals(List.of(a), g.due(List.of(a, b)));
    // b's node came back for a moment: its clock starts over.
    assertEquals(List.of(a), g.due(List.of(a)));
    clock.set(Duration.ofSeconds(16).toNanos());
    assertEquals(List.of(a), g.due(List.of(a, b)));
    clock.set(Duration.ofSeconds(26).toNanos());
    assertEquals(List.of(a, b), g.due(List.of(a, b)));
  }
}
