package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Glob against a regular-expression reading of the same pattern, on both of its paths. */
class GlobTest {
  private static final String ALPHABET = "ab/.*?";

  static String random(SplittableRandom rnd, String alphabet, int max) {
    StringBuilder sb = new StringBuilder();
    int n = rnd.nextInt(max + 1);
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  static Pattern regex(String glob) {
    StringBuilder sb = new StringBuilder();
    for (char c : glob.toCharArray()) {
      sb.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
    }
    return Pattern.compile(sb.toString(), Pattern.DOTALL);
  }

  @Test
  void agreesWithARegex_onRandomPatternsAndTexts() {
    SplittableRandom rnd = new SplittableRandom(20261202L);
    int matched = 0;
    for (int i = 0; i < 200_000; i++) {
      String p = random(rnd, ALPHABET, 8);
      String s = random(rnd, "ab/.", 10);
      boolean expected = regex(p).matcher(s).matches();
      Glob g = Glob.of(p);
      assertEquals(expected, g.matches(s), p + " vs " + s);
      // the CharSequence path (no String) takes the backtracking matcher
      assertEquals(expected, g.matches(new StringBuilder(s)), p + " vs " + s + " (builder)");
      matched += expected ? 1 : 0;
    }
    assertTrue(matched > 10_000, "matches: " + matched);
  }

  @Test
  void examples() {
    assertTrue(Glob.of("*.corp.example/*").matches("reg1.corp.example/team/app"));
    assertFalse(Glob.of("*.corp.example/*").matches("reg1.corp.example"));
    assertTrue(Glob.of("a*a").matches("aa"));
    assertFalse(Glob.of("a*a").matches("a"));
    assertTrue(Glob.of("*ab*ab").matches("xabab"));
    assertFalse(Glob.of("*ab*ab").matches("xab"));
    assertTrue(Glob.of("").matches(""));
    assertFalse(Glob.of("").matches("a"));
    assertTrue(Glob.of("**").matches(""));
  }
}
