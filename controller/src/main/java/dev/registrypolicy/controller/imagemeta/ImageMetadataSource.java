package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.policy.ImageRef;
import java.time.Instant;
import java.util.Optional;

/**
 * Where the image-content rules get an image's metadata: the registry (through the policy's
 * mirrors, credentials and TLS settings), behind a cache. Implementations are thread-safe and give
 * one registry round trip for concurrent calls about the same image.
 */
public interface ImageMetadataSource {
  /**
   * The metadata of {@code image} for the configured platform.
   *
   * @param image a normalized reference (tag and/or digest)
   * @param deadline when the caller stops waiting; an implementation never blocks past it
   * @throws ImageMetadataException when the metadata cannot be had by {@code deadline}: its {@link
   *     ImageMetadataException#kind()} says why (the rule's {@code onError} decides what follows)
   */
  ImageMetadata fetch(ImageRef image, Instant deadline) throws ImageMetadataException;

  /**
   * The metadata of {@code image} if it is already known (a cache hit): no I/O, no waiting, so the
   * caller can use it on its own thread and hand only the rest to {@link #fetch}. Empty when it is
   * not known, which is also the answer of a source without a cache. A hit counts as a {@link
   * #fetch} hit in the source's metrics.
   */
  default Optional<ImageMetadata> cached(ImageRef image) {
    return Optional.empty();
  }
}
