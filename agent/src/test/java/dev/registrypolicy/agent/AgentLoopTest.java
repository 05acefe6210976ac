package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.common.Health;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon loop (issue 11, "busy loops and over-wide watches"): failing passes back off, the
 * agent's own writes and files next to the policy never wake it, a repeated problem is logged once,
 * and probes never wait for a pass. Waits are on events (log lines, watch events, pass counts),
 * never fixed sleeps.
 */
class AgentLoopTest {
  static final String POLICY =
      String.join(
          "\n",
          "apiVersion: registry-policy.dev/v1alpha1",
          "kind: RegistryPolicy",
          "registries:",
          "  - host: docker.io",
          "    mirrors: [{url: \"https://mirror.example\"}]",
          "  - host: ghcr.io",
          "    mirrors: [{url: \"https://mirror.example\"}]",
          "");

  @TempDir Path tmp;
  Path policy;
  Path certs;
  Agent agent;
  CompletableFuture<Agent.RunResult> running;
  final List<String> events = new CopyOnWriteArrayList<>();
  LogCapture log;

  @BeforeEach
  void setUp() throws Exception {
    policy = tmp.resolve("policy/policy.yaml");
    Files.createDirectories(policy.getParent());
    Files.writeString(policy, POLICY);
    certs = Files.createDirectories(tmp.resolve("certs.d"));
    log = new LogCapture();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (agent != null) {
      agent.close();
    }
    if (running != null) {
      running.get(10, TimeUnit.SECONDS);
    }
    log.close();
  }

  Agent newAgent(Backoff backoff) {
    Agent a =
        new Agent(
            new Agent.Options(
                policy, null, certs, "/etc/containerd/certs.d", false, Duration.ofHours(1), null),
            new Metrics(),
            backoff);
    a.watchListener =
        (dir, name, pass) ->
            events.add(dir.getFileName() + "/" + name + (pass ? " pass" : " ignored"));
    return a;
  }

  void start(Agent a) {
    agent = a;
    running =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return a.run();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
  }

