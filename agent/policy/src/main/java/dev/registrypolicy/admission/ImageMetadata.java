package dev.registrypolicy.admission;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What the image-content rules read from an image, as its registry serves it for one platform: the
 * manifest's digest, the config's user, labels and platform, and the size of its layers. Fetched by
 * the controller's webhook (or {@code check} with registry access); immutable, so it can be cached
 * by digest.
 *
 * @param digest the digest of the platform's image manifest ({@code sha256:<hex>}); for a tag that
 *     resolved through an index, the platform manifest's digest, not the index's
 * @param indexDigest the digest of the image index or manifest list the tag named, or null when it
 *     named a single-platform manifest
 * @param user the config's {@code config.User} as written ("" when unset)
 * @param labels the config's {@code config.Labels} (empty when unset)
 * @param os the config's {@code os}
 * @param architecture the config's {@code architecture}
 * @param variant the config's {@code variant}, or "" when unset
 * @param sizeBytes the sum of the manifest's layer sizes (compressed, as the manifest states them)
 */
public record ImageMetadata(
    String digest,
    String indexDigest,
    String user,
    Map<String, String> labels,
    String os,
    String architecture,
    String variant,
    long sizeBytes) {
  public ImageMetadata {
    Objects.requireNonNull(digest, "digest");
    user = user == null ? "" : user;
    labels = labels == null ? Map.of() : Map.copyOf(new TreeMap<>(labels));
    os = os == null ? "" : os;
    architecture = architecture == null ? "" : architecture;
    variant = variant == null ? "" : variant;
  }
}
