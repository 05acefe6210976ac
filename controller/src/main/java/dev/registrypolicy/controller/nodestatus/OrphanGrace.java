package dev.registrypolicy.controller.nodestatus;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Which report Leases of deleted nodes are due for deletion: those whose node has been missing from
 * the Node cache for at least the grace period, as this controller saw it (a node that re-registers
 * under the same name within the grace keeps its report; a controller that starts sees every orphan
 * as new, so it never deletes on a cache it has only just filled).
 */
public final class OrphanGrace {
  private final long graceNanos;
  private final LongSupplier nanoTime;

  /** Lease name → when it was first seen as an orphan (nanoTime). */
  private final Map<String, Long> since = new HashMap<>();

  public OrphanGrace(Duration grace, LongSupplier nanoTime) {
    this.graceNanos = grace.toNanos();
    this.nanoTime = nanoTime;
  }

  /** The orphans of {@code now}'s status whose grace has passed; forgets the others. */
  public synchronized List<FleetStatus.Orphan> due(List<FleetStatus.Orphan> orphans) {
    long now = nanoTime.getAsLong();
    Set<String> seen = new HashSet<>();
    List<FleetStatus.Orphan> out = new ArrayList<>();
    for (FleetStatus.Orphan o : orphans) {
      seen.add(o.lease());
      long first = since.computeIfAbsent(o.lease(), k -> now);
      if (now - first >= graceNanos) {
        out.add(o);
      }
    }
    since.keySet().retainAll(seen); // node back, or Lease gone: the clock starts over
    return out;
  }
}
