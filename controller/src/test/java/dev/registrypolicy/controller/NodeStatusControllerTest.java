package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import dev.registrypolicy.common.Hashes;
import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.controller.admission.AdmissionObjectsSource;
import dev.registrypolicy.controller.admission.EnforcementSettings;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.fakeapi.ResourceType;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1Node;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The node status end to end on the in-process API: agents' report Leases and Nodes in, the status
 * ConfigMap's {@code nodes} key, the node gauges, report Lease removal and the bundle revision out.
 */
class NodeStatusControllerTest {
  static final Duration TIMEOUT = Duration.ofSeconds(20);
  static final String POLICY =
      ControllerScenarios.POLICY
          + String.join(
              "\n",
              "",
              "registries:",
              "  - host: registry.corp.example",
              "    mirrors:",
              "      - url: https://mirror.corp.example",
              "        ca: [{secret: corp-ca, key: ca.crt}]",
              "");

  FakeKubeApi fake;
  CoreV1Api core;
  CoordinationV1Api coordination;
  final List<Controller> controllers = new ArrayList<>();
  Metrics metrics;

  /** The fake serves no Nodes by itself; the controller lists and watches them. */
  static void serveNodes(FakeKubeApi fake) {
    if (fake.resources().stream()
        .noneMatch(t -> t.group().isEmpty() && t.plural().equals("nodes"))) {
      fake.registerResource(
          ResourceType.cluster("", "v1", "nodes", "Node").withStatusSubresource());
    }
  }

  @BeforeEach
  void setUp() throws Exception {
    fake = new FakeKubeApi().start();
    serveNodes(fake);
    core = new CoreV1Api(fake.client());
    coordination = new CoordinationV1Api(fake.client());
    for (String ns : List.of("default", Policy.NAMESPACE)) {
      core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    }
    secret(
        "corp-source",
        ".dockerconfigjson",
        ControllerScenarios.dockerConfig("dXNlcjpwYXNz"),
        "kubernetes.io/dockerconfigjson");
    secret("corp-ca", "ca.crt", "CA ONE".getBytes(StandardCharsets.UTF_8), "Opaque");
    core.createNamespacedConfigMap(
            Policy.NAMESPACE,
            new V1ConfigMap()
                .metadata(new V1ObjectMeta().name(Policy.CONFIGMAP_NAME))
                .data(Map.of(Policy.CONFIGMAP_KEY, POLICY)))
        .execute();
  }

  @AfterEach
  void tearDown() {
    for (Controller c : controllers) {
      c.close();
    }
    fake.close();
  }

  Controller start(String identity, Duration grace) {
    metrics = new Metrics();
    Controller c =
        new Controller(
            fake.client(),
            new Controller.Settings(
                identity,
                2,
                Duration.ofMinutes(10),
                Duration.ofSeconds(3),
                Duration.ofSeconds(2),
                Duration.ofMillis(200)),
            metrics,
            EnforcementSettings.defaults(),
            AdmissionObjectsSource.none(),
            new NodeStatusSettings(Duration.ofMillis(200), grace));
    c.start();
    controllers.add(c);
    return c;
  }

  // ---- fixtures -------------------------------------------------------------------------------

  void secret(String name, String key, byte[] value, String type) throws ApiException {
    V1Secret s =
        new V1Secret().metadata(new V1ObjectMeta().name(name)).type(type).data(Map.of(key, value));
    try {
      core.createNamespacedSecret(Policy.NAMESPACE, s).execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      V1Secret cur = core.readNamespacedSecret(name, Policy.NAMESPACE).execute();
      cur.setData(Map.of(key, value));
      core.replaceNamespacedSecret(name, Policy.NAMESPACE, cur).execute();
    }
  }

  void node(String name) throws ApiException {
    core.createNode(new V1Node().metadata(new V1ObjectMeta().name(name))).execute();
  }

  /** Writes the report Lease as an agent would (create, else replace). */
  void report(NodeReport r, Instant renewed, int seconds) throws ApiException {
    V1Lease l =
        new V1Lease()
            .metadata(
                new V1ObjectMeta()
                    .name(NodeReport.leaseName(r.node()))
                    .labels(r.labels())
                    .annotations(r.annotations()))
            .spec(
                new V1LeaseSpec()
                    .holderIdentity(r.node())
                    .leaseDurationSeconds(seconds)
                    .renewTime(OffsetDateTime.ofInstant(renewed, ZoneOffset.UTC)));
    lease(l);
  }

