package dev.registrypolicy.controller;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The controller's own writes that the informer caches may not show yet. A pass that acted on such
 * a stale cache would only repeat the write and fail (409 AlreadyExists, 422 on the resourceVersion
 * test), so it requeues instead.
 *
 * <p>A pass reads the caches some time after it starts, and informer events arrive on other threads
 * meanwhile. An expectation therefore counts as met only by an observation made <em>before</em> the
 * pass took its {@link #mark()}: one observed half-way through a pass says nothing about the cache
 * snapshot that pass already holds. Every expectation also lapses after a time limit, so a lost
 * event can delay a write but never block it.
 */
final class Expectations {
  /**
   * fromVersion: the resourceVersion a patch replaced, null for a create. observedAt: 0 until seen.
   */
  private record Entry(String fromVersion, long since, long observedAt) {}

  private static final int SWEEP_ABOVE = 512;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong clock = new AtomicLong();
  private final long ttlNanos;
  private final LongSupplier nanoTime;

  Expectations(long ttlNanos, LongSupplier nanoTime) {
    this.ttlNanos = ttlNanos;
    this.nanoTime = nanoTime;
  }

  /** Taken by a pass before it reads any cache. */
  long mark() {
    return clock.get();
  }

  /** This controller created the object {@code key}. */
  void created(String key) {
    put(key, new Entry(null, nanoTime.getAsLong(), 0));
  }

  /** This controller changed {@code key}, which was at {@code fromVersion}. */
  void patched(String key, String fromVersion) {
    put(key, new Entry(fromVersion, nanoTime.getAsLong(), 0));
  }

  /**
   * An informer saw {@code key} at {@code resourceVersion} (its cache already holds that state).
   */
  void observed(String key, String resourceVersion) {
    entries.computeIfPresent(
        key,
        (k, e) -> {
          boolean news = e.fromVersion() == null || !e.fromVersion().equals(resourceVersion);
          return e.observedAt() == 0 && news
              ? new Entry(e.fromVersion(), e.since(), clock.incrementAndGet())
              : e;
        });
  }

  /**
   * Whether a pass that took {@code mark} still has to wait for {@code key}: false once the write
   * was observed before the mark, or the limit passed. {@code cachedVersion} is what that pass's
   * cache holds (null when absent); a patched object's expectation is met as soon as that differs
   * from the version the patch replaced.
   */
  boolean pending(String key, long mark, String cachedVersion) {
    Entry e = entries.get(key);
    if (e == null) {
      return false;
    }
    boolean met =
        (e.observedAt() != 0 && e.observedAt() <= mark)
            || (e.fromVersion() != null && !e.fromVersion().equals(cachedVersion))
            || nanoTime.getAsLong() - e.since() > ttlNanos;
    if (met) {
      entries.remove(key, e);
    }
    return !met;
  }

  /** The object is known to exist (the pass's cache shows it): nothing is waited for any more. */
  void forget(String key) {
    entries.remove(key);
  }

  int size() {
    return entries.size();
  }

  private void put(String key, Entry e) {
    if (entries.size() > SWEEP_ABOVE) {
      // Objects deleted before they were observed again (a namespace gone) leave entries behind.
      long now = nanoTime.getAsLong();
      entries.values().removeIf(x -> now - x.since() > ttlNanos);
    }
    entries.put(key, e);
  }
}
