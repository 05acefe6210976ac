package dev.registrypolicy.policy;

import java.util.Objects;

/**
 * One thing wrong with a policy, located by its path in the document, e.g. {@code
 * registries[2].mirrors[0].url: scheme "ftp" not allowed (want http or https)}.
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

  /**
   * Path first, then message, each with runs of digits compared as numbers, so that problems sort
   * as a reader meets them: {@code registries[2]} before {@code registries[10]}, a mapping before
   * its keys ({@code registries[1]} before {@code registries[1].host}).
   */
  @Override
  public int compareTo(Problem o) {
    int c = compareNatural(path, o.path);
    return c != 0 ? c : compareNatural(message, o.message);
  }

  static int compareNatural(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      char ca = a.charAt(i);
      char cb = b.charAt(j);
      if (isDigit(ca) && isDigit(cb)) {
        int si = i;
        int sj = j;
        while (i < a.length() && isDigit(a.charAt(i))) {
          i++;
        }
        while (j < b.length() && isDigit(b.charAt(j))) {
          j++;
        }
        int za = si;
        while (za < i - 1 && a.charAt(za) == '0') {
          za++;
        }
        int zb = sj;
        while (zb < j - 1 && b.charAt(zb) == '0') {
          zb++;
        }
        if (i - za != j - zb) {
          return (i - za) - (j - zb);
        }
        for (int k = 0; k < i - za; k++) {
          int d = a.charAt(za + k) - b.charAt(zb + k);
          if (d != 0) {
            return d;
          }
        }
        if (i - si != j - sj) {
          return (i - si) - (j - sj); // same number: fewer leading zeros first
        }
      } else if (ca != cb) {
        return ca - cb;
      } else {
        i++;
        j++;
      }
    }
    return (a.length() - i) - (b.length() - j);
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
