package dev.registrypolicy.policy;

import java.util.Locale;

/** What containerd may use a registry host for (hosts.toml {@code capabilities}). */
public enum Capability {
  PULL,
  RESOLVE,
  PUSH;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
