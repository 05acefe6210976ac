package dev.registrypolicy.controller;

import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Whether a controller still runs, from its leader-election Lease ({@link Controller#LEASE_NAME} in
 * the policy's namespace): the leader renews it every {@code retryPeriod} (2 s) and another replica
 * takes over once {@code leaseDurationSeconds} (15 s) pass without a renewal. {@code uninstall}
 * must not run beside a controller, which would make everything again.
 *
 * <p>A Lease that is absent, has no holder, or whose {@code renewTime + leaseDurationSeconds} is
 * past is free. A held one is watched until it expires: a renewal seen meanwhile (another {@code
 * renewTime} or holder) means a controller runs. The leader's clock wrote {@code renewTime}; this
 * machine's clock decides when it is past, so a clock far ahead of the cluster's could take a
 * running controller's Lease for expired: the procedure stops the controller first (its pods gone),
 * and this check is the safety net behind that.
 */
final class LeaseCheck {
  /** The longest wait for a held Lease to expire. */
  static final Duration MAX_WAIT = Duration.ofSeconds(60);

  /** How often a held Lease is read again. */
  static final Duration POLL = Duration.ofSeconds(1);

  /** What the Lease says; null fields when it does not say it. */
  record Seen(String holder, OffsetDateTime renewTime, Integer durationSeconds) {
    static Seen of(V1Lease lease) {
      V1LeaseSpec s = lease == null ? null : lease.getSpec();
      return s == null
          ? new Seen(null, null, null)
          : new Seen(s.getHolderIdentity(), s.getRenewTime(), s.getLeaseDurationSeconds());
    }

    /** When it expires, or null when it is not held. */
    Instant expires() {
      if (holder == null || holder.isBlank() || renewTime == null || durationSeconds == null) {
        return null;
      }
      return renewTime.toInstant().plusSeconds(Math.max(0, durationSeconds));
    }

    boolean heldAt(Instant now) {
      Instant e = expires();
      return e != null && e.isAfter(now);
    }
  }

  /** The outcome: free, or why not (a message for the log, naming the Lease and what to do). */
  record Verdict(boolean free, String message) {}

  /** Reads the Lease; all fields null when it does not exist. */
  interface Reader {
    Seen read() throws ApiException;
  }

  /** Sleeps. */
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  private LeaseCheck() {}

  static String leaseName() {
    return Policy.NAMESPACE + "/" + Controller.LEASE_NAME;
  }

  /** The Lease through the API; a missing one reads as not held. */
  static Reader api(ApiClient client) {
    CoordinationV1Api api = new CoordinationV1Api(client);
    return () -> {
      try {
        return Seen.of(api.readNamespacedLease(Controller.LEASE_NAME, Policy.NAMESPACE).execute());
      } catch (ApiException e) {
        if (e.getCode() == 404) {
          return Seen.of(null);
        }
        throw e;
      }
    };
  }

  /**
   * Free at once, or after the held Lease expired without a renewal; not free when it was renewed
   * while watched, or does not expire within {@link #MAX_WAIT}.
   */
  static Verdict await(Reader reader, Supplier<Instant> clock, Sleeper sleeper)
      throws ApiException, InterruptedException {
    Seen first = reader.read();
    Instant start = clock.get();
    if (!first.heldAt(start)) {
      return new Verdict(true, null);
    }
    Instant expires = first.expires();
    if (expires.isAfter(start.plus(MAX_WAIT))) {
      return new Verdict(
          false,
          "the Lease "
              + leaseName()
              + " is held by "
              + first.holder()
              + " for another "
              + Duration.between(start, expires).toSeconds()
              + " s, longer than this command waits ("
              + MAX_WAIT.toSeconds()
              + " s): a controller may still run. "
              + STOP_FIRST);
    }
    long polls = MAX_WAIT.toMillis() / POLL.toMillis() + 2;
    for (long i = 0; i < polls; i++) {
      sleeper.sleep(POLL);
      Seen now = reader.read();
      if (!Objects.equals(now.holder(), first.holder())
          || !Objects.equals(now.renewTime(), first.renewTime())) {
        if (now.heldAt(clock.get())) {
          return new Verdict(
              false,
              "the Lease "
                  + leaseName()
                  + " was renewed by "
                  + now.holder()
                  + " while this command waited for it to expire: a controller still runs. "
                  + STOP_FIRST);
        }
        return new Verdict(true, null);
      }
      if (!now.heldAt(clock.get())) {
        return new Verdict(true, null);
      }
    }
    return new Verdict(
        false,
        "the Lease "
            + leaseName()
            + " held by "
            + first.holder()
            + " did not expire within "
            + MAX_WAIT.toSeconds()
            + " s by this machine's clock. "
            + STOP_FIRST);
  }

  static final String STOP_FIRST =
      "Stop it first (kubectl -n "
          + Policy.NAMESPACE
          + " delete deployment registry-policy-controller --ignore-not-found"
          + " --cascade=foreground), then run uninstall again; nothing was changed. If no"
          + " controller runs anywhere, delete the Lease (kubectl -n "
          + Policy.NAMESPACE
          + " delete lease "
          + Controller.LEASE_NAME
          + ").";
}
