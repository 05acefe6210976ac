package dev.registrypolicy.admission;

import java.util.Objects;

/**
 * What fetching one image's metadata gave: the metadata, or why not.
 *
 * @param metadata the metadata, or null on failure
 * @param failure why it could not be had, or null on success
 * @param reason the failure's message (names the image and registry, never a credential), or null
 */
public record MetadataLookup(ImageMetadata metadata, MetadataFailure failure, String reason) {
  public MetadataLookup {
    if ((metadata == null) == (failure == null)) {
      throw new IllegalArgumentException("exactly one of metadata and failure");
    }
    if (failure != null) {
      reason = reason == null || reason.isBlank() ? failure.words() : reason;
    }
  }

  public static MetadataLookup found(ImageMetadata metadata) {
    return new MetadataLookup(Objects.requireNonNull(metadata, "metadata"), null, null);
  }

  public static MetadataLookup failed(MetadataFailure failure, String reason) {
    return new MetadataLookup(null, Objects.requireNonNull(failure, "failure"), reason);
  }

  public boolean ok() {
    return metadata != null;
  }
}
