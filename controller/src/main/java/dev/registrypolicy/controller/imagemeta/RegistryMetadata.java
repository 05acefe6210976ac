package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.Policy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Image metadata from registries, for the image-content rules: create one per process (it holds the
 * caches, the bearer tokens, the HTTP clients and a small thread pool) and ask it for an {@link
 * ImageMetadataSource} per policy with {@link #forPolicy}: the caches outlive policy changes, while
 * mirrors, credentials and TLS settings always come from the policy the source was made for.
 *
 * <p>A lookup first reads the caches (tag → digest, younger than the tag TTL; repository@digest →
 * metadata), which costs a map access. Otherwise one fetch runs on the pool, and every concurrent
 * lookup of the same image (under the same policy) joins it (single flight). Each caller waits on
 * the shared {@link CompletableFuture} with {@code get(timeout)} until its own deadline only: a
 * caller that gives up gets {@link Kind#TIMEOUT} and does not cancel the fetch, which goes on for
 * the others and fills the cache; the fetch itself ends by {@code fetchTimeout} at the latest
 * (every request is bounded by the remaining time, see {@link RegistryHttp}).
 */
public final class RegistryMetadata implements AutoCloseable {
  /** Most fetches waiting for a thread; more fail at once (ERROR) rather than queue for ever. */
  static final int MAX_QUEUED = 1_000;

  private final MetadataSettings settings;
  private final ImageMetadataMetrics metrics;
  private final MetadataCache cache;
  private final EndpointAccess access;
  private final ImageFetch fetcher;
  private final ThreadPoolExecutor pool;
  private final Map<String, CompletableFuture<ImageMetadata>> inflight = new ConcurrentHashMap<>();

  /** With new, unregistered metrics ({@link #metrics()}). */
  public RegistryMetadata(MetadataSettings settings) {
    this(settings, new ImageMetadataMetrics());
  }

  public RegistryMetadata(MetadataSettings settings, ImageMetadataMetrics metrics) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.cache = new MetadataCache(settings);
    this.access = new EndpointAccess(settings);
    this.fetcher =
        new ImageFetch(
            new RegistryHttp(settings, new TokenCache(settings.clock()), metrics), settings);
    AtomicInteger n = new AtomicInteger();
    this.pool =
        new ThreadPoolExecutor(
            settings.maxConcurrentFetches(),
            settings.maxConcurrentFetches(),
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(MAX_QUEUED),
            r -> {
              Thread t = new Thread(r, "image-metadata-fetch-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    this.pool.allowCoreThreadTimeOut(true);
  }

  public ImageMetadataMetrics metrics() {
    return metrics;
  }

  public MetadataSettings settings() {
    return settings;
  }

  /**
   * The source for {@code policy}: its registries' mirrors (with {@code ?ns=}), upstream mode,
   * credentials, CAs, client certificates and {@code skipVerify}, whose Secret references are read
   * from {@code secrets} when an endpoint is first used by a fetch (and again for later fetches, so
   * a rotated Secret is picked up without a policy change).
   *
   * @param policy the policy in force; null means no registry settings (every image is fetched from
   *     its own registry, anonymously, trusting the system CAs)
   */
  public ImageMetadataSource forPolicy(Policy policy, SecretBytes secrets) {
    Objects.requireNonNull(secrets, "secrets");
    String policyId = policy == null ? "none" : policy.sha256();
    return new ImageMetadataSource() {
      @Override
      public ImageMetadata fetch(ImageRef image, Instant deadline) throws ImageMetadataException {
        return RegistryMetadata.this.fetch(policy, policyId, secrets, image, deadline);
      }

      @Override
      public Optional<ImageMetadata> cached(ImageRef image) {
        return Optional.ofNullable(hit(Objects.requireNonNull(image, "image")));
      }
    };
  }

  /** The tag cache's key of {@code image}: {@code name:tag}, the default tag when it has none. */
  private static String tagKey(ImageRef image) {
    return image.name() + ":" + (image.tag() != null ? image.tag() : ImageRef.DEFAULT_TAG);
  }

  /** The cached metadata of {@code image} (counted as a hit), or null. */
  private ImageMetadata hit(ImageRef image) {
    String name = image.name();
    String digest = image.digest();
    if (digest == null) {
      digest = cache.tag(tagKey(image));
    }
    ImageMetadata md = digest == null ? null : cache.get(name + "@" + digest);
    if (md != null) {
      metrics.hit();
      metrics.ok();
    }
    return md;
  }

  private ImageMetadata fetch(
      Policy policy, String policyId, SecretBytes secrets, ImageRef image, Instant deadline)
      throws ImageMetadataException {
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(deadline, "deadline");
    ImageMetadata hit = hit(image);
    if (hit != null) {
      return hit;
    }
    String knownDigest = image.digest() != null ? null : cache.tag(tagKey(image));
    String key = image + " " + policyId;
    CompletableFuture<ImageMetadata> mine = new CompletableFuture<>();
    CompletableFuture<ImageMetadata> shared = inflight.putIfAbsent(key, mine);
    List<Route> routes = Routes.plan(policy, image.domain());
    if (shared == null) {
      metrics.miss();
      shared = mine;
      start(mine, key, policy, secrets, image, knownDigest, routes);
    } else {
      metrics.shared();
    }
    try {
      ImageMetadata md = await(shared, image, routes, deadline);
      metrics.ok();
      return md;
    } catch (ImageMetadataException e) {
      metrics.failed(e.kind());
      throw e;
    }
  }

  private void start(
      CompletableFuture<ImageMetadata> result,
      String key,
      Policy policy,
      SecretBytes secrets,
      ImageRef image,
      String knownDigest,
      List<Route> routes) {
    Instant fetchDeadline = Instant.now().plus(settings.fetchTimeout());
    var unused = result.whenComplete((md, err) -> inflight.remove(key, result));
    try {
      pool.execute(
          () -> {
            try {
              ImageFetch.Fetched f =
                  fetcher.fetch(
                      image,
                      knownDigest,
                      routes,
                      route -> access.resolve(route, policy, secrets),
                      fetchDeadline);
              String name = image.name();
              cache.put(name + "@" + f.topDigest(), f.metadata());
              if (image.digest() == null) {
                cache.putTag(tagKey(image), f.topDigest());
              }
              result.complete(f.metadata());
            } catch (ImageMetadataException e) {
              result.completeExceptionally(e);
            } catch (RuntimeException e) {
              result.completeExceptionally(
                  new ImageMetadataException(
                      Kind.ERROR,
                      "image \""
                          + image
                          + "\": internal error ("
                          + e.getClass().getSimpleName()
                          + ")",
                      e));
            }
          });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(
          new ImageMetadataException(
              Kind.ERROR,
              "image \""
                  + image
                  + "\": more than "
                  + MAX_QUEUED
                  + " image fetches are waiting; not fetched"));
    }
  }

  private static ImageMetadata await(
      CompletableFuture<ImageMetadata> f, ImageRef image, List<Route> routes, Instant deadline)
      throws ImageMetadataException {
    long nanos = Duration.between(Instant.now(), deadline).toNanos();
    try {
      return nanos <= 0 && !f.isDone()
          ? timeout(image, routes, deadline)
          : f.get(Math.max(0, nanos), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      return timeout(image, routes, deadline);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ImageMetadataException(
          Kind.TIMEOUT, "image \"" + image + "\": interrupted while waiting for its registry");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ImageMetadataException m) {
        // a copy per waiter: the shared exception's stack is the fetch thread's
        throw new ImageMetadataException(m.kind(), m.getMessage(), m);
      }
      throw new ImageMetadataException(
          Kind.ERROR, "image \"" + image + "\": internal error", e.getCause());
    }
  }

  private static ImageMetadata timeout(ImageRef image, List<Route> routes, Instant deadline)
      throws ImageMetadataException {
    StringBuilder hosts = new StringBuilder();
    for (Route r : routes) {
      hosts.append(hosts.length() == 0 ? "" : ", ").append(r.describe());
    }
    throw new ImageMetadataException(
        Kind.TIMEOUT,
        "image \""
            + image
            + "\": no metadata from "
            + hosts
            + " by the deadline "
            + deadline
            + " (the fetch goes on, later reviews may find it cached)");
  }

  /** Entries in the digest cache (tests). */
  int cachedImages() {
    return cache.size();
  }

  /** Stops the fetch threads; running fetches end by their own timeouts. */
  @Override
  public void close() {
    pool.shutdownNow();
  }
}
