package dev.registrypolicy.controller.bench;

import dev.registrypolicy.controller.ControllerBenchAccess;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.bench.BenchArgs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Benchmark harness for the controller: the real {@code Controller} (client-java informers, work
 * queue, Lease election, typed writes) against {@link FakeKubeApi} over HTTP on 127.0.0.1.
 *
 * <ul>
 *   <li>{@code grant}: 1,000 labelled namespaces with a default ServiceAccount, a settled
 *       controller whose policy grants nothing; the policy is changed to grant one registry to
 *       them. Wall time until every namespace has the pull Secret and the patched ServiceAccount,
 *       and every API write by verb, resource and status (target: under 10 s, exactly 2 writes per
 *       namespace). Then a fresh controller on the same API (a full pass from empty caches) must
 *       write nothing.
 *   <li>{@code latency}: a controller settled on a granted, converged cluster (1,000 namespaces);
 *       200 new namespaces, each followed at once by its default ServiceAccount; per namespace the
 *       time from the namespace create until the Secret exists and the ServiceAccount lists it,
 *       p50/p90/p99/max (target: p99 under 1 s). Three pacings: sequential (the next namespace once
 *       the previous one converged), one every 20 ms (open loop), and a burst of all 200.
 *   <li>{@code heap}: 10,000 granted namespaces with 2 ServiceAccounts each (20,000) and their pull
 *       Secrets, all converged; the controller runs alone in a child JVM with {@code -Xmx256m}
 *       against the fake in this JVM; once it has synced and finished its full pass, full GCs, then
 *       heap used, RSS and the writes made (must be 0). Once with the JVM's default GC and once
 *       with SerialGC (what the JVM picks in a pod with less than 2 CPUs or 1792 MiB).
 * </ul>
 *
 * <p>Run from the repository root: {@code mvn -q -Pbench -DskipTests -pl controller -am verify}
 * (all), or add {@code -Dbench.args="latency latency-count=500"}. Arguments: benchmark names
 * ({@code grant}, {@code latency}, {@code heap}, {@code all}) and {@code key=value} settings, see
 * {@link Settings}. The harness writes its own objects straight into the fake's store (no HTTP, not
 * in the request log); the controller's log goes to a file in a temporary directory (removed at the
 * end unless {@code keep=true}). The fake's JDK HttpServer gets TCP_NODELAY, as kube-apiserver's
 * sockets have ({@code nodelay=false} shows the difference: Nagle plus delayed ACKs add up to ~40
 * ms to responses). Writes are counted from the fake's request log, failed ones (409, 422)
 * included, Leases and Events excluded. Wrong results exit non-zero; missed targets only with
 * {@code strict=true}.
 */
public final class ControllerBench {

  /** Settings, each overridable as {@code key=value} on the command line. */
  static final class Settings {
    int workers = 4;
    int grantNamespaces = 1000;
    int latencyCount = 200;
    int latencyBackground = 1000;
    long paceMs = 20;
    boolean burst = true;
    int heapNamespaces = 10_000;
    int heapSasPerNamespace = 2;
    String heapXmx = "256m";
    List<String> heapGcs = List.of("default", "serial");
    long pollMicros = 200;
    long settleMs = 1500;
    long timeoutSeconds = 180;
    Duration lease = Duration.ofSeconds(3);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    boolean keep;
    boolean strict;

    /**
     * TCP_NODELAY on the fake's JDK HttpServer (off by default there, unlike kube-apiserver); off,
     * Nagle and delayed ACKs add tens of ms to responses, which would be measured as controller
     * time.
     */
    boolean nodelay = true;

    void set(String key, String value) {
      switch (key) {
        case "workers":
          workers = Integer.parseInt(value);
          break;
        case "grant-namespaces":
          grantNamespaces = Integer.parseInt(value);
          break;
        case "latency-count":
          latencyCount = Integer.parseInt(value);
          break;
        case "latency-background":
          latencyBackground = Integer.parseInt(value);
          break;
        case "pace-ms":
          paceMs = Long.parseLong(value);
          break;
        case "burst":
          burst = Boolean.parseBoolean(value);
          break;
        case "heap-namespaces":
          heapNamespaces = Integer.parseInt(value);
          break;
        case "heap-sas":
          heapSasPerNamespace = Integer.parseInt(value);
          break;
        case "heap-xmx":
          heapXmx = value;
          break;
        case "heap-gcs":
          heapGcs = List.of(value.split("\\+"));
          break;
        case "poll-us":
          pollMicros = Long.parseLong(value);
          break;
        case "settle-ms":
          settleMs = Long.parseLong(value);
          break;
        case "timeout":
          timeoutSeconds = Long.parseLong(value);
          break;
        case "lease-ms":
          lease = Duration.ofMillis(Long.parseLong(value));
          break;
        case "java":
          java = value;
          break;
        case "keep":
          keep = Boolean.parseBoolean(value);
          break;
        case "strict":
          strict = Boolean.parseBoolean(value);
          break;
        case "nodelay":
          nodelay = Boolean.parseBoolean(value);
          break;
        default:
          throw new IllegalArgumentException("unknown setting " + key);
      }
    }
  }

