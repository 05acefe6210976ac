package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.Problem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The node agent's control loop: read the mounted policy and credentials, plan, apply to certs.d.
 * Level-triggered: every file-system event and every resync tick runs the same full reconcile.
 * An invalid policy or a missing credential keeps the last good plan in force and is reported
 * once per distinct problem.
 */
final class Agent implements AutoCloseable {
  /** Command-line settings. */
  record Options(
      Path policyFile,
      Path secretsDir,
      Path certsDir,
      String nodeCertsDir,
      boolean adopt,
      Duration resync,
      Path containerdConfig) {}

  /** The outcome of one reconcile. */
  enum Outcome {
    /** The current policy is applied. */
    APPLIED,
    /** The policy or its credentials are unusable; the last good plan (if any) was re-asserted. */
    INVALID,
    /** Writing to certs.d failed for some hosts. */
    FAILED,
    /**
     * certs.d itself was deleted on the node while this process still reaches it through its
     * mount: nothing written can reach containerd until the container restarts and the mount is
     * made again. Nothing was written and no problem was recorded; the caller exits.
     */
    CERTS_DIR_DELETED
  }

  /** Why {@link #run()} returned. */
  enum RunResult {
    /** Closed or interrupted: shutting down. */
    STOPPED,
    /** A pass found certs.d deleted on the node ({@link Outcome#CERTS_DIR_DELETED}). */
    CERTS_DIR_DELETED
  }

  private final Options options;
  private final Metrics metrics;
  private final CertsDir certsDir;
  private final Metrics.Counter written;
  private final Metrics.Counter removed;
  private final Metrics.Counter driftRepairs;
  private final Metrics.Counter reconciles;
  private final Metrics.Gauge problemGauge;
  private final Metrics.Gauge policyInfo;
  /** The sha256 label of the one series {@link #policyInfo} has, or null before the first good policy. */
  private String policyInfoSha;
  private volatile WatchService watcher;

  private Plan lastGood;
  private String appliedSha;
  private long lastSuccessMillis;
  private boolean firstApplyDone;
  private final Map<String, String> problems = new TreeMap<>();
  private CertsDir.Report lastReport;
  private volatile ContainerdConfig.Diagnosis diagnosis;
  /** Auth scheme of each endpoint that gets header credentials, probed in the background (daemon mode). */
  /** Writes host directories in parallel (daemon mode); null writes them one after another. */
  private java.util.concurrent.ExecutorService writers;
  private final Map<String, RegistryProbe.Result> probes = new java.util.concurrent.ConcurrentHashMap<>();
  private java.util.concurrent.ExecutorService prober;
  private String probedSha;

  Agent(Options options, Metrics metrics) {
    this.options = options;
    this.metrics = metrics;
    this.certsDir = new CertsDir(options.certsDir());
    this.written = metrics.counter("registry_policy_agent_files_written_total", "Files written to certs.d.");
    this.removed = metrics.counter("registry_policy_agent_files_removed_total", "Files removed from certs.d.");
    this.driftRepairs = metrics.counter("registry_policy_agent_drift_repairs_total",
        "Files rewritten because they had drifted from the unchanged policy (edited, deleted, wiped).");
    this.reconciles = metrics.counter("registry_policy_agent_reconciles_total", "Reconcile passes by outcome.", "outcome");
    this.problemGauge = metrics.gauge("registry_policy_agent_problem", "Current problems (1 while present).", "kind", "subject");
    metrics.gauge("registry_policy_agent_last_success_timestamp_seconds",
        "Unix time of the last reconcile that applied the current policy.", () -> lastSuccessMillis / 1000.0);
    metrics.gauge("registry_policy_agent_problems", "Number of current problems.", () -> problemCount());
    metrics.gauge("registry_policy_agent_managed_hosts", "Host directories of the applied plan that the agent manages (not those left alone as foreign).",
        () -> lastGoodSize());
    this.policyInfo = metrics.gauge("registry_policy_agent_policy_info",
        "1 for the last good policy, labelled with its full sha256 (as policySha256 in /healthz).", "sha256");
    if (options.containerdConfig() != null) {
      // Only with --containerd-config: without it there is nothing to diagnose.
      metrics.gauge("registry_policy_agent_containerd_config_version",
          "containerd config.toml's version (1 when it has none, 2 or 3); 0 while it cannot be read.",
          () -> diagnosis == null ? 0 : diagnosis.configVersion());
      metrics.gauge("registry_policy_agent_containerd_config_path_ok",
          "1 when containerd's registry config_path names the certs dir, else 0 (also while config.toml cannot be read).",
          () -> diagnosis != null && diagnosis.pointsAtCertsDir() ? 1 : 0);
    }
  }

