package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.agent.NodePlan.FileSpec;
import dev.registrypolicy.agent.NodePlan.HostDir;
import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.agent.lab.ContainerdBuild;
import dev.registrypolicy.agent.lab.ContainerdLab;
import dev.registrypolicy.agent.lab.CriClient;
import dev.registrypolicy.agent.lab.CriClient.PullResult;
import dev.registrypolicy.agent.lab.LabEnvironment;
import dev.registrypolicy.agent.lab.Pki;
import dev.registrypolicy.agent.lab.RegistryLab;
import dev.registrypolicy.agent.lab.RegistryLab.AccessLogEntry;
import dev.registrypolicy.policy.PolicyDocument;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * The node agent end to end against real containerd daemons: the agent (in this JVM) writes certs.d
 * from a policy and a credentials bundle, and every claim is checked with a CRI PullImage through
 * the daemon, whose {@code config_path} is the agent's certs.d.
 *
 * <p>One daemon, one certs.d and one agent per containerd build; the cases run in order on them,
 * each setting the policy and bundle it needs and waiting until certs.d holds exactly what the
 * agent should write for it (computed with {@link NodePlan}) before pulling. Images are removed
 * before every pull, and every successful pull is also checked in the registry's access log.
 *
 * <p>Skipped, with the reason, where the daemons are not installed (see .ci/install-daemons.sh).
 */
@Tag("containerd")
class RealContainerdAgentTest {

  private static final String HUB_IMAGE = "docker.io/library/hello:v1";
  private static final String QUAY_IMAGE = "quay.io/library/hello:v1";
  private static final String MANIFEST_PATH = "/v2/library/hello/manifests/v1";
  private static final String DENIED = "401 Unauthorized|pull access denied";
  private static final Duration CONVERGE = Duration.ofSeconds(10);

  /**
   * Long enough that anything repaired within {@link #CONVERGE} was repaired by the watch, not the
   * resync.
   */
  private static final Duration RESYNC = Duration.ofSeconds(60);

  private static LabEnvironment env;
  private static Path work;
  private static Pki pki;
  private static RegistryLab registry;

  /** Bound, never listening: a mirror on this port is refused at once. */
  private static Socket closedPort;

  private static final List<LabNode> nodes = new CopyOnWriteArrayList<>();
  private static final List<String> figures = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startRegistry() throws IOException {
    env = LabEnvironment.detect();
    // Surefire records a class aborted in @BeforeAll as "0 tests", without the reason: print it
    // too.
    env.missingReason().ifPresent(r -> System.out.println("[agent-lab] skipped: " + r));
    assumeTrue(env.ready(), () -> env.missingReason().orElse(""));
    long t0 = System.nanoTime();
    work = Files.createTempDirectory(Path.of("/tmp"), "rpl-agent-");
    pki = Pki.create(work.resolve("pki"));
    registry = RegistryLab.startWithTokenAuth(work.resolve("registry"), pki);
    registry.pushTestImage("library/hello", "v1");
    closedPort = new Socket();
    closedPort.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    System.out.printf(
        "[agent-lab] registry %s, token registry %s, closed port %d; ready in %d ms%n",
        registry.url(), registry.tokenRegistryUrl(), closedPort.getLocalPort(), ms(t0));
  }

