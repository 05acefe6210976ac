package dev.registrypolicy.policy;

import java.net.URI;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * How containerd reaches one registry endpoint: a mirror, or the upstream registry itself.
 *
 * @param url base URL (http or https, optional path; no user info, query or fragment); null only
 *     for the catch-all registry's upstream, which is whatever host an image names
 * @param capabilities what the endpoint is used for; never empty
 * @param overridePath the URL already contains the API root ({@code /v2} is not appended)
 * @param dialTimeout a Go duration string (e.g. {@code 500ms}, {@code 2s}) or null for containerd's
 *     default
 * @param ca CA certificates to trust for this endpoint, in addition to the system pool
 * @param clientCert client certificate and key, or null
 * @param skipVerify skip TLS verification (discouraged; reported in status)
 * @param credentials name of an entry in {@link Policy#credentials()}, or null
 */
public record Endpoint(
    URI url,
    Set<Capability> capabilities,
    boolean overridePath,
    String dialTimeout,
    List<SecretKeyRef> ca,
    ClientCertRef clientCert,
    boolean skipVerify,
    String credentials) {

  public Endpoint {
    if (capabilities.isEmpty()) {
      throw new IllegalArgumentException("capabilities must not be empty");
    }
    capabilities = Set.copyOf(capabilities);
    ca = List.copyOf(ca);
  }

  /** Capabilities in containerd's canonical order (pull, resolve, push). */
  public List<Capability> orderedCapabilities() {
    return List.copyOf(EnumSet.copyOf(capabilities));
  }
}
