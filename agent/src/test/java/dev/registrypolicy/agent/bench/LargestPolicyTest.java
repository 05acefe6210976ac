package dev.registrypolicy.agent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.AgentMain;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyLimits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whatever {@code validate} accepts, every agent applies: the largest policy the model's limits
 * allow (every registry the limit allows, each with as many mirrors as the node budget leaves, host
 * names and URLs at their longest) is applied by an agent JVM started with the DaemonSet's own
 * flags (a 32 MiB heap, 256 KiB thread stacks, exit on out-of-memory).
 */
class LargestPolicyTest {
  @TempDir Path tmp;

  @Test
  void theLargestAcceptedPolicyIsAppliedUnderTheDaemonSetsFlags() throws Exception {
    String policy = largestAccepted();
    Path file = tmp.resolve("policy.yaml");
    Files.writeString(file, policy, StandardCharsets.UTF_8);
    Path certs = Files.createDirectories(tmp.resolve("certs.d"));

    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(AgentBench.PRODUCTION_FLAGS);
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            AgentMain.class.getName(),
            "--once",
            "--policy",
            file.toString(),
            "--certs-dir",
            certs.toString(),
            "--listen",
            "off"));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve("agent.log").toFile())
            .start();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the agent finishes");
    String log = Files.readString(tmp.resolve("agent.log"));
    assertEquals(0, p.exitValue(), () -> tail(log));
    try (Stream<Path> dirs = Files.list(certs)) {
      assertEquals(PolicyLimits.MAX_REGISTRIES, dirs.count(), "one host directory per registry");
    }
  }

  @Test
  void aSecretSizedCaBundleNamedByEveryRegistryIsAppliedUnderTheDaemonSetsFlags() throws Exception {
    // Nearly a Secret's 1 MiB of certificates (one real CA, repeated), named by every registry the
    // limit allows: the plan must hold it once, not once per host.
    Path bundle = Files.createDirectories(tmp.resolve("bundle"));
    Path real = Files.createDirectories(tmp.resolve("real"));
    BenchPolicy.writeBundle(real); // real certificates, as the benchmarks use
    String ca = Files.readString(real.resolve("corp-ca_ca.crt"));
    Files.writeString(bundle.resolve("big_ca.crt"), ca.repeat((900 * 1024) / ca.length()));
    StringBuilder sb =
        new StringBuilder(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nregistries:\n");
    for (int r = 0; r < PolicyLimits.MAX_REGISTRIES; r++) {
      sb.append("  - host: r").append(r).append(".example\n    ca: {secret: big}\n");
    }
    Path file = tmp.resolve("policy.yaml");
    Files.writeString(file, sb.toString());
    Path certs = Files.createDirectories(tmp.resolve("certs.d"));
    assertEquals(0, runAgent(file, certs, bundle));
    try (Stream<Path> dirs = Files.list(certs)) {
      assertEquals(PolicyLimits.MAX_REGISTRIES, dirs.count());
    }
  }

  private int runAgent(Path policy, Path certs, Path bundle) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(AgentBench.PRODUCTION_FLAGS);
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            AgentMain.class.getName(),
            "--once",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString(),
            "--secrets-dir",
            bundle.toString(),
            "--listen",
            "off"));
    Path log = tmp.resolve("agent-bundle.log");
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the agent finishes");
    int rc = p.exitValue();
    if (rc != 0) {
      System.err.println(tail(Files.readString(log)));
    }
    return rc;
  }

  /**
   * A policy at the registry limit with the most mirrors per registry the model accepts: the mirror
   * count is found by halving, so the test follows the limits when they change.
   */
  private static String largestAccepted() {
    int lo = 1;
    int hi = PolicyLimits.MAX_MIRRORS;
    String best = null;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      String candidate = policy(PolicyLimits.MAX_REGISTRIES, mid);
      try {
        PolicyDocument.parse(candidate.getBytes(StandardCharsets.UTF_8));
        best = candidate;
        lo = mid + 1;
      } catch (PolicyException e) {
        hi = mid - 1;
      }
    }
    assertTrue(best != null, "a policy with one mirror per registry is accepted");
    return best;
  }

  private static String policy(int registries, int mirrors) {
    StringBuilder sb =
        new StringBuilder(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nregistries:\n");
    String label = "l".repeat(60);
    for (int r = 0; r < registries; r++) {
      // 3 labels of 60 and a numbered one: a long host that still fits a file name with a port.
      String host = label + "." + label + "." + label + ".r" + r + ".example:5000";
      sb.append("  - host: ").append(host).append("\n    upstream: Never\n    mirrors:\n");
      for (int m = 0; m < mirrors; m++) {
        sb.append("      - url: https://mirror-")
            .append(m)
            .append('.')
            .append(label)
            .append(".example/")
            .append("p".repeat(100))
            .append('\n');
      }
    }
    return sb.toString();
  }

  private static String tail(String log) {
    return log.length() > 4_000 ? log.substring(log.length() - 4_000) : log;
  }
}
