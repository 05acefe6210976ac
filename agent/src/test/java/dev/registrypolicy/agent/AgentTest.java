package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.common.Health;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentTest {
  @TempDir Path tmp;
  Path policy;
  Path bundle;
  Path certs;
  Agent agent;

  @BeforeEach
  void setUp() throws IOException {
    policy = tmp.resolve("policy/policy.yaml");
    Files.createDirectories(policy.getParent());
    Files.writeString(policy, Fixtures.POLICY);
    bundle = tmp.resolve("bundle");
    Fixtures.writeBundle(bundle);
    certs = Files.createDirectories(tmp.resolve("certs.d")); // as the DaemonSet's hostPath does
    agent =
        new Agent(
            new Agent.Options(
                policy, bundle, certs, Fixtures.NODE_CERTS, false, Duration.ofSeconds(60), null),
            new Metrics());
  }

  Map<String, String> snapshot() throws IOException {
    try (Stream<Path> s = Files.walk(certs)) {
      return s.filter(Files::isRegularFile)
          .collect(
              Collectors.toMap(
                  p -> certs.relativize(p).toString(),
                  p -> {
                    try {
                      return Files.readString(p);
                    } catch (IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    }
                  }));
    }
  }

  @Test
  void reconcile_invalidPolicyKeepsLastGoodFilesAndReportsIt() throws IOException {
    assertEquals(Agent.Outcome.APPLIED, agent.reconcile("test"));
    Map<String, String> good = snapshot();
    Files.writeString(policy, Fixtures.POLICY.replace("mirrors:", "mirrrors:"));
    assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"));
    assertEquals(good, snapshot(), "an invalid policy must not change the node");
    assertTrue(
        agent.problems().stream().anyMatch(p -> p.detail().contains("mirrrors: unknown key")),
        agent.problems()::toString);
    Health h = agent.health();
    assertTrue(h.ready(), "still serving the last good config");
    assertTrue(h.healthy(), "an invalid policy is reported, not fatal");
    assertFalse(((List<?>) h.details().get("problems")).isEmpty());
    Files.writeString(policy, Fixtures.POLICY);
    assertEquals(Agent.Outcome.APPLIED, agent.reconcile("test"));
    assertTrue(agent.problems().isEmpty(), agent.problems()::toString);
  }

  @Test
  void reconcile_missingSecretKeepsLastGoodAndNamesTheSecretNotItsValue() throws IOException {
    agent.reconcile("test");
    Map<String, String> good = snapshot();
    Files.delete(bundle.resolve("hub-basic_password"));
    assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"));
    assertEquals(good, snapshot());
    String problems = agent.problems().toString();
    assertTrue(problems.contains("hub-basic"), problems);
    assertFalse(problems.contains("hub-secret-pass") || problems.contains("hubuser"), problems);
  }

  @Test
  void heldHost_actionSaysWhichFilesWereKept() throws IOException {
    try (LogCapture log = new LogCapture()) {
      Files.delete(bundle.resolve("hub-basic_password"));
      assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"), "held: --once exits 1");
      assertTrue(agent.health().ready(), "the other hosts are applied");
      assertFalse(Files.exists(certs.resolve("docker.io")), "never had files: left as it is");
      assertTrue(Files.exists(certs.resolve("ghcr.io/hosts.toml")));
      assertFalse(
          log.matching("msg=problem", "kind=credentials", "action=\"left docker.io as it is")
              .isEmpty(),
          log.lines::toString);
      Fixtures.writeBundle(bundle);
      assertEquals(Agent.Outcome.APPLIED, agent.reconcile("test"));
      Map<String, String> good = snapshot();
      Files.delete(bundle.resolve("hub-basic_password"));
      agent.reconcile("test");
      assertEquals(good, snapshot(), "kept its last good files");
      assertFalse(
          log.matching(
                  "msg=problem", "kind=credentials", "action=\"kept last good files for docker.io")
              .isEmpty(),
          log.lines::toString);
    }
  }

  @Test
  void containerdFinding_actionSaysWhatWasWrittenAndWhatContainerdDoes() throws IOException {
    Path config = tmp.resolve("config.toml");
    Files.writeString(
        config,
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/elsewhere\"\n");
    Agent a =
        new Agent(
            new Agent.Options(
                policy, bundle, certs, Fixtures.NODE_CERTS, false, Duration.ofSeconds(60), config),
            new Metrics());
    try (LogCapture log = new LogCapture()) {
      a.reconcile("test");
      List<LogCapture.Line> lines = log.matching("msg=problem", "kind=containerd");
      assertFalse(lines.isEmpty(), log.lines::toString);
      assertTrue(
          lines.get(0).text().contains("certs.d written as planned")
              && lines.get(0).text().contains("until config_path names " + Fixtures.NODE_CERTS),
          lines.get(0).text());
    }
  }

  @Test
  void health_aStuckPassFailsLivenessOnly() {
    agent.reconcile("test");
    HealthSnapshot s = agent.snapshot();
    assertTrue(s.health(false).healthy());
    Health stuck = s.health(true);
    assertFalse(stuck.healthy(), "a pass that hangs is what a restart can fix");
    assertTrue(stuck.ready());
  }

  @Test
  void reconcile_invalidPolicyAtStartWritesNothing() throws IOException {
    Files.writeString(policy, "apiVersion: nope\n");
    assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"));
    assertFalse(Files.exists(certs) && Files.list(certs).findAny().isPresent());
    assertFalse(agent.health().ready());
  }

  @Test
  void reconcile_foreignDirectoryIsAProblemButTheRestIsApplied() throws IOException {
    Files.createDirectories(certs.resolve("ghcr.io"));
    Files.writeString(certs.resolve("ghcr.io/hosts.toml"), "server = \"https://ghcr.io\"\n");
    agent.reconcile("test");
    assertTrue(Files.exists(certs.resolve("docker.io/hosts.toml")));
    assertTrue(
        agent.problems().stream()
            .anyMatch(p -> p.detail().contains("certs.d/ghcr.io exists and is not managed")));
    @SuppressWarnings("unchecked")
    List<String> managed = (List<String>) agent.health().details().get("managedHosts");
    assertFalse(
        managed.contains("ghcr.io"), "a host left alone is not listed as managed: " + managed);
    assertTrue(managed.contains("docker.io"), managed::toString);
  }

  @Test
  void health_reportsPolicyAndHosts() {
    agent.reconcile("test");
    Health h = agent.health();
    assertTrue(h.healthy());
    assertTrue(h.ready());
    assertEquals(
        List.of(
            "_default",
            "docker.io",
            "gcr.io",
            "ghcr.io",
            "lab.corp.example",
            "registry.corp.example:5000"),
        h.details().get("managedHosts"));
  }

  @Test
  void main_exitCodes() throws IOException {
    assertEquals(
        AgentMain.OK,
        main(
            "--once",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString(),
            "--secrets-dir",
            bundle.toString()));
    Files.writeString(policy, "kind: nope\n");
    assertEquals(
        AgentMain.FAILED,
        main(
            "--once",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString(),
            "--secrets-dir",
            bundle.toString()));
    assertEquals(AgentMain.USAGE, main("--once", "--certs-dir", certs.toString()));
    assertEquals(AgentMain.USAGE, main("--policy", policy.toString()));
    assertEquals(AgentMain.USAGE, main("--bogus"));
    assertEquals(AgentMain.USAGE, main("--once", "--cleanup", "--policy", "p", "--certs-dir", "c"));
    assertEquals(AgentMain.OK, main("--cleanup", "--certs-dir", certs.toString()));
    assertFalse(Files.exists(certs.resolve("docker.io")));
  }

  // ---- certs.d deleted on the node ------------------------------------------------------------
  // In the pod, certs.d is a bind mount of the node's directory; deleting that directory on the
  // node leaves the mount pointing at the deleted inode. /proc/self/fd/<n> of an open descriptor
  // of the directory reaches it the same way: after the delete, it still "is" a directory, its
  // link count is 0 and creating anything in it fails with ENOENT.

  /**
   * An open descriptor of a directory and the /proc path that reaches it through the descriptor.
   */
  record Held(FileChannel channel, Path path) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  static Held hold(Path dir) throws IOException {
    Path fds = Path.of("/proc/self/fd");
    assumeTrue(Files.isDirectory(fds), "needs Linux /proc");
    Path real = dir.toRealPath();
    FileChannel ch = FileChannel.open(real, StandardOpenOption.READ);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(fds)) {
      for (Path fd : ds) {
        try {
          if (Files.readSymbolicLink(fd).equals(real)) {
            return new Held(ch, fds.resolve(fd.getFileName()));
          }
        } catch (IOException e) {
          // closed meanwhile (the stream's own descriptor)
        }
      }
    }
    ch.close();
    throw new IllegalStateException("no descriptor for " + real);
  }

  /** rm -rf, retried while a running agent recreates entries in between. */
  static void removeTree(Path dir) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Files.exists(dir)) {
      try {
        CertsDirConformance.deleteTree(dir);
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
      }
    }
  }

  @Test
  void rootDeleted_onlyForADirectoryDeletedUnderItsMount() throws Exception {
    Files.delete(certs);
    assertFalse(new CertsDir(certs).rootDeleted(true), "missing: not deleted under a mount");
    Files.createDirectories(certs);
    assertFalse(new CertsDir(certs).rootDeleted(true), "a live directory");
    try (Held held = hold(certs)) {
      CertsDir viaMount = new CertsDir(held.path());
      assertFalse(viaMount.rootDeleted(true));
      Files.delete(certs);
      assertTrue(Files.isDirectory(held.path()), "still reachable, as through a bind mount");
      assertEquals(0, CertsDir.linkCount(held.path()));
      assertTrue(viaMount.rootDeleted(false), "link count 0: no failed write needed");
      assertTrue(viaMount.rootDeleted(true));
    }
  }

  @Test
  void once_certsDirDeletedOnTheNode_exitsWithItsOwnCode() throws Exception {
    Files.createDirectories(certs);
    try (Held held = hold(certs)) {
      Files.delete(certs);
      Agent a =
          new Agent(
              new Agent.Options(
                  policy,
                  bundle,
                  held.path(),
                  Fixtures.NODE_CERTS,
                  false,
                  Duration.ofSeconds(60),
                  null),
              new Metrics());
      assertEquals(Agent.Outcome.CERTS_DIR_DELETED, a.reconcile("test"));
      assertTrue(a.problems().isEmpty(), "not a write failure: " + a.problems());
      assertEquals(
          AgentMain.CERTS_DIR_DELETED,
          main(
              "--once",
              "--policy",
              policy.toString(),
              "--certs-dir",
              held.path().toString(),
              "--secrets-dir",
              bundle.toString(),
              "--node-certs-dir",
              Fixtures.NODE_CERTS));
    }
    assertEquals(
        4, AgentMain.CERTS_DIR_DELETED, "documented; 3 is the JVM's ExitOnOutOfMemoryError code");
  }

  @Test
  void run_certsDirDeletedWhileRunning_returnsAtOnceInsteadOfFailingOn() throws Exception {
    Files.createDirectories(certs);
    try (Held held = hold(certs)) {
      Agent a =
          new Agent(
              new Agent.Options(
                  policy,
                  bundle,
                  held.path(),
                  Fixtures.NODE_CERTS,
                  false,
                  Duration.ofSeconds(60),
                  null),
              new Metrics());
      CompletableFuture<Agent.RunResult> run =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return a.run();
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      try {
        waitFor(() -> Files.exists(certs.resolve("docker.io/hosts.toml")));
        removeTree(certs);
        // The deletion is seen by the watch (resync is 60 s), well before a liveness restart.
        assertEquals(Agent.RunResult.CERTS_DIR_DELETED, run.get(10, TimeUnit.SECONDS));
      } finally {
        a.close();
      }
    }
  }

  @Test
  void main_daemonExitsWithCertsDirDeletedCode() throws Exception {
    Files.createDirectories(certs);
    try (Held held = hold(certs)) {
      CompletableFuture<Integer> code =
          CompletableFuture.supplyAsync(
              () ->
                  main(
                      "--policy",
                      policy.toString(),
                      "--certs-dir",
                      held.path().toString(),
                      "--secrets-dir",
                      bundle.toString(),
                      "--node-certs-dir",
                      Fixtures.NODE_CERTS,
                      "--listen",
                      "off"));
      waitFor(() -> Files.exists(certs.resolve("docker.io/hosts.toml")));
      removeTree(certs);
      assertEquals(AgentMain.CERTS_DIR_DELETED, code.get(10, TimeUnit.SECONDS));
    }
  }

  static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out");
      Thread.sleep(10);
    }
  }

  private static int main(String... args) {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(sink, true, StandardCharsets.UTF_8);
    return AgentMain.run(args, ps, ps);
  }
}
