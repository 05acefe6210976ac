package dev.registrypolicy.controller.webhook;

/**
 * A request body that is not an AdmissionReview the webhook can answer: malformed JSON, the wrong
 * apiVersion or kind, a missing uid, too large. The server answers HTTP 400 with the message, so
 * the API server's {@code failurePolicy} decides; the message never quotes the body.
 */
final class InvalidReviewException extends Exception {
  private static final long serialVersionUID = 1L;

  InvalidReviewException(String message) {
    super(message);
  }
}
