package dev.registrypolicy.policy;

import java.net.URI;
import java.util.List;
import java.util.Objects;

/**
 * How nodes reach one upstream registry host.
 *
 * @param host {@code docker.io}, {@code host:port}, or {@link #CATCH_ALL} for every host without an
 *     entry of its own (containerd's {@code _default})
 * @param upstreamMode whether the upstream is a fallback or must never be contacted
 * @param mirrors mirrors, tried in this order
 * @param upstream how to reach the upstream registry itself (its URL, CA, client cert,
 *     credentials); for the catch-all it has no URL and is null
 */
public record Registry(
    String host, UpstreamMode upstreamMode, List<Endpoint> mirrors, Endpoint upstream) {
  /** The policy's spelling of "every other registry". */
  public static final String CATCH_ALL = "*";

  public Registry {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(upstreamMode, "upstreamMode");
    mirrors = List.copyOf(mirrors);
    if (upstreamMode == UpstreamMode.NEVER && mirrors.isEmpty()) {
      throw new IllegalArgumentException(host + ": upstream Never needs at least one mirror");
    }
  }

  public boolean isCatchAll() {
    return CATCH_ALL.equals(host);
  }

  /**
   * The directory containerd looks up under its certs.d for this registry: the host itself ({@code
   * docker.io}, {@code registry.corp:5000}), or {@code _default} for the catch-all.
   */
  public String hostDirectory() {
    return isCatchAll() ? "_default" : host;
  }

  /**
   * The names of the credentials the agent writes into this registry's hosts.toml, where every Pod
   * on every node can pull with them: each mirror's, then the upstream's when containerd may
   * contact the upstream ({@link UpstreamMode#FALLBACK}) and it has a URL (the catch-all's upstream
   * has none, so its credentials go nowhere). Without duplicates, in that order.
   */
  public List<String> nodeCredentials() {
    java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
    for (Endpoint m : mirrors) {
      if (m.credentials() != null) {
        out.add(m.credentials());
      }
    }
    if (upstreamMode == UpstreamMode.FALLBACK
        && upstream != null
        && upstream.url() != null
        && upstream.credentials() != null) {
      out.add(upstream.credentials());
    }
    return List.copyOf(out);
  }

  /** The URL containerd uses when it falls back to the registry itself (null for the catch-all). */
  public URI upstreamUrl() {
    return upstream == null ? null : upstream.url();
  }
}
