package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.registrypolicy.common.Hashes;
import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fast path against the in-process API server with RBAC on and the manifests' own Role: changes
 * reach certs.d from the API without any file change, the mounted files are the fallback, and the
 * newest of the two wins without flip-flopping.
 */
class ApiFastPathTest {
  static final String NODE = "node-a";

  @TempDir Path tmp;
  Path policyDir;
  Path policyFile;
  Path secrets;
  Path certs;
  ApiLab lab;
  Agent agent;
  CompletableFuture<Agent.RunResult> running;

  static String policy(String... hosts) {
    StringBuilder sb =
        new StringBuilder(
            "apiVersion: registry-policy.dev/v1alpha1\n"
                + "kind: RegistryPolicy\n"
                + "credentials:\n"
                + "  - {name: hub, secret: hub-basic}\n"
                + "registries:\n");
    for (String h : hosts) {
      sb.append("  - host: ")
          .append(h)
          .append("\n    mirrors:\n      - url: https://mirror.")
          .append(h)
          .append("\n        credentials: hub\n");
    }
    return sb.toString();
  }

  static Map<String, String> bundle(String password, String revision) {
    return revision == null
        ? Map.of("hub-basic_username", "hubuser", "hub-basic_password", password)
        : Map.of(
            "hub-basic_username", "hubuser", "hub-basic_password", password, "revision", revision);
  }

  static String header(String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString(("hubuser:" + password).getBytes(StandardCharsets.UTF_8));
  }

  @BeforeEach
  void setUp() throws IOException {
    policyDir = Files.createDirectories(tmp.resolve("policy"));
    policyFile = policyDir.resolve("policy.yaml");
    secrets = Files.createDirectories(tmp.resolve("secrets"));
    certs = Files.createDirectories(tmp.resolve("certs.d"));
    Files.writeString(policyFile, policy("a.example"));
    writeFiles(bundle("p1", "r1"));
    lab = new ApiLab(tmp, policy("a.example"), bundle("p1", "r1"));
  }

  void writeFiles(Map<String, String> b) throws IOException {
    try (var s = Files.list(secrets)) {
      for (Path p : s.toList()) {
        Files.delete(p);
      }
    }
    for (Map.Entry<String, String> e : b.entrySet()) {
      Files.writeString(secrets.resolve(e.getKey()), e.getValue());
    }
  }

