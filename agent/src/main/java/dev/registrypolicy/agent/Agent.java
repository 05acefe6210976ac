package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.common.Causes;
import dev.registrypolicy.common.Health;
import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.common.Redact;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * One reconcile pass of the node agent: read the inputs ({@link PolicySource}), apply the plan to
 * certs.d ({@link CertsDir}), diagnose containerd's config, report problems ({@link ProblemLog})
 * and publish a {@link HealthSnapshot}. Level-triggered: every pass does the whole job. An invalid
 * policy or an unreadable bundle keeps the last good plan in force; a host whose Secrets are
 * missing is held (keeps its last good files) while every other host is applied.
 *
 * <p>Passes run one at a time ({@link #reconcile} is synchronized); readers ({@link #health}, the
 * gauges, {@link #problems}) take the published snapshot and never wait for a pass. The loop that
 * decides when to pass is {@link AgentLoop}.
 */
final class Agent implements AutoCloseable {
  /** A pass running longer than this fails liveness: the loop is stuck (a hung file system). */
  static final Duration STUCK_AFTER = Duration.ofMinutes(2);

  /** Longest a health probe waits for the first pass (the manifest's probes time out at 3 s). */
  static final Duration READY_WAIT = Duration.ofSeconds(2);

  /** Longest the first pass waits for the API server's first answer (fast path on). */
  static final Duration FIRST_ANSWER_WAIT = Duration.ofSeconds(1);

  /**
   * The random part of the agent's temp-file names, which must not make a problem text new each
   * pass.
   */
  private static final Pattern TEMP_NAME =
      Pattern.compile("(\\.rp-[^/\\s]*?)\\.[0-9a-f]{1,16}(\\.tmp)");

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
    /** Writing to certs.d failed for some hosts, or the pass failed unexpectedly. */
    FAILED,
    /**
     * certs.d itself was deleted on the node while this process still reaches it through its mount:
     * nothing written can reach containerd until the container restarts and the mount is made
     * again. Nothing was written and no problem was recorded; the caller exits.
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
  private final PolicySource source;
  private final ProblemLog problemLog;
  private final Backoff backoff;
  private final AgentMetrics series;
  private final NodeDiagnosis diagnosis;

  /** Published after every pass; read without a lock. */
  private volatile HealthSnapshot snapshot = HealthSnapshot.START;

  /** System.nanoTime() when the running pass started, 0 between passes. */
  private volatile long passStartedNanos;

  private volatile AgentLoop loop;

  /** Set by {@link #close}: no pass starts any more (a late API event must not run one). */
  private volatile boolean closing;

  /** The fast path's inputs and report (null without API access). */
  private final ApiInputs apiInputs;

  private final NodeReporter reporter;

  /** This node's name for the report (from the fast path's configuration), or null. */
  private final String node;

  /** Counted down when the first pass is over (readiness waits for it, bounded). */
  private final CountDownLatch firstPass = new CountDownLatch(1);

  /**
   * The plan a running pass is applying (what the watch filter compares with while it writes), else
   * null.
   */
  private volatile Plan applying;

  /** Told about every file-system event the daemon sees (tests); null in production. */
  volatile Watches.Listener watchListener;

  // Pass state: touched only inside reconcile().
  private String appliedSha;
  private boolean firstApplyDone;
  private String reportedKey;
  private Instant appliedAt;
  private volatile ExecutorService writers;
  private volatile Prober prober;

  Agent(Options options, Metrics metrics) {
    this(options, metrics, Backoff.DEFAULT);
  }

  /** With another backoff for failing passes (tests). */
  Agent(Options options, Metrics metrics, Backoff backoff) {
    this(options, metrics, backoff, null);
  }

  /**
   * With the fast path: the policy and bundle also from the API server, and the node report Lease
   * ({@code api}; null: files only, no report).
   */
  Agent(Options options, Metrics metrics, Backoff backoff, ApiConfig api) {
    this.options = options;
    this.metrics = metrics;
    this.backoff = backoff;
    this.certsDir = new CertsDir(options.certsDir());
    this.node = api == null ? null : api.node();
    if (api != null) {
      KubeClient client = new KubeClient(api);
      this.apiInputs =
          new ApiInputs(
              client,
              Backoff.DEFAULT,
              () -> {
                AgentLoop l = loop;
                if (l != null && !closing) {
                  l.wake("api");
                }
              });
      this.reporter = api.node() != null ? new NodeReporter(client, Backoff.DEFAULT) : null;
    } else {
      this.apiInputs = null;
      this.reporter = null;
    }
    this.source =
        new PolicySource(
            options.policyFile(), options.secretsDir(), options.nodeCertsDir(), apiInputs);
    this.series = new AgentMetrics(metrics, () -> snapshot, options.containerdConfig() != null);
    this.problemLog = new ProblemLog(series.problem);
    this.diagnosis = new NodeDiagnosis(options.containerdConfig(), options.nodeCertsDir());
  }

  Options options() {
    return options;
  }

  Metrics metrics() {
    return metrics;
  }

  PolicySource source() {
    return source;
  }

  CertsDir certsDir() {
    return certsDir;
  }

  /** The state after the last pass, without waiting for a running one. */
  HealthSnapshot snapshot() {
    return snapshot;
  }

  /**
   * One full pass. Never throws: an unexpected failure is a {@code pass-failed} problem with its
   * cause, and the pass counts as {@link Outcome#FAILED} (the loop retries with backoff).
   */
  synchronized Outcome reconcile(String reason) {
    if (closing) {
      return Outcome.FAILED; // shutting down: the loop ends at its next wait
    }
    passStartedNanos = Math.max(1, System.nanoTime());
    try {
      return pass(reason);
    } catch (RuntimeException | StackOverflowError e) {
      ProblemLog.Found found = new ProblemLog.Found();
      for (AgentProblem p : snapshot.problems()) {
        if (!p.kind().equals(AgentProblem.PASS_FAILED)) {
          found.add(p.kind(), p.subject(), p.detail(), "");
        }
      }
      found.add(
          AgentProblem.PASS_FAILED,
          "pass",
          "a pass failed unexpectedly: " + stable(Causes.describe(e)),
          "pass abandoned; files already written stay; retried with backoff");
      HealthSnapshot s = snapshot;
      publish(
          new HealthSnapshot(
              s.plan(),
              s.report(),
              problemLog.update(found.asMap()),
              s.diagnosis(),
              s.fingerprint(),
              s.lastSuccessMillis(),
              s.passes() + 1));
      series.pass(Outcome.FAILED);
      return Outcome.FAILED;
    } finally {
      passStartedNanos = 0;
      applying = null;
      firstPass.countDown();
    }
  }

  private Outcome pass(String reason) {
    HealthSnapshot before = snapshot;
    Plan lastGood = before.plan();
    PolicySource.Loaded in = source.load(lastGood);
    ProblemLog.Found found = new ProblemLog.Found();
    Plan plan = in.plan();
    if (plan != null) {
      if (lastGood == null || !lastGood.equals(plan)) {
        Log.info(
            "policy loaded",
            "policy_sha256",
            plan.policySha256().substring(0, 12),
            "hosts",
            plan.dirs().size(),
            "held",
            plan.held().size(),
            "files",
            plan.fileCount(),
            "reason",
            reason);
      }
      series.policy(plan.policySha256());
      for (AgentProblem p : in.problems()) {
        String action =
            plan.dirs().containsKey(p.subject())
                ? "kept last good files for " + p.subject() + "; other hosts applied"
                : "left " + p.subject() + " as it is; other hosts applied";
        found.add(p.kind(), p.subject(), p.detail(), action);
      }
    } else {
      String action =
          lastGood == null
              ? "nothing written: no good policy yet"
              : "kept the last good policy (" + lastGood.dirs().size() + " host dirs)";
      for (AgentProblem p : in.problems()) {
        found.add(p.kind(), p.subject(), p.detail(), action);
      }
    }
    Plan inForce = plan != null ? plan : lastGood;
    // Held hosts: the policy is applied, but not all of it; --once says so with its exit code.
    Outcome outcome = plan != null && plan.held().isEmpty() ? Outcome.APPLIED : Outcome.INVALID;
    CertsDir.Report report = before.report();
    long lastSuccess = before.lastSuccessMillis();
    if (inForce != null && certsDir.rootDeleted(false)) {
      series.pass(Outcome.CERTS_DIR_DELETED);
      return Outcome.CERTS_DIR_DELETED;
    }
    if (inForce != null) {
      CertsDir.Report r;
      applying = inForce;
      try {
        r = certsDir.apply(inForce, options.adopt(), writers);
      } catch (IOException | RuntimeException e) {
        // RuntimeException: a bug or an input nobody thought of; the pass still reports and
        // publishes.
        r = null;
        if (certsDir.rootDeleted(true)) {
          series.pass(Outcome.CERTS_DIR_DELETED);
          return Outcome.CERTS_DIR_DELETED;
        }
        found.add(
            AgentProblem.WRITE_FAILED,
            "certs.d",
            "applying the plan to " + options.certsDir() + " failed: " + stable(Causes.describe(e)),
            "stopped this pass's writes there; files already written stay; retried with"
                + " backoff");
        outcome = Outcome.FAILED;
      }
      if (r != null) {
        if (!r.errors().isEmpty() && certsDir.rootDeleted(true)) {
          series.pass(Outcome.CERTS_DIR_DELETED);
          return Outcome.CERTS_DIR_DELETED;
        }
        report = r;
        boolean sameAsApplied = inForce.policySha256().equals(appliedSha) && firstApplyDone;
        for (String w : r.written()) {
          Log.info("wrote file", "path", w, "reason", sameAsApplied ? "drift" : reason);
        }
        for (String d : r.removed()) {
          Log.info("removed file", "path", d, "reason", "not in policy");
        }
        series.written.inc(r.written().size());
        series.removed.inc(r.removed().size());
        if (sameAsApplied) {
          series.driftRepairs.inc(r.written().size());
        }
        if (reportApply(r, found)) {
          outcome = Outcome.FAILED;
        }
        if (r.written().isEmpty() && r.removed().isEmpty()) {
          Log.debug(
              "pass",
              "reason",
              reason,
              "outcome",
              plan != null ? "unchanged" : "kept last good",
              "files_unchanged",
              r.unchanged());
        }
        if (r.errors().isEmpty()) {
          appliedSha = inForce.policySha256();
          firstApplyDone = true;
          if (outcome == Outcome.APPLIED) {
            lastSuccess = System.currentTimeMillis();
          }
        }
      }
    }
    ContainerdConfig.Diagnosis containerd = diagnosis.containerd(found, inForce != null);
    // Closing: the prober's threads are going away; a pass still running does not hand it work.
    NodeDiagnosis.tokenAuth(found, closing ? null : prober, inForce, containerd);
    List<AgentProblem> problems = problemLog.update(found.asMap());
    AgentLoop l = loop;
    if (l != null) {
      l.watch(
          inForce,
          report); // before publishing: whoever sees this pass done finds its directories watched
    }
    publish(
        new HealthSnapshot(
            inForce,
            report,
            problems,
            containerd,
            in.fingerprint(),
            lastSuccess,
            before.passes() + 1));
    series.pass(outcome);
    report(inForce, in.bundleRevision(), problems, report);
    return outcome;
  }

  /**
   * Hands the node report to the reporter (never waits for it): the policy in force, the bundle
   * revision read with it, the problems, and when that policy and revision were first applied.
   */
  private void report(
      Plan inForce, String revision, List<AgentProblem> problems, CertsDir.Report applied) {
    NodeReporter r = reporter;
    if (r == null) {
      return;
    }
    String sha = inForce == null ? null : inForce.policySha256();
    String key = sha + "/" + revision;
    if (inForce != null
        && applied != null
        && applied.errors().isEmpty()
        && !key.equals(reportedKey)) {
      reportedKey = key;
      appliedAt = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    }
    List<String> lines = new ArrayList<>();
    for (AgentProblem p : problems) {
      lines.add(Redact.hide(p.kind() + " " + p.subject() + ": " + p.detail()));
    }
    r.offer(new NodeReport(node, sha, inForce == null ? null : revision, lines, appliedAt));
  }

  /** Adds what an apply found to the problems; returns whether writes failed. */
  private static boolean reportApply(CertsDir.Report r, ProblemLog.Found found) {
    for (String f : r.foreign()) {
      found.add(
          AgentProblem.FOREIGN,
          f,
          "certs.d/" + f + " exists and is not managed by registry-policy",
          "left certs.d/"
              + f
              + " alone; containerd keeps using what it holds (start the agent with --adopt to take it"
              + " over)");
    }
    for (String s : r.shadowed()) {
      found.add(
          AgentProblem.SHADOWED,
          s,
          "certs.d/"
              + s
              + " is not managed by registry-policy and shadows the managed"
              + " host:port directory (containerd looks up host_port_ first)",
          "left certs.d/"
              + s
              + " alone; containerd reads it instead of the agent's directory until it is removed");
    }
    for (String e : r.errors()) {
      String text = stable(e);
      int sep = text.indexOf(": ");
      String subject = sep > 0 ? text.substring(0, sep) : "certs.d";
      found.add(
          AgentProblem.WRITE_FAILED,
          subject,
          "writing certs.d failed: " + text,
          "files of "
              + subject
              + " that could not be written stay as they were; retried with backoff");
    }
    return !r.errors().isEmpty();
  }

  private void publish(HealthSnapshot s) {
    snapshot = s;
    applying = null;
  }

  /** The plan that certs.d should match now: the one being applied, else the one in force. */
  Plan currentPlan() {
    Plan p = applying;
    return p != null ? p : snapshot.plan();
  }

  /**
   * A problem text without the random part of temp-file names, so a repeated failure is one
   * problem.
   */
  static String stable(String text) {
    return TEMP_NAME.matcher(text).replaceAll("$1.*$2");
  }

  /** Health for /healthz and /readyz, from the last published snapshot: never waits for a pass. */
  Health health() {
    if (firstPass.getCount() > 0) {
      // Before the first pass is over, a probe waits for it (bounded below the probes' 3 s
      // timeout), so the pod is Ready at the probe that arrives during the first pass, not one
      // probe period later.
      try {
        firstPass.await(READY_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    long started = passStartedNanos;
    boolean stuck = started != 0 && System.nanoTime() - started > STUCK_AFTER.toNanos();
    return snapshot.health(stuck);
  }

  /**
   * Watches the inputs and certs.d and passes on every real change, at every resync and, while
   * passes fail, with backoff ({@link AgentLoop}). Returns when closed, or as soon as a pass finds
   * certs.d deleted on the node.
   */
  RunResult run() throws IOException, InterruptedException {
    writers = IdlePool.of("certs-writer", 4);
    AgentLoop l = new AgentLoop(this, backoff);
    prober = new Prober(() -> l.wake("probe"));
    loop = l;
    if (apiInputs != null) {
      apiInputs.start();
      // The first pass uses what the API server says when it answers quickly, so a fresh agent
      // does not wait for kubelet to mount a new bundle; otherwise the files, as always.
      apiInputs.awaitFirstAnswers(FIRST_ANSWER_WAIT);
    }
    if (reporter != null) {
      reporter.start();
    }
    return l.run();
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
    closing = true;
    if (apiInputs != null) {
      apiInputs.close();
    }
    if (reporter != null) {
      reporter.close();
    }
    Prober p = prober;
    if (p != null) {
      p.close();
    }
    ExecutorService w = writers;
    if (w != null) {
      w.shutdown();
    }
    AgentLoop l = loop;
    if (l != null) {
      l.close();
    }
  }

  /** Whether both fast-path watches are healthy (false without the fast path). */
  boolean apiHealthy() {
    return apiInputs != null && apiInputs.policy.healthy() && apiInputs.bundle.healthy();
  }

  /** Lease writes the node reporter made (tests, benchmarks); 0 without one. */
  long reportWrites() {
    return reporter == null ? 0 : reporter.writes();
  }

  /** The current problems, from the last published snapshot. */
  List<AgentProblem> problems() {
    return snapshot.problems();
  }

  /** The plan in force, or null before the first good policy. */
  Plan lastGood() {
    return snapshot.plan();
  }
}
