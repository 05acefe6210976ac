package dev.registrypolicy.controller.imagemeta;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link RegistryMetadata} fetches and caches. {@link #defaults()} gives the values below; each
 * {@code with…} returns a copy with one value changed.
 *
 * <p>Size limits, and why: a manifest or index of at most 4 MiB (the limit distribution's registry
 * puts on a manifest it accepts, which containers/image adopted as {@code MaxManifestBodySize}); an
 * image config of at most 4 MiB (containers/image {@code MaxConfigBodySize}); a token response of
 * at most 1 MiB ({@code MaxAuthTokenBodySize}); an error body is read up to 64 KiB and only its
 * error code is kept. Everything past a limit fails the fetch as oversized; nothing is buffered
 * beyond it.
 *
 * @param platform the node platform whose manifest an index resolves to (linux/amd64 by default)
 * @param digestCacheEntries most images whose metadata is kept (by repository and digest)
 * @param digestCacheLabelBytes most label characters (keys and values) all cached images hold
 * @param tagCacheEntries most tag → digest resolutions kept
 * @param tagTtl how long a tag → digest resolution is trusted (a tag can be moved)
 * @param requestTimeout one HTTP request, from sending to the last byte of the body
 * @param connectTimeout a TCP + TLS connect, unless the policy endpoint's {@code dialTimeout} is
 *     shorter
 * @param fetchTimeout a whole shared fetch (all requests, every mirror); waiters give up at their
 *     own deadline sooner, the fetch itself ends by this time at the latest
 * @param maxManifestBytes largest manifest or index read
 * @param maxConfigBytes largest image config read
 * @param maxTokenBytes largest token response read
 * @param maxRedirects most redirects followed for one request
 * @param maxConcurrentFetches most fetches running at once (each holds one thread while it runs)
 * @param clock for TTLs and token expiry
 */
public record MetadataSettings(
    Platform platform,
    int digestCacheEntries,
    long digestCacheLabelBytes,
    int tagCacheEntries,
    Duration tagTtl,
    Duration requestTimeout,
    Duration connectTimeout,
    Duration fetchTimeout,
    int maxManifestBytes,
    int maxConfigBytes,
    int maxTokenBytes,
    int maxRedirects,
    int maxConcurrentFetches,
    Clock clock) {
  static final int MIB = 1 << 20;

  /** Largest error body read (only the registry's error code is kept from it). */
  static final int MAX_ERROR_BYTES = 64 * 1024;

  public MetadataSettings {
    Objects.requireNonNull(platform, "platform");
    Objects.requireNonNull(tagTtl, "tagTtl");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(fetchTimeout, "fetchTimeout");
    Objects.requireNonNull(clock, "clock");
    if (digestCacheEntries < 1 || tagCacheEntries < 1 || digestCacheLabelBytes < 1) {
      throw new IllegalArgumentException("cache sizes must be at least 1");
    }
    if (maxManifestBytes < 1024 || maxConfigBytes < 1024 || maxTokenBytes < 1024) {
      throw new IllegalArgumentException("size limits must be at least 1 KiB");
    }
    if (maxRedirects < 0 || maxRedirects > 10) {
      throw new IllegalArgumentException("maxRedirects must be 0 to 10");
    }
    if (maxConcurrentFetches < 1) {
      throw new IllegalArgumentException("maxConcurrentFetches must be at least 1");
    }
    for (Duration d : new Duration[] {tagTtl, requestTimeout, connectTimeout, fetchTimeout}) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("durations must be positive");
      }
    }
  }

  /**
   * linux/amd64; 10,000 images and 64 Mi label characters; 10,000 tags for 5 minutes; requests 5 s,
   * connects 3 s, a fetch 15 s; 4 MiB manifests and configs, 1 MiB tokens; 3 redirects; 16
   * concurrent fetches; the system clock.
   */
  public static MetadataSettings defaults() {
    return new MetadataSettings(
        Platform.LINUX_AMD64,
        10_000,
        64L * MIB,
        10_000,
        Duration.ofMinutes(5),
        Duration.ofSeconds(5),
        Duration.ofSeconds(3),
        Duration.ofSeconds(15),
        4 * MIB,
        4 * MIB,
        MIB,
        3,
        16,
        Clock.systemUTC());
  }

  public MetadataSettings withPlatform(Platform p) {
    return new MetadataSettings(
        p,
        digestCacheEntries,
        digestCacheLabelBytes,
        tagCacheEntries,
        tagTtl,
        requestTimeout,
        connectTimeout,
        fetchTimeout,
        maxManifestBytes,
        maxConfigBytes,
        maxTokenBytes,
        maxRedirects,
        maxConcurrentFetches,
        clock);
  }

  public MetadataSettings withCacheSizes(int digestEntries, long labelBytes, int tagEntries) {
    return new MetadataSettings(
        platform,
        digestEntries,
        labelBytes,
        tagEntries,
        tagTtl,
        requestTimeout,
        connectTimeout,
        fetchTimeout,
        maxManifestBytes,
        maxConfigBytes,
        maxTokenBytes,
        maxRedirects,
        maxConcurrentFetches,
        clock);
  }

  public MetadataSettings withTagTtl(Duration ttl) {
    return new MetadataSettings(
        platform,
        digestCacheEntries,
        digestCacheLabelBytes,
        tagCacheEntries,
        ttl,
        requestTimeout,
        connectTimeout,
        fetchTimeout,
        maxManifestBytes,
        maxConfigBytes,
        maxTokenBytes,
        maxRedirects,
        maxConcurrentFetches,
        clock);
  }

  public MetadataSettings withTimeouts(Duration request, Duration connect, Duration fetch) {
    return new MetadataSettings(
        platform,
        digestCacheEntries,
        digestCacheLabelBytes,
        tagCacheEntries,
        tagTtl,
        request,
        connect,
        fetch,
        maxManifestBytes,
        maxConfigBytes,
        maxTokenBytes,
        maxRedirects,
        maxConcurrentFetches,
        clock);
  }

  public MetadataSettings withLimits(
      int manifestBytes, int configBytes, int tokenBytes, int redirects) {
    return new MetadataSettings(
        platform,
        digestCacheEntries,
        digestCacheLabelBytes,
        tagCacheEntries,
        tagTtl,
        requestTimeout,
        connectTimeout,
        fetchTimeout,
        manifestBytes,
        configBytes,
        tokenBytes,
        redirects,
        maxConcurrentFetches,
        clock);
  }

  public MetadataSettings withMaxConcurrentFetches(int n) {
    return new MetadataSettings(
        platform,
        digestCacheEntries,
        digestCacheLabelBytes,
        tagCacheEntries,
        tagTtl,
        requestTimeout,
        connectTimeout,
        fetchTimeout,
        maxManifestBytes,
        maxConfigBytes,
        maxTokenBytes,
        maxRedirects,
        n,
        clock);
  }

  public MetadataSettings withClock(Clock c) {
    return new MetadataSettings(
        platform,
        digestCacheEntries,
        digestCacheLabelBytes,
        tagCacheEntries,
        tagTtl,
        requestTimeout,
        connectTimeout,
        fetchTimeout,
        maxManifestBytes,
        maxConfigBytes,
        maxTokenBytes,
        maxRedirects,
        maxConcurrentFetches,
        c);
  }
}
