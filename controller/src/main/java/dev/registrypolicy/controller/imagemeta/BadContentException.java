package dev.registrypolicy.controller.imagemeta;

/**
 * What a registry sent cannot be used (malformed JSON, wrong media type, wrong digest, too big);
 * the message says what, in words, never quoting more than a short, escaped part of the content.
 */
final class BadContentException extends Exception {
  private static final long serialVersionUID = 1L;

  BadContentException(String message) {
    super(message);
  }
}
