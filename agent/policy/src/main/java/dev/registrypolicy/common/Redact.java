package dev.registrypolicy.common;

/**
 * The project's one rule for showing a user-supplied value in a message, a summary, a {@code
 * toString()}, a log line or a metrics label. Policies are written by people who paste URLs, and
 * pasted URLs carry credentials; every such value goes through {@link #value} (or {@link #quote})
 * first, whatever field it came from.
 *
 * <p>The rule, applied to the text as it is (no parsing that could fail):
 *
 * <ul>
 *   <li>User info: everything before the last {@code @} becomes {@code ***} (as in {@code
 *       https://***@registry.example/x}, {@code ***@registry.example/x}), keeping a leading {@code
 *       scheme://}. A password may itself hold {@code @}, {@code /}, {@code :}, {@code ?} or {@code
 *       #}, so the last {@code @} counts, wherever it is; the one exception is an image digest
 *       ({@code name@sha256:<hex>}), which is not secret and is shown.
 *   <li>Query and fragment: from a {@code #}, or from a {@code ?} that has a {@code =} after it
 *       ({@code ?token=...}), the rest becomes {@code ***}. A {@code ?} without {@code =} is a glob
 *       wildcard and stays. When such a mark comes before the last {@code @} ({@code u:pa#ss@h},
 *       {@code h/x?token=p@ss}) there is no telling user info from query, and all but the scheme is
 *       hidden.
 *   <li>Shape: at most {@link #MAX_SHOWN} characters are shown (then {@code ...} and the length);
 *       control, format and other invisible characters are escaped as {@code \\uXXXX}, so a value
 *       is always one printable line.
 * </ul>
 */
public final class Redact {
  /** The most characters of one value that a message shows. */
  public static final int MAX_SHOWN = 100;

  /** What replaces a hidden part. */
  public static final String MASK = "***";

  private Redact() {}

  /**
   * {@code text} with user info, query and fragment masked and cut to {@link #MAX_SHOWN}, escaped;
   * "null" for null.
   */
  public static String value(String text) {
    if (text == null) {
      return "null";
    }
    String s = hideSecrets(text);
    return escape(s);
  }

  /**
   * {@link #value} in double quotes, with {@code "} and {@code \} escaped: the form messages use.
   */
  public static String quote(String text) {
    if (text == null) {
      return "null";
    }
    return "\"" + value(text) + "\"";
  }

  /**
   * {@code text} with user info, query and fragment masked, nothing else changed (no escaping, no
   * cut): for callers that escape and shorten by their own rules.
   */
  public static String hide(String text) {
    return text == null ? null : hideSecrets(text);
  }

  /** Whether {@link #value} would hide part of {@code text} (not counting the length cut). */
  public static boolean hidesSomething(String text) {
    return text != null && !hideSecrets(text).equals(text);
  }

  private static String hideSecrets(String s) {
    int at = s.lastIndexOf('@');
    while (at >= 0 && isDigest(s, at + 1)) {
      at = s.lastIndexOf('@', at - 1);
    }
    int cut = marker(s, 0);
    if (at < 0) {
      return cut < 0 ? s : s.substring(0, cut + 1) + MASK;
    }
    int scheme = s.indexOf("://");
    int start = scheme >= 0 && scheme < at && isScheme(s, scheme) ? scheme + 3 : 0;
    if (cut >= start && cut < at) {
      // "u:pa#ss@h" or "h/x?token=p@ss": no telling user info from query; hide all but the scheme.
      return s.substring(0, start) + MASK;
    }
    String head = s.substring(0, start) + MASK + s.substring(at);
    int c = marker(head, start + MASK.length());
    return c < 0 ? head : head.substring(0, c + 1) + MASK;
  }

  /** The first {@code #}, or {@code ?} with a {@code =} after it, from {@code from}; -1 if none. */
  private static int marker(String s, int from) {
    for (int i = from; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '#' || (c == '?' && s.indexOf('=', i) >= 0)) {
        return i;
      }
    }
    return -1;
  }

  /** {@code algorithm:hex} up to the end of the text, the shape of an image digest. */
  private static boolean isDigest(String s, int from) {
    int colon = s.indexOf(':', from);
    if (colon < from || s.length() - colon - 1 < 32) {
      return false;
    }
    for (int i = from; i < colon; i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '+'
          || c == '.'
          || c == '_'
          || c == '-')) {
        return false;
      }
    }
    for (int i = colon + 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        return false;
      }
    }
    return true;
  }

  private static boolean isScheme(String s, int end) {
    if (end == 0) {
      return false;
    }
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')))) {
        return false;
      }
    }
    return true;
  }

  private static String escape(String s) {
    int end = Math.min(s.length(), MAX_SHOWN);
    if (end < s.length() && Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    StringBuilder sb = new StringBuilder(end + 24);
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (isInvisible(c, s, i)) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    if (end < s.length()) {
      sb.append("... (").append(s.length()).append(" characters)");
    }
    return sb.toString();
  }

  /**
   * Characters that would garble a log line or hide what a value really is: C0 and C1 controls,
   * DEL, soft hyphen, zero-width, line/paragraph separators, bidirectional controls, the BOM and
   * lone surrogates.
   */
  public static boolean isInvisible(char c) {
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      return true;
    }
    if (c < 0x200b) {
      return c == 0xad;
    }
    return (c >= 0x200b && c <= 0x200f)
        || (c >= 0x2028 && c <= 0x202e)
        || (c >= 0x2060 && c <= 0x206f)
        || c == 0xfeff
        || Character.isSurrogate(c);
  }

  private static boolean isInvisible(char c, String s, int i) {
    if (!Character.isSurrogate(c)) {
      return isInvisible(c);
    }
    // A well-formed surrogate pair is a visible character; a lone half is not.
    if (Character.isHighSurrogate(c)) {
      return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
    }
    return i == 0 || !Character.isHighSurrogate(s.charAt(i - 1));
  }
}
