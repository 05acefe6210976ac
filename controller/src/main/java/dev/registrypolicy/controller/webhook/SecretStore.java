package dev.registrypolicy.controller.webhook;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/** The webhook's TLS Secret: read, created, replaced. Implementations never log its data. */
public interface SecretStore {
  /**
   * A Secret's data and version.
   *
   * @param data key to bytes ({@code tls.crt}, {@code tls.key}, {@code ca.crt}, ...)
   * @param resourceVersion for a guarded replace
   */
  record Stored(Map<String, byte[]> data, String resourceVersion) {
    public Stored {
      data = Map.copyOf(data);
    }

    /** The keys only: the data holds a private key. */
    @Override
    public String toString() {
      return "Stored[keys=" + new java.util.TreeSet<>(data.keySet()) + "]";
    }
  }

  /** The Secret, or empty when it does not exist. */
  Optional<Stored> read() throws IOException;

  /**
   * Creates it.
   *
   * @throws ConflictException when it exists already
   */
  void create(Map<String, byte[]> data) throws IOException;

  /**
   * Replaces it if it is still at {@code resourceVersion}.
   *
   * @throws ConflictException when someone else changed it in the meantime
   */
  void replace(Map<String, byte[]> data, String resourceVersion) throws IOException;

  /** Another writer got there first; read again. */
  final class ConflictException extends IOException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message) {
      super(message);
    }
  }
}
