package dev.registrypolicy.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NodeReportTest {
  /** A DNS subdomain (RFC 1123), the form Kubernetes wants for a Lease's and a Node's name. */
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /** A label value: at most 63, alphanumeric at both ends, [-_.] inside. */
  private static final Pattern LABEL_VALUE =
      Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");

  private static final String SHA = "0123456789abcdef".repeat(4);

  @Test
  void shortNodeNameIsPrefixed() {
    assertEquals("registry-policy-node-worker-1", NodeReport.leaseName("worker-1"));
    assertEquals(
        "registry-policy-node-ip-10-0-0-1.ec2.internal",
        NodeReport.leaseName("ip-10-0-0-1.ec2.internal"));
  }

  /** Node names of every length up to 253 (the most a DNS subdomain has), with dots and dashes. */
  @Test
  void everyNodeNameGivesAValidStableLeaseName() {
    Random r = new Random(12);
    for (int len = 1; len <= 253; len++) {
      String node = randomSubdomain(r, len);
      String lease = NodeReport.leaseName(node);
      assertTrue(lease.length() <= 253, () -> lease.length() + ": " + lease);
      assertTrue(DNS_SUBDOMAIN.matcher(lease).matches(), lease);
      assertTrue(lease.startsWith(NodeReport.LEASE_PREFIX), lease);
      assertEquals(lease, NodeReport.leaseName(node), "stable");
    }
  }

  @Test
  void longNamesSharingAPrefixGetDifferentLeases() {
    String head = "a".repeat(240);
    String a = NodeReport.leaseName(head + "-node-1");
    String b = NodeReport.leaseName(head + "-node-2");
    assertNotEquals(a, b);
    assertEquals(253, a.length());
    assertTrue(DNS_SUBDOMAIN.matcher(a).matches(), a);
  }

  /** The cut falls right after a '.' or '-': that character is dropped, the name stays valid. */
  @ParameterizedTest
  @ValueSource(strings = {".", "-", ".-", "-."})
  void cutAfterAPunctuationMarkStaysValid(String mark) {
    int headLength = 253 - NodeReport.LEASE_PREFIX.length() - 17;
    String node = "b".repeat(headLength - mark.length()) + mark + "c".repeat(30);
    String lease = NodeReport.leaseName(node);
    assertTrue(DNS_SUBDOMAIN.matcher(lease).matches(), lease);
    assertTrue(lease.length() <= 253);
  }

  @Test
  void labelsAreValidLabelValues() {
    for (NodeReport r :
        List.of(
            new NodeReport("n", null, null, List.of(), null),
            new NodeReport("n", SHA, "r1", problems(50), Instant.EPOCH),
            new NodeReport("n", "abc", null, List.of(), null))) {
      Map<String, String> labels = r.labels();
      assertEquals(NodeReport.COMPONENT, labels.get(NodeReport.COMPONENT_LABEL));
      for (String v : labels.values()) {
        assertTrue(v.length() <= 63 && LABEL_VALUE.matcher(v).matches(), v);
      }
    }
    assertEquals("0123456789ab", new NodeReport("n", SHA, null, List.of(), null).shortPolicy());
    assertEquals("none", new NodeReport("n", null, null, List.of(), null).shortPolicy());
    assertEquals(
        "21",
        new NodeReport("n", SHA, null, problems(50), null)
            .labels()
            .get("registry-policy.dev/problems"));
  }

  @Test
  void roundTrip() {
    NodeReport r =
        new NodeReport(
            "worker-1",
            SHA,
            "7f3a9c01b2d4e5f6",
            List.of("hosts.toml for quay.io not written: disk full", "second"),
            Instant.parse("2026-12-02T08:00:00.123Z"));
    assertEquals(r, NodeReport.read("worker-1", r.annotations()));
    NodeReport empty = new NodeReport("worker-2", null, null, List.of(), null);
    assertEquals(Map.of(), empty.annotations());
    assertEquals(empty, NodeReport.read("worker-2", empty.annotations()));
    assertEquals(empty, NodeReport.read("worker-2", null));
  }

  @Test
  void problemsAreBoundedAndOneLineEach() {
    NodeReport r = new NodeReport("n", null, null, problems(25), null);
    assertEquals(NodeReport.MAX_PROBLEMS + 1, r.problems().size());
    assertEquals("... and 5 more", r.problems().get(NodeReport.MAX_PROBLEMS));
    NodeReport lines =
        new NodeReport(
            "n",
            null,
            null,
            java.util.Arrays.asList(
                "a\nb\r\nc\rd", "x".repeat(1000), null, "tab\there\u0000\u001b[31m"),
            null);
    assertEquals("a b c d", lines.problems().get(0));
    assertEquals(NodeReport.MAX_PROBLEM_CHARS, lines.problems().get(1).length());
    assertTrue(lines.problems().get(1).endsWith("..."));
    assertEquals("tab here  [31m", lines.problems().get(2), "null left out, controls are spaces");
    assertEquals(3, lines.problems().size());
    for (String p : lines.problems()) {
      assertTrue(p.chars().noneMatch(Character::isISOControl), p);
    }
  }

  @Test
  void hostileAnnotationsReadAsAbsent() {
    Map<String, String> a = new HashMap<>();
    a.put(NodeReport.POLICY_ANNOTATION, SHA.toUpperCase(java.util.Locale.ROOT));
    a.put(NodeReport.BUNDLE_ANNOTATION, "rev\nision");
    a.put(NodeReport.APPLIED_ANNOTATION, "yesterday");
    NodeReport r = NodeReport.read("n", a);
    assertNull(r.policySha256());
    assertNull(r.bundleRevision());
    assertNull(r.appliedAt());

    for (String badHash :
        List.of(
            "",
            "abc",
            SHA + "0",
            SHA.substring(1) + "g",
            SHA + "\n",
            " " + SHA,
            "x".repeat(1 << 20))) {
      assertNull(
          NodeReport.read("n", Map.of(NodeReport.POLICY_ANNOTATION, badHash)).policySha256(),
          badHash);
    }
    for (String badRevision :
        List.of("", "a b", "x".repeat(129), "ä", "r/1", "x".repeat(1 << 20))) {
      assertNull(
          NodeReport.read("n", Map.of(NodeReport.BUNDLE_ANNOTATION, badRevision)).bundleRevision());
    }
    for (String badTime :
        List.of(
            "",
            "2026-13-01T00:00:00Z",
            "2026-12-02T08:00:00",
            "+999999999-12-31T23:59:59Z",
            "-1000000000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
            "2026-12-02T08:00:00Z\n",
            "9".repeat(100),
            "2".repeat(1 << 20))) {
      assertNull(
          NodeReport.read("n", Map.of(NodeReport.APPLIED_ANNOTATION, badTime)).appliedAt(),
          badTime);
    }
    // Problems: oversized reads as none; newlines split; each line canonical; the count bounded.
    assertEquals(
        List.of(),
        NodeReport.read(
                "n",
                Map.of(
                    NodeReport.PROBLEMS_ANNOTATION,
                    "p".repeat(NodeReport.MAX_ANNOTATION_CHARS + 1)))
            .problems());
    NodeReport many =
        NodeReport.read(
            "n", Map.of(NodeReport.PROBLEMS_ANNOTATION, "x\n".repeat(5000) + "\r\u0007"));
    assertEquals(NodeReport.MAX_PROBLEMS + 1, many.problems().size());
    for (String p : many.problems()) {
      assertTrue(p.chars().noneMatch(Character::isISOControl), p);
    }
    NodeReport blankLines =
        NodeReport.read("n", Map.of(NodeReport.PROBLEMS_ANNOTATION, "\n\n  \nreal\n"));
    assertEquals(List.of("real"), blankLines.problems());
  }

  @Test
  void holderThatIsNoNodeNameReadsAsNoReport() {
    for (String holder :
        java.util.Arrays.asList(
            null, "", "a".repeat(254), "Node-1", "n\nfake line", "n 1", "-n", "n_1", "ä")) {
      assertNull(NodeReport.read(holder, Map.of()), String.valueOf(holder));
    }
    assertEquals("n-1.x", NodeReport.read("n-1.x", Map.of()).node());
  }

  /** Random maps of random annotation values never throw. */
  @Test
  void randomAnnotationsNeverThrow() {
    Random r = new Random(7);
    List<String> keys =
        List.of(
            NodeReport.POLICY_ANNOTATION,
            NodeReport.BUNDLE_ANNOTATION,
            NodeReport.PROBLEMS_ANNOTATION,
            NodeReport.APPLIED_ANNOTATION,
            "other");
    for (int i = 0; i < 2000; i++) {
      Map<String, String> a = new HashMap<>();
      for (String k : keys) {
        if (r.nextBoolean()) {
          a.put(k, randomText(r, r.nextInt(200)));
        }
      }
      NodeReport rep = NodeReport.read("node-" + i, a);
      assertTrue(rep.problems().size() <= NodeReport.MAX_PROBLEMS + 1);
      for (String v : rep.labels().values()) {
        assertTrue(LABEL_VALUE.matcher(v).matches(), v);
      }
    }
  }

  private static List<String> problems(int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add("problem " + i);
    }
    return out;
  }

  private static String randomText(Random r, int len) {
    String alphabet = "0123456789abcdefT:-Z.\n\r \u0000é\uD83D\uDE00+";
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < len; i++) {
      b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  /** A random DNS subdomain of exactly {@code len} characters. */
  private static String randomSubdomain(Random r, int len) {
    String inner = "abcdefghijklmnopqrstuvwxyz0123456789-.";
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < len; i++) {
      boolean edge = i == 0 || i == len - 1 || b.charAt(i - 1) == '.' || b.charAt(i - 1) == '-';
      String from = edge ? inner.substring(0, 36) : inner;
      b.append(from.charAt(r.nextInt(from.length())));
    }
    return b.toString();
  }
}
