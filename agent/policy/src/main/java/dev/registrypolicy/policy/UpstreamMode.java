package dev.registrypolicy.policy;

/** Whether containerd may fall back to the upstream registry when every mirror fails. */
public enum UpstreamMode {
  /** Mirrors first, then the upstream registry itself (containerd's {@code server}). */
  FALLBACK,
  /** Mirrors only: the upstream registry is never contacted. */
  NEVER
}
