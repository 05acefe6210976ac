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

  /** The URL containerd uses when it falls back to the registry itself (null for the catch-all). */
  public URI upstreamUrl() {
    return upstream == null ? null : upstream.url();
  }
}
