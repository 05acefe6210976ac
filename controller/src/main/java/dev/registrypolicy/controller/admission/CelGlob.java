package dev.registrypolicy.controller.admission;

import dev.registrypolicy.policy.Glob;

/**
 * A policy {@link Glob} as an anchored RE2 pattern with the same meaning: {@code *} any run of
 * characters, {@code ?} exactly one, everything else itself. Letters and digits are written as they
 * are and every other character as {@code \x{HEX}}, so the pattern is valid RE2 whatever the glob
 * holds (the API server refuses a policy with an invalid regular expression literal) and no glob
 * character can act as regex syntax. {@code (?s)} lets {@code .} match a line break too, as the
 * glob's {@code *} and {@code ?} do.
 */
final class CelGlob {
  private CelGlob() {}

  /** The RE2 pattern (not yet a CEL literal). */
  static String regex(Glob glob) {
    String p = glob.pattern();
    StringBuilder sb = new StringBuilder(p.length() * 2 + 8);
    sb.append("^(?s)");
    for (int i = 0; i < p.length(); ) {
      int cp = p.codePointAt(i);
      i += Character.charCount(cp);
      if (cp == '*') {
        sb.append(".*");
      } else if (cp == '?') {
        sb.append('.');
      } else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')) {
        sb.append((char) cp);
      } else if (cp > 0x20 && cp < 0x7f) {
        sb.append('\\').append((char) cp);
      } else {
        sb.append("\\x{").append(Integer.toHexString(cp)).append('}');
      }
    }
    return sb.append('$').toString();
  }

  /** {@code subject.matches('<regex>')} as CEL. */
  static String matches(String subject, Glob glob) {
    return subject + ".matches(" + CelLiterals.string(regex(glob)) + ")";
  }
}
