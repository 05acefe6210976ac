package dev.registrypolicy.controller.webhook;

import java.time.Duration;

/**
 * What bounds one request and the server.
 *
 * @param maxBodyBytes the largest AdmissionReview accepted; larger ones get HTTP 400
 * @param idleTimeout how long a connection may send nothing (a stalled body gets HTTP 400 or a
 *     closed connection after this)
 * @param bodyDeadline how long reading one body may take in all; a body still trickling in after
 *     this gets HTTP 400 (at the latest one idle timeout later, when its next read returns)
 * @param maxThreads the server's worker threads (and so the most reviews parsed at once)
 * @param metadataBudget how long after a review arrives its image metadata lookups must be done
 *     ({@link WebhookSettings#metadataBudget()})
 */
record ServerLimits(
    int maxBodyBytes,
    Duration idleTimeout,
    Duration bodyDeadline,
    int maxThreads,
    Duration metadataBudget) {
  ServerLimits(int maxBodyBytes, Duration idleTimeout, Duration bodyDeadline, int maxThreads) {
    this(
        maxBodyBytes,
        idleTimeout,
        bodyDeadline,
        maxThreads,
        WebhookSettings.defaultMetadataBudget(WebhookSettings.DEFAULT_TIMEOUT_SECONDS));
  }

  ServerLimits withMetadataBudget(Duration budget) {
    return new ServerLimits(maxBodyBytes, idleTimeout, bodyDeadline, maxThreads, budget);
  }

  /**
   * 3 MiB: the API server refuses request bodies over 3 MiB ({@code MaxRequestBodyBytes: int64(3 *
   * 1024 * 1024)} in k8s.io/apiserver pkg/server/config.go NewConfig, "the largest request body
   * size to be accepted and decoded in a write request"), so an object it admits is at most that as
   * JSON. An UPDATE's review also carries the old object; one whose two objects together pass 3 MiB
   * is refused with 400 and the configured failurePolicy decides. Real Pods and workloads are a few
   * KiB.
   */
  static final int DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

  /**
   * The API server gives up on a webhook after the configuration's timeoutSeconds (at most 30, 5 by
   * default here); 10 s of silence in a request is never a review still worth answering.
   * Connections kept open between reviews are closed after this too, and reopened by the client.
   */
  static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(10);

  /** Reading a 3 MiB body from the API server takes milliseconds; 10 s is a stuck client. */
  static final Duration DEFAULT_BODY_DEADLINE = Duration.ofSeconds(10);

  /**
   * Reviews take well under a millisecond of CPU; 32 threads keep up with thousands per second on
   * two cores while bounding the memory of bodies parsed at once (32 x 3 MiB).
   */
  static final int DEFAULT_MAX_THREADS = 32;

  static final ServerLimits DEFAULTS =
      new ServerLimits(
          DEFAULT_MAX_BODY_BYTES, DEFAULT_IDLE_TIMEOUT, DEFAULT_BODY_DEADLINE, DEFAULT_MAX_THREADS);
}
