package dev.registrypolicy.controller.admission;

import java.util.SplittableRandom;

/**
 * Seeded image strings for the CEL agreement tests, after the model's ImageRefRandomTest: random
 * strings over the grammar's characters with some nasty ones, mutations of valid references,
 * references built from the grammar (ports, IPv6, digests, Docker Hub spellings, upper case), and
 * concatenations of grammar tokens. Strings reach CEL the way the API server decodes JSON: an
 * unpaired surrogate cannot be carried and becomes U+FFFD.
 */
final class CelImageGenerator {
  private static final String GRAMMAR_CHARS =
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFXYZ./:@_-[]";
  private static final String[] NASTIES = {
    "%", " ", "\u0000", "\n", "\u00e9", "\uff21", "\u212a", "\u0130", "\u0445", "\u200b",
    "\ud83d\ude00", "\ud800", "*", "+", "\\", "\t", "'", "\"", "#", "?x=1"
  };
  private static final String[] TOKENS = {
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "Docker.io",
    "INDEX.docker.io",
    "localhost",
    "Localhost",
    "library",
    "nginx",
    "a",
    "B",
    "0",
    "/",
    "/",
    ":",
    ":",
    "@",
    ".",
    "-",
    "--",
    "_",
    "__",
    "___",
    "5000",
    "65535",
    "65536",
    "0",
    "[::1]",
    "[fe80::1:2]",
    "[1:2:3:4:5:6:7:8]",
    "[1:2:3:4:5:6:7::]",
    "[::]",
    "[:]",
    "[",
    "]",
    "sha256:",
    "sha512:",
    "SHA256:",
    "blake3:",
    "sha256+b64:",
    "latest",
    "v1.2",
    ".com",
    "registry.corp",
    "x".repeat(64),
    "e3b0c44298fc1c149afbf4c8996fb924",
    "27ae41e4649b934ca495991b7852b855",
    "https://",
    " ",
    "\n",
    "\u0000",
    "\u212a",
    "user:pw@"
  };
  private static final String HEX = "0123456789abcdef";

  private final SplittableRandom rnd;

  CelImageGenerator(long seed) {
    this.rnd = new SplittableRandom(seed);
  }

  /** The next string, cycling through the four kinds. */
  String next(int i) {
    String s =
        switch (i % 4) {
          case 0 -> randomString();
          case 1 -> mutate(validReference());
          case 2 -> validReference();
          default -> tokens();
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

  String randomString() {
    int len = rnd.nextInt(10) == 0 ? rnd.nextInt(300) : rnd.nextInt(40);
    StringBuilder sb = new StringBuilder(len);
    for (int i = 0; i < len; i++) {
      if (rnd.nextInt(20) == 0) {
        sb.append(NASTIES[rnd.nextInt(NASTIES.length)]);
      } else if (rnd.nextInt(3) == 0) {
        sb.append(GRAMMAR_CHARS.charAt(rnd.nextInt(GRAMMAR_CHARS.length())));
      } else {
        sb.append((char) ('a' + rnd.nextInt(6)));
      }
    }
    return sb.toString();
  }

  String tokens() {
    int n = 1 + rnd.nextInt(8);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(TOKENS[rnd.nextInt(TOKENS.length)]);
    }
    return sb.toString();
  }

  String mutate(String s) {
    StringBuilder sb = new StringBuilder(s);
    int edits = 1 + rnd.nextInt(3);
    for (int e = 0; e < edits; e++) {
      int op = rnd.nextInt(3);
      String c =
          rnd.nextInt(4) == 0
              ? NASTIES[rnd.nextInt(NASTIES.length)]
              : String.valueOf(GRAMMAR_CHARS.charAt(rnd.nextInt(GRAMMAR_CHARS.length())));
      if (op == 0 || sb.length() == 0) {
        sb.insert(rnd.nextInt(sb.length() + 1), c);
      } else if (op == 1) {
        sb.deleteCharAt(rnd.nextInt(sb.length()));
      } else {
        int at = rnd.nextInt(sb.length());
        sb.replace(at, at + 1, c);
      }
    }
    return sb.toString();
  }

  /** A reference from the grammar (mostly valid; some upper case, long or odd on purpose). */
  String validReference() {
    StringBuilder sb = new StringBuilder();
    boolean hasDomain = rnd.nextInt(3) != 0;
    if (hasDomain) {
      sb.append(domain()).append('/');
    }
    int components = 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 60 : 4);
    for (int i = 0; i < components; i++) {
      if (i > 0) {
        sb.append('/');
      }
      sb.append(pathComponent());
    }
    if (rnd.nextInt(2) == 0) {
      sb.append(':').append(tag());
    }
    if (rnd.nextInt(3) == 0) {
      sb.append('@').append(digest());
    }
    return sb.toString();
  }

