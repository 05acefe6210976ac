package dev.registrypolicy.controller.webhook;

/**
 * The webhook cannot decide a well-formed review (no policy yet, namespace unknown, an internal
 * error): the server answers with an HTTP error carrying this message, so that the webhook
 * configuration's {@code failurePolicy} decides.
 */
final class ReviewUndecidedException extends Exception {
  private static final long serialVersionUID = 1L;

  ReviewUndecidedException(String message) {
    super(message);
  }

  ReviewUndecidedException(String message, Throwable cause) {
    super(message, cause);
  }
}