  @AfterAll
  static void stopAll() {
    for (LabNode n : nodes) {
      n.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (closedPort != null) {
      try {
        closedPort.close();
      } catch (IOException e) {
        // nothing to do
      }
    }
    if (work != null) {
      deleteTree(work);
    }
    if (!figures.isEmpty()) {
      System.out.println("[agent-lab] ---- figures ----");
      figures.forEach(f -> System.out.println("[agent-lab] " + f));
    }
  }

  @TestFactory
  Stream<DynamicNode> eachContainerdBuild() {
    return env.containerdBuilds().stream()
        .map(
            build -> {
              LabNode node = new LabNode(build);
              nodes.add(node);
              List<DynamicNode> cases = new ArrayList<>();
              cases.add(
                  test(
                      node,
                      "a. agent --once: docker.io mirror, ca + basic credentials from the bundle, pull",
                      node::onceWritesWorkingMirror));
              cases.add(
                  test(
                      node,
                      "a. agent daemon takes over the written certs.d without rewriting it",
                      node::daemonTakesOver));
              cases.add(
                  test(
                      node,
                      "b. wrong password in the bundle: pull refused, fixed again",
                      node::wrongPasswordRefused));
              cases.add(
                  test(
                      node,
                      "c. rm -rf certs.d/* restored by the watch; hand edit reverted",
                      node::wipeAndHandEditRepaired));
              cases.add(
                  test(
                      node,
                      "d. _default mirror serves quay.io/library/hello:v1",
                      node::catchAllMirror));
              cases.add(
                  test(
                      node,
                      "d. host:port registry entry, direct, ca + credentials",
                      node::directHostPort));
              cases.add(
                  test(
                      node,
                      "e. upstream Never does not reach the upstream; Fallback does",
                      node::upstreamNeverVersusFallback));
              if (build.major() > 2 || build.major() == 2 && build.minor() >= 1) {
                cases.add(
                    test(
                        node,
                        "f. token-auth mirror with header credentials from the bundle",
                        node::tokenMirror));
              }
              cases.add(
                  test(
                      node,
                      "g. invalid policy keeps the last good files; pull still works",
                      node::invalidPolicyKeepsLastGood));
              cases.add(test(node, "stop: agent ends cleanly, no temp files left", node::stop));
              return DynamicContainer.dynamicContainer(
                  "containerd " + build.version() + " (" + build.binary() + ")", cases.stream());
            })
        .map(DynamicNode.class::cast);
  }

  /** A test body that may throw anything. */
  @FunctionalInterface
  interface Body {
    void run() throws Exception;
  }

  private static DynamicTest test(LabNode node, String name, Body body) {
    String v = node.build.version();
    return DynamicTest.dynamicTest(
        "containerd " + v + ": " + name,
        () -> {
          long t0 = System.nanoTime();
          try {
            body.run();
            System.out.printf(
                "[agent-lab] containerd %s | %-80s | ok   | %5d ms%n", v, name, ms(t0));
            figures.add(String.format("containerd %-7s | %-80s | ok   | %5d ms", v, name, ms(t0)));
          } catch (Throwable t) {
            System.out.printf(
                "[agent-lab] containerd %s | %-80s | FAIL | %5d ms%n", v, name, ms(t0));
            figures.add(String.format("containerd %-7s | %-80s | FAIL | %5d ms", v, name, ms(t0)));
            throw t;
          }
        });
  }

  // ---------------------------------------------------------------------------------
  // policies

  private static String policy(String... registries) {
    return "apiVersion: registry-policy.dev/v1alpha1\n"
        + "kind: RegistryPolicy\n"
        + "credentials:\n"
        + "  - {name: lab, secret: lab-basic}\n"
        + "registries:\n"
        + String.join("", registries);
  }

  /**
   * docker.io through one mirror with the lab CA and basic credentials; upstream null = default
   * (Fallback).
   */
  private static String hubMirror(String url, String upstream) {
    return "  - host: docker.io\n"
        + (upstream == null ? "" : "    upstream: " + upstream + "\n")
        + "    mirrors:\n"
        + "      - url: "
        + url
        + "\n"
        + "        ca: {secret: lab-ca}\n"
        + "        credentials: lab\n";
  }

  private static String catchAll(String url) {
    return "  - host: \"*\"\n"
        + "    mirrors:\n"
        + "      - url: "
        + url
        + "\n"
        + "        ca: {secret: lab-ca}\n"
        + "        credentials: lab\n";
  }

  private static String direct(String hostPort) {
    return "  - host: \""
        + hostPort
        + "\"\n"
        + "    ca: {secret: lab-ca}\n"
        + "    credentials: lab\n";
  }

  private static String labMirrorPolicy() {
    return policy(hubMirror(registry.url(), null));
  }

  private static String directImage() {
    return registry.hostPort() + "/library/hello:v1";
  }

  // ---------------------------------------------------------------------------------

  /** One containerd build: its daemon, certs.d, bundle, policy file and agent. */
  private static final class LabNode implements AutoCloseable {
    final ContainerdBuild build;
    final Path dir;
    final Path certs;
    final Path bundle;
    final Path policyFile;
    final String nodeCerts;
    ContainerdLab ctrd;
    Agent agent;
    Thread agentThread;
    final AtomicReference<Throwable> agentError = new AtomicReference<>();

    LabNode(ContainerdBuild build) {
      this.build = build;
      this.dir = work.resolve("node-" + build.version());
      this.certs = dir.resolve("certs.d");
      this.bundle = dir.resolve("bundle");
      this.policyFile = dir.resolve("policy").resolve("policy.yaml");
      this.nodeCerts = certs.toAbsolutePath().normalize().toString();
    }

    String v() {
      return build.version();
    }

    ContainerdLab ctrd() throws IOException {
      if (ctrd == null) {
        Files.createDirectories(certs);
        Files.createDirectories(policyFile.getParent());
        writeGoodBundle();
        ctrd = ContainerdLab.start(build, certs);
        System.out.printf(
            "[agent-lab] containerd %s: CRI %s %s up in %d ms (pid %d)%n",
            v(),
            ctrd.version().getRuntimeName(),
            ctrd.version().getRuntimeVersion(),
            ctrd.startupTime().toMillis(),
            ctrd.pid());
      }
      return ctrd;
    }

    CriClient cri() throws IOException {
      return ctrd().cri();
    }

    void writeGoodBundle() throws IOException {
      Files.createDirectories(bundle);
      put(bundle, "lab-ca_ca.crt", pki.caPem());
      put(bundle, "lab-basic_username", RegistryLab.USER.getBytes(StandardCharsets.UTF_8));
      put(bundle, "lab-basic_password", RegistryLab.PASSWORD.getBytes(StandardCharsets.UTF_8));
    }

    void setPassword(String password) throws IOException {
      put(bundle, "lab-basic_password", password.getBytes(StandardCharsets.UTF_8));
    }

    void setPolicy(String yaml) throws IOException {
      put(
          policyFile.getParent(),
          policyFile.getFileName().toString(),
          yaml.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The daemon-mode agent, started once; returns after its first pass (its watches are then in
     * place).
     */
    Agent agent() throws IOException {
      ctrd();
      if (agent == null) {
        assertTrue(Files.exists(policyFile), "a policy must be written before the agent starts");
        Agent a =
            new Agent(
                new Agent.Options(policyFile, bundle, certs, nodeCerts, false, RESYNC, null),
                new Metrics());
        Thread t =
            new Thread(
                () -> {
                  try {
                    a.run();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  } catch (Throwable e) {
                    agentError.set(e);
                  }
                },
                "agent-" + v());
        t.setDaemon(true);
        agent = a;
        agentThread = t;
        long t0 = System.nanoTime();
        t.start();
        // lastGood() is synchronized with reconcile(), so it answers only once the first pass
        // (which ends by registering the watches) is over.
        await(
            () -> a.lastGood() != null || !a.problems().isEmpty(),
            CONVERGE,
            "the agent's first pass");
        System.out.printf(
            "[agent-lab] containerd %s: agent daemon (resync %ds) first pass done in %d ms%n",
            v(), RESYNC.toSeconds(), ms(t0));
      }
      return agent;
    }

    Plan expectedPlan() throws Exception {
      String text = Files.readString(policyFile, StandardCharsets.UTF_8);
      return NodePlan.plan(PolicyDocument.parse(text), SecretStore.directory(bundle), nodeCerts);
    }

    /**
     * Waits until certs.d holds exactly the plan for the current policy and bundle; returns the
     * wait in ms.
     */
    long awaitConverged() throws Exception {
      Plan plan = expectedPlan();
      long t0 = System.nanoTime();
      long deadline = t0 + CONVERGE.toNanos();
      String diff;
      while ((diff = difference(plan)) != null) {
        checkAgent();
        if (System.nanoTime() > deadline) {
          fail(
              "certs.d did not converge within "
                  + CONVERGE
                  + ": "
                  + diff
                  + "; agent problems: "
                  + (agent == null ? "(no agent)" : agent.problems()));
        }
        LockSupport.parkNanos(1_000_000);
      }
      return ms(t0);
    }

    /** Why certs.d does not hold exactly {@code plan} (managed directories only), or null. */
    String difference(Plan plan) throws IOException {
      for (HostDir hd : plan.dirs().values()) {
        Path d = certs.resolve(hd.name());
        for (Map.Entry<String, FileSpec> f : hd.files().entrySet()) {
          byte[] have = readOrNull(d.resolve(f.getKey()));
          if (have == null) {
            return hd.name() + "/" + f.getKey() + " missing";
          }
          if (!f.getValue().sameContent(have)) {
            return hd.name() + "/" + f.getKey() + " differs";
          }
        }
      }
      CertsDir cd = new CertsDir(certs);
      for (String name : cd.list()) {
        Path d = certs.resolve(name);
        if (!plan.dirs().containsKey(name)
            && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)
            && cd.owned(d)) {
          return name + " is managed but not in the plan";
        }
      }
      return null;
    }

    void checkAgent() {
      Throwable t = agentError.get();
      if (t != null) {
        throw new AssertionError("the agent thread died", t);
      }
      if (agentThread != null && !agentThread.isAlive()) {
        throw new AssertionError("the agent thread ended unexpectedly");
      }
    }

    /** RemoveImage for every name this test pulls (all the same image), then PullImage. */
    PullResult freshPull(String image) throws IOException {
      CriClient cri = cri();
      for (String ref : List.of(HUB_IMAGE, QUAY_IMAGE, directImage())) {
        cri.removeImage(ref);
      }
      assertFalse(
          cri.imageStatus(image).isPresent(), () -> image + " still present after RemoveImage");
      return cri.pullImage(image);
    }

    /**
     * A fresh pull that must succeed and must show up in the basic registry's log; returns the new
     * log lines.
     */
    List<AccessLogEntry> pullOk(String image, Predicate<AccessLogEntry> expected, String what)
        throws IOException {
      int before = registry.accessLog().size();
      PullResult r = freshPull(image);
      assertTrue(
          r.ok(),
          () -> "pull of " + image + " failed: " + r + "\ncontainerd log:\n" + ctrd.logTail(25));
      List<AccessLogEntry> fresh = awaitNew(registry::accessLog, before, expected);
      assertFalse(
          fresh.stream().noneMatch(expected),
          () ->
              "registry log shows no " + what + " request for " + image + "; new lines: " + fresh);
      return fresh;
    }

    // ---- cases ---------------------------------------------------------------------

    /**
     * a: the CLI in --once mode writes certs.d; the pull goes through the mirror with ca + header.
     */
    void onceWritesWorkingMirror() throws Exception {
      ctrd();
      setPolicy(labMirrorPolicy());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      long t0 = System.nanoTime();
      int code =
          AgentMain.run(
              new String[] {
                "--policy",
                policyFile.toString(),
                "--certs-dir",
                certs.toString(),
                "--secrets-dir",
                bundle.toString(),
                "--listen",
                "off",
                "--once"
              },
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(err, true, StandardCharsets.UTF_8));
      long onceMs = ms(t0);
      assertEquals(AgentMain.OK, code, () -> "agent --once exit code; stderr: " + err);
      String diff = difference(expectedPlan());
      assertNull(diff, () -> "--once returns after writing everything, but: " + diff);
      String toml = Files.readString(certs.resolve("docker.io/hosts.toml"), StandardCharsets.UTF_8);
      assertTrue(toml.startsWith(HostsToml.MARKER_PREFIX), toml);
      assertTrue(toml.contains("[host.\"" + registry.url() + "\"]"), toml);
      assertFalse(
          toml.contains(RegistryLab.PASSWORD),
          "hosts.toml holds the header, not the clear password");
      List<AccessLogEntry> fresh =
          pullOk(
              HUB_IMAGE,
              e ->
                  e.path().equals(MANIFEST_PATH)
                      && e.uri().contains("ns=docker.io")
                      && e.status() == 200,
              "?ns=docker.io");
      figure("a. --once apply " + onceMs + " ms; mirror requests: " + summarize(fresh));
    }

    /** a (daemon): the agent started on a certs.d that already matches writes nothing. */
    void daemonTakesOver() throws Exception {
      ctrd();
      setPolicy(labMirrorPolicy());
      awaitConvergedOrOnce();
      Map<String, Object> before = identities();
      agent();
      awaitConverged();
      assertEquals(
          before, identities(), "the daemon's first pass rewrote files that were already right");
      assertTrue(agent.problems().isEmpty(), () -> "problems: " + agent.problems());
    }

    /**
     * Makes sure certs.d matches the policy even if an earlier case failed before the agent ran.
     */
    void awaitConvergedOrOnce() throws Exception {
      if (agent == null && difference(expectedPlan()) != null) {
        Agent a =
            new Agent(
                new Agent.Options(policyFile, bundle, certs, nodeCerts, false, RESYNC, null),
                new Metrics());
        assertEquals(Agent.Outcome.APPLIED, a.reconcile("test-setup"));
      }
    }

    void wrongPasswordRefused() throws Exception {
      agent();
      setPolicy(labMirrorPolicy());
      awaitConverged();
      setPassword("not-the-password");
      long waited = awaitConverged();
      String toml = Files.readString(certs.resolve("docker.io/hosts.toml"), StandardCharsets.UTF_8);
      assertTrue(
          toml.contains(RegistryLab.basicAuthorization(RegistryLab.USER, "not-the-password")),
          "the new password is in the header");
      int before = registry.accessLog().size();
      PullResult r = freshPull(HUB_IMAGE);
      assertTrue(r.failedWith(DENIED), () -> "expected '" + DENIED + "', got " + r);
      List<AccessLogEntry> fresh = awaitNew(registry::accessLog, before, e -> e.status() == 401);
      assertTrue(
          fresh.stream().anyMatch(e -> e.status() == 401 && e.uri().contains("ns=docker.io")),
          () -> "the mirror was not asked (and refused): " + fresh);
      setPassword(RegistryLab.PASSWORD);
      long back = awaitConverged();
      pullOk(HUB_IMAGE, e -> e.path().equals(MANIFEST_PATH) && e.status() == 200, "manifest");
      figure(
          "b. bundle change picked up by the watch in "
              + waited
              + " ms (wrong) / "
              + back
              + " ms (fixed); refused pull: "
              + r.description());
    }

    void wipeAndHandEditRepaired() throws Exception {
      agent();
      setPolicy(policy(hubMirror(registry.url(), null), catchAll(registry.url())));
      awaitConverged();
      Plan plan = expectedPlan();
      Path hosts = certs.resolve("docker.io").resolve(NodePlan.HOSTS_TOML);
      byte[] want = plan.dirs().get("docker.io").files().get(NodePlan.HOSTS_TOML).content();

      List<String> wipes = new ArrayList<>();
      List<Double> backAfterRm = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        long t0 = System.nanoTime();
        Process rm =
            new ProcessBuilder("/bin/sh", "-c", "rm -rf " + shellQuote(certs.toString()) + "/*")
                .redirectErrorStream(true)
                .start();
        String rmOut;
        try (InputStream in = rm.getInputStream()) {
          rmOut = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        assertTrue(rm.waitFor(10, TimeUnit.SECONDS), "rm did not finish");
        long rmDone = System.nanoTime();
        boolean goneAtRmExit = !Files.exists(hosts);
        long deadline = rmDone + CONVERGE.toNanos();
        while (!java.util.Arrays.equals(readOrNull(hosts), want)) {
          checkAgent();
          if (System.nanoTime() > deadline) {
            fail("hosts.toml not restored within " + CONVERGE + " (resync is " + RESYNC + ")");
          }
          LockSupport.parkNanos(100_000);
        }
        long back = System.nanoTime();
        long allBack = awaitConverged();
        double afterRm = Math.max(0, back - rmDone) / 1e6;
        backAfterRm.add(afterRm);
        wipes.add(
            String.format(
                "rm %.1f ms exit %d%s, hosts.toml back +%.1f ms after rm exit (%.1f ms after"
                    + " rm start, gone at rm exit: %s), all files +%d ms",
                (rmDone - t0) / 1e6,
                rm.exitValue(),
                rmOut.contains("Directory not empty")
                    ? " (agent refilled a directory rm was emptying)"
                    : "",
                afterRm,
                (back - t0) / 1e6,
                goneAtRmExit,
                allBack));
      }
      wipes.forEach(w -> System.out.printf("[agent-lab] containerd %s: wipe: %s%n", v(), w));
      pullOk(
          HUB_IMAGE,
          e ->
              e.path().equals(MANIFEST_PATH)
                  && e.uri().contains("ns=docker.io")
                  && e.status() == 200,
          "?ns=docker.io");

      // A hand edit (in place, as an editor without rename would do) is reverted.
      long t1 = System.nanoTime();
      Files.writeString(
          hosts, "server = \"https://registry-1.docker.io\"\n", StandardCharsets.UTF_8);
      long deadline2 = System.nanoTime() + CONVERGE.toNanos();
      while (!java.util.Arrays.equals(readOrNull(hosts), want)) {
        checkAgent();
        if (System.nanoTime() > deadline2) {
          fail("hand-edited hosts.toml not reverted within " + CONVERGE);
        }
        LockSupport.parkNanos(100_000);
      }
      double revert = (System.nanoTime() - t1) / 1e6;
      System.out.printf(
          "[agent-lab] containerd %s: hand edit reverted after %.1f ms%n", v(), revert);
      pullOk(
          HUB_IMAGE,
          e ->
              e.path().equals(MANIFEST_PATH)
                  && e.uri().contains("ns=docker.io")
                  && e.status() == 200,
          "?ns=docker.io");
      List<Double> sorted = backAfterRm.stream().sorted().collect(Collectors.toList());
      figure(
          String.format(
              "c. 5 wipes (rm -rf certs.d/*, 2 host dirs): hosts.toml back min/median/max"
                  + " %.1f/%.1f/%.1f ms after rm exited; hand edit reverted in %.1f ms (resync %ds)",
              sorted.get(0), sorted.get(2), sorted.get(4), revert, RESYNC.toSeconds()));
    }

    void catchAllMirror() throws Exception {
      agent();
      setPolicy(policy(hubMirror(registry.url(), null), catchAll(registry.url())));
      awaitConverged();
      String toml = Files.readString(certs.resolve("_default/hosts.toml"), StandardCharsets.UTF_8);
      assertFalse(toml.contains("server ="), () -> "_default has no server of its own:\n" + toml);
      List<AccessLogEntry> fresh =
          pullOk(QUAY_IMAGE, e -> e.path().equals(MANIFEST_PATH) && e.status() == 200, "manifest");
      List<String> ns =
          fresh.stream()
              .filter(e -> e.path().equals(MANIFEST_PATH))
              .map(e -> e.uri().substring(e.path().length()))
              .distinct()
              .collect(Collectors.toList());
      assertTrue(
          fresh.stream()
              .anyMatch(e -> e.path().equals(MANIFEST_PATH) && e.uri().contains("ns=quay.io")),
          () -> "expected ?ns=quay.io, got " + fresh);
      figure(
          "d. _default: quay.io pull hit the mirror with query "
              + ns
              + "; requests: "
              + summarize(fresh));
    }

    void directHostPort() throws Exception {
      agent();
      setPolicy(policy(direct(registry.hostPort())));
      awaitConverged();
      String toml =
          Files.readString(
              certs.resolve(registry.hostPort()).resolve(NodePlan.HOSTS_TOML),
              StandardCharsets.UTF_8);
      assertTrue(toml.contains("server = \"" + registry.url() + "\""), toml);
      assertTrue(toml.contains("[host.\"" + registry.url() + "\"]"), toml);
      assertTrue(toml.contains("\n[header]\n"), () -> "root header expected:\n" + toml);
      List<AccessLogEntry> fresh =
          pullOk(
              directImage(), e -> e.path().equals(MANIFEST_PATH) && e.status() == 200, "manifest");
      List<String> queries =
          fresh.stream()
              .filter(e -> e.path().equals(MANIFEST_PATH))
              .map(e -> e.uri().substring(e.path().length()))
              .distinct()
              .collect(Collectors.toList());

      // The same file with a wrong password: how often is the registry asked (host table + server)?
      setPassword("not-the-password");
      awaitConverged();
      int before = registry.accessLog().size();
      PullResult r = freshPull(directImage());
      assertTrue(r.failedWith(DENIED), () -> "expected '" + DENIED + "', got " + r);
      List<AccessLogEntry> refused = awaitNew(registry::accessLog, before, e -> e.status() == 401);
      sleepMs(200); // let late access-log lines arrive before counting
      refused = registry.accessLog().subList(before, registry.accessLog().size());
      long manifest401 =
          refused.stream().filter(e -> e.path().equals(MANIFEST_PATH) && e.status() == 401).count();
      setPassword(RegistryLab.PASSWORD);
      awaitConverged();
      figure(
          "d. host:port direct: pulled "
              + directImage()
              + " (manifest query "
              + queries
              + "); wrong password"
              + " -> "
              + manifest401
              + " manifest 401s, requests "
              + summarize(refused)
              + "; error: "
              + r.description());
    }

    /**
     * A dead mirror (refused at once). containerd reports the first host's error on every version,
     * so whether the upstream was tried shows in the daemon's log ("trying next host" with the
     * proxy guard's refusal), not in the CRI status.
     */
    void upstreamNeverVersusFallback() throws Exception {
      agent();
      String dead = "https://127.0.0.1:" + closedPort.getLocalPort();
      String guard = "127.0.0.1:" + ctrd.guardPort();

      setPolicy(policy(hubMirror(dead, "Fallback")));
      awaitConverged();
      int from = ctrd.log().length();
      PullResult fallback = freshPull(HUB_IMAGE);
      assertFalse(fallback.ok(), fallback::toString);
      assertTrue(
          fallback.description().contains(dead.substring("https://".length())),
          () -> "Fallback: the mirror is tried first: " + fallback);
      String fallbackLog = awaitLog(from, "proxyconnect");
      assertTrue(
          fallbackLog.contains("proxyconnect")
              && fallbackLog.contains(guard)
              && fallbackLog.contains("registry-1.docker.io"),
          () ->
              "Fallback: expected the upstream attempt to hit the proxy guard "
                  + guard
                  + "; status "
                  + fallback
                  + "; daemon log since the pull:\n"
                  + fallbackLog);

      setPolicy(policy(hubMirror(dead, "Never")));
      awaitConverged();
      String toml = Files.readString(certs.resolve("docker.io/hosts.toml"), StandardCharsets.UTF_8);
      assertFalse(
          toml.contains("registry-1.docker.io"),
          () -> "Never must not name the upstream:\n" + toml);
      from = ctrd.log().length();
      PullResult never = freshPull(HUB_IMAGE);
      assertFalse(never.ok(), () -> "the mirror is dead, the pull cannot succeed: " + never);
      assertTrue(never.code() != Status.Code.DEADLINE_EXCEEDED, never::toString);
      assertFalse(
          never.description().contains("proxyconnect"),
          () -> "Never: the upstream was contacted: " + never);
      assertFalse(never.description().contains("registry-1.docker.io"), never::toString);
      String neverLog = awaitLog(from, "connection refused");
      assertTrue(
          neverLog.contains("connection refused"),
          () -> "the mirror's refusal is not in the daemon log:\n" + neverLog);
      assertFalse(
          neverLog.contains("proxyconnect") || neverLog.contains("registry-1.docker.io"),
          () -> "Never: the daemon log shows an upstream attempt:\n" + neverLog);
      // Requests per host, from the daemon's debug lines: the root server of a Never file is the
      // first mirror again, so containerd tries it twice (the [host] table, then the server).
      String mirrorReq = "msg=\"do request\" host=\"" + dead.substring("https://".length()) + "\"";
      String upstreamReq = "msg=\"do request\" host=registry-1.docker.io";
      figure(
          "e. Fallback -> "
              + fallback.code()
              + " in "
              + fallback.elapsed().toMillis()
              + " ms; CRI error names"
              + " the mirror only; daemon log: "
              + countMatches(fallbackLog, mirrorReq)
              + " mirror + "
              + countMatches(fallbackLog, upstreamReq)
              + " upstream requests, the upstream one refused by the"
              + " guard. Never -> "
              + never.code()
              + " in "
              + never.elapsed().toMillis()
              + " ms; daemon log: "
              + countMatches(neverLog, mirrorReq)
              + " mirror + "
              + countMatches(neverLog, upstreamReq)
              + " upstream requests: "
              + never.description());
    }

    /**
     * The daemon log written since offset {@code from}, waiting up to 10 s for {@code expected} to
     * appear.
     */
    String awaitLog(int from, String expected) {
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      String part;
      do {
        String all = ctrd.log();
        part = all.substring(Math.min(from, all.length()));
        if (part.contains(expected)) {
          return part;
        }
        sleepMs(20);
      } while (System.nanoTime() < deadline);
      return part;
    }

    void tokenMirror() throws Exception {
      agent();
      setPolicy(policy(hubMirror(registry.tokenRegistryUrl(), null)));
      awaitConverged();
      registry.tokenServer().clearRequests();
      int before = registry.tokenRegistryAccessLog().size();
      PullResult r = freshPull(HUB_IMAGE);
      assertTrue(
          r.ok(),
          () ->
              "pull through the token registry failed: "
                  + r
                  + "\ntoken requests: "
                  + registry.tokenServer().requests()
                  + "\n"
                  + ctrd.logTail(25));
      assertTrue(
          registry.tokenServer().requests().stream()
              .anyMatch(q -> q.status() == 200 && "Basic".equals(q.authKind())),
          () ->
              "token server saw no Basic-authenticated request: "
                  + registry.tokenServer().requests());
      List<AccessLogEntry> fresh =
          awaitNew(
              registry::tokenRegistryAccessLog,
              before,
              e ->
                  e.path().equals(MANIFEST_PATH)
                      && e.uri().contains("ns=docker.io")
                      && e.status() == 200);
      assertTrue(
          fresh.stream()
              .anyMatch(
                  e ->
                      e.path().equals(MANIFEST_PATH)
                          && e.uri().contains("ns=docker.io")
                          && e.status() == 200),
          () -> "token registry log: " + fresh);
      figure(
          "f. token mirror: pulled in "
              + r.elapsed().toMillis()
              + " ms; token requests "
              + registry.tokenServer().requests().stream()
                  .map(q -> q.method() + " " + q.authKind() + " " + q.status())
                  .collect(Collectors.toList()));
    }

    void invalidPolicyKeepsLastGood() throws Exception {
      agent();
      String good = labMirrorPolicy();
      setPolicy(good);
      awaitConverged();
      Map<String, Object> before = identities();
      String typo = good.replace("    mirrors:\n", "    mirrorz:\n");
      assertFalse(typo.equals(good));
      setPolicy(typo);
      long t0 = System.nanoTime();
      await(
          () ->
              agent.problems().stream().anyMatch(p -> p.kind().equals(AgentProblem.POLICY_INVALID)),
          CONVERGE,
          "the agent to report the invalid policy");
      long reported = ms(t0);
      String problems =
          agent.problems().stream()
              .map(AgentProblem::detail)
              .collect(java.util.stream.Collectors.joining("; "));
      assertTrue(problems.contains("mirrorz"), problems);
      assertEquals(before, identities(), "an invalid policy changed certs.d");
      pullOk(
          HUB_IMAGE,
          e ->
              e.path().equals(MANIFEST_PATH)
                  && e.uri().contains("ns=docker.io")
                  && e.status() == 200,
          "?ns=docker.io");

      setPolicy(good);
      await(() -> agent.problems().isEmpty(), CONVERGE, "the problem to clear");
      awaitConverged();
      assertEquals(before, identities(), "restoring the same good policy rewrote files");
      figure("g. invalid policy reported in " + reported + " ms, files untouched: " + problems);
    }

    void stop() throws Exception {
      if (agent != null) {
        agent.close();
        agentThread.interrupt();
        agentThread.join(5000);
        assertFalse(agentThread.isAlive(), "agent thread still running after close");
        Throwable t = agentError.get();
        if (t != null) {
          throw new AssertionError("the agent thread failed", t);
        }
      }
      try (Stream<Path> walk = Files.walk(certs)) {
        List<Path> temps =
            walk.filter(p -> AtomicFiles.isTemp(p.getFileName().toString()))
                .collect(Collectors.toList());
        assertTrue(temps.isEmpty(), () -> "temp files left: " + temps);
      }
      close();
    }

    // ---- helpers -------------------------------------------------------------------

    /** File identity (inode, mtime, content) of every file under certs.d. */
    Map<String, Object> identities() throws IOException {
      Map<String, Object> out = new LinkedHashMap<>();
      try (Stream<Path> walk = Files.walk(certs)) {
        for (Path p : walk.sorted().collect(Collectors.toList())) {
          if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a =
                Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            out.put(
                certs.relativize(p).toString(),
                List.of(
                    String.valueOf(a.fileKey()),
                    a.lastModifiedTime().toString(),
                    NodePlan.sha8(Files.readAllBytes(p))));
          }
        }
      }
      return out;
    }

    void figure(String s) {
      String line = "containerd " + v() + " | " + s;
      System.out.println("[agent-lab] " + line);
      figures.add(line);
    }

    @Override
    public void close() {
      if (agent != null) {
        try {
          agent.close();
        } catch (IOException e) {
          // closing anyway
        }
        agentThread.interrupt();
        try {
          agentThread.join(5000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        agent = null;
      }
      if (ctrd != null) {
        ctrd.close();
        ctrd = null;
      }
    }
  }

  // ---------------------------------------------------------------------------------

  private static List<AccessLogEntry> awaitNew(
      java.util.function.Supplier<List<AccessLogEntry>> log,
      int from,
      Predicate<AccessLogEntry> match) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    List<AccessLogEntry> fresh;
    do {
      List<AccessLogEntry> all = log.get();
      fresh = all.subList(Math.min(from, all.size()), all.size());
      if (fresh.stream().anyMatch(match)) {
        return new ArrayList<>(fresh);
      }
      sleepMs(20);
    } while (System.nanoTime() < deadline);
    return new ArrayList<>(fresh);
  }

  private static String summarize(List<AccessLogEntry> entries) {
    return entries.stream()
        .map(
            e ->
                e.method()
                    + " "
                    + e.uri().replaceAll("sha256:[0-9a-f]{64}", "sha256:…")
                    + " "
                    + e.status())
        .collect(Collectors.toList())
        .toString();
  }

  private static void await(BooleanSupplier condition, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out after " + timeout + " waiting for " + what);
      }
      LockSupport.parkNanos(1_000_000);
    }
  }

  /** Writes a file the way kubelet updates a mount: a temp file, then a rename over the name. */
  private static void put(Path dir, String name, byte[] content) throws IOException {
    Path tmp = dir.resolve(".test-" + name + ".tmp");
    Files.write(tmp, content);
    Files.move(
        tmp,
        dir.resolve(name),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  private static byte[] readOrNull(Path p) throws IOException {
    try {
      return Files.readAllBytes(p);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private static long countMatches(String text, String needle) {
    long n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length())) {
      n++;
    }
    return n;
  }

  private static String shellQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  private static void sleepMs(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  // best effort
                }
              });
    } catch (IOException e) {
      // best effort
    }
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
