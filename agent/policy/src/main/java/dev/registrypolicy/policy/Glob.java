package dev.registrypolicy.policy;

import java.util.Objects;

/** A glob: {@code *} matches any run of characters (including {@code /}), {@code ?} exactly one. */
public final class Glob {
  private final String pattern;

  private Glob(String pattern) {
    this.pattern = pattern;
  }

  public static Glob of(String pattern) {
    return new Glob(Objects.requireNonNull(pattern, "pattern"));
  }

  public String pattern() {
    return pattern;
  }

  /** Iterative matching with single-star backtracking: linear in practice, no regex. */
  public boolean matches(CharSequence s) {
    int p = 0;
    int i = 0;
    int star = -1;
    int mark = 0;
    while (i < s.length()) {
      if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == s.charAt(i))) {
        p++;
        i++;
      } else if (p < pattern.length() && pattern.charAt(p) == '*') {
        star = p++;
        mark = i;
      } else if (star >= 0) {
        p = star + 1;
        i = ++mark;
      } else {
        return false;
      }
    }
    while (p < pattern.length() && pattern.charAt(p) == '*') {
      p++;
    }
    return p == pattern.length();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Glob g && g.pattern.equals(pattern);
  }

  @Override
  public int hashCode() {
    return pattern.hashCode();
  }

  @Override
  public String toString() {
    return pattern;
  }
}
