package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.extended.workqueue.DefaultRateLimitingQueue;
import io.kubernetes.client.extended.workqueue.RateLimitingQueue;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A key whose reconcile throws is retried with backoff; the worker and the other keys go on. */
class WorkerTest {
  @Test
  void anExceptionOnOneKeyNeitherKillsTheWorkerNorLosesTheKey() throws Exception {
    RateLimitingQueue<String> queue =
        new DefaultRateLimitingQueue<>(Executors.newSingleThreadExecutor());
    AtomicInteger badAttempts = new AtomicInteger();
    List<String> done = new CopyOnWriteArrayList<>();
    CountDownLatch allDone = new CountDownLatch(3);
    AtomicBoolean serving = new AtomicBoolean(true);
    Worker w =
        new Worker(
            queue,
            key -> {
              if (key.equals("ns/bad") && badAttempts.incrementAndGet() <= 2) {
                throw new IllegalStateException("broken object in ns/bad");
              }
              if (key.equals("ns/error") && badAttempts.get() < 2) {
                throw new StackOverflowError();
              }
              done.add(key);
              allDone.countDown();
              return Reconciler.Result.DONE;
            },
            serving::get);
    Thread t = new Thread(w, "worker");
    t.start();
    queue.add("ns/bad");
    queue.add("ns/error");
    queue.add("ns/good");
    assertTrue(allDone.await(30, TimeUnit.SECONDS), "processed: " + done);
    assertEquals(3, badAttempts.get(), "ns/bad failed twice, then succeeded on its third try");
    assertTrue(done.containsAll(List.of("ns/bad", "ns/error", "ns/good")), done::toString);
    assertTrue(t.isAlive(), "the worker survived both failures");
    serving.set(false);
    queue.shutDown();
    t.join(10_000);
  }
}
