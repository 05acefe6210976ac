package dev.registrypolicy.policy;

import java.util.Objects;

/** A key of a Secret in the policy's namespace, e.g. {@code {secret: corp-ca, key: ca.crt}}. */
public record SecretKeyRef(String secret, String key) implements Comparable<SecretKeyRef> {
  public SecretKeyRef {
    Objects.requireNonNull(secret, "secret");
    Objects.requireNonNull(key, "key");
  }

  /** The file name under the agent's secrets directory: {@code <secret>_<key>}. */
  public String bundleKey() {
    return secret + "_" + key;
  }

  @Override
  public int compareTo(SecretKeyRef o) {
    return bundleKey().compareTo(o.bundleKey());
  }

  @Override
  public String toString() {
    return secret + "/" + key;
  }
}
