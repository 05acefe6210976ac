package dev.registrypolicy.policy;

import java.util.Objects;

/**
 * A client certificate and its key, both taken from Secrets (by default a kubernetes.io/tls
 * Secret).
 */
public record ClientCertRef(SecretKeyRef cert, SecretKeyRef key) {
  public ClientCertRef {
    Objects.requireNonNull(cert, "cert");
    Objects.requireNonNull(key, "key");
  }
}