  static final List<String> ALL = List.of("grant", "latency", "heap");

  /** One line of the results table. */
  record Row(String bench, String metric, String value, String target, String note) {}

  private final Settings s;
  private final Path root;
  private final List<Row> rows = new ArrayList<>();

  /** Wrong results: objects missing or wrong, convergence that never came. */
  private final List<String> failures = new ArrayList<>();

  /** Performance targets not met. */
  private final List<String> misses = new ArrayList<>();

  private final List<AutoCloseable> open = new ArrayList<>();
  private final List<Process> children = new ArrayList<>();

  private ControllerBench(Settings s, Path root) {
    this.s = s;
    this.root = root;
  }

  public static void main(String[] args) throws Exception {
    String[] words = String.join(" ", args).trim().split("\\s+");
    if (words[0].equals("webhook")) {
      // -Dbench.args="webhook rate=1000 seconds=20 jvm=-Xmx384m,-XX:+UseSerialGC"
      WebhookBench.main(java.util.Arrays.copyOfRange(words, 1, words.length));
      return;
    }
    Settings s = new Settings();
    Set<String> benches =
        BenchArgs.parse(
            args,
            ALL,
            s::set,
            "usage: ControllerBench [grant] [latency] [heap] [all] [key=value ...]\n"
                + "keys: workers grant-namespaces latency-count latency-background pace-ms burst heap-namespaces"
                + " heap-sas heap-xmx heap-gcs(default+serial) poll-us settle-ms timeout lease-ms java keep strict nodelay");
    if (benches == null) {
      return;
    }
    // Read once, when the first HttpServer is created: so before any fake starts.
    System.setProperty("sun.net.httpserver.nodelay", Boolean.toString(s.nodelay));
    Path root = Files.createTempDirectory("registry-policy-controller-bench-");
    ControllerBench b = new ControllerBench(s, root);
    Runtime.getRuntime().addShutdownHook(new Thread(b::cleanUp, "bench-cleanup"));
    Map<String, String> machine = Machine.describe();
    ControllerBenchAccess.logToFile(root.resolve("controller.log"));
    log(
        "controller log: "
            + root.resolve("controller.log")
            + (s.keep ? " (kept)" : " (removed at the end; keep=true keeps it)"));
    for (String name : benches) {
      try (Machine.LoadSampler load = new Machine.LoadSampler()) {
        try {
          switch (name) {
            case "grant":
              b.grant();
              break;
            case "latency":
              b.latency();
              break;
            default:
              b.heap();
              break;
          }
        } catch (Exception | AssertionError e) {
          // One benchmark failing does not hide the others' figures.
          b.failures.add(name + " aborted: " + e);
          e.printStackTrace();
        } finally {
          b.closeOpen();
        }
        b.add(
            name,
            "load average before / max 1-min during / after",
            load.summary(),
            "",
            "other work on the machine shows in every figure; "
                + Runtime.getRuntime().availableProcessors()
                + " CPUs");
      }
    }
    b.print(machine);
    ControllerBenchAccess.closeLog();
    int code = !b.failures.isEmpty() ? 1 : (s.strict && !b.misses.isEmpty()) ? 2 : 0;
    b.cleanUp();
    System.out.flush();
    Runtime.getRuntime().halt(code); // client-java leaves non-daemon threads behind
  }

  // ============================================================================ grant

