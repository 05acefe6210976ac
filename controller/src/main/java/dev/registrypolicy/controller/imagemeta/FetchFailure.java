package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;

/**
 * One step against one endpoint failed: the kind and the cause in words (no image, no host: the
 * caller adds both). Never carries a credential.
 */
final class FetchFailure extends Exception {
  private static final long serialVersionUID = 1L;
  private final Kind kind;

  FetchFailure(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  Kind kind() {
    return kind;
  }
}
