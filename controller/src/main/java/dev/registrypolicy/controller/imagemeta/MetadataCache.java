package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.admission.ImageMetadata;
import java.time.Clock;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The two caches: metadata by {@code registry/repository@digest} (immutable content, so kept until
 * evicted: least recently used first, when there are more than {@code maxEntries} entries or their
 * labels hold more than {@code maxLabelChars} characters), and {@code registry/repository:tag} →
 * digest for {@code tagTtl} (a tag may be moved). Synchronized: a lookup is a map access.
 */
final class MetadataCache {
  private record TagEntry(String digest, Instant expires) {}

  private final int maxEntries;
  private final long maxLabelChars;
  private final int maxTags;
  private final java.time.Duration tagTtl;
  private final Clock clock;
  private long labelChars;

  private final LinkedHashMap<String, ImageMetadata> byDigest =
      new LinkedHashMap<>(256, 0.75f, true);
  private final LinkedHashMap<String, TagEntry> tags = new LinkedHashMap<>(256, 0.75f, true);

  MetadataCache(MetadataSettings s) {
    this.maxEntries = s.digestCacheEntries();
    this.maxLabelChars = s.digestCacheLabelBytes();
    this.maxTags = s.tagCacheEntries();
    this.tagTtl = s.tagTtl();
    this.clock = s.clock();
  }

  synchronized ImageMetadata get(String nameAtDigest) {
    return byDigest.get(nameAtDigest);
  }

  /** The digest {@code nameColonTag} resolved to, if that is younger than the TTL. */
  synchronized String tag(String nameColonTag) {
    TagEntry e = tags.get(nameColonTag);
    if (e == null) {
      return null;
    }
    if (!clock.instant().isBefore(e.expires)) {
      tags.remove(nameColonTag);
      return null;
    }
    return e.digest;
  }

  synchronized void putTag(String nameColonTag, String digest) {
    tags.put(nameColonTag, new TagEntry(digest, clock.instant().plus(tagTtl)));
    while (tags.size() > maxTags) {
      Iterator<?> it = tags.entrySet().iterator();
      it.next();
      it.remove();
    }
  }

  synchronized void put(String nameAtDigest, ImageMetadata md) {
    long w = weight(md);
    if (w > maxLabelChars) {
      return; // one image larger than the whole cache is not kept
    }
    ImageMetadata old = byDigest.put(nameAtDigest, md);
    if (old != null) {
      labelChars -= weight(old);
    }
    labelChars += w;
    Iterator<Map.Entry<String, ImageMetadata>> it = byDigest.entrySet().iterator();
    while ((byDigest.size() > maxEntries || labelChars > maxLabelChars) && it.hasNext()) {
      Map.Entry<String, ImageMetadata> e = it.next();
      labelChars -= weight(e.getValue());
      it.remove();
    }
  }

  synchronized int size() {
    return byDigest.size();
  }

  private static long weight(ImageMetadata md) {
    long n = md.user().length();
    for (Map.Entry<String, String> e : md.labels().entrySet()) {
      n += e.getKey().length() + e.getValue().length();
    }
    return n;
  }
}
