package dev.registrypolicy.policy;

import java.util.Objects;

/**
 * One thing wrong with a policy, located by its path in the document, e.g.
 * {@code registries[2].mirrors[0].url: scheme "ftp" not allowed (want http or https)}.
 *
 * <p>Messages never contain secret values: the policy only references Secrets by name, and the
 * parser quotes only the offending value of non-secret fields (truncated).
 */
public record Problem(String path, String message) implements Comparable<Problem> {
  public Problem {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    return path.isEmpty() ? message : path + ": " + message;
  }

  @Override
  public int compareTo(Problem o) {
    return toString().compareTo(o.toString());
  }
}
