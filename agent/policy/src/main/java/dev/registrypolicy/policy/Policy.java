package dev.registrypolicy.policy;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The whole policy, as parsed from the {@code registry-policy} ConfigMap's {@code policy.yaml}.
 *
 * @param apiVersion the format version ({@link #API_VERSION})
 * @param registries how nodes reach each registry (agent)
 * @param credentials credentials by reference (agent and controller)
 * @param access which credentials go to which namespaces and ServiceAccounts (controller)
 * @param admission the allowlist and image rules (controller, admission)
 * @param sha256 hex SHA-256 of the policy text it was parsed from
 */
public record Policy(
    String apiVersion,
    List<Registry> registries,
    List<CredentialRef> credentials,
    List<AccessGrant> access,
    Admission admission,
    String sha256) {
  public static final String API_VERSION = "registry-policy.dev/v1alpha1";
  public static final String KIND = "RegistryPolicy";

  /** Where the policy lives in a cluster. */
  public static final String NAMESPACE = "registry-policy";

  public static final String CONFIGMAP_NAME = "registry-policy";
  public static final String CONFIGMAP_KEY = "policy.yaml";

  public Policy {
    Objects.requireNonNull(apiVersion, "apiVersion");
    registries = List.copyOf(registries);
    credentials = List.copyOf(credentials);
    access = List.copyOf(access);
    Objects.requireNonNull(admission, "admission");
    Objects.requireNonNull(sha256, "sha256");
  }

  public Optional<CredentialRef> credential(String name) {
    return credentials.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  public Optional<Registry> registry(String host) {
    return registries.stream().filter(r -> r.host().equals(host)).findFirst();
  }
}
