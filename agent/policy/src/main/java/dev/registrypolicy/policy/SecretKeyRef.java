package dev.registrypolicy.policy;

import java.util.Objects;

/** A key of a Secret in the policy's namespace, e.g. {@code {secret: corp-ca, key: ca.crt}}. */
public record SecretKeyRef(String secret, String key) implements Comparable<SecretKeyRef> {
  public SecretKeyRef {
    Objects.requireNonNull(secret, "secret");
    Objects.requireNonNull(key, "key");
  }

  /**
   * The key in the node credentials bundle, and so the file name in the agent's bundle directory:
   * {@code <secret>_<key>} ({@link dev.registrypolicy.common.NodeCredentialsBundle#key}).
   */
  public String bundleKey() {
    return dev.registrypolicy.common.NodeCredentialsBundle.key(secret, key);
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
