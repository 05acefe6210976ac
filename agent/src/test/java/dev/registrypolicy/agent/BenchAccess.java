package dev.registrypolicy.agent;

import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Lets the benchmark harness ({@code dev.registrypolicy.agent.bench}) reach the package-private
 * planner and writer. Only plain JDK types cross this boundary; nothing here is used by the agent.
 */
public final class BenchAccess {
  private BenchAccess() {}

  /**
   * Real PEM material for a bundle, which the planner parses: CA, second CA, client certificate,
   * client key (the test fixtures).
   */
  public static java.util.List<String> realPem() {
    return java.util.List.of(
        Fixtures.CA_PEM, Fixtures.CA2_PEM, Fixtures.CLIENT_PEM, Fixtures.CLIENT_KEY);
  }

  /**
   * What certs.d should hold for a policy: file contents by path relative to certs.d, and which are
   * 0600.
   */
  public static final class Planned {
    public final Map<String, byte[]> files;
    public final Set<String> secret;

    Planned(Map<String, byte[]> files, Set<String> secret) {
      this.files = Collections.unmodifiableMap(files);
      this.secret = Collections.unmodifiableSet(secret);
    }
  }

  /**
   * Plans the node files exactly as the agent would for {@code nodeCertsDir}; throws if the policy
   * is unusable.
   */
  public static Planned plan(String policyFileText, Path secretsDir, String nodeCertsDir)
      throws Exception {
    Policy policy = PolicyDocument.parse(policyFileText);
    NodePlan.Plan plan = NodePlan.plan(policy, SecretStore.directory(secretsDir), nodeCertsDir);
    Map<String, byte[]> files = new TreeMap<>();
    Set<String> secret = new TreeSet<>();
    for (NodePlan.HostDir hd : plan.dirs().values()) {
      for (Map.Entry<String, NodePlan.FileSpec> e : hd.files().entrySet()) {
        String rel = hd.name() + "/" + e.getKey();
        files.put(rel, e.getValue().content());
        if (e.getValue().secret()) {
          secret.add(rel);
        }
      }
    }
    return new Planned(files, secret);
  }

  /** Timings of one in-process pass: parse the policy text, plan, apply to certs.d. */
  public static final class PassTiming {
    public final long parseNanos;
    public final long planNanos;
    public final long applyNanos;
    public final int written;
    public final int unchanged;
    public final int errors;

    PassTiming(
        long parseNanos, long planNanos, long applyNanos, int written, int unchanged, int errors) {
      this.parseNanos = parseNanos;
      this.planNanos = planNanos;
      this.applyNanos = applyNanos;
      this.written = written;
      this.unchanged = unchanged;
      this.errors = errors;
    }

    public long totalNanos() {
      return parseNanos + planNanos + applyNanos;
    }
  }

  /** One reconcile's work done directly on the classes (no Agent, no logging, no watches). */
  public static PassTiming planAndApply(String policyFileText, Path secretsDir, Path certsDir)
      throws Exception {
    long t0 = System.nanoTime();
    Policy policy = PolicyDocument.parse(policyFileText);
    long t1 = System.nanoTime();
    NodePlan.Plan plan =
        NodePlan.plan(
            policy,
            SecretStore.directory(secretsDir),
            certsDir.toAbsolutePath().normalize().toString());
    long t2 = System.nanoTime();
    Files.createDirectories(certsDir); // as the DaemonSet's hostPath does
    CertsDir.Report r = new CertsDir(certsDir).apply(plan, false);
    long t3 = System.nanoTime();
    return new PassTiming(
        t1 - t0, t2 - t1, t3 - t2, r.written().size(), r.unchanged(), r.errors().size());
  }

  /** An agent in this JVM with the fast path on, for the API benchmark. */
  public static final class ApiAgent implements AutoCloseable {
    private final Agent agent;
    private final Thread thread;

    /** Starts the daemon loop; {@code server} is the API server, {@code token} its token file. */
    public ApiAgent(
        Path policyFile, Path bundle, Path certs, java.net.URI server, Path token, String node) {
      // 50 agents logging every file they write to one stderr would measure the console.
      java.util.logging.Logger.getLogger("dev.registrypolicy.agent")
          .setLevel(java.util.logging.Level.WARNING);
      agent =
          new Agent(
              new Agent.Options(
                  policyFile,
                  bundle,
                  certs,
                  certs.toString(),
                  false,
                  java.time.Duration.ofHours(1),
                  null),
              new Metrics(),
              Backoff.DEFAULT,
              new ApiConfig(server, token, null, dev.registrypolicy.policy.Policy.NAMESPACE, node));
      thread =
          new Thread(
              () -> {
                try {
                  agent.run();
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              },
              "bench-agent-" + node);
      thread.setDaemon(true);
      thread.start();
    }

    /** /readyz's answer, waiting for the first pass as the endpoint does. */
    public boolean ready() {
      return agent.health().ready();
    }

    public boolean apiHealthy() {
      return agent.apiHealthy();
    }

    @Override
    public void close() throws IOException {
      agent.close();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
