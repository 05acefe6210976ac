package dev.registrypolicy.policy;

import java.util.Objects;

/**
 * Registry credentials, by reference: the Secret lives in the policy's namespace and is of type
 * {@code kubernetes.io/dockerconfigjson} or {@code kubernetes.io/basic-auth}. The policy never
 * holds a password.
 *
 * @param name how registries and access grants refer to these credentials
 * @param secret the Secret's name
 * @param registry for dockerconfigjson Secrets: which {@code auths} entry to use; null means the
 *     entry for the registry the credentials are used with
 */
public record CredentialRef(String name, String secret, String registry) {
  public CredentialRef {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(secret, "secret");
  }
}
