package dev.registrypolicy.agent;

import dev.registrypolicy.common.Causes;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * When the agent passes: at start, on every change worth a pass ({@link Watches}), at every resync,
 * and, while passes fail, after a backoff ({@link Backoff}: 1 s doubling to 5 min) instead of at
 * once. A failing pass's own file-system noise (temp files created and removed) is not a change, so
 * a full disk or a read-only directory costs a few passes an hour, not a busy loop. A real input
 * change (the policy or bundle content, a managed file wiped or edited by someone else) cuts the
 * backoff short and starts it over; so does a successful pass. A burst of events (an {@code rm
 * -rf}, kubelet's symlink swap) is one pass.
 */
final class AgentLoop implements AutoCloseable {
  /** Events closer together than this are one pass. */
  private static final long COALESCE_MILLIS = 5;

  private static final Watches.Trigger STOP = new Watches.Trigger("stop", true);

  private final Agent agent;
  private final Backoff backoff;
  private final Duration resync;
  private final Watches watches;
  private final BlockingQueue<Watches.Trigger> triggers = new LinkedBlockingQueue<>();
  private volatile boolean closed;

  AgentLoop(Agent agent, Backoff backoff) throws IOException {
    this.agent = agent;
    this.backoff = backoff;
    this.resync = agent.options().resync();
    this.watches = new Watches(agent);
  }

  /** Asks for a pass now (from another thread), as a real change. */
  void wake(String reason) {
    triggers.offer(new Watches.Trigger(reason, true));
  }

  /** Watches what {@code plan} manages (called by the pass before it publishes its result). */
  void watch(NodePlan.Plan plan, CertsDir.Report report) {
    if (!closed) {
      watches.register(plan, report);
    }
  }

  Agent.RunResult run() throws InterruptedException {
    watches.register(
        agent.snapshot().plan(),
        agent.snapshot().report()); // before the first pass, so a change during it is not missed
    Thread watcher = new Thread(this::forwardEvents, "certs-watch");
    watcher.setDaemon(true);
    watcher.start();
    Agent.Outcome o = agent.reconcile("start");
    int failures = 0;
    while (true) {
      if (o == Agent.Outcome.CERTS_DIR_DELETED) {
        return Agent.RunResult.CERTS_DIR_DELETED;
      }
      failures = o == Agent.Outcome.FAILED ? failures + 1 : 0;
      Duration wait = failures > 0 ? backoff.after(failures) : resync;
      if (failures > 0) {
        Log.debug("backing off", "failed_passes", failures, "next_pass_in_ms", wait.toMillis());
      }
      String reason = next(System.nanoTime() + wait.toNanos(), failures > 0);
      if (reason == null) {
        return Agent.RunResult.STOPPED;
      }
      if (!reason.equals("retry") && failures > 0) {
        failures = 0; // a real change: start the backoff over
      }
      o = agent.reconcile(reason);
    }
  }

  /** Waits until {@code dueNanos} or a trigger; returns the reason to pass, or null when closed. */
  private String next(long dueNanos, boolean backingOff) throws InterruptedException {
    while (true) {
      long left = dueNanos - System.nanoTime();
      if (left <= 0) {
        return closed ? null : backingOff ? "retry" : "resync";
      }
      Watches.Trigger t = triggers.poll(left, TimeUnit.NANOSECONDS);
      if (closed) {
        return null;
      }
      if (t == null) {
        continue;
      }
      boolean input = t.inputChanged();
      Watches.Trigger more;
      while ((more = triggers.poll(COALESCE_MILLIS, TimeUnit.MILLISECONDS)) != null) {
        input |= more.inputChanged();
      }
      if (closed) {
        return null;
      }
      if (!backingOff || input) {
        return t.reason();
      }
      // backing off and nothing really changed: wait for the retry
    }
  }

  /** The watch thread: hands every event worth a pass to the loop. */
  private void forwardEvents() {
    try {
      while (!closed) {
        triggers.offer(watches.take());
      }
    } catch (ClosedWatchServiceException e) {
      // closed: shutting down
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // Without watches, the resync still passes; say so once.
      Log.error(
          "watching stopped",
          "error",
          Causes.describe(e),
          "action",
          "passes continue at every resync only");
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    triggers.offer(STOP);
    watches.close();
  }
}
