package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import io.kubernetes.client.openapi.ApiClient;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The scenarios on the in-process API, plus what only the fake can show (write counts, races, 410).
 */
class FakeApiControllerTest extends ControllerScenarios {
  FakeKubeApi fake;

  @Override
  @BeforeEach
  void setUpPolicy() throws Exception {
    fake = new FakeKubeApi().start();
    NodeStatusControllerTest.serveNodes(fake); // the controller lists and watches Nodes
    super.setUpPolicy();
  }

  @AfterEach
  void stopFake() {
    stopControllers();
    fake.close();
  }

  @Override
  ApiClient client() {
    return fake.client();
  }

  @Override
  boolean autoDefaultServiceAccount() {
    return false;
  }

  long writesExceptLeases() {
    return fake.requests().stream()
        .filter(Request::isWrite)
        .filter(r -> !"leases".equals(r.resource()))
        .count();
  }

  @Test
  void newNamespace_costsExactlyTwoWrites() throws Exception {
    startController("c1");
    createNamespace("warm", Map.of("pull", "corp"));
    awaitPullSecret("warm", "corp-pull");
    await(() -> "true".equals(status().get("policyValid")), "status written");
    fake.resetCounters();
    createNamespace("two", Map.of("pull", "corp"));
    ensureServiceAccount("two", "default");
    await(() -> pullSecretsOf("two", "default").contains("corp-pull"), "granted");
    List<Request> writes =
        fake.requests().stream()
            .filter(Request::isWrite)
            .filter(
                r ->
                    "two".equals(r.namespace())
                        && !"namespaces".equals(r.resource())
                        && !("serviceaccounts".equals(r.resource()) && "POST".equals(r.method())))
            .collect(Collectors.toList());
    assertEquals(
        List.of("POST secrets", "PATCH serviceaccounts"),
        writes.stream().map(r -> r.method() + " " + r.resource()).collect(Collectors.toList()));
  }

  @Test
  void fullResyncWithNothingChanged_makesZeroWrites() throws Exception {
    Controller first = startController("c1");
    for (int i = 0; i < 5; i++) {
      createNamespace("z" + i, Map.of("pull", "corp"));
      ensureServiceAccount("z" + i, "default");
    }
    for (int i = 0; i < 5; i++) {
      String ns = "z" + i;
      await(() -> pullSecretsOf(ns, "default").contains("corp-pull"), ns);
    }
    await(() -> "true".equals(status().get("policyValid")), "status written");
    first.close();
    controllers.remove(first);
    fake.resetCounters();
    Controller second = startController("c2"); // fresh caches: a full pass over everything
    await(second::isLeader, "second leads");
    await(() -> second.reconciler().policy() != null, "policy loaded");
    // The full pass is one key per namespace plus the bundle and the status: wait until this
    // replica has reconciled them all, then count what it wrote.
    int keys = second.reconciler().namespaceNames().size() + 2;
    await(() -> second.keysProcessed() >= keys, "the full pass reconciled every key");
    assertEquals(
        0,
        writesExceptLeases(),
        () ->
            fake.requests().stream()
                .filter(Request::isWrite)
                .filter(r -> !"leases".equals(r.resource()))
                .map(r -> r + " " + r.body())
                .collect(Collectors.joining("\n")));
  }

  @Test
  void concurrentServiceAccountEdit_neitherWriterLosesEntries() throws Exception {
    createNamespace("race", Map.of("pull", "corp"));
    ensureServiceAccount("race", "default");
    AtomicBoolean raced = new AtomicBoolean();
    // Just before the controller's patch arrives, another writer appends its own entry.
    fake.onNextRequest(
        r -> "PATCH".equals(r.method()) && "serviceaccounts".equals(r.resource()),
        r -> {
          fake.mutate(
              "serviceaccounts",
              "race",
              "default",
              sa -> {
                JsonArray list =
                    sa.has("imagePullSecrets")
                        ? sa.getAsJsonArray("imagePullSecrets")
                        : new JsonArray();
                JsonObject ref = new JsonObject();
                ref.addProperty("name", "other-writer");
                list.add(ref);
                sa.add("imagePullSecrets", list);
              });
          raced.set(true);
        });
    startController("c1");
    await(raced::get, "the race happened");
    await(
        () -> pullSecretsOf("race", "default").containsAll(List.of("other-writer", "corp-pull")),
        "both entries kept");
    assertTrue(
        fake.requests().stream()
            .anyMatch(r -> "serviceaccounts".equals(r.resource()) && r.code() == 422),
        "the first patch lost the race (JSON Patch test failed)");
  }

