package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.CoreV1Event;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1LocalObjectReference;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The controller's behaviour against a Kubernetes API, through client-java only, so the same
 * scenarios run on the in-process fake and on a real k3s.
 */
abstract class ControllerScenarios {
  static final Duration TIMEOUT = Duration.ofSeconds(20);

  static String policy(String serviceAccounts, String extra) {
    return String.join(
        "\n",
        "apiVersion: registry-policy.dev/v1alpha1",
        "kind: RegistryPolicy",
        "credentials:",
        "  - {name: corp, secret: corp-source, registry: registry.corp.example}",
        "access:",
        "  - name: corp",
        "    credentials: corp",
        "    secretName: corp-pull",
        "    namespaces: {selector: {matchLabels: {pull: corp}}}",
        "    serviceAccounts: " + serviceAccounts,
        extra,
        "");
  }

  static final String POLICY = policy("default", "");

  /** Someone else's dockerconfigjson (the API server accepts only valid JSON for that type). */
  static final String THEIRS = "{\"auths\":{\"theirs.example\":{}}}";

  static byte[] dockerConfig(String auth) {
    return ("{\"auths\":{\"registry.corp.example\":{\"auth\":\"" + auth + "\"}}}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** An API client for the cluster under test. */
  abstract ApiClient client();

  /** Whether namespaces get a default ServiceAccount by themselves (a real cluster does). */
  abstract boolean autoDefaultServiceAccount();

  CoreV1Api api;
  final List<Controller> controllers = new ArrayList<>();

  @BeforeEach
  void setUpPolicy() throws Exception {
    api = new CoreV1Api(client());
    createNamespace("default", Map.of()); // as in every cluster
    createNamespace(Policy.NAMESPACE, Map.of());
    upsertSecret(Policy.NAMESPACE, "corp-source", dockerConfig("dXNlcjpwYXNz"));
    upsertPolicy(POLICY);
  }

  @AfterEach
  void stopControllers() {
    for (Controller c : controllers) {
      c.close();
    }
    controllers.clear();
  }

  Controller startController(String identity) {
    Controller c =
        new Controller(
            client(),
            new Controller.Settings(
                identity,
                4,
                Duration.ofMinutes(10),
                Duration.ofSeconds(3),
                Duration.ofSeconds(2),
                Duration.ofMillis(200)),
            new Metrics());
    c.start();
    controllers.add(c);
    return c;
  }

  // ---- scenarios ------------------------------------------------------------------------------

  @Test
  void grant_createsSecretAndPatchesDefaultServiceAccount() throws Exception {
    startController("c1");
    createNamespace("team-a", Map.of("pull", "corp"));
    ensureServiceAccount("team-a", "default");
    awaitPullSecret("team-a", "corp-pull");
    await(
        () -> pullSecretsOf("team-a", "default").contains("corp-pull"),
        "default SA lists corp-pull");
    V1Secret s = api.readNamespacedSecret("corp-pull", "team-a").execute();
    assertEquals("kubernetes.io/dockerconfigjson", s.getType());
    assertEquals(Labels.MANAGED_BY, s.getMetadata().getLabels().get(Labels.MANAGED_BY_LABEL));
    assertTrue(
        new String(s.getData().get(".dockerconfigjson"), StandardCharsets.UTF_8)
            .contains("dXNlcjpwYXNz"));
  }

  @Test
  void newServiceAccount_isPatchedWhenAllAreSelected() throws Exception {
    upsertPolicy(policy("all", ""));
    startController("c1");
    createNamespace("team-b", Map.of("pull", "corp"));
    ensureServiceAccount("team-b", "default");
    awaitPullSecret("team-b", "corp-pull");
    ensureServiceAccount("team-b", "builder");
    await(
        () -> pullSecretsOf("team-b", "builder").contains("corp-pull"),
        "a ServiceAccount created later gets it");
  }

  @Test
  void labelChange_removesOnlyWhatTheControllerAdded() throws Exception {
    startController("c1");
    createNamespace("team-c", Map.of("pull", "corp"));
    ensureServiceAccount("team-c", "default");
    await(() -> pullSecretsOf("team-c", "default").contains("corp-pull"), "granted");
    addPullSecretByHand("team-c", "default", "their-own");
    V1Namespace ns = api.readNamespace("team-c").execute();
    ns.getMetadata().getLabels().remove("pull");
    api.replaceNamespace("team-c", ns).execute();
    await(() -> !secretExists("team-c", "corp-pull"), "managed Secret removed");
    await(
        () -> pullSecretsOf("team-c", "default").equals(List.of("their-own")),
        "others' entries kept");
  }

  @Test
  void othersDuplicateEntries_areKeptAsTheyAre() throws Exception {
    createNamespace("team-dup", Map.of("pull", "corp"));
    api.createNamespacedServiceAccount(
            "team-dup",
            new V1ServiceAccount()
                .metadata(new V1ObjectMeta().name("builder").namespace("team-dup"))
                .addImagePullSecretsItem(new V1LocalObjectReference().name("x"))
                .addImagePullSecretsItem(new V1LocalObjectReference().name("x")))
        .execute();
    upsertPolicy(policy("all", ""));
    startController("c1");
    await(() -> pullSecretsOf("team-dup", "builder").contains("corp-pull"), "granted");
    assertEquals(List.of("x", "x", "corp-pull"), pullSecretsOf("team-dup", "builder"));
  }

  @Test
  void revoke_andOptOut_cleanUp() throws Exception {
    startController("c1");
    createNamespace("team-d", Map.of("pull", "corp"));
    createNamespace("team-e", Map.of("pull", "corp"));
    ensureServiceAccount("team-d", "default");
    ensureServiceAccount("team-e", "default");
    awaitPullSecret("team-d", "corp-pull");
    awaitPullSecret("team-e", "corp-pull");
    V1Namespace e = api.readNamespace("team-e").execute();
    e.getMetadata().putAnnotationsItem("registry-policy.dev/opt-out", "true");
    api.replaceNamespace("team-e", e).execute();
    await(() -> !secretExists("team-e", "corp-pull"), "opt-out removes the grant");
    upsertPolicy(
        String.join("\n", "apiVersion: registry-policy.dev/v1alpha1", "kind: RegistryPolicy", ""));
    await(() -> !secretExists("team-d", "corp-pull"), "revoked grant removed");
    await(() -> pullSecretsOf("team-d", "default").isEmpty(), "and its ServiceAccount entry");
  }

  @Test
  void rotation_updatesEveryCopy() throws Exception {
    startController("c1");
    createNamespace("team-f", Map.of("pull", "corp"));
    createNamespace("team-g", Map.of("pull", "corp"));
    awaitPullSecret("team-f", "corp-pull");
    awaitPullSecret("team-g", "corp-pull");
    V1Secret marked = api.readNamespacedSecret("corp-pull", "team-f").execute();
    marked.getMetadata().putLabelsItem("backup.example/include", "true");
    marked.getMetadata().putAnnotationsItem("note.example/owner", "platform");
    api.replaceNamespacedSecret("corp-pull", "team-f", marked).execute();
    upsertSecret(Policy.NAMESPACE, "corp-source", dockerConfig("cm90YXRlZDpuZXc="));
    for (String ns : List.of("team-f", "team-g")) {
      await(() -> pullSecretData(ns, "corp-pull").contains("cm90YXRlZDpuZXc="), "rotated in " + ns);
    }
    V1ObjectMeta kept = api.readNamespacedSecret("corp-pull", "team-f").execute().getMetadata();
    assertEquals(
        "true",
        kept.getLabels().get("backup.example/include"),
        "others' labels survive a rotation");
    assertEquals(
        "platform", kept.getAnnotations().get("note.example/owner"), "and their annotations");
    assertEquals(Labels.MANAGED_BY, kept.getLabels().get(Labels.MANAGED_BY_LABEL));
  }

  @Test
  void deletedSourceSecret_keepsEveryCopyAndEntryUntilItIsBack() throws Exception {
    startController("c1");
    createNamespace("team-s", Map.of("pull", "corp"));
    ensureServiceAccount("team-s", "default");
    await(() -> pullSecretsOf("team-s", "default").contains("corp-pull"), "granted");
    api.deleteNamespacedSecret("corp-source", Policy.NAMESPACE).execute();
    await(
        () -> status().getOrDefault("problems", "").contains("corp-source"),
        "the missing source is reported");
    long until = System.nanoTime() + 1_500_000_000L;
    while (System.nanoTime() < until) { // the namespace passes queued with the status run meanwhile
      assertTrue(
          secretExists("team-s", "corp-pull"), "the copy is kept while its source is missing");
      assertEquals(List.of("corp-pull"), pullSecretsOf("team-s", "default"), "and so is the entry");
      Thread.sleep(20);
    }
    upsertSecret(Policy.NAMESPACE, "corp-source", dockerConfig("YmFjazphZ2Fpbg=="));
    await(
        () -> pullSecretData("team-s", "corp-pull").contains("YmFjazphZ2Fpbg=="),
        "re-created source rolls out");
    assertEquals(List.of("corp-pull"), pullSecretsOf("team-s", "default"));
  }

  @Test
  void foreignSameNamedSecret_isNeverOverwrittenAndIsReported() throws Exception {
    createNamespace("team-h", Map.of("pull", "corp"));
    createNamespace("team-i", Map.of("pull", "corp"));
    ensureServiceAccount("team-h", "default");
    upsertSecret("team-h", "corp-pull", THEIRS.getBytes(StandardCharsets.UTF_8));
    startController("c1");
    awaitPullSecret("team-i", "corp-pull"); // the rest of the policy is applied
    await(
        () ->
            events(Policy.NAMESPACE).stream()
                .anyMatch(ev -> "SecretConflict".equals(ev.getReason())),
        "conflict event on the policy ConfigMap");
    await(
        () ->
            events(ApiWrites.EVENTS_FOR_CLUSTER_OBJECTS).stream()
                .anyMatch(
                    ev ->
                        "SecretConflict".equals(ev.getReason())
                            && "Namespace".equals(ev.getInvolvedObject().getKind())
                            && "team-h".equals(ev.getInvolvedObject().getName())),
        "conflict event on the Namespace (kubectl describe namespace team-h)");
    V1Secret theirs = api.readNamespacedSecret("corp-pull", "team-h").execute();
    assertTrue(
        theirs.getMetadata().getLabels() == null
            || !Labels.MANAGED_BY.equals(
                theirs.getMetadata().getLabels().get(Labels.MANAGED_BY_LABEL)));
    assertEquals(
        THEIRS,
        new String(theirs.getData().get(".dockerconfigjson"), StandardCharsets.UTF_8),
        "their data untouched");
    assertFalse(pullSecretsOf("team-h", "default").contains("corp-pull"));
    await(
        () -> status().getOrDefault("conflicts", "").contains("team-h/corp-pull"),
        "the status lists the conflict");
    V1Namespace h = api.readNamespace("team-h").execute();
    h.getMetadata().getLabels().remove("pull");
    api.replaceNamespace("team-h", h).execute();
    await(
        () -> !status().getOrDefault("conflicts", "").contains("team-h"),
        "no longer granted: no conflict");
  }

  @Test
  void foreignBundleSecret_isNeverOverwrittenAndIsReported() throws Exception {
    upsertSecret(Policy.NAMESPACE, Desired.BUNDLE_SECRET, THEIRS.getBytes(StandardCharsets.UTF_8));
    upsertSecret(Policy.NAMESPACE, "corp-ca", dockerConfig("Y2E6Y2E="));
    upsertPolicy(
        POLICY
            + String.join(
                "\n",
                "",
                "registries:",
                "  - host: registry.corp.example",
                "    mirrors:",
                "      - url: https://mirror.corp.example",
                "        ca: [{secret: corp-ca, key: .dockerconfigjson}]",
                ""));
    startController("c1");
    await(
        () ->
            status()
                .getOrDefault("conflicts", "")
                .contains(Policy.NAMESPACE + "/" + Desired.BUNDLE_SECRET),
        "the status lists the conflict");
    assertTrue(
        events(Policy.NAMESPACE).stream().anyMatch(ev -> "SecretConflict".equals(ev.getReason())));
    V1Secret theirs = api.readNamespacedSecret(Desired.BUNDLE_SECRET, Policy.NAMESPACE).execute();
    assertEquals(
        THEIRS, new String(theirs.getData().get(".dockerconfigjson"), StandardCharsets.UTF_8));
  }

  @Test
  void invalidPolicy_changesNothingAndIsReported() throws Exception {
    startController("c1");
    createNamespace("team-j", Map.of("pull", "corp"));
    ensureServiceAccount("team-j", "default");
    awaitPullSecret("team-j", "corp-pull");
    upsertPolicy(POLICY.replace("secretName:", "secretNme:"));
    await(
        () ->
            events(Policy.NAMESPACE).stream()
                .anyMatch(ev -> "InvalidPolicy".equals(ev.getReason())),
        "event");
    await(() -> "false".equals(status().get("policyValid")), "status says invalid");
    assertTrue(status().get("problems").contains("secretNme: unknown key"), status()::toString);
    createNamespace("team-k", Map.of("pull", "corp"));
    awaitPullSecret("team-k", "corp-pull"); // the last good policy still acts
    assertTrue(secretExists("team-j", "corp-pull"), "nothing deleted");
  }

  @Test
  void restart_convergesWithoutDuplicates() throws Exception {
    Controller first = startController("c1");
    for (int i = 0; i < 5; i++) {
      createNamespace("r" + i, Map.of("pull", "corp"));
      ensureServiceAccount("r" + i, "default");
    }
    awaitPullSecret("r0", "corp-pull");
    first.close();
    controllers.remove(first);
    for (int i = 5; i < 10; i++) {
      createNamespace("r" + i, Map.of("pull", "corp"));
      ensureServiceAccount("r" + i, "default");
    }
    startController("c2");
    for (int i = 0; i < 10; i++) {
      String ns = "r" + i;
      await(() -> pullSecretsOf(ns, "default").equals(List.of("corp-pull")), "converged " + ns);
    }
  }

  @Test
  void leaderHandover_theOtherReplicaTakesOver() throws Exception {
    Controller a = startController("replica-a");
    Controller b = startController("replica-b");
    createNamespace("h1", Map.of("pull", "corp"));
    awaitPullSecret("h1", "corp-pull");
    Controller leader = a.isLeader() ? a : b;
    leader.close();
    controllers.remove(leader);
    createNamespace("h2", Map.of("pull", "corp"));
    awaitPullSecret("h2", "corp-pull");
  }

  // ---- helpers --------------------------------------------------------------------------------

  static void await(BooleanSupplier cond, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (cond.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        // not there yet
      }
      Thread.sleep(20); // polling an eventually-consistent cluster
    }
    fail("timed out waiting: " + what);
  }

  void awaitPullSecret(String ns, String name) throws InterruptedException {
    await(() -> secretExists(ns, name), "Secret " + ns + "/" + name);
  }

  void createNamespace(String name, Map<String, String> labels) throws ApiException {
    try {
      api.createNamespace(
              new V1Namespace()
                  .metadata(new V1ObjectMeta().name(name).labels(new java.util.HashMap<>(labels))))
          .execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  void ensureServiceAccount(String ns, String name) throws Exception {
    if (autoDefaultServiceAccount() && name.equals("default")) {
      await(() -> serviceAccount(ns, name).isPresent(), "default ServiceAccount");
      return;
    }
    try {
      api.createNamespacedServiceAccount(
              ns, new V1ServiceAccount().metadata(new V1ObjectMeta().name(name).namespace(ns)))
          .execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  Optional<V1ServiceAccount> serviceAccount(String ns, String name) {
    try {
      return Optional.of(api.readNamespacedServiceAccount(name, ns).execute());
    } catch (ApiException e) {
      return Optional.empty();
    }
  }

  List<String> pullSecretsOf(String ns, String sa) {
    V1ServiceAccount s = serviceAccount(ns, sa).orElseThrow();
    if (s.getImagePullSecrets() == null) {
      return List.of();
    }
    return s.getImagePullSecrets().stream()
        .map(V1LocalObjectReference::getName)
        .collect(Collectors.toList());
  }

  void addPullSecretByHand(String ns, String sa, String name) throws ApiException {
    V1ServiceAccount s = api.readNamespacedServiceAccount(sa, ns).execute();
    s.addImagePullSecretsItem(new V1LocalObjectReference().name(name));
    api.replaceNamespacedServiceAccount(sa, ns, s).execute();
  }

  boolean secretExists(String ns, String name) {
    try {
      api.readNamespacedSecret(name, ns).execute();
      return true;
    } catch (ApiException e) {
      return false;
    }
  }

  String pullSecretData(String ns, String name) {
    try {
      return new String(
          api.readNamespacedSecret(name, ns).execute().getData().get(".dockerconfigjson"),
          StandardCharsets.UTF_8);
    } catch (ApiException e) {
      return "";
    }
  }

  void upsertSecret(String ns, String name, byte[] dockerConfig) throws ApiException {
    V1Secret s =
        new V1Secret()
            .metadata(new V1ObjectMeta().name(name).namespace(ns))
            .type("kubernetes.io/dockerconfigjson")
            .data(Map.of(".dockerconfigjson", dockerConfig));
    try {
      api.createNamespacedSecret(ns, s).execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      V1Secret cur = api.readNamespacedSecret(name, ns).execute();
      cur.setData(Map.of(".dockerconfigjson", dockerConfig));
      api.replaceNamespacedSecret(name, ns, cur).execute();
    }
  }

  void upsertPolicy(String text) throws ApiException {
    V1ConfigMap cm =
        new V1ConfigMap()
            .metadata(new V1ObjectMeta().name(Policy.CONFIGMAP_NAME).namespace(Policy.NAMESPACE))
            .data(Map.of(Policy.CONFIGMAP_KEY, text));
    try {
      api.createNamespacedConfigMap(Policy.NAMESPACE, cm).execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      V1ConfigMap cur =
          api.readNamespacedConfigMap(Policy.CONFIGMAP_NAME, Policy.NAMESPACE).execute();
      cur.setData(Map.of(Policy.CONFIGMAP_KEY, text));
      api.replaceNamespacedConfigMap(Policy.CONFIGMAP_NAME, Policy.NAMESPACE, cur).execute();
    }
  }

  Map<String, String> status() {
    try {
      return api.readNamespacedConfigMap(Reconciler.STATUS_CONFIGMAP, Policy.NAMESPACE)
          .execute()
          .getData();
    } catch (ApiException e) {
      return Map.of();
    }
  }

  List<CoreV1Event> events(String ns) {
    try {
      return api.listNamespacedEvent(ns).execute().getItems();
    } catch (ApiException e) {
      return List.of();
    }
  }
}