  /** Replaces the mounted policy file as kubelet does (a rename into place). */
  void writePolicyFile(String text) throws IOException {
    Path t = policyDir.resolve(".tmp-policy");
    Files.writeString(t, text);
    Files.move(t, policyFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (agent != null) {
      agent.close();
    }
    if (running != null) {
      running.get(10, TimeUnit.SECONDS);
    }
    if (lab != null) {
      lab.close();
    }
  }

  void start(ApiConfig api) {
    create(api);
    launch();
  }

  void create(ApiConfig api) {
    agent =
        new Agent(
            new Agent.Options(
                policyFile,
                secrets,
                certs,
                "/etc/containerd/certs.d",
                false,
                Duration.ofHours(1),
                null),
            new Metrics(),
            new Backoff(Duration.ofMillis(50), Duration.ofMillis(200)),
            api);
  }

  void launch() {
    running =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return agent.run();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
  }

  boolean hasHost(String host) {
    return Files.isRegularFile(certs.resolve(host).resolve("hosts.toml"));
  }

  String toml(String host) {
    try {
      return Files.readString(certs.resolve(host).resolve("hosts.toml"));
    } catch (IOException e) {
      return "";
    }
  }

  static void await(BooleanSupplier c, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!c.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, "timed out waiting for " + what);
      Thread.sleep(10);
    }
  }

  JsonObject lease() {
    return lab.fake.get("leases", ApiLab.NS, NodeReport.leaseName(NODE));
  }

  String leaseAnnotation(String key) {
    JsonObject l = lease();
    if (l == null || !l.getAsJsonObject("metadata").has("annotations")) {
      return null;
    }
    JsonObject a = l.getAsJsonObject("metadata").getAsJsonObject("annotations");
    return a.has(key) ? a.get(key).getAsString() : null;
  }

  void assertNoForbidden() {
    for (Request r : lab.fake.requests()) {
      assertTrue(r.code() != 403 && r.code() != 401, "refused: " + r);
    }
  }

  @Test
  void apiEditReachesCertsDirWithoutAnyFileChangeAndIsReported() throws Exception {
    start(lab.config(NODE));
    await(() -> hasHost("a.example"), "first pass");
    lab.setPolicy(policy("a.example", "b.example"));
    await(() -> hasHost("b.example"), "the API edit in certs.d");
    await(
        () ->
            Hashes.sha256Hex(policy("a.example", "b.example"))
                .equals(leaseAnnotation(NodeReport.POLICY_ANNOTATION)),
        "the report Lease names the new policy");
    JsonObject lease = lease();
    assertEquals(NODE, lease.getAsJsonObject("spec").get("holderIdentity").getAsString());
    assertEquals(
        NodeReporter.LEASE_SECONDS,
        lease.getAsJsonObject("spec").get("leaseDurationSeconds").getAsInt());
    assertEquals("r1", leaseAnnotation(NodeReport.BUNDLE_ANNOTATION));
    assertEquals(
        NodeReport.COMPONENT,
        lease
            .getAsJsonObject("metadata")
            .getAsJsonObject("labels")
            .get(NodeReport.COMPONENT_LABEL)
            .getAsString());
    // credential rotation through the bundle Secret: the header changes, no file touched
    lab.setBundle(bundle("p2", "r2"));
    await(() -> toml("a.example").contains(header("p2")), "the rotated credential");
    await(() -> "r2".equals(leaseAnnotation(NodeReport.BUNDLE_ANNOTATION)), "revision r2");
    assertFalse(toml("a.example").contains("r2"), "the revision is not a credential");
    // quiet: passes that change nothing do not write the Lease
    Thread.sleep(300); // the write that put r2 there is counted once its answer is back
    long writes = agent.reportWrites();
    agent.reconcile("test");
    agent.reconcile("test");
    Thread.sleep(300);
    assertEquals(writes, agent.reportWrites(), "no Lease write for passes that changed nothing");
    // only the two objects, by name; every list and watch carried the name selector
    for (Request r : lab.fake.requests()) {
      if ("configmaps".equals(r.resource()) || "secrets".equals(r.resource())) {
        assertTrue(
            r.query().contains("metadata.name=registry-policy"),
            "a list or watch without the name selector: " + r);
      }
    }
    assertNoForbidden();
  }

  @Test
  void bundleWithoutRevisionKeyWorksAndReportsNone() throws Exception {
    lab.setBundle(bundle("p1", null));
    writeFiles(bundle("p1", null));
    start(lab.config(NODE));
    await(() -> leaseAnnotation(NodeReport.POLICY_ANNOTATION) != null, "the report");
    assertEquals(null, leaseAnnotation(NodeReport.BUNDLE_ANNOTATION));
    assertTrue(toml("a.example").contains(header("p1")));
  }

  @Test
  void fileLaggingBehindTheApiIsIgnored() throws Exception {
    start(lab.config(NODE));
    await(() -> hasHost("a.example"), "first pass");
    lab.setPolicy(policy("b.example"));
    await(() -> hasHost("b.example") && !hasHost("a.example"), "the API edit");
    // kubelet catches up with the first version only now, then the second: neither changes a thing
    writePolicyFile(policy("a.example"));
    agent.reconcile("file event");
    assertTrue(hasHost("b.example") && !hasHost("a.example"), "an older file never wins");
    // the same holds while the API is unreachable: the file holds a version the API showed before
    FakeKubeApi.Registration down = lab.fake.failWhen(r -> true, 503);
    try {
      lab.fake.closeWatches();
      await(() -> !agentApiHealthy(), "the watch noticed the outage");
      agent.reconcile("file event");
      assertTrue(hasHost("b.example") && !hasHost("a.example"), "an older file never wins");
    } finally {
      down.close();
    }
  }

  boolean agentApiHealthy() {
    return agent.apiHealthy();
  }

  @Test
  void outageThenNewerFileThenRecoveryNeverGoesBack() throws Exception {
    start(lab.config(NODE));
    await(() -> hasHost("a.example"), "first pass");
    lab.setPolicy(policy("b.example"));
    await(() -> hasHost("b.example"), "the API edit");
    java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    FakeKubeApi.Registration down = lab.fake.failWhen(r -> true, 503);
    lab.fake.closeWatches();
    await(() -> !agentApiHealthy(), "the watch noticed the outage");
    // during the outage the policy changes; kubelet (which still reaches the API) brings it
    lab.setPolicy(policy("c.example"));
    writePolicyFile(policy("c.example"));
    await(
        () -> hasHost("c.example") && !Files.exists(certs.resolve("b.example")),
        "the newer file applied");
    Thread poller =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                // a host whose hosts.toml is in place is one containerd would use
                for (String h : List.of("b.example", "c.example")) {
                  if (hasHost(h)) {
                    seen.add(h);
                  }
                }
              }
            });
    poller.start();
    down.close();
    await(this::agentApiHealthy, "the watch recovered");
    agent.reconcile("after recovery");
    poller.interrupt();
    poller.join();
    assertFalse(seen.contains("b.example"), "never back to the older version: " + seen);
    assertTrue(hasHost("c.example"));
    // an older version in the file after recovery: ignored
    writePolicyFile(policy("b.example"));
    agent.reconcile("file event");
    assertTrue(hasHost("c.example") && !hasHost("b.example"));
    assertNoForbidden();
  }

  @Test
  void relistAfter410ThenFollowsChanges() throws Exception {
    start(lab.config(NODE));
    await(() -> hasHost("a.example"), "first pass");
    await(() -> lab.fake.activeWatches("configmaps") == 1, "watching");
    lab.fake.sendBookmarks();
    lab.fake.compactHistory();
    lab.fake.closeWatches();
    await(() -> lab.fake.expiredWatchCount() >= 1, "a watch refused as too old (410)");
    lab.setPolicy(policy("d.example"));
    await(() -> hasHost("d.example"), "the change after relisting");
    assertNoForbidden();
  }

  @Test
  void rotatedTokenIsUsed() throws Exception {
    start(lab.config(NODE));
    await(() -> hasHost("a.example"), "first pass");
    lab.rotateToken("token-2");
    lab.fake.closeWatches(); // the next watch request carries the token read now
    lab.setPolicy(policy("e.example"));
    await(() -> hasHost("e.example"), "the change seen with the rotated token");
    await(this::agentApiHealthy, "both watches listed again with the rotated token");
    long refused = lab.fake.requests().stream().filter(r -> r.code() == 401).count();
    lab.fake.closeWatches();
    lab.setPolicy(policy("e2.example"));
    await(() -> hasHost("e2.example"), "a second change");
    assertEquals(
        refused,
        lab.fake.requests().stream().filter(r -> r.code() == 401).count(),
        "once rotated, no request carries the old token");
  }

  @Test
  void forbiddenMeansFilesOnly() throws Exception {
    lab.revokeRole();
    lab.setPolicy(policy("api-only.example"));
    start(lab.config(NODE));
    await(() -> hasHost("a.example"), "first pass from the files");
    assertFalse(hasHost("api-only.example"));
    writePolicyFile(policy("f.example"));
    await(() -> hasHost("f.example"), "a file change, as without the fast path");
    assertTrue(
        lab.fake.requests().stream().anyMatch(r -> r.code() == 403), "the API refused (403)");
    assertNotNull(agent.snapshot().plan());
    assertTrue(agent.health().ready());
  }

  @Test
  void theRoleGrantsNothingElse() throws Exception {
    start(lab.config(NODE));
    await(() -> hasHost("a.example"), "first pass");
    KubeClient c = new KubeClient(lab.config(NODE));
    for (String path :
        List.of(
            "/api/v1/namespaces/registry-policy/configmaps",
            "/api/v1/namespaces/registry-policy/configmaps/other",
            "/api/v1/namespaces/registry-policy/secrets",
            "/api/v1/namespaces/registry-policy/secrets/other",
            "/api/v1/namespaces/registry-policy/configmaps?fieldSelector=metadata.name%3Dother",
            "/apis/coordination.k8s.io/v1/namespaces/registry-policy/leases",
            "/api/v1/namespaces/default/configmaps/registry-policy")) {
      KubeClient.ApiException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              KubeClient.ApiException.class, () -> c.get(path, Duration.ofSeconds(5)), path);
      assertEquals(403, e.code, path);
    }
  }

  @Test
  void readinessWaitsForTheFirstPassBoundedly() throws Exception {
    Object[] held = new Object[1];
    java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    create(null); // files only: the wait is the same with or without the fast path
    held[0] = agent;
    Thread blocker =
        new Thread(
            () -> {
              // reconcile() is synchronized on the agent: holding its monitor holds the first pass
              synchronized (held[0]) {
                holding.countDown();
                try {
                  release.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }
            });
    blocker.start();
    holding.await();
    launch();
    try {
      assertEquals(0, agent.snapshot().passes());
      CompletableFuture<Boolean> probe =
          CompletableFuture.supplyAsync(() -> agent.health().ready());
      Thread.sleep(300);
      assertFalse(probe.isDone(), "a probe before the first pass waits for it");
      release.countDown();
      assertTrue(probe.get(10, TimeUnit.SECONDS), "and answers with its result: ready");
    } finally {
      release.countDown();
      blocker.join();
    }
    await(() -> hasHost("a.example"), "first pass");
    long t0 = System.nanoTime();
    assertTrue(agent.health().ready());
    assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "after the first pass, no wait");
  }
}
