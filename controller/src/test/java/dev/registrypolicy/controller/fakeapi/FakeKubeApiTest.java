package dev.registrypolicy.controller.fakeapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.fakeapi.Request;
import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import io.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.ApiResponse;
import io.kubernetes.client.openapi.apis.AdmissionregistrationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.CustomObjectsApi;
import io.kubernetes.client.openapi.apis.VersionApi;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LocalObjectReference;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1NamespaceList;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.openapi.models.V1ServiceAccountList;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBindingSpec;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicySpec;
import io.kubernetes.client.openapi.models.V1Validation;
import io.kubernetes.client.openapi.models.VersionInfo;
import io.kubernetes.client.util.PatchUtils;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Checks the fake API server against real client-java 27 and client-java-extended 25. */
@Timeout(60)
class FakeKubeApiTest {

  private FakeKubeApi fake;
  private ApiClient client;
  private CoreV1Api core;

  @BeforeEach
  void start() throws Exception {
    fake = new FakeKubeApi().start();
    client = fake.client();
    core = new CoreV1Api(client);
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  // ------------------------------------------------------------------ helpers

  private V1Namespace namespace(String name) throws ApiException {
    return core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(name)))
        .execute();
  }

  private V1ServiceAccount serviceAccount(String ns, String name, String... pullSecrets)
      throws ApiException {
    V1ServiceAccount sa = new V1ServiceAccount().metadata(new V1ObjectMeta().name(name));
    for (String s : pullSecrets) {
      sa.addImagePullSecretsItem(new V1LocalObjectReference().name(s));
    }
    return core.createNamespacedServiceAccount(ns, sa).execute();
  }

  private V1ServiceAccount patchSa(String ns, String name, String format, String body)
      throws ApiException {
    return PatchUtils.patch(
        V1ServiceAccount.class,
        () -> core.patchNamespacedServiceAccount(name, ns, new V1Patch(body)).buildCall(null),
        format,
        client);
  }

  private static List<String> pullSecretNames(V1ServiceAccount sa) {
    return sa.getImagePullSecrets() == null
        ? List.of()
        : sa.getImagePullSecrets().stream()
            .map(V1LocalObjectReference::getName)
            .collect(Collectors.toList());
  }

  private static void await(String what, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  private static String reason(ApiException e) {
    return JsonParser.parseString(e.getResponseBody())
        .getAsJsonObject()
        .get("reason")
        .getAsString();
  }

  /** Reads a whole watch response with a plain HTTP client (the stream must end by itself). */
  private List<JsonObject> rawWatch(String pathAndQuery) throws Exception {
    HttpURLConnection c =
        (HttpURLConnection) URI.create(fake.baseUrl() + pathAndQuery).toURL().openConnection();
    c.setReadTimeout(15_000);
    assertEquals(200, c.getResponseCode());
    List<JsonObject> events = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.isBlank()) {
          events.add(JsonParser.parseString(line).getAsJsonObject());
        }
      }
    }
    return events;
  }

  private static String typeAndName(JsonObject event) {
    return event.get("type").getAsString()
        + " "
        + event.getAsJsonObject("object").getAsJsonObject("metadata").get("name").getAsString();
  }

  // -------------------------------------------------------------------- tests

  @Test
  void createNamespaceAnswers201AndNoDefaultServiceAccountAppears() throws Exception {
    ApiResponse<V1Namespace> resp =
        core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("team-a")))
            .executeWithHttpInfo();
    assertEquals(201, resp.getStatusCode());
    V1Namespace ns = resp.getData();
    assertEquals("team-a", ns.getMetadata().getName());
    assertNotNull(ns.getMetadata().getUid());
    assertNotNull(ns.getMetadata().getCreationTimestamp());
    assertEquals(1L, ns.getMetadata().getGeneration());
    assertTrue(Long.parseLong(ns.getMetadata().getResourceVersion()) > 0);
    assertEquals("Active", ns.getStatus().getPhase());
    assertEquals("team-a", ns.getMetadata().getLabels().get("kubernetes.io/metadata.name"));
    assertEquals("team-a", core.readNamespace("team-a").execute().getMetadata().getName());

    // No kube-controller-manager: nothing creates the "default" ServiceAccount.
    assertTrue(core.listNamespacedServiceAccount("team-a").execute().getItems().isEmpty());
    ApiException missing =
        assertThrows(
            ApiException.class,
            () -> core.readNamespacedServiceAccount("default", "team-a").execute());
    assertEquals(404, missing.getCode());
    assertEquals("NotFound", reason(missing));

    ApiException dup = assertThrows(ApiException.class, () -> namespace("team-a"));
    assertEquals(409, dup.getCode());
    assertEquals("AlreadyExists", reason(dup));
    assertEquals(201, fake.requests("POST", "namespaces").get(0).code());
    assertEquals(409, fake.requests("POST", "namespaces").get(1).code());
  }

  @Test
  void createsServiceAccountsAndSecrets() throws Exception {
    namespace("apps");
    V1ServiceAccount sa = serviceAccount("apps", "builder", "pull-a");
    assertEquals("apps", sa.getMetadata().getNamespace());
    assertEquals(List.of("pull-a"), pullSecretNames(sa));

    V1Secret secret =
        core.createNamespacedSecret(
                "apps",
                new V1Secret()
                    .metadata(new V1ObjectMeta().name("registry-creds").putLabelsItem("app", "rp"))
                    .type("kubernetes.io/dockerconfigjson")
                    .putStringDataItem(".dockerconfigjson", "{\"auths\":{}}"))
            .execute();
    assertEquals("kubernetes.io/dockerconfigjson", secret.getType());
    assertTrue(secret.getStringData() == null || secret.getStringData().isEmpty());
    assertEquals(
        "{\"auths\":{}}",
        new String(secret.getData().get(".dockerconfigjson"), StandardCharsets.UTF_8));

    ApiException noNs =
        assertThrows(ApiException.class, () -> serviceAccount("does-not-exist", "x"));
    assertEquals(404, noNs.getCode());

    V1Secret generated =
        core.createNamespacedSecret(
                "apps", new V1Secret().metadata(new V1ObjectMeta().generateName("gen-")))
            .execute();
    assertTrue(generated.getMetadata().getName().matches("gen-[a-z0-9]{5}"));
    assertEquals("Opaque", generated.getType());

    ApiException badName =
        assertThrows(ApiException.class, () -> serviceAccount("apps", "Not_Valid"));
    assertEquals(422, badName.getCode());

    // Direct access sees the same store; typed helpers round-trip through client-java's JSON.
    assertEquals(
        List.of("pull-a"), pullSecretNames(fake.get(V1ServiceAccount.class, "apps", "builder")));
    assertEquals(2, fake.list("secrets", "apps").size());
    // Every non-GET call counts, refused ones included (404, 422 above).
    assertEquals(6, fake.writes());
    assertEquals(2, fake.writes("secrets"));
    assertEquals(4, fake.writes("serviceaccounts") + fake.writes("namespaces"));
  }

  @Test
  void updateWithStaleResourceVersionIsConflict() throws Exception {
    namespace("apps");
    V1ServiceAccount read = serviceAccount("apps", "builder");
    // Someone else writes in between.
    fake.mutate(
        V1ServiceAccount.class,
        "apps",
        "builder",
        sa -> sa.addImagePullSecretsItem(new V1LocalObjectReference().name("theirs")));

    read.addImagePullSecretsItem(new V1LocalObjectReference().name("ours"));
    ApiException e =
        assertThrows(
            ApiException.class,
            () -> core.replaceNamespacedServiceAccount("builder", "apps", read).execute());
    assertEquals(409, e.getCode());
    assertEquals("Conflict", reason(e));
    assertEquals(
        List.of("theirs"), pullSecretNames(fake.get(V1ServiceAccount.class, "apps", "builder")));

    V1ServiceAccount fresh = core.readNamespacedServiceAccount("builder", "apps").execute();
    fresh.addImagePullSecretsItem(new V1LocalObjectReference().name("ours"));
    V1ServiceAccount written =
        core.replaceNamespacedServiceAccount("builder", "apps", fresh).execute();
    assertEquals(List.of("theirs", "ours"), pullSecretNames(written));
    assertTrue(
        Long.parseLong(written.getMetadata().getResourceVersion())
            > Long.parseLong(fresh.getMetadata().getResourceVersion()));

    // A no-op update keeps the resourceVersion, as upstream.
    V1ServiceAccount again =
        core.replaceNamespacedServiceAccount("builder", "apps", written).execute();
    assertEquals(
        written.getMetadata().getResourceVersion(), again.getMetadata().getResourceVersion());

    ApiException gone =
        assertThrows(
            ApiException.class,
            () ->
                core.replaceNamespacedServiceAccount(
                        "nobody",
                        "apps",
                        new V1ServiceAccount().metadata(new V1ObjectMeta().name("nobody")))
                    .execute());
    assertEquals(404, gone.getCode());
  }

  @Test
  void jsonPatchTestOpGuardsTheResourceVersion() throws Exception {
    namespace("apps");
    V1ServiceAccount sa = serviceAccount("apps", "builder", "a");
    String rv = sa.getMetadata().getResourceVersion();
    String guarded =
        "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\""
            + rv
            + "\"},{\"op\":\"add\",\"path\":\"/imagePullSecrets/-\",\"value\":{\"name\":\"b\"}}]";

    V1ServiceAccount patched = patchSa("apps", "builder", V1Patch.PATCH_FORMAT_JSON_PATCH, guarded);
    assertEquals(List.of("a", "b"), pullSecretNames(patched));
    assertEquals(
        "application/json-patch+json",
        fake.requests("PATCH", "serviceaccounts").get(0).contentType());

    // Same patch again: the resourceVersion moved on, so the test op fails -> 422 Invalid.
    ApiException stale =
        assertThrows(
            ApiException.class,
            () -> patchSa("apps", "builder", V1Patch.PATCH_FORMAT_JSON_PATCH, guarded));
    assertEquals(422, stale.getCode());
    assertEquals("Invalid", reason(stale));

    ApiException missingPath =
        assertThrows(
            ApiException.class,
            () ->
                patchSa(
                    "apps",
                    "builder",
                    V1Patch.PATCH_FORMAT_JSON_PATCH,
                    "[{\"op\":\"replace\",\"path\":\"/secrets/0/name\",\"value\":\"x\"}]"));
    assertEquals(422, missingPath.getCode());

    // Escapes in pointers, remove, move, copy.
    patchSa(
        "apps",
        "builder",
        V1Patch.PATCH_FORMAT_JSON_PATCH,
        "[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{}},"
            + "{\"op\":\"add\",\"path\":\"/metadata/annotations/example.com~1a~0b\",\"value\":\"1\"},"
            + "{\"op\":\"copy\",\"from\":\"/metadata/annotations/example.com~1a~0b\","
            + "\"path\":\"/metadata/annotations/copied\"},"
            + "{\"op\":\"move\",\"from\":\"/imagePullSecrets/0\",\"path\":\"/imagePullSecrets/-\"},"
            + "{\"op\":\"remove\",\"path\":\"/metadata/annotations/copied\"}]");
    V1ServiceAccount after = fake.get(V1ServiceAccount.class, "apps", "builder");
    assertEquals(Map.of("example.com/a~b", "1"), after.getMetadata().getAnnotations());
    assertEquals(List.of("b", "a"), pullSecretNames(after));
  }

  @Test
  void strategicMergePatchReplacesImagePullSecretsWhole() throws Exception {
    namespace("apps");
    serviceAccount("apps", "builder", "a", "b");
    V1ServiceAccount sa =
        patchSa(
            "apps",
            "builder",
            V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH,
            "{\"imagePullSecrets\":[{\"name\":\"c\"}]}");
    // No patchMergeKey on ServiceAccount.imagePullSecrets upstream: the list is replaced.
    assertEquals(List.of("c"), pullSecretNames(sa));
    assertEquals(
        "application/strategic-merge-patch+json",
        fake.requests("PATCH", "serviceaccounts").get(0).contentType());

    sa =
        patchSa(
            "apps",
            "builder",
            V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
            "{\"metadata\":{\"labels\":{\"x\":\"y\"}},\"imagePullSecrets\":[{\"name\":\"d\"}]}");
    assertEquals(List.of("d"), pullSecretNames(sa));
    assertEquals("y", sa.getMetadata().getLabels().get("x"));

    // A merge patch carrying a stale resourceVersion is a conflict.
    ApiException e =
        assertThrows(
            ApiException.class,
            () ->
                patchSa(
                    "apps",
                    "builder",
                    V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
                    "{\"metadata\":{\"resourceVersion\":\"1\"},\"imagePullSecrets\":[]}"));
    assertEquals(409, e.getCode());

    // The "secrets" list does have a merge key (name) upstream, and merges.
    patchSa(
        "apps",
        "builder",
        V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH,
        "{\"secrets\":[{\"name\":\"s1\"}]}");
    sa =
        patchSa(
            "apps",
            "builder",
            V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH,
            "{\"secrets\":[{\"name\":\"s2\"}]}");
    assertEquals(2, sa.getSecrets().size());
  }

  @Test
  void interceptorSimulatesAConcurrentWriterBetweenReadAndPatch() throws Exception {
    namespace("apps");
    serviceAccount("apps", "default", "user-added");
    V1ServiceAccount read = core.readNamespacedServiceAccount("default", "apps").execute();

    // Another actor appends a pull secret just before the controller's PATCH is served.
    fake.onNextRequest(
        r -> r.method().equals("PATCH") && "serviceaccounts".equals(r.resource()),
        r ->
            fake.mutate(
                "serviceaccounts",
                r.namespace(),
                r.name(),
                json -> {
                  JsonObject ref = new JsonObject();
                  ref.addProperty("name", "racer");
                  json.getAsJsonArray("imagePullSecrets").add(ref);
                }));

    // A blind strategic patch computed from the stale read would drop "racer" ...
    List<String> desired = new ArrayList<>(pullSecretNames(read));
    desired.add("registry-policy");
    String blind =
        "{\"imagePullSecrets\":["
            + desired.stream().map(n -> "{\"name\":\"" + n + "\"}").collect(Collectors.joining(","))
            + "]}";
    V1ServiceAccount lost =
        patchSa("apps", "default", V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH, blind);
    assertEquals(List.of("user-added", "registry-policy"), pullSecretNames(lost));

    // ... while a JSON patch guarded by the read's resourceVersion is refused and nothing is lost.
    fake.put(read); // back to the state the controller read (new resourceVersion)
    V1ServiceAccount reread = core.readNamespacedServiceAccount("default", "apps").execute();
    fake.onNextRequest(
        r -> r.method().equals("PATCH"),
        r ->
            fake.mutate(
                V1ServiceAccount.class,
                "apps",
                "default",
                sa -> sa.addImagePullSecretsItem(new V1LocalObjectReference().name("racer"))));
    String guarded =
        "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\""
            + reread.getMetadata().getResourceVersion()
            + "\"},"
            + "{\"op\":\"add\",\"path\":\"/imagePullSecrets/-\",\"value\":{\"name\":\"registry-policy\"}}]";
    ApiException e =
        assertThrows(
            ApiException.class,
            () -> patchSa("apps", "default", V1Patch.PATCH_FORMAT_JSON_PATCH, guarded));
    assertEquals(422, e.getCode());
    assertEquals(
        List.of("user-added", "racer"),
        pullSecretNames(fake.get(V1ServiceAccount.class, "apps", "default")));
  }

  @Test
  void informersSeeAddedModifiedDeleted() throws Exception {
    SharedInformerFactory factory = new SharedInformerFactory(client);
    try {
      SharedIndexInformer<V1Namespace> nsInformer =
          factory.sharedIndexInformerFor(
              params ->
                  core.listNamespace()
                      .resourceVersion(params.resourceVersion)
                      .timeoutSeconds(params.timeoutSeconds)
                      .watch(params.watch)
                      .buildCall(null),
              V1Namespace.class,
              V1NamespaceList.class);
      GenericKubernetesApi<V1ServiceAccount, V1ServiceAccountList> saApi =
          new GenericKubernetesApi<>(
              V1ServiceAccount.class,
              V1ServiceAccountList.class,
              "",
              "v1",
              "serviceaccounts",
              client);
      SharedIndexInformer<V1ServiceAccount> saInformer =
          factory.sharedIndexInformerFor(saApi, V1ServiceAccount.class, 0);
      BlockingQueue<String> events = new LinkedBlockingQueue<>();
      nsInformer.addEventHandler(recorder("ns", events));
      saInformer.addEventHandler(recorder("sa", events));

      namespace("before-start");
      factory.startAllRegisteredInformers();
      await("informers synced", () -> nsInformer.hasSynced() && saInformer.hasSynced());
      assertEquals("ns ADDED before-start", events.poll(10, TimeUnit.SECONDS));
      await("watches open", () -> fake.activeWatches() == 2);

      namespace("apps");
      namespace("tools");
      assertEquals("ns ADDED apps", events.poll(10, TimeUnit.SECONDS));
      assertEquals("ns ADDED tools", events.poll(10, TimeUnit.SECONDS));
      serviceAccount("apps", "one");
      serviceAccount("tools", "two");
      assertEquals("sa ADDED apps/one", events.poll(10, TimeUnit.SECONDS));
      assertEquals("sa ADDED tools/two", events.poll(10, TimeUnit.SECONDS));
      patchSa(
          "tools",
          "two",
          V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
          "{\"imagePullSecrets\":[{\"name\":\"p\"}]}");
      assertEquals("sa MODIFIED tools/two", events.poll(10, TimeUnit.SECONDS));
      // ServiceAccount DELETE answers the deleted object (client-java expects V1ServiceAccount).
      assertEquals(
          "one",
          core.deleteNamespacedServiceAccount("one", "apps").execute().getMetadata().getName());
      assertEquals("sa DELETED apps/one", events.poll(10, TimeUnit.SECONDS));
      assertEquals(List.of("p"), pullSecretNames(saInformer.getIndexer().getByKey("tools/two")));

      // What the informers sent: a list, then a watch from the list's resourceVersion.
      Request list = fake.requests("GET", "namespaces").get(0);
      Request watch = fake.requests("GET", "namespaces").get(1);
      assertFalse(list.isWatch());
      assertEquals("0", list.param("resourceVersion"));
      assertTrue(watch.isWatch());
      int timeout = Integer.parseInt(watch.param("timeoutSeconds"));
      assertTrue(timeout >= 300 && timeout <= 600, "randomised 5-10 min watch timeout: " + timeout);
      assertNotNull(watch.param("resourceVersion"));
      System.out.println("informer list:  " + list);
      System.out.println("informer watch: " + watch);
      System.out.println("generic list:   " + fake.requests("GET", "serviceaccounts").get(0));
      System.out.println("generic watch:  " + fake.requests("GET", "serviceaccounts").get(1));
    } finally {
      factory.stopAllRegisteredInformers();
    }
  }

  private static <T extends io.kubernetes.client.common.KubernetesObject>
      ResourceEventHandler<T> recorder(String prefix, BlockingQueue<String> sink) {
    return new ResourceEventHandler<>() {
      private String id(T o) {
        String ns = o.getMetadata().getNamespace();
        return (ns == null ? "" : ns + "/") + o.getMetadata().getName();
      }

      @Override
      public void onAdd(T obj) {
        sink.add(prefix + " ADDED " + id(obj));
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        if (!oldObj
            .getMetadata()
            .getResourceVersion()
            .equals(newObj.getMetadata().getResourceVersion())) {
          sink.add(prefix + " MODIFIED " + id(newObj));
        }
      }

      @Override
      public void onDelete(T obj, boolean finalStateUnknown) {
        sink.add(prefix + " DELETED " + id(obj));
      }
    };
  }

  @Test
  void informerRecoversFromCompactedHistoryByRelisting() throws Exception {
    SharedInformerFactory factory = new SharedInformerFactory(client);
    try {
      SharedIndexInformer<V1Namespace> informer =
          factory.sharedIndexInformerFor(
              params ->
                  core.listNamespace()
                      .resourceVersion(params.resourceVersion)
                      .timeoutSeconds(params.timeoutSeconds)
                      .watch(params.watch)
                      .buildCall(null),
              V1Namespace.class,
              V1NamespaceList.class);
      namespace("first");
      factory.startAllRegisteredInformers();
      await("synced", informer::hasSynced);
      await("watch open", () -> fake.activeWatches() == 1);
      int listsBefore =
          (int) fake.requests("GET", "namespaces").stream().filter(r -> !r.isWatch()).count();

      fake.compactHistory();
      fake.closeWatches(); // the informer re-watches from its old resourceVersion -> 410
      await("expired watch answered", () -> fake.expiredWatchCount() >= 1);
      namespace("after-compaction");

      await(
          "informer sees object created after compaction",
          () -> informer.getIndexer().getByKey("after-compaction") != null);
      long listsAfter =
          fake.requests("GET", "namespaces").stream().filter(r -> !r.isWatch()).count();
      assertTrue(listsAfter > listsBefore, "informer relisted after 410");
      fake.requests("GET", "namespaces").forEach(r -> System.out.println("recovery: " + r));

      // And it watches again afterwards.
      await("watch re-opened", () -> fake.activeWatches() == 1);
      namespace("after-relist");
      await(
          "informer sees object via the new watch",
          () -> informer.getIndexer().getByKey("after-relist") != null);
      assertNotNull(informer.getIndexer().getByKey("first"));
    } finally {
      factory.stopAllRegisteredInformers();
    }
  }

  @Test
  void watchFromCompactedResourceVersionAnswers410Event() throws Exception {
    namespace("apps");
    String old = Long.toString(fake.resourceVersion());
    fake.compactHistory();
    List<JsonObject> events = rawWatch("/api/v1/namespaces?watch=true&resourceVersion=" + old);
    assertEquals(1, events.size());
    JsonObject ev = events.get(0);
    assertEquals("ERROR", ev.get("type").getAsString());
    assertEquals(410, ev.getAsJsonObject("object").get("code").getAsInt());
    assertEquals("Expired", ev.getAsJsonObject("object").get("reason").getAsString());

    // A small history window expires old versions too.
    fake.setHistoryLimit(2);
    String before = Long.toString(fake.resourceVersion());
    namespace("b");
    namespace("c");
    namespace("d");
    assertEquals(
        "ERROR",
        rawWatch("/api/v1/namespaces?watch=1&resourceVersion=" + before)
            .get(0)
            .get("type")
            .getAsString());
  }

  @Test
  void watchStreamsSelectedChangesAndHonoursTimeout() throws Exception {
    namespace("apps");
    String rv = Long.toString(fake.resourceVersion());
    V1ConfigMap a =
        core.createNamespacedConfigMap(
                "apps",
                new V1ConfigMap().metadata(new V1ObjectMeta().name("a").putLabelsItem("app", "x")))
            .execute();
    core.createNamespacedConfigMap(
            "apps",
            new V1ConfigMap().metadata(new V1ObjectMeta().name("b").putLabelsItem("app", "y")))
        .execute();
    // a leaves the selection: watchers of app=x see it as DELETED.
    a.getMetadata().putLabelsItem("app", "z");
    core.replaceNamespacedConfigMap("a", "apps", a).execute();

    long t0 = System.nanoTime();
    List<JsonObject> events =
        rawWatch(
            "/api/v1/namespaces/apps/configmaps?watch=true"
                + "&resourceVersion="
                + rv
                + "&labelSelector=app%3Dx&timeoutSeconds=1");
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertEquals(
        List.of("ADDED a", "DELETED a"),
        events.stream().map(FakeKubeApiTest::typeAndName).collect(Collectors.toList()));
    assertTrue(ms >= 900 && ms < 5000, "stream closed after timeoutSeconds, took " + ms);

    // Without a resourceVersion a watch starts with ADDED for what exists now.
    events =
        rawWatch(
            "/api/v1/configmaps?watch=true&timeoutSeconds=1" + "&fieldSelector=metadata.name%3Db");
    assertEquals(
        List.of("ADDED b"),
        events.stream().map(FakeKubeApiTest::typeAndName).collect(Collectors.toList()));
  }

  @Test
  void closeEndsOpenWatchStreams() throws Exception {
    namespace("apps");
    CountDownLatch ended = new CountDownLatch(1);
    List<JsonObject> seen = new ArrayList<>();
    Thread t =
        new Thread(
            () -> {
              try {
                seen.addAll(rawWatch("/api/v1/namespaces?watch=true"));
              } catch (Exception e) {
                // the stream may also be cut; either way it must end
              }
              ended.countDown();
            });
    t.start();
    await("watch open", () -> fake.activeWatches() == 1);
    fake.close();
    assertTrue(ended.await(10, TimeUnit.SECONDS), "watch ended on close()");
  }

  @Test
  void labelAndFieldSelectors() throws Exception {
    namespace("one");
    namespace("two");
    String[][] maps = {
      {"one", "a", "app=web,tier=front"},
      {"one", "b", "app=web,tier=back"},
      {"one", "c", "app=db"},
      {"two", "d", "app=web,tier=front,canary=true"},
      {"two", "e", ""},
    };
    for (String[] m : maps) {
      V1ObjectMeta meta = new V1ObjectMeta().name(m[1]);
      if (!m[2].isEmpty()) {
        for (String kv : m[2].split(",")) {
          meta.putLabelsItem(kv.split("=")[0], kv.split("=")[1]);
        }
      }
      core.createNamespacedConfigMap(m[0], new V1ConfigMap().metadata(meta)).execute();
    }
    Map<String, String> cases = new java.util.LinkedHashMap<>();
    cases.put("app=web", "a,b,d");
    cases.put("app==web", "a,b,d");
    cases.put("app!=web", "c,e");
    cases.put("app in (db, web),tier notin (back)", "a,c,d");
    cases.put("tier", "a,b,d");
    cases.put("!tier", "c,e");
    cases.put("app=web,!canary", "a,b");
    cases.put("app notin (web)", "c,e");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      List<String> names =
          core
              .listConfigMapForAllNamespaces()
              .labelSelector(c.getKey())
              .execute()
              .getItems()
              .stream()
              .map(cm -> cm.getMetadata().getName())
              .collect(Collectors.toList());
      assertEquals(c.getValue(), String.join(",", names), c.getKey());
    }
    assertEquals(
        List.of("b"),
        core
            .listNamespacedConfigMap("one")
            .fieldSelector("metadata.name=b")
            .execute()
            .getItems()
            .stream()
            .map(cm -> cm.getMetadata().getName())
            .collect(Collectors.toList()));
    assertEquals(
        2,
        core.listConfigMapForAllNamespaces()
            .fieldSelector("metadata.namespace=two")
            .execute()
            .getItems()
            .size());
    assertEquals(
        1,
        core.listConfigMapForAllNamespaces()
            .fieldSelector("metadata.namespace=two,metadata.name!=d")
            .execute()
            .getItems()
            .size());

    ApiException badLabel =
        assertThrows(
            ApiException.class,
            () -> core.listConfigMapForAllNamespaces().labelSelector("app in (web").execute());
    assertEquals(400, badLabel.getCode());
    ApiException badField =
        assertThrows(
            ApiException.class,
            () -> core.listConfigMapForAllNamespaces().fieldSelector("data.x=1").execute());
    assertEquals(400, badField.getCode());

    // limit/continue pages through the same result.
    var page1 = core.listConfigMapForAllNamespaces().limit(2).execute();
    assertEquals(2, page1.getItems().size());
    assertNotNull(page1.getMetadata().getContinue());
    var page2 =
        core.listConfigMapForAllNamespaces()
            .limit(10)
            ._continue(page1.getMetadata().getContinue())
            .execute();
    assertEquals(3, page2.getItems().size());
    assertNull(page2.getMetadata().getContinue());
    assertNotNull(page1.getMetadata().getResourceVersion());
  }

  @Test
  void deletingANamespaceCascades() throws Exception {
    namespace("doomed");
    namespace("kept");
    serviceAccount("doomed", "sa");
    core.createNamespacedSecret("doomed", new V1Secret().metadata(new V1ObjectMeta().name("s")))
        .execute();
    core.createNamespacedConfigMap(
            "doomed", new V1ConfigMap().metadata(new V1ObjectMeta().name("c")))
        .execute();
    core.createNamespacedSecret("kept", new V1Secret().metadata(new V1ObjectMeta().name("s")))
        .execute();
    fake.create(new V1Lease().metadata(new V1ObjectMeta().name("l").namespace("doomed")));
    String rv = Long.toString(fake.resourceVersion());

    // The real API answers a namespace DELETE with the Namespace object (phase Terminating).
    // client-java declares V1Status as the return type, so parse the raw body here.
    okhttp3.Response resp = core.deleteNamespace("doomed").buildCall(null).execute();
    assertEquals(200, resp.code());
    JsonObject body = JsonParser.parseString(resp.body().string()).getAsJsonObject();
    resp.close();
    assertEquals("Namespace", body.get("kind").getAsString());
    assertEquals("Terminating", body.getAsJsonObject("status").get("phase").getAsString());

    assertNull(fake.get("namespaces", null, "doomed"));
    assertTrue(fake.list("serviceaccounts", "doomed").isEmpty());
    assertTrue(fake.list("secrets", "doomed").isEmpty());
    assertTrue(fake.list("configmaps", "doomed").isEmpty());
    assertTrue(fake.list("leases", "doomed").isEmpty());
    assertEquals(1, fake.list("secrets", "kept").size());

    List<JsonObject> events =
        rawWatch("/api/v1/secrets?watch=true&timeoutSeconds=1&resourceVersion=" + rv);
    assertEquals(
        List.of("DELETED s"),
        events.stream().map(FakeKubeApiTest::typeAndName).collect(Collectors.toList()));
    assertEquals(
        "doomed",
        events
            .get(0)
            .getAsJsonObject("object")
            .getAsJsonObject("metadata")
            .get("namespace")
            .getAsString());
    List<JsonObject> nsEvents =
        rawWatch("/api/v1/namespaces?watch=true&timeoutSeconds=1&resourceVersion=" + rv);
    assertEquals(
        List.of("MODIFIED doomed", "DELETED doomed"),
        nsEvents.stream().map(FakeKubeApiTest::typeAndName).collect(Collectors.toList()));

    // client-java's typed deleteNamespace declares V1Status although the API answers the
    // Namespace (kubernetes#69970); client-java 27 copes with that.
    namespace("doomed-too");
    System.out.println("deleteNamespace -> " + core.deleteNamespace("doomed-too").execute());
    assertNull(fake.get("namespaces", null, "doomed-too"));

    // A plain object DELETE answers a Status, which client-java parses.
    assertEquals("Success", core.deleteNamespacedSecret("s", "kept").execute().getStatus());
    ApiException again =
        assertThrows(ApiException.class, () -> core.deleteNamespacedSecret("s", "kept").execute());
    assertEquals(404, again.getCode());
  }

  @Test
  void dockerConfigJsonSecretsMustHoldJson() throws Exception {
    namespace("apps");
    V1Secret bad =
        new V1Secret()
            .metadata(new V1ObjectMeta().name("pull").namespace("apps"))
            .type("kubernetes.io/dockerconfigjson")
            .data(
                java.util.Map.of(
                    ".dockerconfigjson",
                    "not json".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    ApiException e =
        assertThrows(ApiException.class, () -> core.createNamespacedSecret("apps", bad).execute());
    assertEquals(422, e.getCode());
    assertFalse(e.getResponseBody().contains("not json"), "the contents are not echoed");
    V1Secret missing =
        new V1Secret()
            .metadata(new V1ObjectMeta().name("pull").namespace("apps"))
            .type("kubernetes.io/dockerconfigjson")
            .data(java.util.Map.of());
    assertEquals(
        422,
        assertThrows(
                ApiException.class, () -> core.createNamespacedSecret("apps", missing).execute())
            .getCode());
    V1Secret good =
        new V1Secret()
            .metadata(new V1ObjectMeta().name("pull").namespace("apps"))
            .type("kubernetes.io/dockerconfigjson")
            .stringData(java.util.Map.of(".dockerconfigjson", "{\"auths\":{}}"));
    assertEquals(
        201, core.createNamespacedSecret("apps", good).executeWithHttpInfo().getStatusCode());
    V1Secret stored = core.readNamespacedSecret("pull", "apps").execute();
    stored.setData(
        java.util.Map.of(
            ".dockerconfigjson", "{".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertEquals(
        422,
        assertThrows(
                ApiException.class,
                () -> core.replaceNamespacedSecret("pull", "apps", stored).execute())
            .getCode());
  }

  @Test
  void coreEventsMustLiveInTheNamespaceOfWhatTheyAreAbout() throws Exception {
    namespace("default");
    namespace("apps");
    // About a Namespace (cluster-scoped): no involvedObject.namespace, recorded in "default".
    assertEquals(
        201,
        core.createNamespacedEvent("default", event("default", "Namespace", "apps", null))
            .executeWithHttpInfo()
            .getStatusCode());
    ApiException inApps =
        assertThrows(
            ApiException.class,
            () ->
                core.createNamespacedEvent("apps", event("apps", "Namespace", "apps", null))
                    .execute());
    assertEquals(422, inApps.getCode());
    assertTrue(
        inApps.getResponseBody().contains("does not match event.namespace"),
        inApps.getResponseBody());
    ApiException named =
        assertThrows(
            ApiException.class,
            () ->
                core.createNamespacedEvent("apps", event("apps", "Namespace", "apps", "apps"))
                    .execute());
    assertEquals(422, named.getCode());
    // About a namespaced object: in its namespace, which must be named.
    assertEquals(
        201,
        core.createNamespacedEvent("apps", event("apps", "Secret", "s", "apps"))
            .executeWithHttpInfo()
            .getStatusCode());
    assertEquals(
        422,
        assertThrows(
                ApiException.class,
                () ->
                    core.createNamespacedEvent("default", event("default", "Secret", "s", "apps"))
                        .execute())
            .getCode());
    assertEquals(
        422,
        assertThrows(
                ApiException.class,
                () ->
                    core.createNamespacedEvent("apps", event("apps", "Secret", "s", null))
                        .execute())
            .getCode());
  }

  private static io.kubernetes.client.openapi.models.CoreV1Event event(
      String ns, String kind, String name, String involvedNs) {
    return new io.kubernetes.client.openapi.models.CoreV1Event()
        .apiVersion("v1")
        .kind("Event")
        .metadata(new V1ObjectMeta().namespace(ns).name(name + "." + System.nanoTime()))
        .involvedObject(
            new io.kubernetes.client.openapi.models.V1ObjectReference()
                .apiVersion("v1")
                .kind(kind)
                .name(name)
                .namespace(involvedNs))
        .reason("Test")
        .message("m")
        .type("Normal");
  }

  @Test
  void leaderElectionAcquiresAndHandsOver() throws Exception {
    namespace("registry-policy");
    CountDownLatch aLeads = new CountDownLatch(1);
    CountDownLatch aStopped = new CountDownLatch(1);
    CountDownLatch bLeads = new CountDownLatch(1);
    LeaderElector a = elector("a", fake.newClient());
    LeaderElector b = elector("b", fake.newClient());
    Thread ta = new Thread(() -> a.run(aLeads::countDown, aStopped::countDown), "elector-a");
    Thread tb = new Thread(() -> b.run(bLeads::countDown, () -> {}), "elector-b");
    try {
      ta.start();
      assertTrue(aLeads.await(10, TimeUnit.SECONDS), "a acquires the lease");
      V1Lease lease = fake.get(V1Lease.class, "registry-policy", "registry-policy-controller");
      assertEquals("a", lease.getSpec().getHolderIdentity());
      assertEquals(201, fake.requests("POST", "leases").get(0).code());

      tb.start();
      assertFalse(bLeads.await(1500, TimeUnit.MILLISECONDS), "b waits while a renews");

      // a's renewals now fail (as if a were partitioned away); b takes over after expiry.
      fake.failWhen(
          r ->
              "leases".equals(r.resource())
                  && r.method().equals("PUT")
                  && r.body().contains("\"holderIdentity\":\"a\""),
          500);
      assertTrue(aStopped.await(10, TimeUnit.SECONDS), "a gives up after its renew deadline");
      assertTrue(bLeads.await(15, TimeUnit.SECONDS), "b takes over");
      lease = fake.get(V1Lease.class, "registry-policy", "registry-policy-controller");
      assertEquals("b", lease.getSpec().getHolderIdentity());
      assertTrue(lease.getSpec().getLeaseTransitions() >= 1);
      assertTrue(fake.requests("PUT", "leases").stream().anyMatch(r -> r.code() == 200));
    } finally {
      a.close();
      b.close();
      ta.interrupt();
      tb.interrupt();
    }
  }

  private static LeaderElector elector(String id, ApiClient c) {
    LeaseLock lock = new LeaseLock("registry-policy", "registry-policy-controller", id, c);
    // Renewals have 3 s to get through, so a loaded machine does not hand over by accident.
    return new LeaderElector(
        new LeaderElectionConfig(
            lock, Duration.ofSeconds(4), Duration.ofSeconds(3), Duration.ofMillis(200)));
  }

  @Test
  void applyPatchUpsertsAndReplacesAtomicLists() throws Exception {
    namespace("apps");
    String applied =
        "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\","
            + "\"metadata\":{\"name\":\"ci\",\"namespace\":\"apps\"},"
            + "\"imagePullSecrets\":[{\"name\":\"a\"}]}";
    V1ServiceAccount sa =
        PatchUtils.patch(
            V1ServiceAccount.class,
            () ->
                core.patchNamespacedServiceAccount("ci", "apps", new V1Patch(applied))
                    .fieldManager("registry-policy")
                    .force(true)
                    .buildCall(null),
            V1Patch.PATCH_FORMAT_APPLY_YAML,
            client);
    assertEquals(List.of("a"), pullSecretNames(sa)); // created by apply
    assertEquals(
        "application/apply-patch+yaml",
        fake.requests("PATCH", "serviceaccounts").get(0).contentType());
    sa =
        PatchUtils.patch(
            V1ServiceAccount.class,
            () ->
                core.patchNamespacedServiceAccount(
                        "ci", "apps", new V1Patch(applied.replace("\"a\"", "\"b\"")))
                    .fieldManager("registry-policy")
                    .force(true)
                    .buildCall(null),
            V1Patch.PATCH_FORMAT_APPLY_YAML,
            client);
    assertEquals(List.of("b"), pullSecretNames(sa));

    ApiException noManager =
        assertThrows(
            ApiException.class,
            () ->
                PatchUtils.patch(
                    V1ServiceAccount.class,
                    () ->
                        core.patchNamespacedServiceAccount("ci", "apps", new V1Patch(applied))
                            .buildCall(null),
                    V1Patch.PATCH_FORMAT_APPLY_YAML,
                    client));
    assertEquals(422, noManager.getCode());
    ApiException yaml =
        assertThrows(
            ApiException.class,
            () ->
                PatchUtils.patch(
                    V1ServiceAccount.class,
                    () ->
                        core.patchNamespacedServiceAccount(
                                "ci", "apps", new V1Patch("imagePullSecrets:\n- name: c\n"))
                            .fieldManager("m")
                            .buildCall(null),
                    V1Patch.PATCH_FORMAT_APPLY_YAML,
                    client));
    assertEquals(415, yaml.getCode());
  }

  @Test
  void statusSubresourceIsSeparateFromTheMainResource() throws Exception {
    AdmissionregistrationV1Api adm = new AdmissionregistrationV1Api(client);
    adm.createValidatingAdmissionPolicy(
            new V1ValidatingAdmissionPolicy()
                .metadata(new V1ObjectMeta().name("p"))
                .spec(
                    new V1ValidatingAdmissionPolicySpec()
                        .addValidationsItem(new V1Validation().expression("true"))))
        .execute();
    String both = "{\"status\":{\"observedGeneration\":1},\"spec\":{\"failurePolicy\":\"Ignore\"}}";
    // Calling a typed patch method without PatchUtils sends a Content-Type the API refuses.
    ApiException plain =
        assertThrows(
            ApiException.class,
            () -> adm.patchValidatingAdmissionPolicyStatus("p", new V1Patch(both)).execute());
    assertEquals(415, plain.getCode());
    System.out.println(
        "typed patch without PatchUtils sent Content-Type "
            + fake.requests("PATCH", "validatingadmissionpolicies").get(0).contentType());

    V1ValidatingAdmissionPolicy withStatus =
        PatchUtils.patch(
            V1ValidatingAdmissionPolicy.class,
            () -> adm.patchValidatingAdmissionPolicyStatus("p", new V1Patch(both)).buildCall(null),
            V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
            client);
    assertEquals(1L, withStatus.getStatus().getObservedGeneration());
    // The create defaulted failurePolicy to Fail; the status write's Ignore is not applied.
    assertEquals("Fail", withStatus.getSpec().getFailurePolicy(), "status writes ignore spec");
    assertEquals(1L, withStatus.getMetadata().getGeneration());

    V1ValidatingAdmissionPolicy main =
        PatchUtils.patch(
            V1ValidatingAdmissionPolicy.class,
            () ->
                adm.patchValidatingAdmissionPolicy("p", new V1Patch(both.replace("1}", "7}")))
                    .buildCall(null),
            V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
            client);
    assertEquals(1L, main.getStatus().getObservedGeneration(), "main writes ignore status");
    assertEquals("Ignore", main.getSpec().getFailurePolicy());
    assertEquals(2L, main.getMetadata().getGeneration());
  }

  @Test
  void admissionPoliciesDiscoveryAndVersion() throws Exception {
    AdmissionregistrationV1Api adm = new AdmissionregistrationV1Api(client);
    ApiResponse<V1ValidatingAdmissionPolicy> created =
        adm.createValidatingAdmissionPolicy(
                new V1ValidatingAdmissionPolicy()
                    .metadata(new V1ObjectMeta().name("registry-allowlist"))
                    .spec(
                        new V1ValidatingAdmissionPolicySpec()
                            .failurePolicy("Fail")
                            .addValidationsItem(new V1Validation().expression("true"))))
            .executeWithHttpInfo();
    assertEquals(201, created.getStatusCode());
    adm.createValidatingAdmissionPolicyBinding(
            new V1ValidatingAdmissionPolicyBinding()
                .metadata(new V1ObjectMeta().name("registry-allowlist-binding"))
                .spec(
                    new V1ValidatingAdmissionPolicyBindingSpec()
                        .policyName("registry-allowlist")
                        .validationActions(List.of("Deny"))))
        .execute();
    assertEquals(1, adm.listValidatingAdmissionPolicyBinding().execute().getItems().size());

    Object listed =
        new CustomObjectsApi(client)
            .listClusterCustomObject(
                "admissionregistration.k8s.io", "v1", "validatingadmissionpolicies")
            .execute();
    assertTrue(listed.toString().contains("registry-allowlist"));

    GenericKubernetesApi<V1ValidatingAdmissionPolicy, ?> generic =
        new GenericKubernetesApi<>(
            V1ValidatingAdmissionPolicy.class,
            io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyList.class,
            "admissionregistration.k8s.io",
            "v1",
            "validatingadmissionpolicies",
            client);
    KubernetesApiResponse<V1ValidatingAdmissionPolicy> patched =
        generic.patch(
            "registry-allowlist",
            V1Patch.PATCH_FORMAT_JSON_PATCH,
            new V1Patch(
                "[{\"op\":\"replace\",\"path\":\"/spec/validations/0/expression\",\"value\":\"false\"}]"));
    assertTrue(patched.isSuccess(), () -> String.valueOf(patched.getStatus()));
    assertEquals("false", patched.getObject().getSpec().getValidations().get(0).getExpression());
    assertEquals(2L, patched.getObject().getMetadata().getGeneration());

    VersionInfo version = new VersionApi(client).getCode().execute();
    assertEquals("1", version.getMajor());
    JsonObject groups = JsonParser.parseString(get("/apis")).getAsJsonObject();
    JsonArray list = groups.getAsJsonArray("groups");
    assertTrue(list.toString().contains("coordination.k8s.io/v1"));
    assertTrue(get("/api/v1").contains("\"serviceaccounts\""));
    assertTrue(
        get("/apis/admissionregistration.k8s.io/v1").contains("validatingadmissionpolicybindings"));
  }

  private String get(String path) throws Exception {
    HttpURLConnection c =
        (HttpURLConnection) URI.create(fake.baseUrl() + path).toURL().openConnection();
    assertEquals(200, c.getResponseCode());
    return new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void injectedFailuresAndCounters() throws Exception {
    namespace("apps");
    fake.resetCounters();
    fake.failNext("GET", "/serviceaccounts", 503);
    ApiException e =
        assertThrows(ApiException.class, () -> core.listNamespacedServiceAccount("apps").execute());
    assertEquals(503, e.getCode());
    assertEquals("ServiceUnavailable", reason(e));
    assertEquals(0, core.listNamespacedServiceAccount("apps").execute().getItems().size());

    FakeKubeApi.Registration failWrites = fake.failWhen(x -> x.isWrite(), 500);
    assertEquals(
        500, assertThrows(ApiException.class, () -> serviceAccount("apps", "x")).getCode());
    failWrites.close();
    serviceAccount("apps", "x");
    assertEquals(2, fake.writes());
    assertEquals(2, fake.writes("serviceaccounts"));
    assertEquals(
        List.of(503, 200, 500, 201),
        fake.requests().stream().map(Request::code).collect(Collectors.toList()));
    fake.resetCounters();
    assertEquals(0, fake.writes());
  }
}
