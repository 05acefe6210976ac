package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException;
import dev.registrypolicy.controller.imagemeta.ImageMetadataSource;
import dev.registrypolicy.policy.ImageRef;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-memory image metadata source for tests: images by normalized reference, each answering
 * metadata or a failure kind, optionally after a delay or never (until interrupted). Counts calls.
 */
public final class FakeMetadataSource implements ImageMetadataSource {
  /** What one image answers. */
  public record Answer(
      ImageMetadata metadata, ImageMetadataException.Kind failure, Duration delay) {
    public static Answer of(ImageMetadata md) {
      return new Answer(md, null, Duration.ZERO);
    }

    public static Answer failing(ImageMetadataException.Kind k) {
      return new Answer(null, k, Duration.ZERO);
    }

    /** Never answers: blocks until interrupted, ignoring the deadline (a broken source). */
    public static Answer hanging() {
      return new Answer(null, null, null);
    }

    public Answer after(Duration d) {
      return new Answer(metadata, failure, d);
    }
  }

  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final CountDownLatch never = new CountDownLatch(1);

  public FakeMetadataSource put(String canonical, Answer a) {
    answers.put(canonical, a);
    return this;
  }

  private final Map<String, Boolean> inCache = new ConcurrentHashMap<>();
  private final java.util.List<String> cacheThreads =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile boolean cacheFails;

  /** {@link #cached} answers these images' metadata (a cache hit) instead of empty. */
  public FakeMetadataSource inCache(String... canonical) {
    for (String c : canonical) {
      inCache.put(c, true);
    }
    return this;
  }

  /** {@link #cached} throws (a broken cache). */
  public FakeMetadataSource cacheFails() {
    cacheFails = true;
    return this;
  }

  /** The names of the threads {@link #cached} was called on. */
  public java.util.List<String> cacheThreads() {
    return cacheThreads;
  }

  /** Metadata with user, size and labels, for linux/amd64. */
  public static ImageMetadata md(String user, long size, Map<String, String> labels) {
    return new ImageMetadata(
        "sha256:" + "d".repeat(64), null, user, labels, "linux", "amd64", "", size);
  }

  public int calls(String canonical) {
    AtomicInteger n = calls.get(canonical);
    return n == null ? 0 : n.get();
  }

  public int calls() {
    return calls.values().stream().mapToInt(AtomicInteger::get).sum();
  }

  @Override
  public java.util.Optional<ImageMetadata> cached(ImageRef image) {
    cacheThreads.add(Thread.currentThread().getName());
    if (cacheFails) {
      throw new IllegalStateException("cache index broken");
    }
    Answer a = inCache.containsKey(image.canonical()) ? answers.get(image.canonical()) : null;
    return java.util.Optional.ofNullable(a == null ? null : a.metadata());
  }

  @Override
  public ImageMetadata fetch(ImageRef image, Instant deadline) throws ImageMetadataException {
    String key = image.canonical();
    calls.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    Answer a = answers.get(key);
    if (a == null) {
      throw new ImageMetadataException(
          ImageMetadataException.Kind.NOT_FOUND, "manifest " + key + " is not in the registry");
    }
    try {
      if (a.delay() == null) {
        never.await();
      } else if (!a.delay().isZero()) {
        TimeUnit.NANOSECONDS.sleep(a.delay().toNanos());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ImageMetadataException(
          ImageMetadataException.Kind.TIMEOUT, "interrupted while fetching " + key);
    }
    if (a.failure() != null) {
      throw new ImageMetadataException(
          a.failure(), "registry said " + a.failure().name().toLowerCase() + " for " + key);
    }
    return a.metadata();
  }
}
