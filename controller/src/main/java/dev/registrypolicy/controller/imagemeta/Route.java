package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.policy.Capability;
import dev.registrypolicy.policy.Endpoint;
import java.net.URI;
import java.util.Set;

/**
 * One endpoint an image's registry requests may go to, as containerd would reach it from the
 * hosts.toml the agent writes for the image's registry.
 *
 * @param apiRoot the API root requests are made under: the endpoint URL plus {@code /v2}, or the
 *     URL as it is with {@code overridePath}
 * @param ns the {@code ns} query parameter (the image's registry host) for a mirror, else null
 * @param endpoint the policy's settings for it (TLS, credentials, dial timeout), or null when the
 *     policy says nothing about the registry
 * @param capabilities what containerd may use it for
 */
record Route(URI apiRoot, String ns, Endpoint endpoint, Set<Capability> capabilities) {
  Route {
    capabilities = Set.copyOf(capabilities);
  }

  /** {@code host[:port]} of the endpoint, for messages (no user info, path or query). */
  String host() {
    return apiRoot.getPort() < 0 ? apiRoot.getHost() : apiRoot.getHost() + ":" + apiRoot.getPort();
  }

  /** "mirror host" or "registry host", for messages. */
  String describe() {
    return (ns != null ? "mirror " : "registry ") + host();
  }

  /** The URL of {@code <repository>/<kind>/<reference>} here, with {@code ?ns=} for a mirror. */
  URI uri(String repository, String kind, String reference) {
    String root = apiRoot.toString();
    String base = root.endsWith("/") ? root : root + "/";
    String q = ns == null ? "" : "?ns=" + ns;
    return URI.create(base + repository + "/" + kind + "/" + reference + q);
  }
}
