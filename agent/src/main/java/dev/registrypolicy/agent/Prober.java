package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.Plan;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;

/**
 * Probes, in the background, how each endpoint that gets header credentials authenticates, with the
 * same CA, client certificate and key and skip_verify that hosts.toml gives containerd (so an mTLS
 * mirror is probed over mTLS). containerd before 2.1 does not send hosts.toml headers on token
 * requests, so a token-auth answer becomes a warning. Probes again whenever the plan changes;
 * {@code onTokenAuth} is called (on the probe thread) when a probe finds token auth.
 */
final class Prober implements AutoCloseable {
  private static final Duration TIMEOUT = Duration.ofSeconds(3);

  private final ExecutorService executor;
  private final Runnable onTokenAuth;
  private final Map<String, RegistryProbe.Result> results = new ConcurrentHashMap<>();
  private Plan probed;

  Prober(Runnable onTokenAuth) {
    this.onTokenAuth = onTokenAuth;
    this.executor = IdlePool.of("registry-probe", 1);
  }

  /**
   * One endpoint to probe, with what hosts.toml gives containerd for it.
   *
   * @param caPems the CA files hosts.toml names for it (empty: system trust)
   * @param clientCert the client certificate file, or null
   * @param clientKey the client key file, or null
   */
  @SuppressWarnings(
      "ArrayRecordComponent") // the PEM bytes go straight to the TLS client; a Target is never
  // compared or hashed
  record Target(
      String url,
      boolean overridePath,
      List<byte[]> caPems,
      byte[] clientCert,
      byte[] clientKey,
      boolean skipVerify) {}

  /** The endpoints of {@code plan} that get header credentials. */
  static List<Target> targets(Plan plan) {
    List<Target> out = new ArrayList<>();
    for (NodePlan.HostDir hd : plan.dirs().values()) {
      for (HostsToml.Host h : hd.hostsToml().hosts()) {
        if (h.authorization() == null || h.url() == null) {
          continue;
        }
        List<byte[]> cas = new ArrayList<>();
        for (String ca : h.ca()) {
          byte[] b = content(hd, ca);
          if (b != null) {
            cas.add(b);
          }
        }
        byte[] cert = null;
        byte[] key = null;
        if (!h.client().isEmpty() && h.client().get(0).size() == 2) {
          cert = content(hd, h.client().get(0).get(0));
          key = content(hd, h.client().get(0).get(1));
        }
        out.add(new Target(h.url(), h.overridePath(), List.copyOf(cas), cert, key, h.skipVerify()));
      }
    }
    return out;
  }

  /** Starts probing {@code plan}'s credentialed endpoints unless it is the plan probed last. */
  synchronized void update(Plan plan) {
    if (plan == null || plan.equals(probed)) {
      return;
    }
    probed = plan;
    results.clear();
    for (Target t : targets(plan)) {
      executor.execute(
          () -> {
            RegistryProbe.Result r;
            try {
              r =
                  RegistryProbe.probe(
                      URI.create(t.url()),
                      t.overridePath(),
                      t.caPems(),
                      t.clientCert(),
                      t.clientKey(),
                      t.skipVerify(),
                      TIMEOUT);
            } catch (IllegalArgumentException e) {
              return; // not a URL the JDK client takes; containerd will report it when it pulls
            }
            results.put(t.url(), r);
            if (r.tokenAuth()) {
              onTokenAuth.run(); // report it now rather than at the next event
            }
          });
    }
  }

  /** The answers so far, by endpoint URL. */
  Map<String, RegistryProbe.Result> results() {
    return Map.copyOf(results);
  }

  /** A file of the host directory by the node path hosts.toml names it with, or null. */
  private static byte[] content(NodePlan.HostDir hd, String nodePath) {
    NodePlan.FileSpec f = hd.files().get(nodePath.substring(nodePath.lastIndexOf('/') + 1));
    return f == null ? null : f.content();
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
