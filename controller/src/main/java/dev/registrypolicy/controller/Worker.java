package dev.registrypolicy.controller;

import io.kubernetes.client.extended.workqueue.RateLimitingQueue;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One reconcile worker: takes keys from the queue while its term lasts. A key that fails, by a
 * REQUEUE result or by any exception, goes back with the queue's backoff; an exception is logged
 * with its cause and never ends the worker, so every other key goes on.
 */
final class Worker implements Runnable {
  private static final Logger LOG = Logger.getLogger(Controller.class.getName());
  private final RateLimitingQueue<String> queue;
  private final Function<String, Reconciler.Result> process;
  private final BooleanSupplier serving;

  Worker(
      RateLimitingQueue<String> queue,
      Function<String, Reconciler.Result> process,
      BooleanSupplier serving) {
    this.queue = queue;
    this.process = process;
    this.serving = serving;
  }

  @Override
  public void run() {
    while (serving.getAsBoolean()) {
      String key;
      try {
        key = queue.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (key == null) {
        return; // queue shut down
      }
      if (!serving.getAsBoolean()) {
        // Leadership was lost while waiting: leave the key for whoever serves next.
        queue.done(key);
        queue.add(key);
        return;
      }
      try {
        Reconciler.Result r = process.apply(key);
        if (r == Reconciler.Result.REQUEUE) {
          queue.addRateLimited(key);
        } else {
          queue.forget(key);
        }
      } catch (RuntimeException | LinkageError | StackOverflowError e) {
        LOG.log(Level.WARNING, Log.kv("reconcile failed; will retry with backoff", "key", key), e);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  }
}
