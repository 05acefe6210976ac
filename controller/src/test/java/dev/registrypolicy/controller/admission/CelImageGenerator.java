package dev.registrypolicy.controller.admission;

import dev.registrypolicy.policy.ImageRefStrings;
import java.util.SplittableRandom;

/**
 * Seeded image strings for the CEL agreement tests: the model's {@link ImageRefStrings} (random
 * strings, mutations of valid references, grammar-built references, token concatenations), as they
 * reach CEL when the API server decodes JSON: an unpaired surrogate cannot be carried and becomes
 * U+FFFD.
 */
final class CelImageGenerator {
  private final SplittableRandom rnd;

  CelImageGenerator(long seed) {
    this.rnd = new SplittableRandom(seed);
  }

  /**
   * The next string, cycling through the four kinds, grammar-built references twice: admission
   * refuses more of them than the parser does (upper-case hosts, digests it cannot verify), and
   * both outcomes must stay well exercised.
   */
  String next(int i) {
    String s =
        switch (i % 5) {
          case 0 -> ImageRefStrings.randomString(rnd);
          case 1 -> ImageRefStrings.mutate(ImageRefStrings.validReference(rnd), rnd);
          case 2, 3 -> ImageRefStrings.validReference(rnd);
          default -> ImageRefStrings.tokens(rnd);
        };
    return asDecoded(s);
  }

  /** As the API server's JSON decoding leaves it: unpaired surrogates become U+FFFD. */
  static String asDecoded(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        sb.append(c).append(s.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        sb.append('\ufffd');
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
