package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.registrypolicy.admission.ImageMetadata;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetadataCacheTest {
  static final class TestClock extends Clock {
    Instant now = Instant.parse("2026-12-02T00:00:00Z");

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  static ImageMetadata md(String user, Map<String, String> labels) {
    return new ImageMetadata(
        "sha256:" + "a".repeat(64), null, user, labels, "linux", "amd64", "", 1);
  }

  @Test
  void tags_expireAfterTheTtl() {
    TestClock clock = new TestClock();
    MetadataCache c =
        new MetadataCache(
            MetadataSettings.defaults().withClock(clock).withTagTtl(Duration.ofMinutes(5)));
    c.putTag("r/x:1", "sha256:1");
    clock.now = clock.now.plusSeconds(299);
    assertEquals("sha256:1", c.tag("r/x:1"));
    clock.now = clock.now.plusSeconds(1);
    assertNull(c.tag("r/x:1"));
  }

  @Test
  void digests_leastRecentlyUsedGoFirst_byCountAndByLabelSize() {
    MetadataCache c = new MetadataCache(MetadataSettings.defaults().withCacheSizes(2, 100, 10));
    c.put("a", md("", Map.of()));
    c.put("b", md("", Map.of()));
    assertNotNull(c.get("a")); // a is now more recent than b
    c.put("c", md("", Map.of()));
    assertNull(c.get("b"));
    assertNotNull(c.get("a"));
    assertNotNull(c.get("c"));
    // label characters: 60 + 60 > 100 evicts the older one
    MetadataCache w = new MetadataCache(MetadataSettings.defaults().withCacheSizes(100, 100, 10));
    w.put("x", md("", Map.of("k", "v".repeat(59))));
    w.put("y", md("", Map.of("k", "v".repeat(59))));
    assertNull(w.get("x"));
    assertNotNull(w.get("y"));
    w.put("huge", md("", Map.of("k", "v".repeat(200)))); // larger than the cache: not kept
    assertNull(w.get("huge"));
    assertNotNull(w.get("y"));
  }
}
