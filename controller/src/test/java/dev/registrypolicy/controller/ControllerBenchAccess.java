package dev.registrypolicy.controller;

import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.models.V1Secret;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * What the benchmark harness ({@code dev.registrypolicy.controller.bench}) needs from the
 * package-private controller: start and stop a {@link Controller} with chosen settings, read its
 * counters, send its log somewhere, and build exactly the pull Secret it would write (so a store
 * can be seeded as already converged). Test code only.
 */
public final class ControllerBenchAccess {
  public static final String MANAGED_BY_LABEL = Labels.MANAGED_BY_LABEL;
  public static final String MANAGED_BY = Labels.MANAGED_BY;
  public static final String SA_ANNOTATION = Desired.SA_ANNOTATION;
  public static final String STATUS_CONFIGMAP = Reconciler.STATUS_CONFIGMAP;
  public static final String LEASE_NAME = Controller.LEASE_NAME;

  private ControllerBenchAccess() {}

  /** A started controller and its counters. */
  public static final class Running implements AutoCloseable {
    private final Controller controller;
    private final Metrics metrics;

    private Running(Controller controller, Metrics metrics) {
      this.controller = controller;
      this.metrics = metrics;
    }

    public boolean leader() {
      return controller.isLeader();
    }

    /** Every informer has synced. */
    public boolean ready() {
      return controller.ready();
    }

    /** A valid policy is in force. */
    public boolean policyLoaded() {
      return controller.reconciler().policy() != null;
    }

    /** Work-queue keys processed so far. */
    public long reconciles() {
      return (long) metrics.reconciles.get();
    }

    /** Successful writes the reconciler counted. */
    public long writes() {
      return (long) metrics.writes.get();
    }

    public long writeRaces() {
      return (long) metrics.conflictsRetried.get();
    }

    @Override
    public void close() {
      controller.close();
    }
  }

  /**
   * Starts a controller (informers and leader election; returns at once).
   *
   * @param resync informer resync period
   * @param lease lease duration; renew deadline and retry period are derived as the tests do (2/3
   *     and 1/15 of it)
   */
  public static Running start(
      ApiClient client, String identity, int workers, Duration resync, Duration lease) {
    Metrics metrics = new Metrics();
    Duration renew = lease.multipliedBy(2).dividedBy(3);
    Duration retry = lease.dividedBy(15);
    Controller c =
        new Controller(
            client,
            new Controller.Settings(identity, workers, resync, lease, renew, retry),
            metrics);
    c.start();
    return new Running(c, metrics);
  }

  /** The production log set-up of {@code run}: INFO, one key=value line per record on stderr. */
  public static void logToStderr() {
    Log.configure(Level.INFO);
  }

  /**
   * The production log format and level, written to a file instead of stderr, flushed per record
   * like the console handler, so logging costs about what it costs in a pod.
   */
  public static void logToFile(Path file) throws IOException {
    Log.configure(Level.INFO);
    Logger root = Logger.getLogger("");
    Formatter f = null;
    for (Handler h : root.getHandlers()) {
      f = h.getFormatter();
      root.removeHandler(h);
    }
    OutputStream out = Files.newOutputStream(file);
    StreamHandler h =
        new StreamHandler(out, f) {
          @Override
          public synchronized void publish(LogRecord r) {
            super.publish(r);
            flush();
          }
        };
    h.setLevel(Level.INFO);
    root.addHandler(h);
  }

  /** Closes and removes the log handlers (so a log file can be deleted). */
  public static void closeLog() {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
      h.close();
    }
  }

  /**
   * The pull Secret the controller writes for {@code grant} in {@code namespace}, given the policy
   * text and the policy namespace's source Secrets (name → type and data).
   */
  public static V1Secret pullSecret(
      String policyText,
      Map<String, Map.Entry<String, Map<String, byte[]>>> sources,
      String grant,
      String namespace)
      throws PolicyException {
    Policy p = PolicyDocument.parse(policyText);
    Map<String, SourceSecret> src = new java.util.HashMap<>();
    sources.forEach(
        (name, typeAndData) ->
            src.put(name, new SourceSecret(name, typeAndData.getKey(), typeAndData.getValue())));
    Desired.Keyed g = Desired.grants(p, src);
    byte[] cfg = g.values().get(grant);
    if (cfg == null) {
      throw new IllegalArgumentException("grant " + grant + " cannot be served: " + g.problems());
    }
    String secretName =
        p.access().stream()
            .filter(a -> a.name().equals(grant))
            .findFirst()
            .orElseThrow()
            .secretName();
    return Reconciler.pullSecret(namespace, new Desired.PullSecret(secretName, grant, cfg), null);
  }
}