  /**
   * A managed host directory whose hosts.toml is a non-empty directory: every write of it fails.
   */
  void breakHostsToml(String host) throws Exception {
    Path dir = Files.createDirectories(certs.resolve(host));
    Files.writeString(dir.resolve(NodePlan.OWNER_FILE), host + "\n");
    Files.createDirectories(dir.resolve(NodePlan.HOSTS_TOML).resolve("blocker"));
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(5);
    }
  }

  @Test
  void failingPasses_backOffInsteadOfWakingOnTheirOwnTempFiles() throws Exception {
    breakHostsToml("docker.io");
    start(newAgent(new Backoff(Duration.ofMillis(100), Duration.ofMillis(400))));
    await(() -> log.matching("msg=\"backing off\"").size() >= 5, "five failed passes");
    List<LogCapture.Line> lines = log.matching("msg=\"backing off\"");
    Pattern next = Pattern.compile("next_pass_in_ms=(\\d+)");
    List<Long> planned = new ArrayList<>();
    for (LogCapture.Line l : lines.subList(0, 5)) {
      Matcher m = next.matcher(l.text());
      assertTrue(m.find(), l.text());
      planned.add(Long.parseLong(m.group(1)));
    }
    assertEquals(List.of(100L, 200L, 400L, 400L, 400L), planned, "doubling, capped");
    for (int i = 0; i < 4; i++) {
      long gap = lines.get(i + 1).millis() - lines.get(i).millis();
      // Each failed pass created and removed a temp file in docker.io/: that must not cut the wait
      // short.
      assertTrue(
          gap >= planned.get(i) - 1,
          "pass "
              + (i + 2)
              + " came "
              + gap
              + " ms after the previous one, before its"
              + " backoff of "
              + planned.get(i)
              + " ms; events: "
              + events);
    }
    assertTrue(
        events.stream().noneMatch(e -> e.contains(".rp-") && e.endsWith(" pass")),
        events::toString);
    Health h = agent.health();
    assertTrue(h.healthy(), "a per-host write failure is a problem, not a liveness failure");
    assertTrue(h.ready(), "the policy is good and the other hosts are applied");
    assertTrue(
        Files.isRegularFile(certs.resolve("ghcr.io/hosts.toml")), "the other host is applied");
    assertEquals(
        1,
        log.matching("msg=problem", "kind=write-failed").size(),
        "one line per distinct problem: " + log.lines);
  }

  @Test
  void realChangeCutsTheBackoffShort() throws Exception {
    breakHostsToml("docker.io");
    start(newAgent(new Backoff(Duration.ofMinutes(10), Duration.ofMinutes(10))));
    await(() -> log.matching("msg=\"backing off\"").size() >= 1, "the first failed pass");
    Files.walk(certs.resolve("docker.io/hosts.toml"))
        .sorted(java.util.Comparator.reverseOrder())
        .forEach(
            p -> {
              try {
                Files.delete(p);
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    // Removing the blocker is a change to a managed file: the pass comes now, not in 10 minutes.
    await(() -> Files.isRegularFile(certs.resolve("docker.io/hosts.toml")), "the repair");
    await(
        () -> log.matching("msg=\"problem resolved\"", "kind=write-failed").size() == 1,
        "the problem to clear");
  }

  @Test
  void filesNextToThePolicyAndTheAgentsOwnWritesNeverWakeIt() throws Exception {
    start(newAgent(Backoff.DEFAULT));
    await(() -> agent.snapshot().passes() >= 1, "the first pass");
    Files.writeString(policy.resolveSibling("agent.log"), "a log line\n");
    await(() -> events.contains("policy/agent.log ignored"), "the event for agent.log");
    assertEquals(1, agent.snapshot().passes(), events::toString);

    // Replaced in one step, as kubelet's ..data swap does (an in-place rewrite may be seen half
    // done).
    Path next = policy.resolveSibling("next.yaml");
    Files.writeString(next, POLICY + "# a real change\n");
    Files.move(
        next,
        policy,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    await(() -> agent.snapshot().passes() >= 2, "the pass for the policy change");
    // A sentinel after everything the pass wrote: once its event is seen, so were theirs (one
    // inotify queue, read in order).
    Files.writeString(policy.resolveSibling("sentinel"), "x");
    await(() -> events.contains("policy/sentinel ignored"), "the sentinel's event");
    List<String> passes = events.stream().filter(e -> e.endsWith(" pass")).toList();
    assertFalse(passes.isEmpty(), "the policy change woke the agent");
    assertTrue(
        passes.stream().allMatch(e -> e.startsWith("policy/policy.yaml")),
        "only the policy change: " + events);
    assertTrue(
        events.stream()
            .anyMatch(e -> e.startsWith("docker.io/hosts.toml") || e.startsWith("certs.d/")),
        "the pass's own writes were seen (and ignored): " + events);
    assertEquals(2, agent.snapshot().passes(), events::toString);
  }

  @Test
  void editsInAForeignDirectoryDoNotWakeIt() throws Exception {
    Files.createDirectories(certs.resolve("ghcr.io"));
    Files.writeString(certs.resolve("ghcr.io/hosts.toml"), "server = \"https://ghcr.io\"\n");
    start(newAgent(Backoff.DEFAULT));
    await(() -> agent.snapshot().passes() >= 1, "the first pass");
    assertTrue(
        agent.problems().stream().anyMatch(p -> p.kind().equals(AgentProblem.FOREIGN)),
        agent.problems()::toString);
    for (int i = 0; i < 5; i++) {
      Files.writeString(
          certs.resolve("ghcr.io/hosts.toml"), "server = \"https://ghcr.io\" # edit " + i + "\n");
    }
    Files.writeString(policy.resolveSibling("sentinel"), "x");
    await(() -> events.contains("policy/sentinel ignored"), "the sentinel's event");
    assertTrue(events.stream().noneMatch(e -> e.endsWith(" pass")), events::toString);
    assertEquals(1, agent.snapshot().passes(), events::toString);
  }

  @Test
  void sameContentSwappedInDoesNotWakeIt() throws Exception {
    start(newAgent(Backoff.DEFAULT));
    await(() -> agent.snapshot().passes() >= 1, "the first pass");
    Path next = policy.resolveSibling("next.yaml");
    Files.writeString(next, POLICY);
    Files.move(
        next,
        policy,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    await(() -> events.contains("policy/policy.yaml ignored"), "the event for the swap");
    assertEquals(1, agent.snapshot().passes(), events::toString);
  }

  @Test
  void managedFileDeletedIsRepaired() throws Exception {
    start(newAgent(Backoff.DEFAULT));
    await(
        () -> agent.snapshot().passes() >= 1 && Files.exists(certs.resolve("ghcr.io/hosts.toml")),
        "the first pass");
    Files.delete(certs.resolve("ghcr.io/hosts.toml"));
    await(() -> Files.exists(certs.resolve("ghcr.io/hosts.toml")), "the repair");
    assertTrue(events.contains("ghcr.io/hosts.toml pass"), events::toString);
  }

  @Test
  void healthDoesNotWaitForARunningPass() throws Exception {
    Agent a = newAgent(Backoff.DEFAULT);
    assertEquals(Agent.Outcome.APPLIED, a.reconcile("test"));
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // reconcile() is synchronized on the agent: holding its monitor is a pass that takes forever.
    Thread slowPass =
        new Thread(
            () -> {
              synchronized (a) {
                holding.countDown();
                try {
                  release.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }
            });
    slowPass.start();
    try {
      holding.await();
      Health h = CompletableFuture.supplyAsync(a::health).get(10, TimeUnit.SECONDS);
      assertTrue(h.healthy() && h.ready(), h::toString);
      assertEquals(List.of(), a.problems());
      assertTrue(
          a.metrics().render().contains("registry_policy_agent_managed_hosts 2"),
          "gauges read the snapshot too");
    } finally {
      release.countDown();
      slowPass.join();
    }
  }

  @Test
  void repeatedFailure_loggedOnceWithAStableText() throws Exception {
    breakHostsToml("docker.io");
    Agent a = newAgent(Backoff.DEFAULT);
    for (int i = 0; i < 3; i++) {
      assertEquals(Agent.Outcome.FAILED, a.reconcile("test"));
    }
    List<LogCapture.Line> problems = log.matching("msg=problem", "kind=write-failed");
    assertEquals(1, problems.size(), log.lines::toString);
    assertFalse(
        Pattern.compile("\\.rp-[^ ]*\\.[0-9a-f]{6,}\\.tmp").matcher(problems.get(0).text()).find(),
        "no random temp-file name in the problem: " + problems.get(0).text());
    assertTrue(problems.get(0).text().contains("action="), problems.get(0).text());
    assertTrue(a.health().healthy());
  }

  @Test
  void oddForeignEntriesNeverFailLiveness() throws Exception {
    Files.createDirectories(certs.resolve("a\\b"));
    Files.createDirectories(certs.resolve("sp ace\nnewline"));
    Files.writeString(certs.resolve("-plain-file"), "x");
    Agent a = newAgent(Backoff.DEFAULT);
    a.reconcile("test");
    a.reconcile("test");
    assertTrue(a.health().healthy(), () -> a.problems().toString());
    assertTrue(a.health().ready());
    assertTrue(Files.isRegularFile(certs.resolve("docker.io/hosts.toml")));
    for (AgentProblem p : a.problems()) {
      assertFalse(p.detail().isBlank(), "a problem says why: " + p);
    }
  }

  @Test
  void hostNameTooLongForTheFileSystem_neverFailsLiveness() throws Exception {
    String host =
        "a".repeat(63)
            + "."
            + "b".repeat(63)
            + "."
            + "c".repeat(63)
            + "."
            + "d".repeat(61)
            + ":5000";
    Files.writeString(
        policy,
        POLICY + "  - host: \"" + host + "\"\n    mirrors: [{url: \"https://mirror.example\"}]\n");
    Agent a = newAgent(Backoff.DEFAULT);
    a.reconcile("test");
    a.reconcile("test");
    assertTrue(a.health().healthy(), () -> a.problems().toString());
    if (a.lastGood() != null) {
      // Accepted by the policy: the other hosts are written and the node is ready.
      assertTrue(a.health().ready());
      assertTrue(Files.isRegularFile(certs.resolve("docker.io/hosts.toml")));
    }
    assertTrue(a.problems().size() <= 2, "one problem, not one per pass: " + a.problems());
  }

  @Test
  void invalidPolicyActionSaysWhatHappened() throws Exception {
    Agent a = newAgent(Backoff.DEFAULT);
    Files.writeString(policy, "apiVersion: nope\n");
    a.reconcile("test");
    assertFalse(
        log.matching("msg=problem", "action=\"nothing written: no good policy yet\"").isEmpty(),
        log.lines::toString);
    Files.writeString(policy, POLICY);
    a.reconcile("test");
    int seen = log.lines.size();
    Files.writeString(policy, "apiVersion: nope again\n");
    a.reconcile("test");
    List<LogCapture.Line> later = log.lines.subList(seen, log.lines.size());
    assertTrue(
        later.stream()
            .anyMatch(l -> l.text().contains("action=\"kept the last good policy (2 host dirs)\"")),
        later::toString);
    assertTrue(
        later.stream().noneMatch(l -> l.text().contains("nothing written")), later::toString);
  }

  @Test
  void nonUtf8AndDirectoryPolicies_sayItInWords() throws Exception {
    Agent a = newAgent(Backoff.DEFAULT);
    Files.write(policy, new byte[] {'a', ':', ' ', (byte) 0xff, (byte) 0xfe, '\n'});
    assertEquals(Agent.Outcome.INVALID, a.reconcile("test"));
    assertTrue(
        a.problems().stream().anyMatch(p -> p.detail().contains("not valid UTF-8")),
        a.problems()::toString);
    Files.delete(policy);
    Files.createDirectories(policy);
    assertEquals(Agent.Outcome.INVALID, a.reconcile("test"));
    assertTrue(
        a.problems().stream().anyMatch(p -> p.detail().contains("is a directory")),
        a.problems()::toString);
    for (AgentProblem p : a.problems()) {
      assertFalse(
          p.detail().matches(".*[A-Z][a-z]+(Exception|Error).*"),
          "no Java class names: " + p.detail());
    }
  }
}