  private String domain() {
    return switch (rnd.nextInt(12)) {
      case 0 -> "docker.io";
      case 1 -> "index.docker.io";
      case 2 -> "registry-1.docker.io";
      case 3 -> "localhost" + (rnd.nextBoolean() ? ":" + port() : "");
      case 4 -> "[" + ipv6() + "]" + (rnd.nextBoolean() ? ":" + port() : "");
      case 5 -> "Registry.Corp";
      case 6 -> "registry.corp:" + port();
      default -> label() + "." + label() + (rnd.nextInt(4) == 0 ? "." + label() : "");
    };
  }

  private String port() {
    return switch (rnd.nextInt(6)) {
      case 0 -> "65535";
      case 1 -> "65536";
      case 2 -> "0" + (1 + rnd.nextInt(9));
      case 3 -> String.valueOf(rnd.nextInt(100000));
      default -> String.valueOf(1 + rnd.nextInt(65535));
    };
  }

  private String ipv6() {
    int groups = rnd.nextInt(10);
    boolean compress = rnd.nextBoolean();
    int at = compress ? rnd.nextInt(groups + 1) : -1;
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < groups; i++) {
      if (i == at) {
        sb.append("::");
      } else if (i > 0) {
        sb.append(':');
      }
      int n = 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 6 : 4);
      for (int j = 0; j < n; j++) {
        sb.append(HEX.charAt(rnd.nextInt(16)));
      }
    }
    if (at == groups) {
      sb.append("::");
    }
    return sb.toString();
  }

  private String label() {
    String chars = "abcdefghijklmnopqrstuvwxyz0123456789-";
    int n = 1 + rnd.nextInt(8);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(chars.charAt(rnd.nextInt(i == 0 || i == n - 1 ? 36 : chars.length())));
    }
    return sb.toString();
  }

  private String pathComponent() {
    String[] seps = {".", "_", "__", "-", "--", "---"};
    StringBuilder sb = new StringBuilder();
    int parts = 1 + rnd.nextInt(3);
    for (int i = 0; i < parts; i++) {
      if (i > 0) {
        sb.append(seps[rnd.nextInt(seps.length)]);
      }
      int n = 1 + rnd.nextInt(rnd.nextInt(20) == 0 ? 90 : 6);
      for (int j = 0; j < n; j++) {
        sb.append("abcxyz0189".charAt(rnd.nextInt(10)));
      }
    }
    return sb.toString();
  }

  private String tag() {
    String chars = "abcXYZ019_.-";
    int n = rnd.nextInt(20) == 0 ? 120 + rnd.nextInt(20) : 1 + rnd.nextInt(8);
    StringBuilder sb = new StringBuilder(rnd.nextInt(6) == 0 ? "latest" : "");
    for (int i = 0; i < n && sb.length() < n; i++) {
      sb.append(chars.charAt(rnd.nextInt(i == 0 ? 10 : chars.length())));
    }
    return sb.toString();
  }

  private String digest() {
    String[] algs = {
      "sha256", "sha384", "sha512", "SHA256", "Sha512", "blake3", "sha256+b64u", "a.b-c_d"
    };
    int[] lens = {64, 96, 128};
    String alg = algs[rnd.nextInt(algs.length)];
    int len = rnd.nextInt(4) == 0 ? rnd.nextInt(140) : lens[rnd.nextInt(3)];
    String hex = rnd.nextInt(8) == 0 ? "0123456789ABCDEF" : HEX;
    StringBuilder sb = new StringBuilder(alg).append(':');
    for (int i = 0; i < len; i++) {
      sb.append(hex.charAt(rnd.nextInt(16)));
    }
    return sb.toString();
  }
}
