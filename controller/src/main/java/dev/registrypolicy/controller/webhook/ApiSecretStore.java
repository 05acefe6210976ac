package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.controller.Labels;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/** {@link SecretStore} over the Kubernetes API: one {@code kubernetes.io/tls} Secret. */
public final class ApiSecretStore implements SecretStore {
  private final CoreV1Api api;
  private final String namespace;
  private final String name;

  public ApiSecretStore(ApiClient client, String namespace, String name) {
    this.api = new CoreV1Api(client);
    this.namespace = namespace;
    this.name = name;
  }

  @Override
  public Optional<Stored> read() throws IOException {
    try {
      V1Secret s = api.readNamespacedSecret(name, namespace).execute();
      Map<String, byte[]> data = s.getData() == null ? Map.of() : s.getData();
      return Optional.of(new Stored(data, s.getMetadata().getResourceVersion()));
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return Optional.empty();
      }
      throw failure("read", e);
    }
  }

  @Override
  public void create(Map<String, byte[]> data) throws IOException {
    try {
      api.createNamespacedSecret(namespace, secret(data, null)).execute();
    } catch (ApiException e) {
      throw e.getCode() == 409
          ? new ConflictException("Secret " + namespace + "/" + name + " exists already")
          : failure("create", e);
    }
  }

  @Override
  public void replace(Map<String, byte[]> data, String resourceVersion) throws IOException {
    try {
      api.replaceNamespacedSecret(name, namespace, secret(data, resourceVersion)).execute();
    } catch (ApiException e) {
      throw e.getCode() == 409
          ? new ConflictException("Secret " + namespace + "/" + name + " changed meanwhile")
          : failure("replace", e);
    }
  }

  private V1Secret secret(Map<String, byte[]> data, String resourceVersion) {
    return new V1Secret()
        .apiVersion("v1")
        .kind("Secret")
        .type("kubernetes.io/tls")
        .metadata(
            new V1ObjectMeta()
                .name(name)
                .namespace(namespace)
                .resourceVersion(resourceVersion)
                .labels(Map.of(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY)))
        .data(data);
  }

  /** The API's code and reason only: a Secret's response body is never quoted. */
  private IOException failure(String verb, ApiException e) {
    return new IOException(
        verb + " of Secret " + namespace + "/" + name + " failed: HTTP " + e.getCode(), null);
  }
}
