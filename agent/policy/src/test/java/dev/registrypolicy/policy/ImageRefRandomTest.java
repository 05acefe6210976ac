package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Seeded random inputs for {@link ImageRef#parse}: random strings over the grammar's characters and
 * some nasty ones, mutations of valid references, references built from the grammar, and
 * concatenations of grammar tokens. Every input must either parse or fail with {@link
 * InvalidImageRefException}; every success must round-trip; and the result must agree with an
 * independent, regex-based reading of the grammar ({@link Oracle}).
 */
class ImageRefRandomTest {
  private static final long SEED = 20261122L;
  private static final int PER_KIND = 25_000;

  private static final String GRAMMAR_CHARS =
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFXYZ./:@_-[]";
  private static final String[] NASTIES = {
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
    "\t"
  };
  private static final String[] TOKENS = {
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
    "\u212a"
  };

  @Test
  void randomInputsParseOrFailCleanlyAndAgreeWithTheGrammar() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    long cpu0 = threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0;
    long t0 = System.nanoTime();
    Stats stats = new Stats();
    for (int i = 0; i < PER_KIND; i++) {
      check(randomString(rnd), false, stats);
      check(mutate(validReference(rnd), rnd), false, stats);
      check(validReference(rnd), true, stats);
      check(tokens(rnd), false, stats);
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    long cpuMs =
        threads.isCurrentThreadCpuTimeSupported()
            ? (threads.getCurrentThreadCpuTime() - cpu0) / 1_000_000
            : -1;
    System.out.printf(
        Locale.ROOT,
        "ImageRefRandomTest: %d strings (%d parsed, %d refused) in %d ms (%d ms CPU)%n",
        stats.total,
        stats.parsed,
        stats.refused,
        ms,
        cpuMs);
    assertTrue(stats.failures.isEmpty(), () -> String.join("\n", stats.failures));
    assertTrue(stats.total >= 100_000);
    // The mix must exercise both outcomes substantially.
    assertTrue(stats.parsed > stats.total / 4, "parsed " + stats.parsed);
    assertTrue(stats.refused > stats.total / 4, "refused " + stats.refused);
  }

  private static final class Stats {
    int total;
    int parsed;
    int refused;
    final List<String> failures = new ArrayList<>();

    void fail(String s, String what) {
      if (failures.size() < 20) {
        failures.add(InvalidImageRefException.echo(s) + ": " + what);
      }
    }
  }

  private static void check(String s, boolean mustParse, Stats stats) {
    stats.total++;
    ImageRef r;
    try {
      r = ImageRef.parse(s);
    } catch (InvalidImageRefException e) {
      stats.refused++;
      if (mustParse) {
        stats.fail(s, "generated from the grammar but refused: " + e.getMessage());
      }
      if (e.input() != s || e.getMessage() == null || e.getMessage().indexOf('\n') >= 0) {
        stats.fail(s, "bad exception " + e.getMessage());
      }
      if (Oracle.parse(s) != null) {
        stats.fail(s, "refused but the grammar accepts it: " + e.getMessage());
      }
      return;
    } catch (Throwable t) {
      stats.fail(s, "threw " + t);
      return;
    }
    stats.parsed++;
    try {
      String[] o = Oracle.parse(s);
      if (o == null) {
        stats.fail(s, "parsed as " + r + " but the grammar refuses it");
      } else if (!o[0].equals(r.domain())
          || !o[1].equals(r.path())
          || !java.util.Objects.equals(o[2], r.tag())
          || !java.util.Objects.equals(o[3], r.digest())) {
        stats.fail(s, "parsed as " + r + " but the grammar reads " + String.join(" ", o));
      }
      if (!r.equals(ImageRef.parse(r.toString()))) {
        stats.fail(s, "toString does not round-trip: " + r);
      }
      if (!r.equals(ImageRef.parse(r.familiar()))) {
        stats.fail(s, "familiar does not round-trip: " + r.familiar());
      }
      ImageRef c = ImageRef.parse(r.canonical());
      if (!c.canonical().equals(r.canonical())
          || !java.util.Objects.equals(c.effectiveTag(), r.effectiveTag())) {
        stats.fail(s, "canonical is not stable: " + r.canonical());
      }
    } catch (Throwable t) {
      stats.fail(s, "round trip threw " + t);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Generators.

  private static String randomString(SplittableRandom rnd) {
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

  private static String tokens(SplittableRandom rnd) {
    int n = 1 + rnd.nextInt(8);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(TOKENS[rnd.nextInt(TOKENS.length)]);
    }
    return sb.toString();
  }

  private static String mutate(String s, SplittableRandom rnd) {
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
  static String validReference(SplittableRandom rnd) {
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
  static final class Oracle {
    private static final String ALNUM = "[a-z0-9]+";
    private static final String SEPARATOR = "(?:[._]|__|[-]+)";
    private static final String PATH_COMPONENT = ALNUM + "(?:" + SEPARATOR + ALNUM + ")*";
    private static final String DOMAIN_COMPONENT =
        "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private static final String DOMAIN_NAME = DOMAIN_COMPONENT + "(?:\\." + DOMAIN_COMPONENT + ")*";
    private static final String IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
    private static final Pattern DOMAIN =
        Pattern.compile("(?:" + DOMAIN_NAME + "|" + IPV6 + ")(?::([0-9]+))?");
    private static final Pattern REMAINDER =
        Pattern.compile(
            "("
                + PATH_COMPONENT
                + "(?:/"
                + PATH_COMPONENT
                + ")*)"
                + "(?::([\\w][\\w.-]{0,127}))?"
                + "(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-f0-9]{64}");
    private static final Pattern LOWER_HEX = Pattern.compile("[a-f0-9]+");
    private static final Pattern KNOWN_ALGORITHM = Pattern.compile("(?i)sha(256|384|512)");

    /** Whether java.net.URI, an independent IPv6 parser, reads {@code [...]} as an address. */
    static boolean javaAcceptsIpv6(String bracketed) {
      try {
        return new java.net.URI("http://" + bracketed + "/").getHost() != null;
      } catch (java.net.URISyntaxException e) {
        return false;
      }
    }

    static String[] parse(String s) {
      if (s.isEmpty() || IDENTIFIER.matcher(s).matches()) {
        return null;
      }
      String domain;
      String remainder;
      int slash = s.indexOf('/');
      if (slash < 0) {
        domain = "docker.io";
        remainder = "library/" + s;
      } else {
        String first = s.substring(0, slash);
        if (first.equals("localhost")
            || first.contains(".")
            || first.contains(":")
            || !first.toLowerCase(Locale.ROOT).equals(first)) {
          domain = first;
          remainder = s.substring(slash + 1);
        } else {
          domain = "docker.io";
          remainder = s;
        }
      }
      Matcher d = DOMAIN.matcher(domain);
      if (!d.matches()) {
        return null;
      }
      if (domain.startsWith("[")
          && !javaAcceptsIpv6(domain.substring(0, domain.indexOf(']') + 1))) {
        return null;
      }
      String port = d.group(1);
      if (port != null
          && (port.length() > 5 || port.startsWith("0") || Integer.parseInt(port) > 65535)) {
        return null;
      }
      domain = domain.toLowerCase(Locale.ROOT);
      if (domain.equals("index.docker.io")) {
        domain = "docker.io";
      }
      if (!domain.equals("localhost") && !domain.contains(".") && !domain.contains(":")) {
        return null;
      }
      if (domain.equals("docker.io") && !remainder.contains("/")) {
        remainder = "library/" + remainder;
      }
      Matcher m = REMAINDER.matcher(remainder);
      if (!m.matches()) {
        return null;
      }
      String path = m.group(1);
      if (domain.length() + 1 + path.length() > 255) {
        return null;
      }
      String digest = m.group(3);
      if (digest != null) {
        String algorithm = digest.substring(0, digest.indexOf(':'));
        String hex = digest.substring(algorithm.length() + 1);
        int expected =
            algorithm.equals("sha256")
                ? 64
                : algorithm.equals("sha384") ? 96 : algorithm.equals("sha512") ? 128 : 0;
        if (expected == 0 && KNOWN_ALGORITHM.matcher(algorithm).matches()) {
          return null;
        }
        if (expected != 0 && (hex.length() != expected || !LOWER_HEX.matcher(hex).matches())) {
          return null;
        }
      }
      return new String[] {domain, path, m.group(2), digest};
    }
  }

  @Test
  void oracleAgreesOnKnownCases() {
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        new String[] {"docker.io", "library/nginx", null, null}, Oracle.parse("nginx"));
    assertEquals(null, Oracle.parse("Foo/bar"));
    assertEquals(null, Oracle.parse("\u212a.io/x"));
    assertEquals("localhost:5000", Oracle.parse("Localhost:5000/foo")[0]);
  }
}