  private void grant() throws Exception {
    int n = s.grantNamespaces;
    log("grant: seeding " + n + " namespaces");
    FakeKubeApi fake = fake();
    Seed.policyNamespace(fake, Seed.POLICY_NOTHING);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String ns = String.format(Locale.ROOT, "grant-%04d", i);
      names.add(ns);
      fake.create(Seed.namespace(ns, true));
      fake.create(Seed.serviceAccount(ns, "default", false));
    }
    ControllerBenchAccess.Running c = controller(fake, "bench-grant-1");
    long settleStart = System.nanoTime();
    awaitSettled(fake, c, n, "first controller settled on the grant-nothing policy");
    add(
        "grant",
        "controller start to settled (" + n + " namespaces, policy grants nothing)",
        ms((System.nanoTime() - settleStart) / 1e6),
        "",
        "lead, sync, full pass, status ConfigMap written");
    fake.resetCounters();
    Thread.sleep(s.settleMs);
    Map<String, Long> idle = writesByKind(fake.requests());
    add(
        "grant",
        "writes while settled (" + s.settleMs + " ms, leases and events excluded)",
        total(idle) + "",
        "0",
        idle.isEmpty() ? "" : idle.toString());
    if (total(idle) != 0) {
      failures.add("grant: " + total(idle) + " writes while settled: " + idle);
    }

    fake.resetCounters();
    Set<String> wanted = new HashSet<>(names);
    Set<String> secretDone = new HashSet<>();
    Set<String> saDone = new HashSet<>();
    long cpu0 = Machine.processCpuMillis();
    long t0 = System.nanoTime();
    Seed.setPolicy(fake, Seed.grantPolicy("default"));
    long firstWrite = -1;
    long done = -1;
    int seen = 0;
    long deadline = t0 + TimeUnit.SECONDS.toNanos(s.timeoutSeconds);
    while (System.nanoTime() < deadline) {
      List<Request> log = fake.requests();
      long now = System.nanoTime();
      for (; seen < log.size(); seen++) {
        Request r = log.get(seen);
        if (!r.isWrite() || !wanted.contains(r.namespace())) {
          continue;
        }
        if (firstWrite < 0) {
          firstWrite = now;
        }
        if ("POST".equals(r.method()) && "secrets".equals(r.resource()) && r.code() == 201) {
          secretDone.add(r.namespace());
        } else if ("PATCH".equals(r.method())
            && "serviceaccounts".equals(r.resource())
            && r.code() == 200) {
          saDone.add(r.namespace());
        }
      }
      if (secretDone.size() == n && saDone.size() == n) {
        done = now;
        break;
      }
      Thread.sleep(2);
    }
    long cpu1 = Machine.processCpuMillis();
    if (done < 0) {
      failures.add(
          "grant: not converged after "
              + s.timeoutSeconds
              + " s: "
              + secretDone.size()
              + " Secrets, "
              + saDone.size()
              + " ServiceAccounts of "
              + n);
    }
    double wallMs = ((done < 0 ? System.nanoTime() : done) - t0) / 1e6;
    add(
        "grant",
        "policy change to all " + n + " namespaces converged",
        ms(wallMs),
        "< 10 s",
        String.format(
            Locale.ROOT,
            "first write after %s; %.0f namespaces/s; seen in the request log (2 ms poll)",
            firstWrite < 0 ? "-" : ms((firstWrite - t0) / 1e6),
            n / (wallMs / 1000)));
    if (wallMs >= 10_000) {
      misses.add("grant: " + ms(wallMs) + " >= 10 s");
    }
    add(
        "grant",
        "CPU time of this JVM during convergence",
        ms(cpu1 - cpu0),
        "",
        "controller and fake API share this JVM; "
            + String.format(Locale.ROOT, "%.2f", (cpu1 - cpu0) / wallMs)
            + " CPUs busy on average");

    awaitQuiet(fake, c);
    List<Request> log = fake.requests();
    Map<String, Long> byKind = writesByKind(log);
    long nsWrites =
        log.stream().filter(r -> isCounted(r) && wanted.contains(r.namespace())).count();
    long otherWrites = total(byKind) - nsWrites;
    add(
        "grant",
        "writes in the " + n + " namespaces",
        nsWrites + "",
        "exactly " + (2 * n),
        String.format(
            Locale.ROOT,
            "%.3f per namespace; all writes by verb/resource/status: %s",
            nsWrites / (double) n,
            byKind));
    add(
        "grant",
        "writes elsewhere",
        otherWrites + "",
        "",
        "the status ConfigMap records the new policy (registry-policy namespace)");
    if (nsWrites != 2L * n) {
      misses.add(
          "grant: " + nsWrites + " writes in the namespaces, want " + (2 * n) + ": " + byKind);
      add(
          "grant",
          "namespaces with more than 2 writes",
          extraWriteNamespaces(log, wanted),
          "0",
          "");
    }
    reportDropped("grant", log, wanted);
    int bad = 0;
    for (String ns : names) {
      if (!Seed.converged(fake, ns, "default")) {
        bad++;
      }
    }
    if (bad > 0) {
      failures.add("grant: " + bad + " namespaces not converged in the store");
    }

