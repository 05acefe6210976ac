package dev.registrypolicy.controller;

import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.CoreV1Event;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1DeleteOptions;
import io.kubernetes.client.openapi.models.V1EventSource;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1ObjectReference;
import io.kubernetes.client.openapi.models.V1Preconditions;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.util.PatchUtils;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;

/** {@link ClusterWrites} over the Kubernetes API. */
final class ApiWrites implements ClusterWrites {
  /** Where Events about cluster-scoped objects are recorded. */
  static final String EVENTS_FOR_CLUSTER_OBJECTS = "default";

  private static final Logger LOG = Logger.getLogger(ApiWrites.class.getName());
  private final ApiClient client;
  private final CoreV1Api api;
  private final String component;

  ApiWrites(ApiClient client, String component) {
    this.client = client;
    this.api = new CoreV1Api(client);
    this.component = component;
  }

  @Override
  public void createSecret(String namespace, V1Secret secret) throws ApiException {
    api.createNamespacedSecret(namespace, secret).execute();
  }

  @Override
  public void replaceSecret(String namespace, V1Secret secret) throws ApiException {
    api.replaceNamespacedSecret(secret.getMetadata().getName(), namespace, secret).execute();
  }

  @Override
  public void deleteSecret(String namespace, String name, String uid) throws ApiException {
    api.deleteNamespacedSecret(name, namespace).body(onlyIf(uid)).execute();
  }

  @Override
  public void deleteConfigMap(String namespace, String name, String uid) throws ApiException {
    api.deleteNamespacedConfigMap(name, namespace).body(onlyIf(uid)).execute();
  }

  @Override
  public void deleteLease(String namespace, String name, String uid) throws ApiException {
    new CoordinationV1Api(client)
        .deleteNamespacedLease(name, namespace)
        .body(onlyIf(uid))
        .execute();
  }

  /**
   * Delete options that make the delete fail (409) when the name now holds another object: a
   * same-named object re-created by someone else in the meantime is a different object.
   */
  private static V1DeleteOptions onlyIf(String uid) {
    V1DeleteOptions options = new V1DeleteOptions();
    if (uid != null) {
      options.preconditions(new V1Preconditions().uid(uid));
    }
    return options;
  }

  @Override
  public void patchServiceAccount(String namespace, String name, String jsonPatch)
      throws ApiException {
    PatchUtils.patch(
        V1ServiceAccount.class,
        () ->
            api.patchNamespacedServiceAccount(name, namespace, new V1Patch(jsonPatch))
                .buildCall(null),
        V1Patch.PATCH_FORMAT_JSON_PATCH,
        client);
  }

  @Override
  public String createConfigMap(String namespace, V1ConfigMap configMap) throws ApiException {
    return resourceVersion(api.createNamespacedConfigMap(namespace, configMap).execute());
  }

  private static String resourceVersion(V1ConfigMap written) {
    return written == null || written.getMetadata() == null
        ? null
        : written.getMetadata().getResourceVersion();
  }

  @Override
  public String replaceConfigMap(String namespace, V1ConfigMap configMap) throws ApiException {
    return resourceVersion(
        api.replaceNamespacedConfigMap(configMap.getMetadata().getName(), namespace, configMap)
            .execute());
  }

  @Override
  public void event(
      String namespace, String kind, String name, String type, String reason, String message) {
    OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
    // An Event about a cluster-scoped object (a Namespace) has no involvedObject.namespace, and the
    // API server then only accepts it in "default"; kubectl describe finds it there.
    boolean clusterScoped = "Namespace".equals(kind);
    String eventNamespace = clusterScoped ? EVENTS_FOR_CLUSTER_OBJECTS : namespace;
    CoreV1Event e =
        new CoreV1Event()
            .apiVersion("v1")
            .kind("Event")
            .metadata(
                new V1ObjectMeta()
                    .namespace(eventNamespace)
                    .name(
                        name
                            + "."
                            + Long.toHexString(
                                ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE)))
            .involvedObject(
                new V1ObjectReference()
                    .apiVersion("v1")
                    .kind(kind)
                    .name(name)
                    .namespace(clusterScoped ? null : namespace))
            .type(type)
            .reason(reason)
            .message(message)
            .count(1)
            .firstTimestamp(now)
            .lastTimestamp(now)
            .source(new V1EventSource().component(component));
    try {
      api.createNamespacedEvent(eventNamespace, e).execute();
    } catch (ApiException ex) {
      LOG.fine(Log.kv("event not recorded", "reason", reason, "code", ex.getCode()));
    }
  }

  @Override
  public Optional<V1Secret> readSecret(String namespace, String name) throws ApiException {
    try {
      return Optional.of(api.readNamespacedSecret(name, namespace).execute());
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return Optional.empty();
      }
      throw e;
    }
  }
}