  void lease(V1Lease l) throws ApiException {
    try {
      coordination.createNamespacedLease(Policy.NAMESPACE, l).execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      V1Lease cur =
          coordination.readNamespacedLease(l.getMetadata().getName(), Policy.NAMESPACE).execute();
      l.getMetadata().setResourceVersion(cur.getMetadata().getResourceVersion());
      coordination.replaceNamespacedLease(l.getMetadata().getName(), Policy.NAMESPACE, l).execute();
    }
  }

  /** Only renewTime moves, as an agent's renewal. */
  void renew(String node, Instant at) throws ApiException {
    String name = NodeReport.leaseName(node);
    V1Lease cur = coordination.readNamespacedLease(name, Policy.NAMESPACE).execute();
    cur.getSpec().setRenewTime(OffsetDateTime.ofInstant(at, ZoneOffset.UTC));
    coordination.replaceNamespacedLease(name, Policy.NAMESPACE, cur).execute();
  }

  boolean leaseExists(String node) {
    return fake.get("leases", Policy.NAMESPACE, NodeReport.leaseName(node)) != null;
  }

  /** The status's nodes key, read past the API (so no request of the test's is recorded). */
  String nodesText() {
    JsonObject cm = fake.get("configmaps", Policy.NAMESPACE, Reconciler.STATUS_CONFIGMAP);
    if (cm == null || !cm.has("data") || !cm.getAsJsonObject("data").has("nodes")) {
      return null;
    }
    return cm.getAsJsonObject("data").get("nodes").getAsString();
  }

  /** The bundle's revision, read past the API. */
  String bundleRevision() {
    JsonObject b = fake.get("secrets", Policy.NAMESPACE, Desired.BUNDLE_SECRET);
    if (b == null
        || !b.has("data")
        || !b.getAsJsonObject("data").has(NodeCredentialsBundle.REVISION_KEY)) {
      return null;
    }
    return new String(
        Base64.getDecoder()
            .decode(
                b.getAsJsonObject("data").get(NodeCredentialsBundle.REVISION_KEY).getAsString()),
        StandardCharsets.UTF_8);
  }

  /** Policy.sha256(): the hash of the ConfigMap's text. */
  static final String POLICY_SHA = Hashes.sha256Hex(POLICY);

