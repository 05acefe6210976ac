package dev.registrypolicy.agent.bench;

import dev.registrypolicy.agent.BenchAccess;
import dev.registrypolicy.policy.bench.BenchArgs;
import dev.registrypolicy.policy.bench.ProcInfo;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Benchmark harness for the node agent, run against the shaded jar as separate JVMs, as a node runs
 * it.
 *
 * <ul>
 *   <li>{@code reassert}: 10 hosts, daemon with {@code --resync 300s} so only the file-system
 *       watches can repair; {@code rm -rf certs.d/*} N times, time until every hosts.toml is back
 *       and right.
 *   <li>{@code rss}: 50 hosts, metrics endpoint on; startup to first complete write, RSS/HWM after
 *       steady state and 100 scrapes each of /metrics and /healthz, CPU used in an idle window;
 *       with the production JVM flags and with the JVM's defaults.
 *   <li>{@code scale}: 200 hosts; {@code --once} on an empty certs.d (wall time, files written),
 *       then a second {@code --once} that must write nothing; plus plan and apply timed in-process.
 * </ul>
 *
 * <p>Run from the repository root: {@code mvn -q -Pbench -DskipTests -pl agent -am verify} (all),
 * or with {@code -Dbench.args="reassert iterations=20"}. Arguments: benchmark names ({@code
 * reassert}, {@code rss}, {@code scale}, {@code all}) and {@code key=value} settings, see {@link
 * Settings}. Everything is written under one temp directory ({@code tmp=DIR}, default
 * java.io.tmpdir), removed at the end. Every write the agent makes is fsynced, so figures on a disk
 * follow the disk's fsync latency and whatever else writes to it; reassert therefore runs a second
 * time on tmpfs ({@code tmpfs=false} skips it) to show the agent's own share. The machine table
 * gives the cost of one such write and the load average. Wrong results exit non-zero; missed
 * targets only with {@code strict=true}.
 */
public final class AgentBench {
  /**
   * The JVM options on the DaemonSet's command line (manifests/agent-daemonset.yaml; a test keeps
   * them equal).
   */
  public static final List<String> PRODUCTION_FLAGS =
      List.of(
          "-Xmx32m",
          "-XX:+UseSerialGC",
          "-Xss256k",
          "-XX:TieredStopAtLevel=1",
          "-XX:ReservedCodeCacheSize=16m",
          "-Xms4m",
          "-Xmn2m",
          "-XX:MaxMetaspaceSize=48m",
          "-XX:TrimNativeHeapInterval=5000",
          "-XX:+ExitOnOutOfMemoryError",
          "-XX:-UsePerfData");

  private static final Pattern LISTEN_LINE =
      Pattern.compile("msg=\"serving health and metrics\" address=\\S+:(\\d+)");
  private static final String WROTE = "msg=\"wrote file\"";

  /** Settings, each overridable as {@code key=value} on the command line. */
  static final class Settings {
    int iterations = 100;
    int reassertHosts = 10;
    int rssHosts = 50;
    int scaleHosts = 200;
    int steadySeconds = 20;
    int idleSeconds = 30;
    int scrapes = 100;
    int onceRuns = 5;
    int apiAgents = 50;
    int apiHosts = 10;
    int readyRuns = 20;
    int readyHosts = 50;
    long pollMicros = 500;
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path jar;
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    boolean keep;

    /** Whether rss also runs the agent with the JVM's default settings, for comparison. */
    boolean defaults = true;

    /**
     * JVM options added after the production flags, comma-separated (for trying a change to them).
     */
    List<String> addFlags = List.of();

    /** Whether reassert also runs with certs.d on tmpfs (/dev/shm), where fsync costs nothing. */
    boolean tmpfs = true;

    /** Whether a missed target (not only a wrong result) makes the run exit non-zero. */
    boolean strict;

    void set(String key, String value) {
      switch (key) {
        case "iterations":
          iterations = Integer.parseInt(value);
          break;
        case "reassert-hosts":
          reassertHosts = Integer.parseInt(value);
          break;
        case "rss-hosts":
          rssHosts = Integer.parseInt(value);
          break;
        case "scale-hosts":
          scaleHosts = Integer.parseInt(value);
          break;
        case "steady":
          steadySeconds = Integer.parseInt(value);
          break;
        case "idle":
          idleSeconds = Integer.parseInt(value);
          break;
        case "scrapes":
          scrapes = Integer.parseInt(value);
          break;
        case "api-agents":
          apiAgents = Integer.parseInt(value);
          break;
        case "api-hosts":
          apiHosts = Integer.parseInt(value);
          break;
        case "ready-runs":
          readyRuns = Integer.parseInt(value);
          break;
        case "ready-hosts":
          readyHosts = Integer.parseInt(value);
          break;
        case "once-runs":
          onceRuns = Integer.parseInt(value);
          break;
        case "poll-us":
          pollMicros = Long.parseLong(value);
          break;
        case "java":
          java = value;
          break;
        case "jar":
          jar = Path.of(value);
          break;
        case "tmp":
          tmp = Path.of(value);
          break;
        case "keep":
          keep = Boolean.parseBoolean(value);
          break;
        case "tmpfs":
          tmpfs = Boolean.parseBoolean(value);
          break;
        case "add-flags":
          addFlags = List.of(value.split("[,;]"));
          break;
        case "defaults":
          defaults = Boolean.parseBoolean(value);
          break;
        case "strict":
          strict = Boolean.parseBoolean(value);
          break;
        default:
          throw new IllegalArgumentException("unknown setting " + key);
      }
    }
  }

  /** One line of the results table. */
  record Row(String bench, String metric, String value, String note) {}

  private final Settings s;
  private final Path root;
  private final List<Row> rows = new ArrayList<>();

  /**
   * Wrong results: files missing or wrong, repairs that never came, rewrites that should not
   * happen.
   */
  private final List<String> failures = new ArrayList<>();

  /** Performance targets not met. */
  private final List<String> misses = new ArrayList<>();

  private AgentBench(Settings s, Path root) {
    this.s = s;
    this.root = root;
  }

  public static void main(String[] args) throws Exception {
    Settings s = new Settings();
    Set<String> benches =
        BenchArgs.parse(
            args,
            List.of("reassert", "rss", "scale", "api", "ready"),
            s::set,
            "usage: AgentBench [reassert] [rss] [scale] [api] [ready] [all] [key=value ...]\n"
                + "keys: iterations reassert-hosts rss-hosts scale-hosts steady idle scrapes once-runs poll-us java jar tmp keep"
                + " api-agents api-hosts ready-runs ready-hosts"
                + " strict tmpfs defaults add-flags");
    if (benches == null) {
      return;
    }
    s.jar = findJar(s.jar);
    Path root = Files.createTempDirectory(s.tmp, "registry-policy-bench-");
    Thread cleaner = new Thread(() -> deleteQuietly(root), "bench-temp-cleaner");
    if (!s.keep) {
      Runtime.getRuntime().addShutdownHook(cleaner);
    }
    AgentBench b = new AgentBench(s, root);
    Map<String, String> machine;
    try {
      // A private copy: a rebuild of target/ while the benchmark runs must not change what it
      // measures.
      Path jar = Files.copy(s.jar, root.resolve(s.jar.getFileName()));
      log("jar " + s.jar + " (copied to " + jar + "), java " + s.java);
      s.jar = jar;
      preload(root);
      machine = Machine.describe(s.java, root);
      for (String name : benches) {
        String loadBefore = ProcInfo.loadAverage();
        try {
          switch (name) {
            case "reassert":
              b.reassert();
              break;
            case "rss":
              b.rss();
              break;
            case "api":
              b.api();
              break;
            case "ready":
              b.ready();
              break;
            default:
              b.scale();
              break;
          }
        } catch (Exception | AssertionError e) {
          // One benchmark failing does not hide the others' figures.
          b.failures.add(name + " aborted: " + e);
          e.printStackTrace();
        }
        b.add(
            name,
            "load average (1/5/15 min) before / after",
            loadBefore + " / " + ProcInfo.loadAverage(),
            "other work on the machine; " + Runtime.getRuntime().availableProcessors() + " CPUs");
      }
    } finally {
      if (!s.keep) {
        deleteQuietly(root);
        Runtime.getRuntime().removeShutdownHook(cleaner);
      } else {
        log("kept " + root);
      }
    }
    b.print(machine);
    if (!b.failures.isEmpty() || (s.strict && !b.misses.isEmpty())) {
      System.exit(1);
    }
  }

  /**
   * Loads every class the harness will need, and runs one small plan and apply in this JVM, so that
   * a rebuild of target/ while the benchmark runs (the work tree may be shared) cannot pull classes
   * from under it.
   */
  private static void preload(Path root) throws Exception {
    for (String c :
        List.of(
            "AgentBench$Row",
            "AgentBench$Setup",
            "AgentProcess",
            "BenchPolicy",
            "CertsTree",
            "CertsTree$1",
            "CertsTree$2",
            "Machine")) {
      Class.forName(AgentBench.class.getPackageName() + "." + c);
    }
    Class.forName(ProcInfo.Memory.class.getName());
    Path d = Files.createDirectories(root.resolve("preload"));
    String text = BenchPolicy.policy(5);
    BenchPolicy.writeBundle(d.resolve("credentials"));
    BenchAccess.plan(text, d.resolve("credentials"), d.resolve("certs.d").toString());
    BenchAccess.planAndApply(text, d.resolve("credentials"), d.resolve("certs.d"));
    parseMetrics("a 1\n");
    deleteQuietly(d);
  }

  private static Path findJar(Path given) {
    List<Path> candidates = new ArrayList<>();
    if (given != null) {
      candidates.add(given);
    }
    String prop = System.getProperty("bench.jar");
    if (prop != null && !prop.isBlank()) {
      candidates.add(Path.of(prop));
    }
    candidates.add(Path.of("target", "registry-policy-agent.jar"));
    candidates.add(Path.of("agent", "target", "registry-policy-agent.jar"));
    for (Path p : candidates) {
      if (Files.isRegularFile(p)) {
        Path jar = p.toAbsolutePath().normalize();
        warnIfStale(jar);
        return jar;
      }
    }
    throw new IllegalStateException(
        "agent jar not found (tried "
            + candidates
            + "); build it first: mvn -q -DskipTests package");
  }

  /** Warns when a main source file is newer than the jar (the figures would be for old code). */
  private static void warnIfStale(Path jar) {
    Path src = jar.getParent().getParent().resolve("src/main/java");
    if (!Files.isDirectory(src)) {
      return;
    }
    try (Stream<Path> files = Files.walk(src)) {
      long jarTime = Files.getLastModifiedTime(jar).toMillis();
      boolean stale =
          files
              .filter(Files::isRegularFile)
              .anyMatch(
                  p -> {
                    try {
                      return Files.getLastModifiedTime(p).toMillis() > jarTime;
                    } catch (IOException e) {
                      return false;
                    }
                  });
      if (stale) {
        log(
            "WARNING: "
                + jar
                + " is older than agent sources; rebuild with mvn -q -DskipTests package");
      }
    } catch (IOException e) {
      // no warning then
    }
  }

  // ---------------------------------------------------------------------------------------------
  // reassert

  private void reassert() throws Exception {
    reassertOn(root, "reassert");
    Path shm = Path.of("/dev/shm");
    if (s.tmpfs && Machine.disk(shm).startsWith("tmpfs") && Files.isWritable(shm)) {
      Path t = Files.createTempDirectory(shm, "registry-policy-bench-");
      try {
        reassertOn(t, "reassert [tmpfs]");
      } finally {
        deleteQuietly(t);
      }
    }
  }

  /**
   * The reassert benchmark with its files under {@code base}; {@code b} names it in the results.
   */
  private void reassertOn(Path base, String b) throws Exception {
    log(
        b
            + ": "
            + s.reassertHosts
            + " hosts, "
            + s.iterations
            + " wipes, --resync 300s (watches only), under "
            + base);
    Setup st = new Setup(Files.createDirectories(base.resolve("reassert")), s.reassertHosts);
    CertsTree tree = st.tree;
    List<String> args = st.agentArgs("--listen", "127.0.0.1:0", "--resync", "300s");
    try (AgentProcess a =
        AgentProcess.start(s.java, prod(), s.jar, args, st.dir.resolve("agent.log"))) {
      int port = Integer.parseInt(a.awaitLog(LISTEN_LINE, Duration.ofSeconds(30)));
      long done = tree.awaitHostsToml(s.pollMicros * 1000, Duration.ofSeconds(30).toNanos());
      if (done < 0) {
        throw new IllegalStateException(
            "initial write did not complete; log:\n" + AgentProcess.tail(a.logText()));
      }
      check(b, "initial tree", tree.verify());
      Thread.sleep(1000);
      SplittableRandom rnd = new SplittableRandom(7);
      double[] repair = new double[s.iterations];
      double[] fromStart = new double[s.iterations];
      double[] wipeMs = new double[s.iterations];
      int n = 0;
      int timeouts = 0;
      int wipeErrors = 0;
      int treeProblems = 0;
      for (int i = 0; i < s.iterations; i++) {
        Thread.sleep(
            100 + rnd.nextInt(100)); // the agent is idle in its watch poll when the wipe comes
        if (!a.process.isAlive()) {
          throw new IllegalStateException(
              b
                  + ": agent exited with "
                  + a.process.exitValue()
                  + "; log:\n"
                  + AgentProcess.tail(a.logText()));
        }
        List<String> bad = tree.verify();
        if (!bad.isEmpty()) {
          treeProblems++;
          log(b + ": tree wrong before wipe " + i + ": " + bad);
        }
        long t0 = System.nanoTime();
        wipeErrors += tree.wipe();
        long t1 = System.nanoTime();
        long t2 = tree.awaitHostsToml(s.pollMicros * 1000, Duration.ofSeconds(10).toNanos());
        if (t2 < 0) {
          timeouts++;
          log(b + ": wipe " + i + " not repaired within 10 s");
          continue;
        }
        repair[n] = (t2 - t1) / 1e6;
        fromStart[n] = (t2 - t0) / 1e6;
        wipeMs[n] = (t1 - t0) / 1e6;
        n++;
      }
      Thread.sleep(500);
      check(b, "final tree", tree.verify());
      Map<String, Double> m = scrapeMetrics(port);
      int driftLines = a.countLines("reason=drift");
      if (n == 0) {
        failures.add(b + ": no wipe was repaired (" + timeouts + " timeouts)");
        return;
      }
      repair = Arrays.copyOf(repair, n);
      fromStart = Arrays.copyOf(fromStart, n);
      wipeMs = Arrays.copyOf(wipeMs, n);
      double[] sorted = repair.clone();
      Arrays.sort(sorted);
      String p = pct(sorted);
      add(
          b,
          "repair after rm -rf, all " + tree.hostCount() + " hosts.toml right (p50/p90/p99/max)",
          p,
          "n="
              + n
              + ", from the wipe's end"
              + (b.contains("tmpfs") ? "; no disk cost" : "; target p99 < 250 ms"));
      double[] fs = fromStart.clone();
      Arrays.sort(fs);
      add(b, "same, from the wipe's start (p50/p90/p99/max)", pct(fs), "");
      double[] ws = wipeMs.clone();
      Arrays.sort(ws);
      add(
          b,
          "the wipe itself (p50/max)",
          ms(ws[ws.length / 2]) + " / " + ms(ws[ws.length - 1]),
          "");
      add(
          b,
          "first wipe / mean of all",
          ms(repair[0]) + " / " + ms(mean(repair)),
          "the first pass after start runs colder code");
      add(
          b,
          "files per wipe (planned) / drift rewrites logged",
          tree.expectedFileCount() + " / " + driftLines,
          "expected " + tree.expectedFileCount() * n);
      add(
          b,
          "reconcile passes (metric)",
          fmt0(m.getOrDefault("registry_policy_agent_reconciles_total", -1.0)),
          "for " + n + " wipes; 1 start pass included");
      add(
          b,
          "timeouts / rm errors / wrong trees",
          timeouts + " / " + wipeErrors + " / " + treeProblems,
          "");
      if (timeouts > 0 || treeProblems > 0) {
        failures.add(b + ": " + timeouts + " timeouts, " + treeProblems + " wrong trees");
      }
      if (at(sorted, 99) >= 250) {
        misses.add(b + ": p99 " + ms(at(sorted, 99)) + " >= 250 ms");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // rss

  private void rss() throws Exception {
    rssRun(
        s.addFlags.isEmpty()
            ? "production flags"
            : "production flags + " + String.join(" ", s.addFlags),
        prod());
    try (ApiServer api = new ApiServer(root.resolve("rss-api"), s.rssHosts)) {
      rssRun(
          "production flags, fast path on (watching the in-process API)", prod(), api.env("rss"));
    }
    if (s.defaults) {
      rssRun("JVM defaults", List.of());
    }
  }

  private void rssRun(String label, List<String> flags) throws Exception {
    rssRun(label, flags, Map.of());
  }

  private void rssRun(String label, List<String> flags, Map<String, String> env) throws Exception {
    log(
        "rss ["
            + label
            + "]: "
            + s.rssHosts
            + " hosts, "
            + s.steadySeconds
            + " s steady, "
            + s.scrapes
            + " scrapes each of /metrics and /healthz, "
            + s.idleSeconds
            + " s idle");
    Setup st =
        setup(
            "rss-" + (flags.isEmpty() ? "default" : env.isEmpty() ? "prod" : "prod-api"),
            s.rssHosts);
    List<String> args = st.agentArgs("--listen", "127.0.0.1:0", "--resync", "60s");
    String b = "rss [" + label + "]";
    try (AgentProcess a =
        AgentProcess.start(s.java, flags, s.jar, args, st.dir.resolve("agent.log"), env)) {
      long done = st.tree.awaitHostsToml(s.pollMicros * 1000, Duration.ofSeconds(60).toNanos());
      if (done < 0) {
        throw new IllegalStateException(
            "initial write did not complete; log:\n" + AgentProcess.tail(a.logText()));
      }
      double startupMs = (done - a.startNanos) / 1e6;
      ProcInfo.Memory afterFirst = ProcInfo.memory(a.pid());
      int port = Integer.parseInt(a.awaitLog(LISTEN_LINE, Duration.ofSeconds(30)));
      check(b, "tree after first write", st.tree.verify());
      Thread.sleep(s.steadySeconds * 1000L);

      HttpClient http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(5))
              .build();
      double[] metricsMs = new double[s.scrapes];
      double[] healthMs = new double[s.scrapes];
      int non200 = 0;
      String lastMetrics = "";
      for (int i = 0; i < s.scrapes; i++) {
        long t0 = System.nanoTime();
        HttpResponse<String> r = get(http, port, "/metrics");
        metricsMs[i] = (System.nanoTime() - t0) / 1e6;
        non200 += r.statusCode() == 200 ? 0 : 1;
        lastMetrics = r.body();
        t0 = System.nanoTime();
        HttpResponse<String> h = get(http, port, "/healthz");
        healthMs[i] = (System.nanoTime() - t0) / 1e6;
        non200 += h.statusCode() == 200 ? 0 : 1;
      }
      ProcInfo.Memory afterScrapes = ProcInfo.memory(a.pid());
      Map<String, Double> m0 = parseMetrics(lastMetrics);
      if (m0.getOrDefault("registry_policy_agent_managed_hosts", -1.0) != s.rssHosts) {
        failures.add(
            b + ": managed_hosts metric is " + m0.get("registry_policy_agent_managed_hosts"));
      }

      double rec0 =
          scrapeMetrics(port).getOrDefault("registry_policy_agent_reconciles_total", -1.0);
      long ticks0 = Machine.cpuTicks(a.pid());
      Thread.sleep(s.idleSeconds * 1000L);
      long ticks1 = Machine.cpuTicks(a.pid());
      double rec1 =
          scrapeMetrics(port).getOrDefault("registry_policy_agent_reconciles_total", -1.0);
      ProcInfo.Memory end = ProcInfo.memory(a.pid());
      long hz = Machine.clockTicksPerSecond();
      double idleCpu = (ticks1 - ticks0) / (double) hz;

      Arrays.sort(metricsMs);
      Arrays.sort(healthMs);
      add(
          b,
          "startup: process start to all " + st.tree.hostCount() + " hosts.toml right",
          ms(startupMs),
          "includes JVM start");
      add(b, "RSS right after first write", mib(afterFirst.rssKb()), "");
      add(
          b,
          "VmRSS / VmHWM after " + s.steadySeconds + " s + " + s.scrapes + "x2 scrapes",
          mib(afterScrapes.rssKb()) + " / " + mib(afterScrapes.hwmKb()),
          "anon "
              + mib(afterScrapes.rssAnonKb())
              + ", file "
              + mib(afterScrapes.rssFileKb())
              + ", "
              + afterScrapes.threads()
              + " threads"
              + (flags.isEmpty() ? "" : "; target < 64 MiB"));
      add(b, "VmRSS / VmHWM at end (after idle)", mib(end.rssKb()) + " / " + mib(end.hwmKb()), "");
      add(
          b,
          "idle CPU over " + s.idleSeconds + " s",
          String.format(Locale.ROOT, "%.2f s", idleCpu),
          "clock tick "
              + (1000 / hz)
              + " ms; reconcile passes in window: "
              + fmt0(rec1 - rec0 - 0));
      add(
          b,
          "scrape latency /metrics p50/p99, /healthz p50/p99",
          ms(metricsMs[metricsMs.length / 2])
              + " / "
              + ms(metricsMs[(int) Math.ceil(0.99 * metricsMs.length) - 1])
              + ", "
              + ms(healthMs[healthMs.length / 2])
              + " / "
              + ms(healthMs[(int) Math.ceil(0.99 * healthMs.length) - 1]),
          non200 + " non-200 answers");
      if (non200 > 0) {
        failures.add(b + ": " + non200 + " non-200 answers");
      }
      if (!flags.isEmpty() && afterScrapes.rssKb() >= 64 * 1024) {
        misses.add(b + ": RSS " + mib(afterScrapes.rssKb()) + " >= 64 MiB");
      }
    }
  }

  /**
   * The in-process API server with the product's objects: the policy of {@code hosts} registries
   * and the bundle of {@link BenchPolicy}, RBAC on with the manifests' Role.
   */
  private static final class ApiServer implements AutoCloseable {
    final dev.registrypolicy.agent.ApiLab lab;
    final String policy;
    final Map<String, String> bundle = new java.util.TreeMap<>();

    ApiServer(Path dir, int hosts) throws Exception {
      Files.createDirectories(dir);
      policy = BenchPolicy.policy(hosts);
      Path b = dir.resolve("bundle");
      BenchPolicy.writeBundle(b);
      try (Stream<Path> files = Files.list(b)) {
        for (Path f : files.toList()) {
          bundle.put(f.getFileName().toString(), Files.readString(f));
        }
      }
      lab = new dev.registrypolicy.agent.ApiLab(dir, policy, bundle);
    }

    /** The environment that points an agent process at this server. */
    Map<String, String> env(String node) {
      return Map.of(
          "REGISTRY_POLICY_API_SERVER",
          lab.fake.baseUrl(),
          "REGISTRY_POLICY_API_TOKEN_FILE",
          lab.tokenFile.toString(),
          "NODE_NAME",
          node);
    }

    @Override
    public void close() {
      lab.close();
    }
  }

  /**
   * Policy edit and credential rotation through the API server to every agent's certs.d, measured
   * from the API write (the store's update returns) to the file on disk, with 1 and with {@code
   * api-agents} agents watching. The agents run in this JVM (each its own Agent, certs.d, watch
   * connections and threads, as separate nodes would have): 50 JVMs would need ~3 GiB and 50 JVM
   * starts on a 2-CPU machine, and what is measured is the watch and the pass, not the JVM.
   */
  private void api() throws Exception {
    apiRun(1);
    if (s.apiAgents > 1) {
      apiRun(s.apiAgents);
    }
  }

  private void apiRun(int agents) throws Exception {
    String b = "api [" + agents + " agent" + (agents == 1 ? "" : "s") + "]";
    Path dir = Files.createDirectories(root.resolve("api-" + agents));
    try (ApiServer api = new ApiServer(dir.resolve("server"), s.apiHosts)) {
      Path policyFile = dir.resolve("policy.yaml");
      Files.writeString(policyFile, api.policy);
      Path bundle = dir.resolve("bundle");
      BenchPolicy.writeBundle(bundle);
      List<Path> certs = new ArrayList<>();
      List<BenchAccess.ApiAgent> running = new ArrayList<>();
      try {
        for (int i = 0; i < agents; i++) {
          Path c = Files.createDirectories(dir.resolve("node-" + i).resolve("certs.d"));
          certs.add(c);
          running.add(
              new BenchAccess.ApiAgent(
                  policyFile,
                  bundle,
                  c,
                  URI.create(api.lab.fake.baseUrl()),
                  api.lab.tokenFile,
                  "node-" + i));
        }
        for (BenchAccess.ApiAgent a : running) {
          if (!a.ready()) {
            waitFor(a::ready, Duration.ofSeconds(60), b + ": agent ready");
          }
          waitFor(a::apiHealthy, Duration.ofSeconds(60), b + ": watches listed");
        }
        List<Double> all = new ArrayList<>();
        List<Double> last = new ArrayList<>();
        for (int i = 0; i < s.iterations; i++) {
          String host = "edit-" + i + ".bench.example";
          String text = api.policy + "  - host: " + host + "\n    url: https://" + host + "\n";
          long t0 = System.nanoTime();
          api.lab.setPolicy(text);
          measure(
              certs,
              c -> Files.isRegularFile(c.resolve(host).resolve("hosts.toml")),
              t0,
              all,
              last,
              b);
        }
        report(b, "policy edit (API write) -> hosts.toml on disk", all, last);
        all.clear();
        last.clear();
        String withCredentials = "reg-000.bench.example";
        for (int i = 0; i < s.iterations; i++) {
          String password = "rotated-" + i;
          String header =
              java.util.Base64.getEncoder()
                  .encodeToString(("hubuser:" + password).getBytes(StandardCharsets.UTF_8));
          Map<String, String> next = new java.util.TreeMap<>(api.bundle);
          next.put("hub-basic_password", password);
          next.put("revision", "r" + i);
          long t0 = System.nanoTime();
          api.lab.setBundle(next);
          measure(
              certs,
              c -> {
                try {
                  return Files.readString(c.resolve(withCredentials).resolve("hosts.toml"))
                      .contains(header);
                } catch (IOException e) {
                  return false;
                }
              },
              t0,
              all,
              last,
              b);
        }
        report(b, "credential rotation (bundle Secret write) -> header on disk", all, last);
      } finally {
        for (BenchAccess.ApiAgent a : running) {
          a.close();
        }
      }
    }
  }

  private interface CertsCheck {
    boolean done(Path certs) throws IOException;
  }

  /** Polls every certs.d until each shows the change; adds each agent's latency and the last. */
  private void measure(
      List<Path> certs, CertsCheck check, long t0, List<Double> all, List<Double> last, String b)
      throws Exception {
    boolean[] done = new boolean[certs.size()];
    int left = certs.size();
    long deadline = t0 + Duration.ofSeconds(60).toNanos();
    double max = 0;
    while (left > 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            b + ": " + left + " agents did not apply the change in 60 s");
      }
      for (int j = 0; j < done.length; j++) {
        if (!done[j] && check.done(certs.get(j))) {
          done[j] = true;
          left--;
          double ms = (System.nanoTime() - t0) / 1e6;
          all.add(ms);
          max = Math.max(max, ms);
        }
      }
      if (left > 0 && s.pollMicros > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(s.pollMicros * 1000);
      }
    }
    last.add(max);
  }

  private void report(String b, String what, List<Double> all, List<Double> last) {
    double[] a = all.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double[] l = last.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    add(
        b,
        what + ", every agent: p50/p90/p99/max",
        pct(a),
        a.length + " samples; target p99 < 1 s");
    if (all.size() != last.size()) {
      add(b, what + ", slowest agent per change: p50/p90/p99/max", pct(l), l.length + " changes");
    }
    if (a.length > 0 && at(a, 99) >= 1000) {
      misses.add(b + ": " + what + " p99 " + ms(at(a, 99)) + " >= 1 s");
    }
  }

  private static void waitFor(java.util.function.BooleanSupplier c, Duration max, String what)
      throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    while (!c.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException(what + ": not within " + max.toSeconds() + " s");
      }
      Thread.sleep(5);
    }
  }

  /**
   * Agent start to Ready: a new agent JVM with the DaemonSet's flags and the fast path on ({@code
   * ready-hosts} registries), from the process start to the first 200 from /readyz, {@code
   * ready-runs} times.
   */
  private void ready() throws Exception {
    String b = "ready [" + s.readyHosts + " hosts]";
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    List<Double> times = new ArrayList<>();
    try (ApiServer api = new ApiServer(root.resolve("ready-api"), s.readyHosts)) {
      for (int i = 0; i < s.readyRuns; i++) {
        Setup st = setup("ready-" + i, s.readyHosts);
        List<String> args = st.agentArgs("--listen", "127.0.0.1:0", "--resync", "60s");
        try (AgentProcess a =
            AgentProcess.start(
                s.java, prod(), s.jar, args, st.dir.resolve("agent.log"), api.env("ready-" + i))) {
          int port = Integer.parseInt(a.awaitLog(LISTEN_LINE, Duration.ofSeconds(30)));
          while (true) {
            HttpResponse<String> r = get(http, port, "/readyz");
            if (r.statusCode() == 200) {
              break;
            }
            if (System.nanoTime() - a.startNanos > Duration.ofSeconds(30).toNanos()) {
              throw new IllegalStateException(
                  b + ": not ready in 30 s; log:\n" + AgentProcess.tail(a.logText()));
            }
            Thread.sleep(5);
          }
          times.add((System.nanoTime() - a.startNanos) / 1e6);
          check(b, "tree when ready", st.tree.verify());
        }
      }
    }
    double[] t = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    add(
        b,
        "process start -> /readyz 200: p50/p90/p99/max",
        pct(t),
        t.length + " starts, JVM start included; target p99 < 2 s");
    if (t.length > 0 && at(t, 99) >= 2000) {
      misses.add(b + ": start to Ready p99 " + ms(at(t, 99)) + " >= 2 s");
    }
  }

  /** The production flags plus any {@code add-flags}. */
  private List<String> prod() {
    List<String> f = new ArrayList<>(PRODUCTION_FLAGS);
    f.addAll(s.addFlags);
    return f;
  }

  private static HttpResponse<String> get(HttpClient http, int port, String path)
      throws IOException, InterruptedException {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build();
    return http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  private static Map<String, Double> scrapeMetrics(int port)
      throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return parseMetrics(get(http, port, "/metrics").body());
  }

  /** Metric values by name, summed over label sets. */
  static Map<String, Double> parseMetrics(String text) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int sp = line.lastIndexOf(' ');
      if (sp < 0) {
        continue;
      }
      String name = line.substring(0, sp);
      int brace = name.indexOf('{');
      if (brace >= 0) {
        name = name.substring(0, brace);
      }
      try {
        out.merge(name, Double.parseDouble(line.substring(sp + 1)), Double::sum);
      } catch (NumberFormatException e) {
        // not a sample line
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // scale

  private void scale() throws Exception {
    log(
        "scale: "
            + s.scaleHosts
            + " hosts, "
            + s.onceRuns
            + " runs of --once on an empty certs.d, each followed by a no-change --once");
    Setup st = setup("scale", s.scaleHosts);
    CertsTree tree = st.tree;
    String b = "scale";

    double[] jvmOnly = new double[3];
    for (int i = 0; i < jvmOnly.length; i++) {
      try (AgentProcess a =
          AgentProcess.start(
              s.java, prod(), s.jar, List.of("--help"), st.dir.resolve("help.log"))) {
        a.awaitExit(Duration.ofSeconds(60));
        jvmOnly[i] = (System.nanoTime() - a.startNanos) / 1e6;
      }
    }
    Arrays.sort(jvmOnly);

    double[] first = new double[s.onceRuns];
    double[] second = new double[s.onceRuns];
    int[] filesAfterFirst = new int[s.onceRuns];
    int[] wroteFirst = new int[s.onceRuns];
    int[] wroteSecond = new int[s.onceRuns];
    int[] changedSecond = new int[s.onceRuns];
    int badExit = 0;
    int badOutcome = 0;
    List<String> args = st.agentArgs("--once", "--listen", "off");
    for (int r = 0; r < s.onceRuns; r++) {
      CertsTree.deleteRecursively(tree.root());
      Files.createDirectories(tree.root()); // as the DaemonSet's hostPath does
      try (AgentProcess a =
          AgentProcess.start(s.java, prod(), s.jar, args, st.dir.resolve("once1-" + r + ".log"))) {
        int code = a.awaitExit(Duration.ofSeconds(120));
        first[r] = (System.nanoTime() - a.startNanos) / 1e6;
        badExit += code == 0 ? 0 : 1;
        badOutcome += a.countLines("msg=\"once done\" outcome=applied problems=0") == 1 ? 0 : 1;
        wroteFirst[r] = a.countLines(WROTE);
      }
      Map<String, String> before = tree.files();
      filesAfterFirst[r] = before.size();
      check(b, "tree after first --once (run " + r + ")", tree.verify());
      Thread.sleep(20); // mtimes are coarse on some file systems; make a rewrite visible
      try (AgentProcess a =
          AgentProcess.start(s.java, prod(), s.jar, args, st.dir.resolve("once2-" + r + ".log"))) {
        int code = a.awaitExit(Duration.ofSeconds(120));
        second[r] = (System.nanoTime() - a.startNanos) / 1e6;
        badExit += code == 0 ? 0 : 1;
        badOutcome += a.countLines("msg=\"once done\" outcome=applied problems=0") == 1 ? 0 : 1;
        wroteSecond[r] = a.countLines(WROTE);
      }
      Map<String, String> after = tree.files();
      int changed = 0;
      for (String k : new java.util.TreeSet<>(union(before.keySet(), after.keySet()))) {
        if (!java.util.Objects.equals(before.get(k), after.get(k))) {
          changed++;
        }
      }
      changedSecond[r] = changed;
    }

    // The same work in this JVM, on the classes directly: parse + plan + apply, then a no-change
    // apply.
    Path inproc = st.dir.resolve("certs-inproc.d");
    int runs = Math.max(2, s.onceRuns);
    List<BenchAccess.PassTiming> cold = new ArrayList<>();
    List<BenchAccess.PassTiming> warm = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      CertsTree.deleteRecursively(inproc);
      cold.add(BenchAccess.planAndApply(st.policyText, st.bundle, inproc));
      warm.add(BenchAccess.planAndApply(st.policyText, st.bundle, inproc));
    }

    double[] f = first.clone();
    Arrays.sort(f);
    double[] sc = second.clone();
    Arrays.sort(sc);
    add(
        b,
        "JVM start+exit alone (--help), median",
        ms(jvmOnly[1]),
        "production flags; baseline for the rows below");
    add(
        b,
        "first --once on empty certs.d, wall (median / min / max)",
        ms(f[f.length / 2]) + " / " + ms(f[0]) + " / " + ms(f[f.length - 1]),
        s.onceRuns + " runs, production flags");
    add(
        b,
        "files in certs.d after first --once / files written (log)",
        summarize(filesAfterFirst) + " / " + summarize(wroteFirst),
        "planned " + tree.expectedFileCount() + " files in " + tree.hostCount() + " dirs");
    add(
        b,
        "second --once (no change), wall (median / min / max)",
        ms(sc[sc.length / 2]) + " / " + ms(sc[0]) + " / " + ms(sc[sc.length - 1]),
        "");
    add(
        b,
        "second --once: files written (log) / files changed (inode, size, mtime)",
        summarize(wroteSecond) + " / " + summarize(changedSecond),
        "must be 0 / 0");
    add(
        b,
        "exit codes != 0 / runs without 'once done outcome=applied problems=0'",
        badExit + " / " + badOutcome,
        "");
    add(
        b,
        "in-process first pass in this JVM (after a 5-host warm-up): parse / plan / apply (ms)",
        timing(cold.get(0)),
        cold.get(0).written + " written");
    add(
        b,
        "in-process empty certs.d, median of later passes: parse / plan / apply (ms)",
        medianTiming(cold.subList(1, cold.size())),
        cold.get(1).written + " written");
    add(
        b,
        "in-process no-change pass, median: parse / plan / apply (ms)",
        medianTiming(warm.subList(1, warm.size())),
        warm.get(1).written + " written, " + warm.get(1).unchanged + " unchanged");
    for (int r = 0; r < s.onceRuns; r++) {
      if (wroteSecond[r] != 0
          || changedSecond[r] != 0
          || filesAfterFirst[r] != tree.expectedFileCount()) {
        failures.add(
            "scale run "
                + r
                + ": files "
                + filesAfterFirst[r]
                + ", second pass wrote "
                + wroteSecond[r]
                + ", changed "
                + changedSecond[r]);
      }
    }
    for (BenchAccess.PassTiming t : warm) {
      if (t.written != 0 || t.errors != 0) {
        failures.add(
            "scale in-process: no-change pass wrote " + t.written + ", errors " + t.errors);
      }
    }
    if (badExit + badOutcome > 0) {
      failures.add(
          "scale: "
              + badExit
              + " non-zero exits, "
              + badOutcome
              + " runs without a clean outcome line");
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> u = new LinkedHashSet<>(a);
    u.addAll(b);
    return u;
  }

  private static String timing(BenchAccess.PassTiming t) {
    return ms(t.parseNanos / 1e6) + " / " + ms(t.planNanos / 1e6) + " / " + ms(t.applyNanos / 1e6);
  }

  private static String medianTiming(List<BenchAccess.PassTiming> ts) {
    double[] parse = ts.stream().mapToDouble(t -> t.parseNanos / 1e6).sorted().toArray();
    double[] plan = ts.stream().mapToDouble(t -> t.planNanos / 1e6).sorted().toArray();
    double[] apply = ts.stream().mapToDouble(t -> t.applyNanos / 1e6).sorted().toArray();
    return ms(parse[parse.length / 2])
        + " / "
        + ms(plan[plan.length / 2])
        + " / "
        + ms(apply[apply.length / 2]);
  }

  private static String summarize(int[] v) {
    int min = Arrays.stream(v).min().orElse(0);
    int max = Arrays.stream(v).max().orElse(0);
    return min == max ? Integer.toString(min) : min + ".." + max;
  }

  // ---------------------------------------------------------------------------------------------
  // shared

  /**
   * One benchmark's directories: policy file, credentials bundle, certs.d, and what certs.d should
   * hold.
   */
  private final class Setup {
    final Path dir;
    final Path policy;
    final Path bundle;
    final Path certs;
    final String policyText;
    final CertsTree tree;

    Setup(Path dir, int hosts) throws Exception {
      this.dir = dir;
      this.policy = dir.resolve("policy").resolve("policy.yaml");
      this.bundle = dir.resolve("credentials");
      this.certs = dir.resolve("certs.d").toAbsolutePath().normalize();
      Files.createDirectories(
          certs); // the agent wants it to exist (the DaemonSet's hostPath makes it)
      Files.createDirectories(policy.getParent());
      Files.createDirectories(certs); // as the DaemonSet's hostPath does
      policyText = BenchPolicy.policy(hosts);
      Files.writeString(policy, policyText, StandardCharsets.UTF_8);
      BenchPolicy.writeBundle(bundle);
      BenchAccess.Planned planned = BenchAccess.plan(policyText, bundle, certs.toString());
      tree = new CertsTree(certs, planned.files, planned.secret);
      if (tree.hostCount() != hosts) {
        throw new IllegalStateException(
            "planned " + tree.hostCount() + " host dirs for " + hosts + " registries");
      }
    }

    List<String> agentArgs(String... extra) {
      List<String> a =
          new ArrayList<>(
              List.of(
                  "--policy",
                  policy.toString(),
                  "--secrets-dir",
                  bundle.toString(),
                  "--certs-dir",
                  certs.toString()));
      a.addAll(List.of(extra));
      return a;
    }
  }

  private Setup setup(String name, int hosts) throws Exception {
    return new Setup(Files.createDirectories(root.resolve(name)), hosts);
  }

  private void check(String bench, String what, List<String> problems) {
    if (!problems.isEmpty()) {
      String msg =
          bench
              + ": "
              + what
              + ": "
              + problems.subList(0, Math.min(5, problems.size()))
              + (problems.size() > 5 ? " and " + (problems.size() - 5) + " more" : "");
      failures.add(msg);
      log(msg);
    }
  }

  private void add(String bench, String metric, String value, String note) {
    rows.add(new Row(bench, metric, value, note));
    log(bench + ": " + metric + ": " + value + (note.isEmpty() ? "" : "  (" + note + ")"));
  }

  private void print(Map<String, String> machine) {
    System.out.println();
    System.out.println("## registry-policy agent benchmarks");
    System.out.println();
    System.out.println("| machine | |");
    System.out.println("|---|---|");
    for (Map.Entry<String, String> e : machine.entrySet()) {
      System.out.println("| " + e.getKey() + " | " + e.getValue() + " |");
    }
    System.out.println("| production JVM flags | `" + String.join(" ", prod()) + "` |");
    System.out.println();
    System.out.println("| benchmark | measure | value | note |");
    System.out.println("|---|---|---|---|");
    for (Row r : rows) {
      System.out.println(
          "| " + r.bench() + " | " + r.metric() + " | " + r.value() + " | " + r.note() + " |");
    }
    System.out.println();
    if (failures.isEmpty()) {
      System.out.println("results: all correctness checks passed");
    } else {
      System.out.println("results: FAILED correctness checks:");
      for (String f : failures) {
        System.out.println("  - " + f);
      }
    }
    if (misses.isEmpty()) {
      System.out.println(
          "targets: all met (reassert p99 < 250 ms, RSS < 64 MiB with the production flags)");
    } else {
      System.out.println(
          "targets: MISSED" + (s.strict ? "" : " (strict=true makes this fail the run)") + ":");
      for (String m : misses) {
        System.out.println("  - " + m);
      }
    }
  }

  private static String pct(double[] sorted) {
    if (sorted.length == 0) {
      return "-";
    }
    return ms(at(sorted, 50))
        + " / "
        + ms(at(sorted, 90))
        + " / "
        + ms(at(sorted, 99))
        + " / "
        + ms(sorted[sorted.length - 1]);
  }

  /** Nearest-rank percentile of a sorted array. */
  private static double at(double[] sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static double mean(double[] v) {
    return Arrays.stream(v).average().orElse(Double.NaN);
  }

  private static String ms(double v) {
    return String.format(Locale.ROOT, v < 10 ? "%.2f ms" : "%.1f ms", v);
  }

  private static String mib(long kb) {
    return String.format(Locale.ROOT, "%.1f MiB", kb / 1024.0);
  }

  private static String fmt0(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }

  private static void log(String msg) {
    System.out.println("[bench] " + msg);
    System.out.flush();
  }

  private static void deleteQuietly(Path p) {
    try {
      CertsTree.deleteRecursively(p);
    } catch (IOException e) {
      System.err.println("[bench] could not remove " + p + ": " + e);
    }
  }
}
