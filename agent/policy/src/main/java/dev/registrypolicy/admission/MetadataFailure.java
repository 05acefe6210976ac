package dev.registrypolicy.admission;

/**
 * Why an image's metadata could not be had, as the image-content rules tell failures apart (the
 * controller's fetch reports the same kinds).
 */
public enum MetadataFailure {
  /** The tag or digest is not in the repository. */
  NOT_FOUND("not found"),
  /** The registry refused the credentials, or there were none it accepts. */
  UNAUTHORIZED("unauthorized"),
  /** No platform of the image index matches the nodes' platform. */
  NO_MATCHING_PLATFORM("no matching platform"),
  /** The review's deadline passed first. */
  TIMEOUT("timeout"),
  /** Anything else: TLS, connection, malformed or oversized responses, server errors. */
  ERROR("error");

  private final String words;

  MetadataFailure(String words) {
    this.words = words;
  }

  /** Lowercase words for messages and metrics labels ({@code not found}, {@code timeout}). */
  public String words() {
    return words;
  }

  /** A metrics label value: {@code not_found}, {@code timeout}, ... */
  public String label() {
    return words.replace(' ', '_');
  }
}
