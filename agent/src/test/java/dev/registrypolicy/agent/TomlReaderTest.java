package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class TomlReaderTest {
  /**
   * A character beyond U+FFFF is two chars in Java; the parser's lexer loses a pair that is split
   * between two reads of its input (its buffer holds 4000 characters), so TomlReader never splits
   * one. Checked at every offset around the first buffer boundaries and at random ones.
   */
  @Test
  void charactersBeyondTheBasicPlaneSurviveEveryBufferBoundary() throws Exception {
    for (int k = 1; k <= 4; k++) {
      for (int n = 4000 * k - 40; n <= 4000 * k + 40; n++) {
        assertSame(n);
      }
    }
    Random rnd = new Random(11);
    for (int i = 0; i < 200; i++) {
      assertSame(rnd.nextInt(60_000));
    }
  }

  private static void assertSame(int padding) throws Exception {
    String v = "x".repeat(padding) + "\uD83D\uDE00\uDBFF\uDFFF" + "y";
    String got = (String) TomlReader.read("a = \"" + v + "\"\n").get("a");
    // compare the tails: a full-length message would be megabytes
    assertEquals(
        v.substring(padding),
        got.substring(Math.min(padding, got.length())),
        "after " + padding + " x");
    assertEquals(v.length(), got.length(), "after " + padding + " x");
  }
}
