package dev.registrypolicy.controller.admission;

import java.util.Collection;

/**
 * CEL string literals for policy text. Every policy string that reaches a generated expression goes
 * through {@link #string}: it is single-quoted with {@code \}, {@code '} and every character
 * outside printable ASCII escaped ({@code \\uXXXX}, {@code \\UXXXXXXXX}), so no policy text can end
 * the literal or change what the expression does. CEL source must be valid Unicode; an unpaired
 * surrogate (which the policy parser already refuses) cannot be written and is refused here.
 */
final class CelLiterals {
  private CelLiterals() {}

  /** {@code s} as a CEL string literal. */
  static String string(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2);
    sb.append('\'');
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      if (Character.isSurrogate(s.charAt(i)) && Character.charCount(cp) == 1) {
        throw new IllegalArgumentException(
            "text with an unpaired UTF-16 surrogate cannot be written as a CEL string");
      }
      i += Character.charCount(cp);
      if (cp == '\\' || cp == '\'') {
        sb.append('\\').append((char) cp);
      } else if (cp >= 0x20 && cp < 0x7f) {
        sb.append((char) cp);
      } else if (cp <= 0xffff) {
        sb.append(String.format("\\u%04x", cp));
      } else {
        sb.append(String.format("\\U%08x", cp));
      }
    }
    return sb.append('\'').toString();
  }

  /** A CEL list literal of strings: {@code ['a', 'b']}. */
  static String stringList(Collection<String> values) {
    StringBuilder sb = new StringBuilder("[");
    for (String v : values) {
      if (sb.length() > 1) {
        sb.append(", ");
      }
      sb.append(string(v));
    }
    return sb.append(']').toString();
  }

  /** The length CEL and the API server measure an expression by: Unicode code points. */
  static int codePoints(String expression) {
    return expression.codePointCount(0, expression.length());
  }
}
