package dev.registrypolicy.common;

/**
 * A {@code .dockerconfigjson} value or an entry of it that cannot be used. The message says what is
 * wrong and never contains a credential (no user name, password, token or auth value).
 */
public final class InvalidDockerConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  public InvalidDockerConfigException(String message) {
    super(message);
  }
}
