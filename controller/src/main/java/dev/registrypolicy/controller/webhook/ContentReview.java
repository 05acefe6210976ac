package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.ImageContentRules;
import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.admission.MetadataFailure;
import dev.registrypolicy.admission.MetadataLookup;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException;
import dev.registrypolicy.controller.imagemeta.ImageMetadataSource;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.LogLine;
import dev.registrypolicy.policy.NamespaceInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The image-content rules on one request, with I/O: the plan of {@link ImageContentRules}, the
 * distinct images fetched concurrently from the policy's {@link ImageMetadataSource} within a
 * deadline, the findings merged into the verdict. The webhook and {@code check --registry-access}
 * both call {@link #verdict}, so they agree. Thread-safe; {@link #close} stops its threads.
 *
 * <p>The deadline is honoured here even if a source does not: a fetch not done by then is cancelled
 * (its thread interrupted) and counts as {@link MetadataFailure#TIMEOUT}, so the rule's {@code
 * onError} decides and the review answers within its budget.
 */
public final class ContentReview implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ContentReview.class.getName());

  /**
   * Fetches running at once, over all reviews; one more fails at once as an error (the rules'
   * {@code onError} decides) rather than waiting. Cache hits never reach the pool (they are
   * answered on the review's thread); a thread is made only when none is idle, and ends after 30 s
   * idle, so the pool stays small; each miss is a few registry round trips bounded by the review's
   * budget, so this many in flight only happens when registries hang.
   */
  static final int MAX_THREADS = 64;

  private final ThreadPoolExecutor pool;
  private final ImageContentMetrics metrics;

  public ContentReview(ImageContentMetrics metrics) {
    this.metrics = java.util.Objects.requireNonNull(metrics, "metrics");
    AtomicInteger n = new AtomicInteger();
    this.pool =
        new ThreadPoolExecutor(
            0,
            MAX_THREADS,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            r -> {
              Thread t = new Thread(r, "image-metadata-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  public ImageContentMetrics metrics() {
    return metrics;
  }

  /**
   * The verdict on a request with the image-content rules applied.
   *
   * @param base {@link dev.registrypolicy.admission.AdmissionCheck#check} on the same request
   * @param deadline when every lookup must be done
   */
  public Verdict verdict(
      PolicySnapshot policy,
      NamespaceInfo ns,
      Workload workload,
      Workload old,
      Verdict base,
      Instant deadline) {
    return verdict(policy, ns, workload, old, base, deadline, true);
  }

  /**
   * {@link #verdict(PolicySnapshot, NamespaceInfo, Workload, Workload, Verdict, Instant)}; {@code
   * keepBase} false: only the content findings count (the webhook registered for the content rules
   * alone while ValidatingAdmissionPolicies enforce the rest).
   */
  Verdict verdict(
      PolicySnapshot policy,
      NamespaceInfo ns,
      Workload workload,
      Workload old,
      Verdict base,
      Instant deadline,
      boolean keepBase) {
    ImageContentRules rules = policy.content();
    List<ImageContentRules.Need> plan = rules.plan(ns, workload, old, base);
    if (plan.isEmpty()) {
      return ImageContentRules.merge(base, List.of(), keepBase);
    }
    Map<ImageRef, MetadataLookup> lookups = fetchAll(policy.source(), plan, deadline);
    List<ImageContentRules.Decided> decided = new ArrayList<>();
    Verdict v =
        ImageContentRules.merge(base, rules.evaluate(plan, lookups::get, decided), keepBase);
    decided.forEach(metrics::decided);
    return v;
  }

  private Map<ImageRef, MetadataLookup> fetchAll(
      ImageMetadataSource source, List<ImageContentRules.Need> plan, Instant deadline) {
    Map<ImageRef, Future<MetadataLookup>> running = new LinkedHashMap<>();
    Map<ImageRef, MetadataLookup> out = new HashMap<>();
    for (ImageRef ref : ImageContentRules.images(plan)) {
      // A cache hit is answered here, on the review's thread: no hand-off, no wake-up
      // (controller/README.md, "Image-content rules", Load).
      Optional<ImageMetadata> hit = cached(source, ref);
      if (hit.isPresent()) {
        out.put(ref, MetadataLookup.found(hit.get()));
        continue;
      }
      try {
        running.put(ref, pool.submit(() -> fetch(source, ref, deadline)));
      } catch (RejectedExecutionException e) {
        out.put(
            ref,
            MetadataLookup.failed(
                MetadataFailure.ERROR,
                "too many image metadata lookups in progress ("
                    + MAX_THREADS
                    + ", most waiting for registries); "
                    + ref.canonical()
                    + " was not looked up"));
      }
    }
    for (Map.Entry<ImageRef, Future<MetadataLookup>> e : running.entrySet()) {
      Future<MetadataLookup> f = e.getValue();
      long waitNanos = Duration.between(Instant.now(), deadline).toNanos();
      MetadataLookup r;
      try {
        r = f.get(Math.max(0, waitNanos), TimeUnit.NANOSECONDS);
      } catch (TimeoutException t) {
        f.cancel(true);
        r =
            MetadataLookup.failed(
                MetadataFailure.TIMEOUT,
                "the metadata of "
                    + e.getKey().canonical()
                    + " was not had within the review's deadline");
      } catch (InterruptedException t) {
        Thread.currentThread().interrupt();
        f.cancel(true);
        r =
            MetadataLookup.failed(
                MetadataFailure.ERROR,
                "the review was interrupted while waiting for the metadata of "
                    + e.getKey().canonical());
      } catch (ExecutionException t) {
        // fetch() catches everything; this is an Error escaping a source
        r =
            MetadataLookup.failed(
                MetadataFailure.ERROR,
                "the metadata lookup of "
                    + e.getKey().canonical()
                    + " failed unexpectedly ("
                    + t.getCause()
                    + ")");
      }
      out.put(e.getKey(), r);
    }
    out.values().forEach(l -> metrics.lookup(l.failure()));
    return out;
  }

  /** {@link ImageMetadataSource#cached}; a source failing there counts as a miss. */
  private static Optional<ImageMetadata> cached(ImageMetadataSource source, ImageRef ref) {
    try {
      return source.cached(ref);
    } catch (RuntimeException e) {
      LOG.log(
          Level.WARNING,
          LogLine.format(
              "image metadata cache lookup failed; fetching instead", "image", ref.canonical()),
          e);
      return Optional.empty();
    }
  }

  private static MetadataLookup fetch(ImageMetadataSource source, ImageRef ref, Instant deadline) {
    try {
      return MetadataLookup.found(source.fetch(ref, deadline));
    } catch (ImageMetadataException e) {
      MetadataFailure kind = kind(e.kind());
      LOG.info(
          LogLine.format(
              "image metadata not had; the content rules' onError decides",
              "image",
              ref.canonical(),
              "result",
              kind.label(),
              "reason",
              e.getMessage()));
      return MetadataLookup.failed(kind, e.getMessage());
    } catch (RuntimeException e) {
      LOG.log(
          Level.WARNING,
          LogLine.format(
              "image metadata lookup failed with an unexpected error; the content rules' onError"
                  + " decides",
              "image",
              ref.canonical()),
          e);
      return MetadataLookup.failed(
          MetadataFailure.ERROR,
          "the metadata lookup of "
              + ref.canonical()
              + " failed unexpectedly ("
              + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
              + ")");
    }
  }

  /** The model's failure kind for the fetch's. */
  static MetadataFailure kind(ImageMetadataException.Kind k) {
    if (k == null) {
      return MetadataFailure.ERROR;
    }
    return switch (k) {
      case NOT_FOUND -> MetadataFailure.NOT_FOUND;
      case UNAUTHORIZED -> MetadataFailure.UNAUTHORIZED;
      case NO_MATCHING_PLATFORM -> MetadataFailure.NO_MATCHING_PLATFORM;
      case TIMEOUT -> MetadataFailure.TIMEOUT;
      case ERROR -> MetadataFailure.ERROR;
    };
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
