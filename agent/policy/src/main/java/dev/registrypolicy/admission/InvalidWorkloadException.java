package dev.registrypolicy.admission;

/** An object of a checked kind whose pod spec cannot be read; the message names the field path. */
public final class InvalidWorkloadException extends Exception {
  private static final long serialVersionUID = 1L;

  public InvalidWorkloadException(String message) {
    super(message);
  }
}
