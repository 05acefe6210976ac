package dev.registrypolicy.policy;

import java.util.Objects;

/** A glob: {@code *} matches any run of characters (including {@code /}), {@code ?} exactly one. */
public final class Glob {
  private final String pattern;

  /**
   * The pattern split at its {@code *}s when it has no {@code ?}, else null: then {@link #matches}
   * anchors the first and last parts and finds each middle part with {@link String#indexOf}
   * (leftmost), which is linear and vectorized.
   */
  private final String[] parts;

  private Glob(String pattern) {
    this.pattern = pattern;
    this.parts = pattern.indexOf('?') >= 0 ? null : splitAtStars(pattern);
  }

  private static String[] splitAtStars(String pattern) {
    java.util.List<String> out = new java.util.ArrayList<>();
    int from = 0;
    for (int i = 0; i < pattern.length(); i++) {
      if (pattern.charAt(i) == '*') {
        out.add(pattern.substring(from, i));
        from = i + 1;
      }
    }
    out.add(pattern.substring(from));
    return out.toArray(new String[0]);
  }

  public static Glob of(String pattern) {
    return new Glob(Objects.requireNonNull(pattern, "pattern"));
  }

  public String pattern() {
    return pattern;
  }

  /**
   * Whether the whole of {@code s} matches. Without {@code ?}: the first part is a prefix, the last
   * a suffix, and each part between stars is found leftmost after the previous one (taking the
   * leftmost occurrence never loses a match, since any later one leaves less text for the parts
   * after it). With {@code ?}: iterative matching with single-star backtracking.
   */
  public boolean matches(CharSequence s) {
    if (parts != null && s instanceof String str) {
      return matchParts(str);
    }
    return matchBacktracking(s);
  }

  private boolean matchParts(String s) {
    String[] ps = parts;
    if (ps.length == 1) {
      return s.equals(ps[0]);
    }
    String first = ps[0];
    String last = ps[ps.length - 1];
    int end = s.length() - last.length();
    if (end < first.length() || !s.startsWith(first) || !s.endsWith(last)) {
      return false;
    }
    int at = first.length();
    for (int i = 1; i < ps.length - 1; i++) {
      String part = ps[i];
      if (part.isEmpty()) {
        continue;
      }
      int found = s.indexOf(part, at);
      if (found < 0 || found + part.length() > end) {
        return false;
      }
      at = found + part.length();
    }
    return true;
  }

  /** Iterative matching with single-star backtracking: linear in practice, no regex. */
  private boolean matchBacktracking(CharSequence s) {
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
