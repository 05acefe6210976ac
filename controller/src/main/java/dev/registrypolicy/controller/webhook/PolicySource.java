package dev.registrypolicy.controller.webhook;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Where the webhook reads the current policy. The controller swaps in a new {@link PolicySnapshot}
 * when the policy changes (and keeps the last good one when it becomes invalid); each review reads
 * it once.
 */
@FunctionalInterface
public interface PolicySource {
  /** The current policy, or empty before the first valid policy was read. */
  Optional<PolicySnapshot> current();

  /** A source the controller sets: thread-safe, each {@link #set} replaces the whole snapshot. */
  final class Holder implements PolicySource {
    private final AtomicReference<PolicySnapshot> current = new AtomicReference<>();

    public void set(PolicySnapshot snapshot) {
      current.set(snapshot);
    }

    @Override
    public Optional<PolicySnapshot> current() {
      return Optional.ofNullable(current.get());
    }
  }
}
