package dev.registrypolicy.controller.imagemeta;

/**
 * Why an image's metadata could not be had. The message names the image and the registry host
 * (never a credential) and what went wrong, in words a Pod's author can act on.
 */
public final class ImageMetadataException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The kinds of failure, as the rules and the metrics tell them apart. */
  public enum Kind {
    /** The tag or digest is not in the repository (HTTP 404 / MANIFEST_UNKNOWN). */
    NOT_FOUND,
    /** The registry refused the credentials, or there were none it accepts. */
    UNAUTHORIZED,
    /** No platform of the index matches the configured one. */
    NO_MATCHING_PLATFORM,
    /** The deadline passed first. */
    TIMEOUT,
    /** Anything else: TLS, connection, malformed or oversized responses, 5xx. */
    ERROR
  }

  private final Kind kind;

  public ImageMetadataException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public ImageMetadataException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