  private synchronized double problemCount() {
    return problems.size();
  }

  private synchronized double lastGoodSize() {
    return managedHosts().size();
  }

  /** Host directories of the applied plan that are the agent's (not those left alone as foreign). */
  private synchronized List<String> managedHosts() {
    if (lastGood == null) {
      return List.of();
    }
    List<String> hosts = new ArrayList<>(lastGood.dirs().keySet());
    if (lastReport != null) {
      hosts.removeAll(lastReport.foreign());
    }
    return hosts;
  }

  /** One full pass. */
  synchronized Outcome reconcile(String reason) {
    Map<String, String> found = new LinkedHashMap<>();
    Plan plan = null;
    String text = null;
    try {
      text = Files.readString(options.policyFile(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      found.put("policy-unreadable", "cannot read policy " + options.policyFile() + ": " + e.getClass().getSimpleName());
    }
    if (text != null) {
      try {
        Policy policy = PolicyDocument.parse(text);
        plan = NodePlan.plan(policy, SecretStore.directory(options.secretsDir()), options.nodeCertsDir())
            .keepingFrom(lastGood);
        for (Map.Entry<String, List<String>> h : plan.held().entrySet()) {
          String kept = plan.dirs().containsKey(h.getKey()) ? "keeping its last good files" : "leaving it as it is";
          for (String p : h.getValue()) {
            found.put("credentials|" + p, p + " (host directory " + h.getKey() + ": " + kept + "; other hosts applied)");
          }
        }
      } catch (PolicyException e) {
        for (Problem p : e.problems()) {
          found.put("policy-invalid|" + p, "policy invalid: " + p);
        }
      } catch (IOException e) {
        found.put("credentials-unreadable", "cannot read credentials bundle: " + e.getClass().getSimpleName());
      }
    }
    boolean valid = plan != null;
    if (valid) {
      if (lastGood == null || !lastGood.policySha256().equals(plan.policySha256()) || !lastGood.equals(plan)) {
        Log.info("policy loaded", "policy_sha256", plan.policySha256().substring(0, 12), "hosts", plan.dirs().size(),
            "files", plan.fileCount(), "reason", reason);
      }
      lastGood = plan;
      setPolicyInfo(plan.policySha256());
    }
    Outcome outcome = valid ? Outcome.APPLIED : Outcome.INVALID;
    if (lastGood != null && certsDir.rootDeleted(false)) {
      reconciles.labels(Outcome.CERTS_DIR_DELETED.name().toLowerCase(java.util.Locale.ROOT)).inc();
      return Outcome.CERTS_DIR_DELETED;
    }
    if (lastGood != null) {
      try {
        CertsDir.Report r = certsDir.apply(lastGood, options.adopt(), writers);
        if (!r.errors().isEmpty() && certsDir.rootDeleted(true)) {
          reconciles.labels(Outcome.CERTS_DIR_DELETED.name().toLowerCase(java.util.Locale.ROOT)).inc();
          return Outcome.CERTS_DIR_DELETED;
        }
        boolean sameAsApplied = lastGood.policySha256().equals(appliedSha) && firstApplyDone;
        for (String w : r.written()) {
          Log.info("wrote file", "path", w, "reason", sameAsApplied ? "drift" : reason);
        }
        for (String d : r.removed()) {
          Log.info("removed file", "path", d, "reason", "not in policy");
        }
        written.inc(r.written().size());
        removed.inc(r.removed().size());
        if (sameAsApplied) {
          driftRepairs.inc(r.written().size());
        }
        for (String f : r.foreign()) {
          found.put("foreign|" + f, "certs.d/" + f + " exists and is not managed by registry-policy; left alone"
              + " (start the agent with --adopt to take it over)");
        }
        for (String s : r.shadowed()) {
          found.put("shadowed|" + s, "certs.d/" + s + " is not managed by registry-policy and shadows the managed"
              + " host:port directory (containerd looks up host_port_ first)");
        }
        for (String e : r.errors()) {
          found.put("write-failed|" + e, "writing certs.d failed: " + e);
          outcome = Outcome.FAILED;
        }
        lastReport = r;
        if (r.written().isEmpty() && r.removed().isEmpty()) {
          Log.debug("pass", "reason", reason, "outcome", valid ? "unchanged" : "kept last good", "files_unchanged",
              r.unchanged());
        }
        if (r.errors().isEmpty()) {
          appliedSha = lastGood.policySha256();
          firstApplyDone = true;
          if (valid) {
            lastSuccessMillis = System.currentTimeMillis();
          }
        }
      } catch (IOException | RuntimeException e) {
        if (certsDir.rootDeleted(true)) {
          reconciles.labels(Outcome.CERTS_DIR_DELETED.name().toLowerCase(java.util.Locale.ROOT)).inc();
          return Outcome.CERTS_DIR_DELETED;
        }
        found.put("write-failed", "cannot apply to " + options.certsDir() + ": " + e.getClass().getSimpleName()
            + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        outcome = Outcome.FAILED;
      }
    }
    diagnose(found);
    tokenAuthWarnings(found);
    report(found, lastGood != null);
    reconciles.labels(outcome.name().toLowerCase(java.util.Locale.ROOT)).inc();
    registerWatches();
    return outcome;
  }

  /** Moves the policy_info series to {@code sha}: the new series first, so a scrape never sees none. */
  private void setPolicyInfo(String sha) {
    if (!sha.equals(policyInfoSha)) {
      policyInfo.labels(sha).set(1);
      if (policyInfoSha != null) {
        policyInfo.remove(policyInfoSha);
      }
      policyInfoSha = sha;
    }
  }

  private void diagnose(Map<String, String> found) {
    if (options.containerdConfig() == null) {
      return;
    }
    try {
      String text = Files.readString(options.containerdConfig(), StandardCharsets.UTF_8);
      diagnosis = ContainerdConfig.diagnose(text, options.nodeCertsDir());
    } catch (IOException e) {
      diagnosis = ContainerdConfig.unreadable(options.containerdConfig() + ": " + e.getClass().getSimpleName());
    }
    for (String w : diagnosis.warnings()) {
      found.put("containerd|" + w, "containerd: " + w);
    }
  }

  /**
   * containerd before 2.1 does not send hosts.toml headers on token requests, so header
   * credentials fail against token-auth registries there. A version 3 config means containerd 2.x;
   * with an older config format the node may run 1.x.
   */
  private void tokenAuthWarnings(Map<String, String> found) {
    if (prober != null && lastGood != null && !lastGood.policySha256().equals(probedSha)) {
      probedSha = lastGood.policySha256();
      probes.clear();
      for (NodePlan.HostDir hd : lastGood.dirs().values()) {
        for (HostsToml.Host h : hd.hostsToml().hosts()) {
          if (h.authorization() == null) {
            continue;
          }
          List<byte[]> cas = new ArrayList<>();
          for (String ca : h.ca()) {
            NodePlan.FileSpec f = hd.files().get(ca.substring(ca.lastIndexOf('/') + 1));
            if (f != null) {
              cas.add(f.content());
            }
          }
          prober.submit(() -> {
            RegistryProbe.Result r = RegistryProbe.probe(java.net.URI.create(h.url()), h.overridePath(), cas, null, null,
                h.skipVerify(), Duration.ofSeconds(3));
            probes.put(h.url(), r);
            if (r.tokenAuth()) {
              reconcile("probe"); // report it now rather than at the next event
            }
          });
        }
      }
    }
    boolean mayBeOld = diagnosis == null || diagnosis.configVersion() < 3;
    for (Map.Entry<String, RegistryProbe.Result> e : probes.entrySet()) {
      if (e.getValue().tokenAuth() && mayBeOld) {
        found.put("token-auth|" + e.getKey(), e.getKey() + " uses token authentication: containerd before 2.1 does not"
            + " send hosts.toml headers on token requests, so its credentials work only on containerd 2.1 or newer"
            + " (use a pull Secret for it, or upgrade containerd)");
      }
    }
  }

  /** Logs each problem once when it appears and once when it goes; keeps the problem gauges. */
  private void report(Map<String, String> found, boolean keptLastGood) {
    for (Map.Entry<String, String> e : found.entrySet()) {
      if (!problems.containsKey(e.getKey())) {
        Log.warn("problem", "detail", e.getValue(), "action", keptLastGood ? "keeping last good config" : "nothing written");
        problemGauge.labels(kind(e.getKey()), subject(e.getKey())).set(1);
      }
    }
    for (String k : new ArrayList<>(problems.keySet())) {
      if (!found.containsKey(k)) {
        Log.info("problem resolved", "detail", problems.get(k));
        problemGauge.remove(kind(k), subject(k));
      }
    }
    problems.clear();
    problems.putAll(found);
  }

  private static String kind(String key) {
    int bar = key.indexOf('|');
    return bar < 0 ? key : key.substring(0, bar);
  }

  private static String subject(String key) {
    int bar = key.indexOf('|');
    String s = bar < 0 ? "" : key.substring(bar + 1);
    return s.length() > 120 ? s.substring(0, 120) : s;
  }

  /** Health for /healthz and /readyz. */
  synchronized Health health() {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("policySha256", lastGood == null ? null : lastGood.policySha256());
    d.put("managedHosts", managedHosts());
    d.put("lastSuccessUnixSeconds", lastSuccessMillis / 1000);
    d.put("problems", new ArrayList<>(problems.values()));
    if (lastReport != null) {
      d.put("lastApply", CertsDir.describe(lastReport));
    }
    if (diagnosis != null) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("configVersion", diagnosis.configVersion());
      c.put("configPath", diagnosis.configPath());
      c.put("pointsAtCertsDir", diagnosis.pointsAtCertsDir());
      c.put("containerd", diagnosis.containerdMajor());
      c.put("warnings", diagnosis.warnings());
      d.put("containerd", c);
    }
    boolean writeFailing = problems.keySet().stream().anyMatch(k -> k.startsWith("write-failed"));
    return new Health(!writeFailing, firstApplyDone, d);
  }

  /**
   * Watches certs.d, each managed host directory, and the policy and credentials mounts; resyncs
   * periodically. Returns when closed, or as soon as a pass finds certs.d deleted on the node.
   */
  RunResult run() throws IOException, InterruptedException {
    watcher = options.certsDir().getFileSystem().newWatchService();
    writers = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "certs-writer");
      t.setDaemon(true);
      return t;
    });
    prober = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "registry-probe");
      t.setDaemon(true);
      return t;
    });
    registerWatches(); // before the first pass, so a change during it is not missed
    if (reconcile("start") == Outcome.CERTS_DIR_DELETED) {
      return RunResult.CERTS_DIR_DELETED;
    }
    long resync = options.resync().toMillis();
    try {
      while (!Thread.currentThread().isInterrupted()) {
        WatchKey key = watcher.poll(resync, TimeUnit.MILLISECONDS);
        Outcome o;
        if (key == null) {
          o = reconcile("resync");
        } else {
          drain(key);
          // Coalesce a burst (rm -rf, kubelet's symlink swap) into one pass.
          WatchKey more;
          while ((more = watcher.poll(5, TimeUnit.MILLISECONDS)) != null) {
            drain(more);
          }
          o = reconcile("watch");
        }
        if (o == Outcome.CERTS_DIR_DELETED) {
          return RunResult.CERTS_DIR_DELETED;
        }
      }
    } catch (ClosedWatchServiceException e) {
      // closed: shutting down
    }
    return RunResult.STOPPED;
  }

  private static void drain(WatchKey key) {
    key.pollEvents();
    key.reset();
  }

  private void registerWatches() {
    WatchService ws = watcher;
    if (ws == null) {
      return;
    }
    List<Path> dirs = new ArrayList<>();
    dirs.add(options.certsDir());
    if (lastGood != null) {
      for (String name : lastGood.dirs().keySet()) {
        dirs.add(certsDir.resolve(name));
      }
    }
    Path policyDir = options.policyFile().toAbsolutePath().getParent();
    if (policyDir != null) {
      dirs.add(policyDir);
    }
    if (options.secretsDir() != null) {
      dirs.add(options.secretsDir());
    }
    for (Path d : dirs) {
      if (Files.isDirectory(d)) {
        try {
          d.register(ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
              StandardWatchEventKinds.ENTRY_MODIFY);
        } catch (IOException | ClosedWatchServiceException e) {
          Log.debug("cannot watch", "dir", d, "error", e.getClass().getSimpleName());
        }
      }
    }
  }

  /** Removes everything the agent owns from certs.d (uninstall). */
  List<String> cleanup() throws IOException {
    List<String> gone = certsDir.cleanup();
    for (String g : gone) {
      Log.info("removed file", "path", g, "reason", "cleanup");
    }
    return gone;
  }

  @Override
  public void close() throws IOException {
    if (prober != null) {
      prober.shutdownNow();
    }
    if (writers != null) {
      writers.shutdown();
    }
    WatchService ws = watcher;
    if (ws != null) {
      ws.close();
    }
  }

  synchronized Map<String, String> problems() {
    return Map.copyOf(problems);
  }

  synchronized Plan lastGood() {
    return lastGood;
  }
}
