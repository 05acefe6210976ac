package dev.registrypolicy.policy;

import java.util.List;
import java.util.Objects;

/**
 * Registry access for namespaces: a pull Secret named {@code secretName}, built from the referenced
 * credentials, in every selected namespace, listed in the selected ServiceAccounts' {@code
 * imagePullSecrets}.
 */
public record AccessGrant(
    String name,
    List<String> credentials,
    String secretName,
    NamespaceSelector namespaces,
    ServiceAccountSelector serviceAccounts) {
  public AccessGrant {
    Objects.requireNonNull(name, "name");
    credentials = List.copyOf(credentials);
    Objects.requireNonNull(secretName, "secretName");
    Objects.requireNonNull(namespaces, "namespaces");
    Objects.requireNonNull(serviceAccounts, "serviceAccounts");
  }
}
