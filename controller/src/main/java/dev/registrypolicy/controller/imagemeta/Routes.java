package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.policy.Capability;
import dev.registrypolicy.policy.Endpoint;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.Registry;
import dev.registrypolicy.policy.RegistryHosts;
import dev.registrypolicy.policy.UpstreamMode;
import java.net.URI;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

/**
 * Which endpoints an image's registry requests go to, in order, from the policy, the way containerd
 * reaches them through the hosts.toml the agent writes (agent {@code NodePlan}):
 *
 * <ul>
 *   <li>the registry's own entry, else the catch-all ({@code *}, containerd's {@code _default}),
 *       else nothing (containerd's default: the image's host itself);
 *   <li>its mirrors, in order, each with {@code ?ns=<image host>} (containerd adds the {@code ns}
 *       parameter to requests it sends to a host other than the image's: {@code
 *       req.addNamespace(refspec.Hostname())}, core/remotes/docker/resolver.go);
 *   <li>then the upstream, only when the upstream mode is {@code Fallback}: its {@code url}, or
 *       {@link RegistryHosts#upstreamUrl} of the image's host ({@code docker.io} is reached at
 *       {@code https://registry-1.docker.io}). With {@code Never} the upstream is never a route.
 * </ul>
 *
 * Capabilities: a tag is resolved only through endpoints with {@code pull} and {@code resolve}, a
 * digest fetched through endpoints with {@code pull} (containerd's resolver: {@code caps :=
 * HostCapabilityPull; if no digest { caps |= HostCapabilityResolve }; hosts :=
 * base.filterHosts(caps)}).
 */
final class Routes {
  private Routes() {}

  /** Every endpoint for images of registry {@code domain} (normalized, e.g. {@code docker.io}). */
  static List<Route> plan(Policy policy, String domain) {
    Optional<Registry> own = policy == null ? Optional.empty() : policy.registry(domain);
    Registry r =
        own.orElseGet(
            () -> policy == null ? null : policy.registry(Registry.CATCH_ALL).orElse(null));
    List<Route> out = new ArrayList<>();
    if (r == null) {
      out.add(
          new Route(
              api(URI.create(RegistryHosts.upstreamUrl(domain)), false),
              null,
              null,
              EnumSet.allOf(Capability.class)));
      return List.copyOf(out);
    }
    for (Endpoint m : r.mirrors()) {
      if (m.url() != null) {
        URI root = api(m.url(), m.overridePath());
        String ns = hostPort(root).equals(domain) ? null : domain;
        out.add(new Route(root, ns, m, m.capabilities()));
      }
    }
    if (r.upstreamMode() == UpstreamMode.FALLBACK) {
      Endpoint up = r.upstream();
      URI url =
          up != null && up.url() != null ? up.url() : URI.create(RegistryHosts.upstreamUrl(domain));
      boolean override = up != null && up.url() != null && up.overridePath();
      out.add(
          new Route(
              api(url, override),
              null,
              up,
              up == null ? EnumSet.allOf(Capability.class) : up.capabilities()));
    }
    return List.copyOf(out);
  }

  /** The routes usable for a tag ({@code pull} + {@code resolve}) or a digest ({@code pull}). */
  static List<Route> usable(List<Route> routes, boolean byDigest) {
    List<Route> out = new ArrayList<>();
    for (Route r : routes) {
      if (r.capabilities().contains(Capability.PULL)
          && (byDigest || r.capabilities().contains(Capability.RESOLVE))) {
        out.add(r);
      }
    }
    return out;
  }

  /** The API root: {@code url + /v2} unless the URL already is it ({@code overridePath}). */
  static URI api(URI url, boolean overridePath) {
    String s = url.toString();
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    if (!overridePath && !s.endsWith("/v2")) {
      s = s + "/v2";
    }
    return URI.create(s);
  }

  private static String hostPort(URI u) {
    return u.getPort() < 0 ? u.getHost() : u.getHost() + ":" + u.getPort();
  }
}
