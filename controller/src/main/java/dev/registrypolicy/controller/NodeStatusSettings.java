package dev.registrypolicy.controller;

import java.time.Duration;

/**
 * Timing of the node status.
 *
 * @param tick how often the leader looks at the report Leases without an event: a report Lease that
 *     stops being renewed changes nothing the informers report, so staleness is found by this
 *     timer, at most one tick after the Lease expired
 * @param grace how long a Node must have been gone before its report Lease is deleted (a node that
 *     re-registers under its name within it keeps its report)
 */
record NodeStatusSettings(Duration tick, Duration grace) {
  static NodeStatusSettings defaults() {
    return new NodeStatusSettings(Duration.ofSeconds(5), Duration.ofMinutes(5));
  }
}
