package dev.registrypolicy.policy;

import static dev.registrypolicy.policy.ImageRefStrings.mutate;
import static dev.registrypolicy.policy.ImageRefStrings.randomString;
import static dev.registrypolicy.policy.ImageRefStrings.tokens;
import static dev.registrypolicy.policy.ImageRefStrings.validReference;
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