  static void await(BooleanSupplier cond, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (cond.getAsBoolean()) {
        return;
      }
      Thread.sleep(20); // polling an eventually-consistent cluster
    }
    fail("timed out waiting: " + what);
  }

  List<String> statusWrites() {
    return fake.requests().stream()
        .filter(Request::isWrite)
        .filter(r -> "configmaps".equals(r.resource()))
        .map(Request::toString)
        .collect(Collectors.toList());
  }

  // ---- tests ----------------------------------------------------------------------------------

  @Test
  void statusSaysWhichNodesAreNotCurrentAndWhy() throws Exception {
    start("c1", Duration.ofMinutes(5));
    await(() -> bundleRevision() != null, "bundle with a revision");
    String rev = bundleRevision();
    Instant now = Instant.now();
    Instant applied = Instant.parse("2026-12-01T12:00:00Z");
    for (String n : List.of("n-ok", "n-old", "n-oldbundle", "n-stale", "n-silent", "n-sick")) {
      node(n);
    }
    report(new NodeReport("n-ok", POLICY_SHA, rev, List.of(), applied), now, 300);
    report(new NodeReport("n-old", "e".repeat(64), rev, List.of(), applied), now, 300);
    report(new NodeReport("n-oldbundle", POLICY_SHA, "0000", List.of(), applied), now, 300);
    Instant staleAt = Instant.parse("2026-12-01T11:00:00Z");
    report(new NodeReport("n-stale", POLICY_SHA, rev, List.of(), applied), staleAt, 40);
    report(
        new NodeReport(
            "n-sick",
            POLICY_SHA,
            rev,
            List.of("hosts.toml for quay.io not written: read-only file system"),
            applied),
        now,
        300);
    String expected =
        String.join(
            "\n",
            "6 nodes: 2 current, 2 behind, 1 not reporting, 1 without agent report, 1 with problems;"
                + " compared with policy "
                + POLICY_SHA.substring(0, 12)
                + ", bundle revision "
                + rev,
            "n-old: behind: policy eeeeeeeeeeee applied 2026-12-01T12:00:00Z",
            "n-oldbundle: behind: bundle revision 0000",
            "n-stale: not reporting since 2026-12-01T11:00:00Z",
            "n-silent: no agent report",
            "n-sick: current; 1 problem: hosts.toml for quay.io not written: read-only file system");
    await(() -> expected.equals(nodesText()), "nodes status; last: " + nodesText());
    // The rest of the status is as it was.
    Map<String, String> all =
        core.readNamespacedConfigMap(Reconciler.STATUS_CONFIGMAP, Policy.NAMESPACE)
            .execute()
            .getData();
    assertEquals("true", all.get("policyValid"));
    assertEquals(POLICY_SHA, all.get("policySha256"));
    String scrape = metrics.scrape();
    assertTrue(scrape.contains("registry_policy_controller_nodes{state=\"current\"} 2.0"), scrape);
    assertTrue(scrape.contains("registry_policy_controller_nodes{state=\"behind\"} 2.0"), scrape);
    assertTrue(
        scrape.contains("registry_policy_controller_nodes{state=\"not_reporting\"} 1.0"), scrape);
    assertTrue(
        scrape.contains("registry_policy_controller_nodes{state=\"no_report\"} 1.0"), scrape);
    assertTrue(scrape.contains("registry_policy_controller_nodes_with_problems 1.0"), scrape);
    assertTrue(!scrape.contains("n-ok") && !scrape.contains("n-sick"), "no node names in metrics");

    // An invalid policy: nodes are still compared with the last valid one, and the text says so.
    V1ConfigMap cm =
        core.readNamespacedConfigMap(Policy.CONFIGMAP_NAME, Policy.NAMESPACE).execute();
    cm.setData(Map.of(Policy.CONFIGMAP_KEY, "apiVersion: nonsense\n"));
    core.replaceNamespacedConfigMap(Policy.CONFIGMAP_NAME, Policy.NAMESPACE, cm).execute();
    await(
        () -> nodesText() != null && nodesText().contains("holds no valid policy now"),
        "invalid policy said; last: " + nodesText());
    assertTrue(nodesText().startsWith("6 nodes: 2 current, 2 behind"), nodesText());
  }

  /**
   * Renewals alone write nothing; a report Lease that stops being renewed is found by the timer and
   * costs exactly one status write.
   */
  @Test
  void renewalsWriteNothingAndStalenessIsFoundByTheTimer() throws Exception {
    start("c1", Duration.ofMinutes(5));
    await(() -> bundleRevision() != null, "bundle with a revision");
    String rev = bundleRevision();
    List<String> nodes = List.of("a", "b", "c");
    for (String n : nodes) {
      node(n);
      report(new NodeReport(n, POLICY_SHA, rev, List.of(), null), Instant.now(), 3);
    }
    await(
        () -> nodesText() != null && nodesText().startsWith("3 nodes: 3 current"),
        "all current; last: " + nodesText());
    Thread.sleep(500); // let the pass that wrote it settle
    fake.resetCounters();
    long end = System.nanoTime() + Duration.ofMillis(2500).toNanos();
    while (System.nanoTime() < end) { // ~12 ticks, each Lease renewed every 250 ms
      for (String n : nodes) {
        renew(n, Instant.now());
      }
      Thread.sleep(250);
    }
    assertEquals(List.of(), statusWrites(), "renewals alone");
    // c stops renewing: after its 3 s the timer finds it, and the status is written once.
    Instant lastRenewal = Instant.now();
    end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < end
        && (nodesText() == null || !nodesText().contains("c: not reporting since"))) {
      for (String n : List.of("a", "b")) {
        renew(n, Instant.now());
      }
      Thread.sleep(250);
    }
    assertTrue(nodesText().contains("c: not reporting since"), nodesText());
    assertTrue(
        Duration.between(lastRenewal, Instant.now()).toMillis() >= 2500, "not before it expired");
    for (int i = 0; i < 6; i++) {
      for (String n : List.of("a", "b")) {
        renew(n, Instant.now());
      }
      Thread.sleep(250);
    }
    assertEquals(1, statusWrites().size(), () -> String.join("\n", statusWrites()));
    // c comes back: one more write.
    renew("c", Instant.now());
    await(() -> nodesText().startsWith("3 nodes: 3 current"), "c back; last: " + nodesText());
  }

  @Test
  void reportOfADeletedNodeIsRemovedAfterTheGrace() throws Exception {
    start("c1", Duration.ofMillis(1500));
    await(() -> bundleRevision() != null, "bundle with a revision");
    String rev = bundleRevision();
    for (String n : List.of("stays", "goes", "returns")) {
      node(n);
      report(new NodeReport(n, POLICY_SHA, rev, List.of(), null), Instant.now(), 3600);
    }
    // A Lease with the label that is not a report of any node is never touched.
    V1Lease foreign =
        new V1Lease()
            .metadata(
                new V1ObjectMeta()
                    .name("someone-elses")
                    .labels(Map.of(NodeReport.COMPONENT_LABEL, NodeReport.COMPONENT)))
            .spec(new V1LeaseSpec().holderIdentity("no-such-node"));
    lease(foreign);
    await(() -> nodesText() != null && nodesText().startsWith("3 nodes: 3 current"), "all current");
    fake.resetCounters(); // from here on, every request is the controller's
    long start = System.nanoTime();
    assertTrue(fake.delete("nodes", null, "goes"));
    assertTrue(fake.delete("nodes", null, "returns"));
    await(
        () ->
            nodesText()
                .contains(
                    "goes: no such node; its report Lease registry-policy-node-goes is removed"),
        "orphan listed; last: " + nodesText());
    Thread.sleep(300);
    JsonObject back = new JsonObject(); // re-registers within the grace
    back.addProperty("apiVersion", "v1");
    back.addProperty("kind", "Node");
    JsonObject meta = new JsonObject();
    meta.addProperty("name", "returns");
    back.add("metadata", meta);
    fake.create(back);
    await(() -> !leaseExists("goes"), "orphan Lease deleted");
    assertTrue(
        Duration.ofNanos(System.nanoTime() - start).toMillis() >= 1500, "not before the grace");
    Thread.sleep(2000); // more than a grace since "returns" came back
    assertTrue(leaseExists("returns"));
    assertTrue(leaseExists("stays"));
    assertNotNull(fake.get("leases", Policy.NAMESPACE, "someone-elses"));
    await(() -> nodesText().startsWith("2 nodes: 2 current"), "status; last: " + nodesText());
    // Every call of the controller is one the manifests grant (the Lease delete included).
    List<RunAdmissionEndToEndTest.Rbac> rules = RunAdmissionEndToEndTest.Rbac.fromManifests();
    List<String> denied =
        fake.requests().stream()
            .filter(q -> q.resource() != null)
            .filter(q -> rules.stream().noneMatch(rule -> rule.allows(q)))
            .map(Request::toString)
            .collect(Collectors.toList());
    assertEquals(List.of(), denied, "calls the manifests do not grant");
    // Deletes are guarded by uid: only report Leases were deleted, one each.
    List<Request> deletes = fake.requests("DELETE", "leases");
    assertEquals(1, deletes.size(), deletes::toString);
    assertTrue(deletes.get(0).body().contains("\"uid\""), deletes.get(0).body());
  }

  @Test
  void hostileLeasesNeitherCrashNorCount() throws Exception {
    start("c1", Duration.ofMillis(500));
    await(() -> bundleRevision() != null, "bundle with a revision");
    node("a");
    Map<String, String> labels = Map.of(NodeReport.COMPONENT_LABEL, NodeReport.COMPONENT);
    Map<String, String> junk = new HashMap<>();
    junk.put(NodeReport.POLICY_ANNOTATION, "z".repeat(100_000));
    junk.put(NodeReport.PROBLEMS_ANNOTATION, "line\n".repeat(3000) + "\u001b[31mred");
    junk.put(NodeReport.APPLIED_ANNOTATION, "+999999999-12-31T23:59:59Z");
    junk.put(NodeReport.BUNDLE_ANNOTATION, "a b c");
    lease(
        new V1Lease()
            .metadata(
                new V1ObjectMeta().name(NodeReport.leaseName("a")).labels(labels).annotations(junk))
            .spec(
                new V1LeaseSpec()
                    .holderIdentity("a")
                    .leaseDurationSeconds(Integer.MAX_VALUE)
                    .renewTime(OffsetDateTime.now(ZoneOffset.UTC))));
    lease(
        new V1Lease()
            .metadata(new V1ObjectMeta().name("registry-policy-node-x").labels(labels))
            .spec(new V1LeaseSpec().holderIdentity("x\nfake: current").leaseDurationSeconds(-1)));
    lease(new V1Lease().metadata(new V1ObjectMeta().name("registry-policy-node-y").labels(labels)));
    await(
        () ->
            nodesText() != null
                && nodesText().startsWith("1 node: 0 current, 1 behind")
                && nodesText().contains("2 report Leases ignored"),
        "hostile Leases read; last: " + nodesText());
    String text = nodesText();
    assertEquals(2, text.split("\n").length, text);
    assertTrue(text.contains("a: behind: no policy, bundle none; 21 problems, first: line"), text);
    assertTrue(text.chars().noneMatch(c -> c < 0x20 && c != '\n'), text);
    Thread.sleep(1500); // more than the grace: the ignored Leases name no existing node's report
    assertNotNull(fake.get("leases", Policy.NAMESPACE, "registry-policy-node-x"));
    assertNotNull(fake.get("leases", Policy.NAMESPACE, "registry-policy-node-y"));
  }

  /**
   * The bundle's revision: kept across controller restarts while its content stays (and then
   * nothing is written), new when its content changes.
   */
  @Test
  void bundleRevisionIsStableAndChangesWithContent() throws Exception {
    Controller first = start("c1", Duration.ofMinutes(5));
    await(() -> bundleRevision() != null, "bundle with a revision");
    String r1 = bundleRevision();
    V1Secret b = core.readNamespacedSecret(Desired.BUNDLE_SECRET, Policy.NAMESPACE).execute();
    assertEquals("CA ONE", new String(b.getData().get("corp-ca_ca.crt"), StandardCharsets.UTF_8));
    assertTrue(r1.matches("[0-9a-f]{16}"), r1);
    await(() -> nodesText() != null && nodesText().startsWith("0 nodes: "), "nodes status");
    Thread.sleep(300);
    String before =
        String.valueOf(
            fake.get("configmaps", Policy.NAMESPACE, Reconciler.STATUS_CONFIGMAP).get("data"));
    first.close();
    controllers.remove(first);
    fake.resetCounters();
    Controller second = start("c2", Duration.ofMinutes(5));
    await(second::isLeader, "second leads");
    await(() -> second.keysProcessed() >= 4, "a full pass");
    Thread.sleep(500);
    assertEquals(r1, bundleRevision());
    assertEquals(
        List.of(),
        fake.requests().stream()
            .filter(Request::isWrite)
            .filter(q -> !"leases".equals(q.resource()))
            .map(Request::toString)
            .collect(Collectors.toList()),
        () ->
            "nothing to write after a restart (nor a status blanked while the caches sync); before: "
                + before
                + " after: "
                + fake.get("configmaps", Policy.NAMESPACE, Reconciler.STATUS_CONFIGMAP)
                    .get("data"));
    secret("corp-ca", "ca.crt", "CA TWO".getBytes(StandardCharsets.UTF_8), "Opaque");
    await(() -> !r1.equals(bundleRevision()), "new revision");
    String r2 = bundleRevision();
    assertNotEquals(r1, r2);
    b = core.readNamespacedSecret(Desired.BUNDLE_SECRET, Policy.NAMESPACE).execute();
    assertEquals("CA TWO", new String(b.getData().get("corp-ca_ca.crt"), StandardCharsets.UTF_8));
    // A bundle from before revisions gets one, once.
    b.getData().remove(NodeCredentialsBundle.REVISION_KEY);
    core.replaceNamespacedSecret(Desired.BUNDLE_SECRET, Policy.NAMESPACE, b).execute();
    await(() -> bundleRevision() != null, "revision added");
    String r3 = bundleRevision();
    Thread.sleep(800);
    assertEquals(r3, bundleRevision());
  }
}
