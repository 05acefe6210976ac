package dev.registrypolicy.agent;

import java.time.Duration;

/**
 * How long to wait before retrying after failing passes: {@code first}, doubling with each further
 * failure, at most {@code max}. A success or a real input change starts over.
 */
record Backoff(Duration first, Duration max) {
  /** 1 s, 2 s, 4 s, … 5 min. */
  static final Backoff DEFAULT = new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(5));

  Backoff {
    if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
      throw new IllegalArgumentException("backoff wants 0 < first <= max");
    }
  }

  /** The wait after {@code failures} failed passes in a row (1 or more); overflow-safe. */
  Duration after(int failures) {
    long nanos = first.toNanos();
    for (int i = 1; i < failures && nanos < max.toNanos(); i++) {
      nanos = nanos > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : nanos * 2;
    }
    return Duration.ofNanos(Math.min(nanos, max.toNanos()));
  }

  /**
   * {@link #after} scaled by a random factor in [0.5, 1): many agents that lost the API server at
   * the same moment do not all come back at the same moment.
   */
  Duration jittered(int failures, java.util.random.RandomGenerator random) {
    long nanos = after(failures).toNanos();
    return Duration.ofNanos(Math.max(1, (long) (nanos * (0.5 + 0.5 * random.nextDouble()))));
  }
}
