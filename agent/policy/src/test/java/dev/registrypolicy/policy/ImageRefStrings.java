package dev.registrypolicy.policy;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Seeded image strings for randomized tests of everything that reads image references (the model's
 * parser, the admission CEL): random strings over the grammar's characters with some nasty ones,
 * mutations of valid references, references built from the grammar, and concatenations of grammar
 * tokens.
 */
public final class ImageRefStrings {
  private ImageRefStrings() {}

  static final String GRAMMAR_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFXYZ./:@_-[]";
  static final String[] NASTIES = {
    "%",
    " ",
    "\u0000",
    "\n",
    "\u00e9",
    "\uff21",
    "\u212a",
    "\u0130",
    "\u0445",
    "\u200b",
    "\ud83d\ude00",
    "\ud800",
    "*",
    "+",
    "\\",
    "\t",
    "'",
    "\"",
    "#",
    "?x=1"
  };
  static final String[] TOKENS = {
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
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
    "[",
    "]",
    "sha256:",
    "sha512:",
    "SHA256:",
    "blake3:",
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
    "Docker.io",
    "INDEX.docker.io",
    "[fe80::1:2]",
    "[1:2:3:4:5:6:7:8]",
    "[1:2:3:4:5:6:7::]",
    "[::]",
    "[:]",
    "sha256+b64:",
    "user:pw@"
  };

  // ---------------------------------------------------------------------------------------------
  // Generators.

  public static String randomString(SplittableRandom rnd) {
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

  public static String tokens(SplittableRandom rnd) {
    int n = 1 + rnd.nextInt(8);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(TOKENS[rnd.nextInt(TOKENS.length)]);
    }
    return sb.toString();
  }

  public static String mutate(String s, SplittableRandom rnd) {
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

  /** A reference built from the grammar that the parser must accept. */
  public static String validReference(SplittableRandom rnd) {
    StringBuilder sb = new StringBuilder();
    boolean hasDomain = rnd.nextInt(3) != 0;
    if (hasDomain) {
      sb.append(domain(rnd)).append('/');
    }
    int components = 1 + rnd.nextInt(4);
    for (int i = 0; i < components; i++) {
      if (i > 0) {
        sb.append('/');
      }
      String c = pathComponent(rnd);
      // Without a domain, a first component that looks like a host would be read as one.
      while (!hasDomain
          && components > 1
          && i == 0
          && (c.indexOf('.') >= 0 || c.equals("localhost"))) {
        c = pathComponent(rnd);
      }
      sb.append(c);
    }
    if (rnd.nextInt(2) == 0) {
      sb.append(':').append(tag(rnd));
    }
    if (rnd.nextInt(3) == 0) {
      sb.append('@').append(digest(rnd));
    }
    return sb.toString();
  }

  private static String domain(SplittableRandom rnd) {
    String host;
    boolean needPort = false;
    switch (rnd.nextInt(7)) {
      case 0:
        host = randomCase("localhost", rnd);
        break;
      case 1:
        host =
            randomCase(
                new String[] {"docker.io", "index.docker.io", "registry-1.docker.io"}
                    [rnd.nextInt(3)],
                rnd);
        break;
      case 2:
        host =
            rnd.nextInt(256)
                + "."
                + rnd.nextInt(256)
                + "."
                + rnd.nextInt(256)
                + "."
                + rnd.nextInt(256);
        break;
      case 3:
        // Eight groups, or fewer around one "::" (either side may be empty).
        StringBuilder v6 = new StringBuilder("[");
        boolean compressed = rnd.nextInt(4) != 0;
        int left = compressed ? rnd.nextInt(4) : 8;
        int right = compressed ? rnd.nextInt(8 - left) : 0;
        for (int g = 0; g < left; g++) {
          v6.append(g > 0 ? ":" : "").append(Integer.toHexString(rnd.nextInt(0x10000)));
        }
        if (compressed) {
          v6.append("::");
        }
        for (int g = 0; g < right; g++) {
          v6.append(g > 0 ? ":" : "").append(Integer.toHexString(rnd.nextInt(0x10000)));
        }
        if (rnd.nextInt(2) == 0) {
          v6 = new StringBuilder(v6.toString().toUpperCase(Locale.ROOT));
        }
        host = v6.append(']').toString();
        break;
      default:
        int parts = 1 + rnd.nextInt(3);
        StringBuilder h = new StringBuilder();
        for (int p = 0; p < parts; p++) {
          if (p > 0) {
            h.append('.');
          }
          h.append(hostComponent(rnd));
        }
        host = h.toString();
        needPort = parts == 1;
    }
    if (needPort || rnd.nextInt(3) == 0) {
      host = host + ":" + (1 + rnd.nextInt(65535));
    }
    return host;
  }

  private static String hostComponent(SplittableRandom rnd) {
    String alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    int len = 1 + rnd.nextInt(10);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < len; i++) {
      boolean edge = i == 0 || i == len - 1;
      if (!edge && rnd.nextInt(5) == 0) {
        sb.append('-');
      } else {
        sb.append(alnum.charAt(rnd.nextInt(alnum.length())));
      }
    }
    return sb.toString();
  }

  private static String pathComponent(SplittableRandom rnd) {
    StringBuilder sb = new StringBuilder(alnumRun(rnd));
    int seps = rnd.nextInt(3);
    String[] separators = {".", "_", "__", "-", "--", "---"};
    for (int i = 0; i < seps; i++) {
      sb.append(separators[rnd.nextInt(separators.length)]).append(alnumRun(rnd));
    }
    return sb.toString();
  }

  private static String alnumRun(SplittableRandom rnd) {
    String chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    int len = 1 + rnd.nextInt(6);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < len; i++) {
      sb.append(chars.charAt(rnd.nextInt(chars.length())));
    }
    return sb.toString();
  }

  private static String tag(SplittableRandom rnd) {
    String first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    String rest = first + ".-";
    int len = rnd.nextInt(8) == 0 ? rnd.nextInt(128) : rnd.nextInt(10);
    StringBuilder sb = new StringBuilder().append(first.charAt(rnd.nextInt(first.length())));
    for (int i = 0; i < len; i++) {
      sb.append(rest.charAt(rnd.nextInt(rest.length())));
    }
    return sb.toString();
  }

  private static String digest(SplittableRandom rnd) {
    switch (rnd.nextInt(4)) {
      case 0:
        return "sha512:" + hex(rnd, 128, false);
      case 1:
        return "blake3:" + hex(rnd, 32 + rnd.nextInt(40), true);
      default:
        return "sha256:" + hex(rnd, 64, false);
    }
  }

  private static String hex(SplittableRandom rnd, int len, boolean mixedCase) {
    String chars = mixedCase ? "0123456789abcdefABCDEF" : "0123456789abcdef";
    StringBuilder sb = new StringBuilder(len);
    for (int i = 0; i < len; i++) {
      sb.append(chars.charAt(rnd.nextInt(chars.length())));
    }
    return sb.toString();
  }

  private static String randomCase(String s, SplittableRandom rnd) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      sb.append(rnd.nextInt(4) == 0 ? Character.toUpperCase(c) : c);
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * A second, deliberately naive reading of the reference grammar, written with regular expressions
   * and string operations instead of the hand-written scanner, plus this project's normalization
   * and stricter rules (Docker Hub aliases, lowercase domains, ambiguous uppercase hosts, port
   * range, IPv6 addresses as java.net.URI reads them, known digest lengths). Returns {domain, path,
   * tag, digest} or null.
   */
}
