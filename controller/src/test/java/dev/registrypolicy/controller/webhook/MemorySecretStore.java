package dev.registrypolicy.controller.webhook;

import java.util.Map;
import java.util.Optional;

/**
 * The webhook's TLS Secret kept in memory, for harnesses that serve the webhook without an API
 * server (the load bench, the image test's child): every write is accepted.
 */
public final class MemorySecretStore implements SecretStore {
  private volatile Map<String, byte[]> data;

  @Override
  public Optional<Stored> read() {
    Map<String, byte[]> d = data;
    return d == null ? Optional.empty() : Optional.of(new Stored(d, "1"));
  }

  @Override
  public void create(Map<String, byte[]> d) {
    data = d;
  }

  @Override
  public void replace(Map<String, byte[]> d, String resourceVersion) {
    data = d;
  }
}
