package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.moandjiezana.toml.Toml;
import dev.registrypolicy.agent.NodePlan.FileSpec;
import dev.registrypolicy.agent.NodePlan.HostDir;
import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.policy.PolicyDocument;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent is killed with SIGKILL at random points while it rewrites ~20 hosts.toml files, over
 * and over, while a reader keeps reading every file the way containerd does on each pull. The
 * reader must never see an empty, truncated or unparsable hosts.toml, nor one that is neither the
 * old nor the new version, nor a hosts.toml that was there and then vanished. A final normal run
 * must converge and clean up the temp files the kills left behind.
 *
 * <p>The agent runs as a separate JVM ({@code AgentMain --once}) so that a kill is a real process
 * death. The random kill delay (seeded) is counted from the agent's {@code policy loaded} log line,
 * which comes right before it starts writing, so that kills land in the write phase rather than in
 * JVM start-up.
 */
class CrashSafetyTest {
  private static final int HOSTS = 20;
  private static final int ROUNDS = 40;
  private static final int MAX_DELAY_MS = 150;
  private static final long SEED = Long.getLong("rp.crash.seed", 20_261_122L);

  @TempDir Path tmp;

  private Path certs;
  private Path bundle;
  private Path policyFile;
  private String childClassPath;

  @Test
  void killedAgentNeverLeavesABrokenHostsToml() throws Exception {
    assumeTrue(
        System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux"),
        "crash test needs Linux (SIGKILL via Process.destroyForcibly, rename semantics)");
    childClassPath = snapshotClassPath(tmp.resolve("classpath"));
    certs = Files.createDirectories(tmp.resolve("certs.d")); // as the DaemonSet's hostPath does
    bundle = tmp.resolve("bundle");
    policyFile = tmp.resolve("policy").resolve("policy.yaml");
    Files.createDirectories(policyFile.getParent());
    Files.createDirectories(bundle);
    Fixtures.put(bundle, "crash-ca_a.crt", Fixtures.CA_PEM);
    Fixtures.put(bundle, "crash-ca_b.crt", Fixtures.CA2_PEM);
    Fixtures.put(bundle, "crash-basic_username", "crashuser");
    Fixtures.put(bundle, "crash-basic_password", "crash-pass");

    String nodeCerts = certs.toAbsolutePath().normalize().toString();
    String[] policies = {policy('a'), policy('b')};
    Plan[] plans = new Plan[2];
    for (int v = 0; v < 2; v++) {
      plans[v] =
          NodePlan.plan(
              PolicyDocument.parse(policies[v]), SecretStore.directory(bundle), nodeCerts);
      assertEquals(HOSTS, plans[v].dirs().size());
    }
    List<String> hosts = new ArrayList<>(plans[0].dirs().keySet());
    for (String h : hosts) {
      assertTrue(
          !Arrays.equals(hostsToml(plans[0], h), hostsToml(plans[1], h)),
          "both versions change " + h);
    }

    // Start from a converged version 0 (a normal run, timed).
    setPolicy(policies[0]);
    Run first = runToEnd();
    assertEquals(0, first.exit, () -> "first normal run failed:\n" + first.stderr);
    System.out.printf(
        "[crash] normal run: JVM start to 'policy loaded' %d ms, writing to exit %d ms, %d files written%n",
        first.loadedMs, first.writeMs, first.wrote);

    Reader reader = new Reader(hosts, plans);
    Thread readerThread = new Thread(reader, "hosts-toml-reader");
    readerThread.setDaemon(true);
    readerThread.start();

    Random random = new Random(SEED);
    int aliveAtKill = 0;
    int midWrite = 0;
    int beforeWrite = 0;
    int afterWrite = 0;
    int exitedBeforeKill = 0;
    int roundsWithTemps = 0;
    int tempsSeen = 0;
    long startedAt = System.nanoTime();
    int version = 0;
    try {
      for (int round = 0; round < ROUNDS; round++) {
        version = 1 - version;
        int target = version;
        int needed =
            (int) hosts.stream().filter(h -> !onDisk(h, hostsToml(plans[target], h))).count();
        setPolicy(policies[target]);
        java.util.Map<String, String> filesBefore = snapshot();
        int delay = random.nextInt(MAX_DELAY_MS + 1);
        Kill k = runAndKill(delay);
        java.util.Map<String, String> filesAfter = snapshot();
        int done = (int) hosts.stream().filter(h -> onDisk(h, hostsToml(plans[target], h))).count();
        int changed = done - (HOSTS - needed);
        List<String> newTemps =
            filesAfter.keySet().stream()
                .filter(
                    f ->
                        AtomicFiles.isTemp(Path.of(f).getFileName().toString())
                            && !filesBefore.containsKey(f))
                .collect(Collectors.toList());
        if (!newTemps.isEmpty()) {
          roundsWithTemps++;
          tempsSeen += newTemps.size();
        }
        String phase;
        if (!k.alive) {
          exitedBeforeKill++;
          phase = "exited before the kill";
        } else {
          aliveAtKill++;
          if (filesBefore.equals(filesAfter)) {
            beforeWrite++;
            phase = "killed before writing";
          } else if (changed >= needed && newTemps.isEmpty()) {
            afterWrite++;
            phase = "killed after writing every hosts.toml";
          } else {
            midWrite++;
            phase = "killed mid-write";
          }
        }
        System.out.printf(
            "[crash] round %2d: -> v%d, kill %3d ms after 'policy loaded' (%4d ms after exec), %2d/%2d"
                + " hosts.toml switched, %d temp files left: %s%n",
            round + 1, target, delay, k.sinceExecMs, changed, needed, newTemps.size(), phase);
        assertTrue(reader.failures.isEmpty(), () -> "reader saw a bad file: " + reader.failures);
      }
      long roundsMs = (System.nanoTime() - startedAt) / 1_000_000;

      // A normal run converges and removes the temp files the kills left behind.
      version = 1 - version;
      setPolicy(policies[version]);
      int tempsBeforeFinal = tempFiles().size();
      Run last = runToEnd();
      assertEquals(0, last.exit, () -> "final normal run failed:\n" + last.stderr);
      reader.stop = true;
      readerThread.join(10_000);

      Plan want = plans[version];
      for (HostDir hd : want.dirs().values()) {
        Path d = certs.resolve(hd.name());
        TreeSet<String> names = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
          ds.forEach(p -> names.add(p.getFileName().toString()));
        }
        assertEquals(hd.files().keySet(), names, "files in " + hd.name() + " after the final run");
        for (java.util.Map.Entry<String, FileSpec> f : hd.files().entrySet()) {
          assertTrue(
              f.getValue().sameContent(Files.readAllBytes(d.resolve(f.getKey()))),
              hd.name() + "/" + f.getKey() + " differs from the plan after the final run");
        }
      }
      List<Path> leftovers = tempFiles();
      assertTrue(leftovers.isEmpty(), () -> "temp files left after the final run: " + leftovers);

      System.out.printf(
          "[crash] seed %d, %d rounds in %d ms: %d kills with the agent alive (%d mid-write, %d before"
              + " writing, %d after writing), %d runs exited before their kill; %d rounds left %d new temp files;"
              + " %d temp files before the final run, 0 after it (it wrote %d files in %d ms)%n",
          SEED,
          ROUNDS,
          roundsMs,
          aliveAtKill,
          midWrite,
          beforeWrite,
          afterWrite,
          exitedBeforeKill,
          roundsWithTemps,
          tempsSeen,
          tempsBeforeFinal,
          last.wrote,
          last.writeMs);
      System.out.printf(
          "[crash] reader: %d hosts.toml reads (%d old/new version switches seen), %d ca/owner file"
              + " reads, 0 bad%n",
          reader.reads.get(), reader.switches.get(), reader.otherReads.get());

      assertTrue(reader.failures.isEmpty(), () -> "reader saw a bad file: " + reader.failures);
      assertTrue(
          reader.reads.get() >= 2000,
          () -> "the reader read only " + reader.reads.get() + " hosts.toml files");
      assertTrue(aliveAtKill >= ROUNDS / 2, "only " + aliveAtKill + " kills found the agent alive");
      assertTrue(midWrite >= 2, "only " + midWrite + " kills landed while the agent was writing");
    } finally {
      reader.stop = true;
    }
  }

  // ---------------------------------------------------------------------------------------

  /**
   * 20 hosts; version a and b differ in every host's mirror, dial timeout and CA (so in every
   * hosts.toml).
   */
  private static String policy(char v) {
    StringBuilder sb = new StringBuilder();
    sb.append("apiVersion: registry-policy.dev/v1alpha1\n")
        .append("kind: RegistryPolicy\n")
        .append("credentials:\n")
        .append("  - {name: crash, secret: crash-basic}\n")
        .append("registries:\n");
    for (int i = 0; i < HOSTS; i++) {
      sb.append(String.format("  - host: reg-%02d.crash.example%n", i));
      sb.append("    mirrors:\n");
      // Loopback, discard port: nothing is contacted (--once does not probe), and if it ever were,
      // it stays local.
      sb.append(String.format("      - url: https://127.0.0.1:9/mirror-%c-%02d%n", v, i));
      sb.append("        dialTimeout: ").append(v == 'a' ? "1s" : "2500ms").append('\n');
      sb.append("        ca: {secret: crash-ca, key: ").append(v).append(".crt}\n");
      if (i % 2 == 0) {
        sb.append("        credentials: crash\n");
      }
    }
    return sb.toString();
  }

  private static byte[] hostsToml(Plan plan, String host) {
    return plan.dirs().get(host).files().get(NodePlan.HOSTS_TOML).content();
  }

  private boolean onDisk(String host, byte[] content) {
    try {
      return Arrays.equals(
          Files.readAllBytes(certs.resolve(host).resolve(NodePlan.HOSTS_TOML)), content);
    } catch (IOException e) {
      return false;
    }
  }

  private void setPolicy(String text) throws IOException {
    Path t = policyFile.resolveSibling(".policy.yaml.tmp");
    Files.writeString(t, text, StandardCharsets.UTF_8);
    Files.move(t, policyFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private List<Path> tempFiles() throws IOException {
    if (!Files.isDirectory(certs)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(certs)) {
      return walk.filter(p -> AtomicFiles.isTemp(p.getFileName().toString()))
          .collect(Collectors.toList());
    }
  }

  // ---- the agent process ------------------------------------------------------------------

  /**
   * This JVM's class path ({@code java.class.path}, expanded when it is surefire's manifest-only
   * jar) with every directory entry (the project's own target/classes and target/test-classes)
   * copied once into {@code into}: the 40 agent JVMs then do not depend on target/ staying intact
   * while another build in the same checkout recompiles it.
   */
  private static String snapshotClassPath(Path into) throws IOException {
    List<Path> entries = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (e.isEmpty()) {
        continue;
      }
      Path p = Path.of(e);
      entries.add(p);
      if (Files.isRegularFile(p) && e.endsWith(".jar")) {
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(p.toFile())) {
          java.util.jar.Manifest mf = jar.getManifest();
          String cp =
              mf == null
                  ? null
                  : mf.getMainAttributes().getValue(java.util.jar.Attributes.Name.CLASS_PATH);
          if (cp != null) {
            for (String u : cp.trim().split("\\s+")) {
              java.net.URI uri = p.toUri().resolve(u);
              if ("file".equals(uri.getScheme())) {
                entries.add(Path.of(uri));
              }
            }
          }
        }
      }
    }
    List<String> out = new ArrayList<>();
    int n = 0;
    for (Path p : entries) {
      if (Files.isDirectory(p)) {
        Path copy = into.resolve(String.valueOf(n++));
        try (Stream<Path> walk = Files.walk(p)) {
          for (Path src : walk.collect(Collectors.toList())) {
            Path dst = copy.resolve(p.relativize(src).toString());
            if (Files.isDirectory(src)) {
              Files.createDirectories(dst);
            } else {
              Files.copy(src, dst);
            }
          }
        }
        out.add(copy.toString());
      } else {
        out.add(p.toString());
      }
    }
    return String.join(java.io.File.pathSeparator, out);
  }

  /** Every file under certs.d with a digest of its content. */
  private java.util.Map<String, String> snapshot() throws IOException {
    java.util.Map<String, String> out = new java.util.TreeMap<>();
    if (!Files.isDirectory(certs)) {
      return out;
    }
    try (Stream<Path> walk = Files.walk(certs)) {
      for (Path p : walk.collect(Collectors.toList())) {
        if (Files.isRegularFile(p)) {
          try {
            out.put(certs.relativize(p).toString(), NodePlan.sha8(Files.readAllBytes(p)));
          } catch (NoSuchFileException e) {
            // gone between listing and reading
          }
        }
      }
    }
    return out;
  }

  private Process startAgent() throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        List.of(
            java,
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Xshare:auto",
            "-cp",
            childClassPath,
            "dev.registrypolicy.agent.AgentMain",
            "--policy",
            policyFile.toString(),
            "--certs-dir",
            certs.toString(),
            "--secrets-dir",
            bundle.toString(),
            "--listen",
            "off",
            "--once");
    return new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
  }

  /**
   * Follows the agent's stderr: counts written files and signals the {@code policy loaded} line.
   */
  private static final class StderrWatch implements Runnable {
    final Process p;
    final CountDownLatch loaded = new CountDownLatch(1);
    final AtomicInteger wrote = new AtomicInteger();
    final StringBuffer text = new StringBuffer();
    volatile long loadedAt;

    StderrWatch(Process p) {
      this.p = p;
    }

    @Override
    public void run() {
      try (BufferedReader r =
          new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (text.length() < 20_000) {
            text.append(line).append('\n');
          }
          if (line.contains("msg=\"policy loaded\"")) {
            loadedAt = System.nanoTime();
            loaded.countDown();
          } else if (line.contains("msg=\"wrote file\"")) {
            wrote.incrementAndGet();
          }
        }
      } catch (IOException e) {
        // the process died; that is the point
      }
    }

    static StderrWatch follow(Process p) {
      StderrWatch w = new StderrWatch(p);
      Thread t = new Thread(w, "agent-stderr");
      t.setDaemon(true);
      t.start();
      return w;
    }
  }

  private record Run(int exit, long loadedMs, long writeMs, int wrote, String stderr) {}

  private Run runToEnd() throws Exception {
    long t0 = System.nanoTime();
    Process p = startAgent();
    try {
      StderrWatch w = StderrWatch.follow(p);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "agent --once did not finish within 60 s");
      long end = System.nanoTime();
      w.loaded.await(5, TimeUnit.SECONDS);
      Thread.sleep(50); // let the stderr follower read the last lines
      long loaded = w.loadedAt == 0 ? end : w.loadedAt;
      return new Run(
          p.exitValue(),
          (loaded - t0) / 1_000_000,
          (end - loaded) / 1_000_000,
          w.wrote.get(),
          w.text.toString());
    } finally {
      p.destroyForcibly();
    }
  }

  private record Kill(boolean alive, long sinceExecMs) {}

  private Kill runAndKill(int delayMs) throws Exception {
    long t0 = System.nanoTime();
    Process p = startAgent();
    try {
      StderrWatch w = StderrWatch.follow(p);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!w.loaded.await(50, TimeUnit.MILLISECONDS)) {
        if (!p.isAlive() || System.nanoTime() > deadline) {
          Thread.sleep(100); // let the follower read the last lines
          throw new AssertionError(
              "agent never logged 'policy loaded' (alive: " + p.isAlive() + "):\n" + w.text);
        }
      }
      long killAt = w.loadedAt + TimeUnit.MILLISECONDS.toNanos(delayMs);
      long wait;
      while ((wait = killAt - System.nanoTime()) > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      boolean alive = p.isAlive();
      long since = (System.nanoTime() - t0) / 1_000_000;
      p.destroyForcibly(); // SIGKILL
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "killed agent did not go away");
      if (!alive) {
        assertEquals(0, p.exitValue(), () -> "agent --once failed:\n" + w.text);
      }
      return new Kill(alive, since);
    } finally {
      p.destroyForcibly();
    }
  }

  // ---- the reader ---------------------------------------------------------------------------

  /**
   * Reads every managed file over and over, as containerd would on each pull, and records anything
   * bad.
   */
  private final class Reader implements Runnable {
    final List<String> hosts;
    final Plan[] plans;
    final boolean[] seen;
    final int[] lastVersion;
    final AtomicLong reads = new AtomicLong();
    final AtomicLong otherReads = new AtomicLong();
    final AtomicLong switches = new AtomicLong();
    final List<String> failures = new CopyOnWriteArrayList<>();
    // What the planner writes for each CA (text outside certificate blocks dropped).
    final byte[][] cas = {
      caFile(Fixtures.CA_PEM), caFile(Fixtures.CA2_PEM),
    };
    volatile boolean stop;

    Reader(List<String> hosts, Plan[] plans) {
      this.hosts = hosts;
      this.plans = plans;
      this.seen = new boolean[hosts.size()];
      this.lastVersion = new int[hosts.size()];
    }

    @Override
    public void run() {
      while (!stop && failures.size() < 20) {
        for (int i = 0; i < hosts.size(); i++) {
          try {
            check(i);
          } catch (IOException | RuntimeException e) {
            failures.add(hosts.get(i) + ": " + e);
          }
        }
      }
    }

    private void check(int i) throws IOException {
      String host = hosts.get(i);
      Path dir = certs.resolve(host);
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(dir.resolve(NodePlan.HOSTS_TOML));
      } catch (NoSuchFileException e) {
        if (seen[i]) {
          failures.add(host + "/hosts.toml vanished after it had been seen");
        }
        return;
      }
      reads.incrementAndGet();
      String text = new String(bytes, StandardCharsets.UTF_8);
      if (bytes.length == 0) {
        failures.add(host + "/hosts.toml is empty");
        return;
      }
      if (!text.startsWith(HostsToml.MARKER_PREFIX)) {
        failures.add(host + "/hosts.toml does not start with the marker line: " + firstLine(text));
        return;
      }
      try {
        new Toml().read(text);
      } catch (RuntimeException e) {
        failures.add(
            host
                + "/hosts.toml does not parse ("
                + e.getMessage()
                + "), "
                + bytes.length
                + " bytes");
        return;
      }
      int version =
          Arrays.equals(bytes, hostsToml(plans[0], host))
              ? 0
              : Arrays.equals(bytes, hostsToml(plans[1], host)) ? 1 : -1;
      if (version < 0) {
        failures.add(
            host
                + "/hosts.toml is neither version ("
                + bytes.length
                + " bytes): truncated or mixed");
        return;
      }
      if (seen[i] && lastVersion[i] != version) {
        switches.incrementAndGet();
      }
      seen[i] = true;
      lastVersion[i] = version;

      // The CA and owner files beside it: never partial either.
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
        for (Path p : ds) {
          String name = p.getFileName().toString();
          byte[] b;
          try {
            b = Files.readAllBytes(p);
          } catch (NoSuchFileException e) {
            continue; // a stale CA removed, or a temp file renamed, between listing and reading
          }
          if (name.startsWith("ca-") && name.endsWith(".crt")) {
            otherReads.incrementAndGet();
            if (!Arrays.equals(b, cas[0]) && !Arrays.equals(b, cas[1])) {
              failures.add(host + "/" + name + " is not a whole CA file (" + b.length + " bytes)");
            }
          } else if (name.equals(NodePlan.OWNER_FILE)) {
            otherReads.incrementAndGet();
            if (!new String(b, StandardCharsets.UTF_8).equals(host + "\n")) {
              failures.add(host + "/" + name + " has unexpected content (" + b.length + " bytes)");
            }
          }
        }
      } catch (NoSuchFileException e) {
        failures.add(host + "/ vanished");
      }
    }
  }

  private static String firstLine(String text) {
    int nl = text.indexOf('\n');
    return nl < 0 ? text : text.substring(0, nl);
  }

  private static byte[] caFile(String pem) {
    try {
      return NodePlan.certificateFile(pem.getBytes(StandardCharsets.UTF_8));
    } catch (Pem.BadPem e) {
      throw new IllegalStateException("test CA is not a certificate", e);
    }
  }
}
