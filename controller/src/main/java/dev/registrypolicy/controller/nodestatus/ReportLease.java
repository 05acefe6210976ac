package dev.registrypolicy.controller.nodestatus;

import dev.registrypolicy.common.NodeReport;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Map;

/**
 * One report Lease as the controller's cache holds it, reduced to what the node status needs.
 *
 * @param name the Lease's name
 * @param uid its uid (deletes are guarded by it), null if unset
 * @param report the agent's report read back tolerantly ({@link NodeReport#read}), null when the
 *     Lease names no node (no or a malformed {@code holderIdentity})
 * @param renewed when the agent last renewed it ({@code spec.renewTime}, else {@code acquireTime}),
 *     null when neither is set
 * @param validFor {@code spec.leaseDurationSeconds}, capped at {@link #MAX_VALID_FOR}; null when
 *     unset or below 1
 */
public record ReportLease(
    String name, String uid, NodeReport report, Instant renewed, Duration validFor) {

  /**
   * Longest validity honoured: a report Lease claiming to stay valid for longer would hide an agent
   * that stopped (agents renew far more often; the Lease API allows any int32).
   */
  public static final Duration MAX_VALID_FOR = Duration.ofHours(1);

  /** The Lease as the cache holds it; never throws on what a hand-edited Lease may hold. */
  public static ReportLease of(V1Lease lease) {
    V1ObjectMeta m = lease.getMetadata();
    V1LeaseSpec spec = lease.getSpec();
    String holder = spec == null ? null : spec.getHolderIdentity();
    Map<String, String> annotations = m == null ? null : m.getAnnotations();
    OffsetDateTime at = spec == null ? null : spec.getRenewTime();
    if (at == null && spec != null) {
      at = spec.getAcquireTime();
    }
    Instant renewed = at == null ? null : at.toInstant(); // every OffsetDateTime is an Instant
    Integer seconds = spec == null ? null : spec.getLeaseDurationSeconds();
    Duration validFor =
        seconds == null || seconds < 1
            ? null
            : Duration.ofSeconds(Math.min(seconds, MAX_VALID_FOR.toSeconds()));
    return new ReportLease(
        m == null ? null : m.getName(),
        m == null ? null : m.getUid(),
        NodeReport.read(holder, annotations),
        renewed,
        validFor);
  }

  /**
   * Whether the agent stopped reporting: the Lease was not renewed within its duration, or it has
   * no time or duration. The API's own definition (coordination.k8s.io/v1 LeaseSpec):
   * "leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire
   * it. This is measure against time of last observed renewTime."
   */
  public boolean staleAt(Instant now) {
    return renewed == null || validFor == null || renewed.plus(validFor).isBefore(now);
  }

  /** Whether this is the report Lease of its holder (named as {@link NodeReport#leaseName}). */
  boolean wellNamed() {
    return report != null && name != null && name.equals(NodeReport.leaseName(report.node()));
  }
}