  @Test
  void serviceAccountStoredWithoutAnnotations_isPatched() throws Exception {
    createNamespace("bare", Map.of("pull", "corp"));
    // As kube-controller-manager creates it: no metadata.annotations member at all.
    JsonObject sa = new JsonObject();
    sa.addProperty("apiVersion", "v1");
    sa.addProperty("kind", "ServiceAccount");
    JsonObject meta = new JsonObject();
    meta.addProperty("name", "default");
    meta.addProperty("namespace", "bare");
    sa.add("metadata", meta);
    fake.create(sa);
    startController("c1");
    await(() -> pullSecretsOf("bare", "default").contains("corp-pull"), "patched");
    assertTrue(
        fake.requests().stream()
            .noneMatch(r -> "serviceaccounts".equals(r.resource()) && r.code() == 422),
        "no failed patch");
  }

  @Test
  void ownSecretCreateConflict_keepsTheServiceAccountEntry() throws Exception {
    startController("c1");
    createNamespace("keep", Map.of("pull", "corp"));
    ensureServiceAccount("keep", "default");
    await(() -> pullSecretsOf("keep", "default").contains("corp-pull"), "granted");
    // Our Secret disappears and the next create fails once: the entry must not be dropped
    // meanwhile.
    fake.failNext("POST", "/namespaces/keep/secrets", 503);
    fake.resetCounters();
    api.deleteNamespacedSecret("corp-pull", "keep").execute();
    awaitPullSecret("keep", "corp-pull");
    assertTrue(
        fake.requests().stream()
            .noneMatch(r -> "serviceaccounts".equals(r.resource()) && r.isWrite()),
        "the ServiceAccount was not touched while the Secret was being recreated");
    assertEquals(List.of("corp-pull"), pullSecretsOf("keep", "default"));
  }

  @Test
  void newNamespaces_noFailedWritesFromStaleCaches() throws Exception {
    startController("c1");
    createNamespace("warm2", Map.of("pull", "corp"));
    awaitPullSecret("warm2", "corp-pull");
    fake.resetCounters();
    for (int i = 0; i < 40; i++) {
      createNamespace("fast" + i, Map.of("pull", "corp"));
      ensureServiceAccount("fast" + i, "default");
    }
    for (int i = 0; i < 40; i++) {
      String ns = "fast" + i;
      await(() -> pullSecretsOf(ns, "default").contains("corp-pull"), ns);
    }
    List<Request> failed =
        fake.requests().stream()
            .filter(r -> r.isWrite() && r.code() >= 400 && !"leases".equals(r.resource()))
            .collect(Collectors.toList());
    assertEquals(
        List.of(),
        failed.stream().map(Request::toString).collect(Collectors.toList()),
        () -> history(failed));
    long writes =
        fake.requests().stream()
            .filter(Request::isWrite)
            .filter(r -> r.namespace() != null && r.namespace().startsWith("fast"))
            .filter(
                r ->
                    "secrets".equals(r.resource())
                        || ("serviceaccounts".equals(r.resource()) && "PATCH".equals(r.method())))
            .count();
    assertEquals(80, writes, "exactly two writes per namespace");
  }

  @Test
  void lostLease_stopsReconcilingAndCampaignsAgain() throws Exception {
    Controller c = startController("c1");
    createNamespace("lease-a", Map.of("pull", "corp"));
    awaitPullSecret("lease-a", "corp-pull");
    FakeKubeApi.Registration partition =
        fake.failWhen(r -> "leases".equals(r.resource()) && "PUT".equals(r.method()), 500);
    await(() -> !c.isLeader(), "renewals fail: the replica steps down");
    createNamespace("lease-b", Map.of("pull", "corp"));
    // Once the replica's cache has the namespace, a leader would have queued and written it.
    await(() -> c.reconciler().namespaceNames().contains("lease-b"), "the cache sees lease-b");
    assertFalse(
        secretExists("lease-b", "corp-pull"), "a replica that does not lead writes nothing");
    partition.close();
    await(c::isLeader, "it campaigns again and leads");
    awaitPullSecret("lease-b", "corp-pull");
  }

  @Test
  void expiredWatch_informersRelistAndKeepWorking() throws Exception {
    startController("c1");
    createNamespace("before", Map.of("pull", "corp"));
    awaitPullSecret("before", "corp-pull");
    fake.compactHistory();
    fake.closeWatches();
    createNamespace("after", Map.of("pull", "corp"));
    awaitPullSecret("after", "corp-pull");
  }

  @Test
  void deletedManagedSecret_isRecreated() throws Exception {
    startController("c1");
    createNamespace("heal", Map.of("pull", "corp"));
    awaitPullSecret("heal", "corp-pull");
    api.deleteNamespacedSecret("corp-pull", "heal").execute();
    awaitPullSecret("heal", "corp-pull");
  }

  /**
   * Every call about the namespaces of these failed requests, with bodies, to explain a failure.
   */
  private String history(List<Request> failed) {
    java.util.Set<String> namespaces =
        failed.stream().map(Request::namespace).collect(Collectors.toSet());
    return fake.requests().stream()
        .filter(r -> namespaces.contains(r.namespace()))
        .map(r -> r + (r.body().isEmpty() ? "" : " " + r.body()))
        .collect(Collectors.joining("\n", "\n", ""));
  }
}
