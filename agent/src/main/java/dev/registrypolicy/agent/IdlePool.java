package dev.registrypolicy.agent;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A pool of daemon threads that exist only while there is work: each ends after {@link #IDLE} with
 * nothing to do, so an agent whose node is in step holds no writer or probe threads (their stacks
 * and native buffers are given back; agent/README.md, "Fast path: measured"). A new pass starts
 * them again, which costs well under a millisecond next to the writes it runs.
 */
final class IdlePool {
  static final Duration IDLE = Duration.ofSeconds(10);

  private IdlePool() {}

  /** Up to {@code threads} threads named {@code name}; tasks beyond that wait in order. */
  static ExecutorService of(String name, int threads) {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            IDLE.toMillis(),
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, name);
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }
}