    // Second pass: a fresh controller (empty caches, a pass over every namespace) must write
    // nothing.
    c.close();
    fake.resetCounters();
    long t1 = System.nanoTime();
    ControllerBenchAccess.Running c2 = controller(fake, "bench-grant-2");
    await(c2::leader, "second controller leads");
    long lead = System.nanoTime();
    awaitSettled(fake, c2, n, "second controller's full pass");
    long passMs = (System.nanoTime() - lead) / 1_000_000 - s.settleMs;
    Map<String, Long> second = writesByKind(fake.requests());
    add(
        "grant",
        "second pass (fresh controller, same API): writes",
        total(second) + "",
        "0",
        String.format(
            Locale.ROOT,
            "%d keys reconciled; lease takeover %s, then sync and full pass %s%s",
            c2.reconciles(),
            ms((lead - t1) / 1e6),
            ms(passMs),
            second.isEmpty() ? "" : "; " + second));
    if (total(second) != 0) {
      misses.add("grant: second pass wrote " + second);
    }
  }

  // ========================================================================== latency

  private void latency() throws Exception {
    String policy = Seed.grantPolicy("default");
    FakeKubeApi fake = fake();
    Seed.policyNamespace(fake, policy);
    log("latency: seeding " + s.latencyBackground + " converged namespaces");
    for (int i = 0; i < s.latencyBackground; i++) {
      Seed.convergedNamespace(fake, String.format(Locale.ROOT, "bg-%04d", i), policy, "default");
    }
    fake.resetCounters();
    ControllerBenchAccess.Running c = controller(fake, "bench-latency");
    awaitSettled(
        fake,
        c,
        s.latencyBackground,
        "controller settled on " + s.latencyBackground + " converged namespaces");
    List<Request> startLog = fake.requests();
    Map<String, Long> startup = writesByKind(startLog);
    long outside =
        startLog.stream()
            .filter(r -> isCounted(r) && !Policy.NAMESPACE.equals(r.namespace()))
            .count();
    add(
        "latency",
        "writes at start-up over " + s.latencyBackground + " converged namespaces",
        outside + "",
        "0",
        "plus in "
            + Policy.NAMESPACE
            + " (first start: node credentials bundle, status ConfigMap): "
            + startup);
    if (outside != 0) {
      failures.add("latency: start-up over a converged cluster wrote " + startup);
    }
    List<String> modes = new ArrayList<>(List.of("sequential", "paced"));
    if (s.burst) {
      modes.add("burst");
    }
    for (String mode : modes) {
      fake.resetCounters();
      runLatency(fake, c, mode);
    }
  }

  private void runLatency(FakeKubeApi fake, ControllerBenchAccess.Running c, String mode)
      throws Exception {
    int n = s.latencyCount;
    String prefix = "lat-" + mode.charAt(0) + "-";
    String label =
        mode.equals("sequential")
            ? "sequential (next one once the previous converged)"
            : mode.equals("paced")
                ? "one every " + s.paceMs + " ms (open loop)"
                : "burst (all " + n + " at once)";
    log("latency: " + label);
    long[] created = new long[n];
    AtomicLongArray secretAt = new AtomicLongArray(n);
    AtomicLongArray convergedAt = new AtomicLongArray(n);
    Map<String, Integer> pending = new ConcurrentHashMap<>();
    String[] names = new String[n];
    for (int i = 0; i < n; i++) {
      names[i] = String.format(Locale.ROOT, "%s%03d", prefix, i);
    }
    // The poller: checks only namespaces created and not yet converged, straight in the store.
    Thread poller =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                for (Map.Entry<String, Integer> e : pending.entrySet()) {
                  int i = e.getValue();
                  String ns = e.getKey();
                  if (secretAt.get(i) == 0 && Seed.secretPresent(fake, ns)) {
                    secretAt.set(i, System.nanoTime());
                  }
                  if (secretAt.get(i) != 0 && Seed.saLists(fake, ns, "default")) {
                    convergedAt.set(i, System.nanoTime());
                    pending.remove(ns);
                  }
                }
                LockSupport.parkNanos(s.pollMicros * 1000);
              }
            },
            "bench-latency-poller");
    poller.setDaemon(true);
    poller.start();
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(s.timeoutSeconds);
    try {
      for (int i = 0; i < n; i++) {
        if (mode.equals("paced")) {
          long at = start + TimeUnit.MILLISECONDS.toNanos(s.paceMs * i);
          while (System.nanoTime() < at) {
            LockSupport.parkNanos(Math.min(at - System.nanoTime(), 1_000_000));
          }
        }
        created[i] = System.nanoTime();
        pending.put(names[i], i);
        fake.create(Seed.namespace(names[i], true));
        fake.create(Seed.serviceAccount(names[i], "default", false));
        if (mode.equals("sequential")) {
          int k = i;
          awaitNanos(() -> convergedAt.get(k) != 0, deadline, "sequential " + names[i]);
        }
      }
      awaitNanos(pending::isEmpty, deadline, mode + ": every namespace converged");
    } catch (AssertionError e) {
      failures.add("latency " + mode + ": " + e.getMessage() + " (" + pending.size() + " pending)");
    } finally {
      poller.interrupt();
      poller.join(1000);
    }
    long end = start;
    for (int i = 0; i < n; i++) {
      end = Math.max(end, convergedAt.get(i));
    }
    double[] total = new double[n];
    double[] secret = new double[n];
    int ok = 0;
    for (int i = 0; i < n; i++) {
      if (convergedAt.get(i) != 0) {
        total[ok] = (convergedAt.get(i) - created[i]) / 1e6;
        secret[ok] = (secretAt.get(i) - created[i]) / 1e6;
        ok++;
      }
    }
    total = Arrays.copyOf(total, ok);
    secret = Arrays.copyOf(secret, ok);
    Arrays.sort(total);
    Arrays.sort(secret);
    awaitQuiet(fake, c);
    Set<String> ours = new HashSet<>(Arrays.asList(names));
    List<Request> log = fake.requests();
    long nsWrites = log.stream().filter(r -> isCounted(r) && ours.contains(r.namespace())).count();
    String bench = "latency " + mode;
    if (ok == 0) {
      add(bench, label, "no namespace converged", "p99 < 1 s", "");
      return;
    }
    add(
        bench,
        label + ": create to Secret + SA patched, p50 / p90 / p99 / max",
        ms(pct(total, 50))
            + " / "
            + ms(pct(total, 90))
            + " / "
            + ms(pct(total, 99))
            + " / "
            + ms(total[ok - 1]),
        "p99 < 1 s",
        String.format(
            Locale.ROOT,
            "%d namespaces, mean %s; Secret alone p50 %s p99 %s; all done %s after the first create",
            ok,
            ms(Arrays.stream(total).average().orElse(0)),
            ms(pct(secret, 50)),
            ms(pct(secret, 99)),
            ms((end - start) / 1e6)));
    add(
        bench,
        "writes in those namespaces",
        nsWrites + "",
        "exactly " + (2 * n),
        String.format(
            Locale.ROOT, "%.3f per namespace; %s", nsWrites / (double) n, writesByKind(log)));
    if (pct(total, 99) >= 1000) {
      misses.add(bench + ": p99 " + ms(pct(total, 99)) + " >= 1 s");
    }
    if (nsWrites != 2L * n) {
      misses.add(
          bench + ": " + nsWrites + " writes for " + n + " namespaces: " + writesByKind(log));
      add(bench, "namespaces with more than 2 writes", extraWriteNamespaces(log, ours), "0", "");
    }
    reportDropped(bench, log, ours);
  }

  // ============================================================================= heap

  private void heap() throws Exception {
    int n = s.heapNamespaces;
    String[] sas = new String[s.heapSasPerNamespace];
    for (int i = 0; i < sas.length; i++) {
      sas[i] = i == 0 ? "default" : "sa-" + i;
    }
    String policy = Seed.grantPolicy("all");
    FakeKubeApi fake = fake();
    fake.setHistoryLimit(100);
    Seed.policyNamespace(fake, policy);
    log(
        "heap: seeding "
            + n
            + " converged namespaces, "
            + (n * sas.length)
            + " ServiceAccounts, "
            + n
            + " pull Secrets");
    long t = System.nanoTime();
    for (int i = 0; i < n; i++) {
      Seed.convergedNamespace(fake, String.format(Locale.ROOT, "heap-%05d", i), policy, sas);
    }
    log("heap: seeded in " + ms((System.nanoTime() - t) / 1e6));
    for (String gc : s.heapGcs) {
      fake.resetCounters();
      heapRun(fake, gc, n, sas.length);
      // The next child must not find a Lease held by the previous one.
      fake.delete("leases", Policy.NAMESPACE, ControllerBenchAccess.LEASE_NAME);
    }
  }

  private void heapRun(FakeKubeApi fake, String gc, int n, int sasPerNs) throws Exception {
    List<String> cmd =
        new ArrayList<>(List.of(s.java, "-Xmx" + s.heapXmx, "-XX:+ExitOnOutOfMemoryError"));
    if (gc.equals("serial")) {
      cmd.add("-XX:+UseSerialGC");
    } else if (!gc.equals("default")) {
      cmd.add(gc);
    }
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            HeapChild.class.getName(),
            fake.baseUrl(),
            Integer.toString(n),
            Integer.toString(s.workers),
            Long.toString(s.settleMs)));
    Path err = root.resolve("heap-child-" + gc.replaceAll("[^A-Za-z0-9]", "") + ".log");
    log("heap: child JVM -Xmx" + s.heapXmx + " gc=" + gc + " (log " + err + ")");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
    children.add(p);
    String bench = "heap " + gc;
    Map<String, String> kv = new LinkedHashMap<>();
    long childPid = p.pid();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(s.timeoutSeconds + 60);
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("HEAP ")) {
          for (String f : line.substring(5).split(" ")) {
            int eq = f.indexOf('=');
            if (eq > 0) {
              kv.put(f.substring(0, eq), f.substring(eq + 1).replace('_', ' '));
            }
          }
          break;
        }
        if (line.startsWith("TIMEOUT") || System.nanoTime() > deadline) {
          break;
        }
      }
      dev.registrypolicy.policy.bench.ProcInfo.Memory fromParent = Machine.memory(childPid);
      List<Request> log = fake.requests();
      Map<String, Long> writes = writesByKind(log);
      long outside =
          log.stream().filter(r -> isCounted(r) && !Policy.NAMESPACE.equals(r.namespace())).count();
      try (OutputStream in = p.getOutputStream()) {
        in.write("exit\n".getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        // already gone
      }
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      if (kv.isEmpty()) {
        boolean oom = Files.readString(err).contains("OutOfMemoryError");
        add(
            bench,
            "heap",
            oom ? "OutOfMemoryError" : "no report",
            "< 256 MiB",
            "child -Xmx" + s.heapXmx + ", exit " + (p.isAlive() ? "?" : p.exitValue()));
        failures.add(
            bench
                + ": the child reported nothing (exit "
                + (p.isAlive() ? "?" : p.exitValue())
                + (oom ? ", out of memory" : "")
                + "): "
                + tail(err));
        return;
      }
      double usedMiB = Long.parseLong(kv.get("used")) / 1048576.0;
      add(
          bench,
          "heap used after full GC (" + n + " ns, " + (n * sasPerNs) + " SAs, " + n + " Secrets)",
          mib(usedMiB),
          "< 256 MiB",
          String.format(
              Locale.ROOT,
              "child -Xmx%s, %s; committed %s; sum of heap pools' peaks %s" + " (garbage included)",
              s.heapXmx,
              kv.get("gc"),
              mib(Long.parseLong(kv.get("committed")) / 1048576.0),
              mib(Long.parseLong(kv.get("peakPoolSum")) / 1048576.0)));
      add(
          bench,
          "child VmRSS after GC / VmHWM",
          mib(Long.parseLong(kv.get("rssKb")) / 1024.0)
              + " / "
              + mib(Long.parseLong(kv.get("hwmKb")) / 1024.0),
          "",
          String.format(
              Locale.ROOT,
              "non-heap (metaspace, code) %s; %s threads; RSS read by the parent %s",
              mib(Long.parseLong(kv.get("nonheap")) / 1048576.0),
              kv.get("threads"),
              mib(fromParent.rssKb() / 1024.0)));
      add(
          bench,
          "child start to synced / to full pass done",
          ms(Double.parseDouble(kv.get("syncedMs")))
              + " / "
              + ms(Double.parseDouble(kv.get("settledMs"))),
          "",
          kv.get("reconciles") + " keys reconciled (JVM start included)");
      add(
          bench,
          "writes in the " + n + " namespaces (a full pass over a converged cluster)",
          outside + "",
          "0",
          "all writes (leases and events excluded; a first start also writes the bundle and status in "
              + Policy.NAMESPACE
              + "): "
              + writes);
      if (usedMiB >= 256) {
        misses.add(bench + ": heap after GC " + mib(usedMiB));
      }
      if (outside != 0) {
        misses.add(bench + ": a full pass over a converged cluster wrote " + writes);
      }
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
      children.remove(p);
    }
  }

  // ========================================================================== helpers

  private FakeKubeApi fake() throws IOException {
    FakeKubeApi f = new FakeKubeApi().start();
    open.add(f);
    return f;
  }

  private ControllerBenchAccess.Running controller(FakeKubeApi fake, String identity) {
    ControllerBenchAccess.Running c =
        ControllerBenchAccess.start(
            fake.newClient(), identity, s.workers, Duration.ofMinutes(10), s.lease);
    open.add(0, c); // closed before the fake
    return c;
  }

  /**
   * Leads, synced, policy loaded, at least {@code keys} reconciled, then no reconcile or write for
   * settleMs.
   */
  private void awaitSettled(
      FakeKubeApi fake, ControllerBenchAccess.Running c, int keys, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(s.timeoutSeconds);
    awaitNanos(
        () -> c.leader() && c.ready() && c.policyLoaded(),
        deadline,
        what + " (lead, sync, policy)");
    awaitNanos(() -> c.reconciles() >= keys, deadline, what + " (" + keys + " keys)");
    awaitStill(fake, c, deadline, what);
  }

  /** No reconcile and no counted write for settleMs. */
  private void awaitQuiet(FakeKubeApi fake, ControllerBenchAccess.Running c)
      throws InterruptedException {
    awaitStill(fake, c, System.nanoTime() + TimeUnit.SECONDS.toNanos(s.timeoutSeconds), "quiet");
  }

  private void awaitStill(
      FakeKubeApi fake, ControllerBenchAccess.Running c, long deadline, String what)
      throws InterruptedException {
    long lastR = -1;
    long lastW = -1;
    long since = System.nanoTime();
    while (true) {
      long r = c.reconciles();
      long w = fake.requests().stream().filter(ControllerBench::isCounted).count();
      long now = System.nanoTime();
      if (r != lastR || w != lastW) {
        lastR = r;
        lastW = w;
        since = now;
      } else if (now - since >= s.settleMs * 1_000_000) {
        return;
      }
      if (now > deadline) {
        throw new AssertionError("timed out waiting: " + what);
      }
      Thread.sleep(20);
    }
  }

  private void await(BooleanSupplier cond, String what) throws InterruptedException {
    awaitNanos(cond, System.nanoTime() + TimeUnit.SECONDS.toNanos(s.timeoutSeconds), what);
  }

  private void awaitNanos(BooleanSupplier cond, long deadline, String what)
      throws InterruptedException {
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting: " + what);
      }
      LockSupport.parkNanos(s.pollMicros * 1000);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
  }

  /** A write that counts: anything but GET, on anything but Leases and Events. */
  static boolean isCounted(Request r) {
    return r.isWrite() && !"leases".equals(r.resource()) && !"events".equals(r.resource());
  }

  /** Counted writes by "VERB resource code", sorted. */
  static Map<String, Long> writesByKind(List<Request> log) {
    Map<String, Long> out = new TreeMap<>();
    for (Request r : log) {
      if (isCounted(r)) {
        out.merge(r.method() + " " + r.resource() + " " + r.code(), 1L, Long::sum);
      }
    }
    return out;
  }

  static long total(Map<String, Long> m) {
    return m.values().stream().mapToLong(Long::longValue).sum();
  }

  /** How many namespaces saw more than two counted writes, and what the extra ones were. */
  private static String extraWriteNamespaces(List<Request> log, Set<String> namespaces) {
    Map<String, List<String>> per = new HashMap<>();
    for (Request r : log) {
      if (isCounted(r) && namespaces.contains(r.namespace())) {
        per.computeIfAbsent(r.namespace(), k -> new ArrayList<>())
            .add(r.method() + " " + r.resource() + " " + r.code());
      }
    }
    Map<String, Long> patterns = new TreeMap<>();
    long count = 0;
    for (List<String> l : per.values()) {
      if (l.size() > 2) {
        count++;
        patterns.merge(String.join(" > ", l), 1L, Long::sum);
      }
    }
    StringBuilder sb = new StringBuilder(Long.toString(count));
    patterns.forEach((k, v) -> sb.append("; ").append(v).append("x [").append(k).append(']'));
    return sb.toString();
  }

  /**
   * Successful ServiceAccount patches in these namespaces whose new imagePullSecrets list lacks the
   * granted pull Secret: a granted namespace lost the entry (pods admitted meanwhile get no pull
   * Secret). Every namespace here stays granted, so each one is a transient revocation.
   */
  static long droppedGrants(List<Request> log, Set<String> namespaces) {
    long n = 0;
    for (Request r : log) {
      if (!"PATCH".equals(r.method())
          || !"serviceaccounts".equals(r.resource())
          || r.code() != 200
          || !namespaces.contains(r.namespace())) {
        continue;
      }
      for (com.google.gson.JsonElement op :
          com.google.gson.JsonParser.parseString(r.body()).getAsJsonArray()) {
        com.google.gson.JsonObject o = op.getAsJsonObject();
        if ("/imagePullSecrets".equals(o.get("path").getAsString())
            && o.has("value")
            && !o.get("value").toString().contains("\"" + Seed.PULL_SECRET + "\"")) {
          n++;
        }
      }
    }
    return n;
  }

  private void reportDropped(String bench, List<Request> log, Set<String> namespaces) {
    long dropped = droppedGrants(log, namespaces);
    add(
        bench,
        "ServiceAccount patches that dropped the granted Secret",
        dropped + "",
        "0",
        "the namespaces stay granted throughout, so each is a transient revocation");
    if (dropped != 0) {
      failures.add(
          bench + ": " + dropped + " ServiceAccount patches removed a granted pull Secret");
    }
  }

  /** Nearest-rank percentile of sorted values. */
  static double pct(double[] sorted, double p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  private void add(String bench, String metric, String value, String target, String note) {
    rows.add(new Row(bench, metric, value, target, note));
    log(bench + ": " + metric + " = " + value + (note.isEmpty() ? "" : "  (" + note + ")"));
  }

  private void print(Map<String, String> machine) {
    StringBuilder sb = new StringBuilder();
    sb.append("\n== registry-policy controller benchmarks ==\n");
    machine.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%-12s %s%n", k, v)));
    sb.append(
        String.format(
            Locale.ROOT,
            "%-12s %s%n",
            "settings",
            String.format(
                Locale.ROOT,
                "workers=%d lease=%s poll=%dus settle=%dms fake-nodelay=%s; harness objects written straight into the fake's store",
                s.workers,
                s.lease,
                s.pollMicros,
                s.settleMs,
                s.nodelay)));
    int wb = "bench".length();
    int wm = "metric".length();
    int wv = "value".length();
    int wt = "target".length();
    for (Row r : rows) {
      wb = Math.max(wb, r.bench().length());
      wm = Math.max(wm, r.metric().length());
      wv = Math.max(wv, r.value().length());
      wt = Math.max(wt, r.target().length());
    }
    String fmt = "%-" + wb + "s | %-" + wm + "s | %-" + wv + "s | %-" + wt + "s | %s%n";
    sb.append('\n')
        .append(String.format(Locale.ROOT, fmt, "bench", "metric", "value", "target", "note"));
    sb.append("-".repeat(wb + wm + wv + wt + 20)).append('\n');
    for (Row r : rows) {
      sb.append(
          String.format(Locale.ROOT, fmt, r.bench(), r.metric(), r.value(), r.target(), r.note()));
    }
    sb.append('\n');
    if (failures.isEmpty() && misses.isEmpty()) {
      sb.append("all results correct, all targets met\n");
    }
    for (String f : failures) {
      sb.append("WRONG: ").append(f).append('\n');
    }
    for (String m : misses) {
      sb.append("TARGET MISSED: ").append(m).append('\n');
    }
    System.out.print(sb);
  }

  private void closeOpen() {
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (Exception e) {
        // best effort
      }
    }
    open.clear();
  }

  private synchronized void cleanUp() {
    for (Process p : new ArrayList<>(children)) {
      p.destroyForcibly();
    }
    children.clear();
    closeOpen();
    if (!s.keep) {
      try (Stream<Path> walk = Files.walk(root)) {
        walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException e) {
        // already gone
      }
    }
  }

  private static String tail(Path f) {
    try {
      List<String> l = Files.readAllLines(f);
      return String.join(" | ", l.subList(Math.max(0, l.size() - 5), l.size()));
    } catch (IOException e) {
      return "";
    }
  }

  static String ms(double v) {
    if (v >= 10_000) {
      return String.format(Locale.ROOT, "%.2f s", v / 1000);
    }
    return String.format(Locale.ROOT, v < 10 ? "%.2f ms" : "%.1f ms", v);
  }

  static String mib(double v) {
    return String.format(Locale.ROOT, "%.1f MiB", v);
  }

  private static void log(String msg) {
    System.out.println("[bench] " + msg);
    System.out.flush();
  }
}
