package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile input (issue 11): whatever the text, every parse, on a thread with the agent's 256 KiB
 * stack, ends in a Policy or a PolicyException, and limits are problems with a place.
 */
class HostileInputTest {
  private static final String HEAD =
      "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";

  private static String problemText(Hostile.Outcome o) {
    assertNotNull(o.problem(), "expected problems");
    return o.problem().problems().stream().map(Problem::toString).collect(Collectors.joining("\n"));
  }

  // ---- generated structures ------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(
      strings = {
        "&a [*a]: 1",
        "&a {x: *a}",
        "a: &a [*a]",
        "a: &a {b: [1, *a]}",
        "- &a [*a, *a]",
        "&a [&b [*a]]: 1",
        "a: &a\n  b: *a\n"
      })
  void recursiveAliases_areAProblemWithAPlace(String text) {
    String p = problemText(Hostile.parseDocument(text));
    assertTrue(p.contains("recursive alias at line "), p);
  }

  @Test
  void aliasBomb_stopsAtTheNodeLimit() {
    StringBuilder sb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 20; i++) {
      sb.append("a").append(i).append(": &a").append(i).append(" [");
      for (int j = 0; j < 10; j++) {
        sb.append(j == 0 ? "" : ", ").append("*a").append(i - 1);
      }
      sb.append("]\n");
    }
    String p = problemText(Hostile.parseDocument(sb.toString()));
    assertTrue(p.contains("more than " + PolicyLimits.MAX_NODES + " YAML nodes"), p);
  }

  @Test
  void manyAliases_stopAtTheAliasLimit() {
    String text = HEAD + "x: &x 1\ny: [" + "*x, ".repeat(PolicyLimits.MAX_ALIASES) + "*x]\n";
    String p = problemText(Hostile.parsePolicy(text));
    assertTrue(p.contains("more than " + PolicyLimits.MAX_ALIASES + " aliases at line 4"), p);
  }

  @ParameterizedTest
  @ValueSource(ints = {33, 300, 5_000, 200_000})
  void deepNesting_ofEveryKind_isAProblem(int depth) {
    List<String> texts =
        List.of(
            "[".repeat(depth) + "]".repeat(depth),
            "{a: ".repeat(depth) + "1" + "}".repeat(depth),
            deepBlockMaps(Math.min(depth, 1_000)),
            deepBlockLists(Math.min(depth, 1_000)),
            HEAD
                + "registries:\n  - host: a.example\n    mirrors: "
                + "[".repeat(depth)
                + "]".repeat(depth)
                + "\n",
            "[".repeat(depth));
    for (String t : texts) {
      String p = problemText(Hostile.parseDocument(t));
      assertTrue(
          p.contains("nested deeper than " + PolicyLimits.MAX_DEPTH + " levels at line")
              || p.startsWith("invalid YAML at line"),
          p);
    }
  }

  @Test
  void nestingUpToTheLimit_isRead() {
    String nested = "[".repeat(PolicyLimits.MAX_DEPTH - 1) + "]".repeat(PolicyLimits.MAX_DEPTH - 1);
    String p = problemText(Hostile.parsePolicy(HEAD + "x: " + nested + "\n"));
    assertEquals("x: unknown key", p);
  }

  private static String deepBlockMaps(int depth) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      sb.append(" ".repeat(i)).append("a:\n");
    }
    return sb.append(" ".repeat(depth)).append("b: 1\n").toString();
  }

  private static String deepBlockLists(int depth) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      sb.append(" ".repeat(2 * i)).append("-\n");
    }
    return sb.append(" ".repeat(2 * depth)).append("x\n").toString();
  }

  @Test
  void longKeysAndValues_areProblemsAtTheirPath() {
    String longValue = "a".repeat(PolicyLimits.MAX_STRING_CHARS + 1);
    String p =
        problemText(Hostile.parsePolicy(HEAD + "registries:\n  - host: " + longValue + "\n"));
    assertEquals(
        "registries[0].host: too long ("
            + longValue.length()
            + " characters, at most "
            + PolicyLimits.MAX_STRING_CHARS
            + ")",
        p);
    String longKey = "k".repeat(PolicyLimits.MAX_KEY_CHARS + 1);
    p =
        problemText(
            Hostile.parsePolicy(
                HEAD + "registries:\n  - {host: a.example, ? " + longKey + " : 1}\n"));
    assertEquals(
        "registries[0]: a key of "
            + longKey.length()
            + " characters (at most "
            + PolicyLimits.MAX_KEY_CHARS
            + ")",
        p);
    String huge = "x".repeat(PolicyLimits.MAX_POLICY_BYTES);
    p = problemText(Hostile.parsePolicy(HEAD + "x: " + huge + "\n"));
    assertTrue(
        p.startsWith("too large: more than 1 MiB (" + PolicyLimits.MAX_POLICY_BYTES + " bytes)"),
        p);
    p = problemText(Hostile.parseDocument("x: " + "y".repeat(PolicyLimits.MAX_FILE_BYTES)));
    assertTrue(p.startsWith("too large"), p);
  }

  @Test
  void manyDocuments_stopAtTheDocumentLimit() {
    String text = "---\na: 1\n".repeat(PolicyLimits.MAX_DOCUMENTS + 1);
    String p = problemText(Hostile.parseDocument(text));
    assertTrue(p.contains("more than " + PolicyLimits.MAX_DOCUMENTS + " YAML documents"), p);
  }

  @Test
  void repeatedDurationUnits_areAProblemNotAStackOverflow() {
    String p =
        problemText(
            Hostile.parsePolicy(
                HEAD
                    + "registries:\n  - host: a.example\n    dialTimeout: \""
                    + "1ns".repeat(100)
                    + "\"\n"));
    assertTrue(p.startsWith("registries[0].dialTimeout: invalid duration"), p);
  }

  @Test
  void tooManyRegistries_isAProblemBeforeTheyAreRead() {
    StringBuilder sb = new StringBuilder(HEAD + "registries:\n");
    for (int i = 0; i <= PolicyLimits.MAX_REGISTRIES; i++) {
      sb.append("- host: r").append(i).append(".example\n");
    }
    assertEquals(
        "registries: too many items ("
            + (PolicyLimits.MAX_REGISTRIES + 1)
            + ", at most "
            + PolicyLimits.MAX_REGISTRIES
            + ")",
        problemText(Hostile.parsePolicy(sb.toString())));
  }

  @Test
  void sixtyThousandRegistries_underOneMiB_areRefusedBeforeTheNodeLimitIsPassed() {
    StringBuilder sb = new StringBuilder(HEAD + "registries:\n");
    for (int i = 0; i < 60_000; i++) {
      sb.append("- host: r").append(i).append('\n');
    }
    assertTrue(sb.length() < 1 << 20);
    String p = problemText(Hostile.parsePolicy(sb.toString()));
    assertTrue(p.contains("more than " + PolicyLimits.MAX_NODES + " YAML nodes"), p);
  }

  @ParameterizedTest
  @ValueSource(strings = {"mirrors", "ca"})
  void perEndpointLists_haveTheirLimits(String key) {
    int max = key.equals("mirrors") ? PolicyLimits.MAX_MIRRORS : PolicyLimits.MAX_CAS;
    String item = key.equals("mirrors") ? "{url: https://m.example}" : "{secret: s}";
    String text =
        HEAD
            + "registries:\n  - host: a.example\n    "
            + key
            + ": ["
            + String.join(", ", java.util.Collections.nCopies(max + 1, item))
            + "]\n";
    assertEquals(
        "registries[0]." + key + ": too many items (" + (max + 1) + ", at most " + max + ")",
        problemText(Hostile.parsePolicy(text)));
  }

  @Test
  void theLargestAllowedListsParse() throws Exception {
    StringBuilder sb = new StringBuilder(HEAD + "registries:\n");
    for (int i = 0; i < PolicyLimits.MAX_REGISTRIES; i++) {
      sb.append("- host: r").append(i).append(".example\n");
    }
    sb.append("admission:\n  allowedSources:\n");
    for (int i = 0; i < PolicyLimits.MAX_ALLOWED_SOURCES; i++) {
      sb.append("  - prefix: registry.corp/team").append(i).append('\n');
    }
    Hostile.Outcome o = Hostile.parsePolicy(sb.toString());
    assertNull(o.problem(), () -> problemText(o));
    assertEquals(PolicyLimits.MAX_REGISTRIES, o.policy().registries().size());
    assertEquals(PolicyLimits.MAX_ALLOWED_SOURCES, o.policy().admission().allowedSources().size());
  }

  // ---- bytes ---------------------------------------------------------------------------------

  @Test
  void bytesThatAreNotUtf8_sayWhere() {
    byte[] b = (HEAD + "registries: []\n").getBytes(StandardCharsets.UTF_8);
    byte[] bad = java.util.Arrays.copyOf(b, b.length + 3);
    bad[b.length] = 'x';
    bad[b.length + 1] = (byte) 0xff;
    bad[b.length + 2] = '\n';
    String p = problemText(Hostile.parse("bytes", () -> PolicyDocument.parse(bad)));
    assertEquals(
        "the file is not valid UTF-8 at byte "
            + (b.length + 1)
            + " (line 4); a policy is UTF-8 text",
        p);
  }

  @Test
  void randomBytes_endInAPolicyOrProblems() {
    Random r = new Random(20261202);
    for (int i = 0; i < 300; i++) {
      byte[] b = new byte[r.nextInt(200)];
      r.nextBytes(b);
      Hostile.parse("random bytes #" + i, () -> PolicyDocument.parse(b));
    }
  }

  @Test
  void emptyAndCommentOnlyFiles_sayWhatIsMissing() {
    assertEquals(
        "the file is empty (want a RegistryPolicy or the registry-policy ConfigMap)",
        problemText(Hostile.parseDocument("")));
    assertEquals(
        "the file is empty (want a RegistryPolicy or the registry-policy ConfigMap)",
        problemText(Hostile.parseDocument("  \n\n")));
    assertEquals(
        "the file holds no YAML document, only comments or empty documents (want a RegistryPolicy or the"
            + " registry-policy ConfigMap)",
        problemText(Hostile.parseDocument("# nothing\n---\n---\n")));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a: [",
        "a: {b",
        "a: 'x",
        "a: \"x",
        "- a\nb: c",
        "a:\n\t- b",
        "a: *b",
        "a: !x y",
        "a: 1\na: 2",
        "a: \u0001",
        "a: \ud83d"
      })
  void yamlErrors_giveLineAndColumn_andNoJavaNames(String text) {
    String p = problemText(Hostile.parseDocument(text));
    assertTrue(p.matches("(?s)invalid YAML at line \\d+, column \\d+: .*"), p);
    assertTrue(!p.contains("Exception") && !p.contains("java."), p);
  }

  @Test
  void unsupportedYamlVersion_isSaidInWords() {
    assertEquals(
        "invalid YAML: unsupported %YAML version (want 1.2, or no %YAML line)",
        problemText(Hostile.parseDocument("%YAML 9.9\n---\na: 1\n")));
  }

  @Test
  void surrogatePairsAtEveryBufferBoundary_areRead() {
    for (int pad = 1000; pad < 1100; pad++) {
      String text = HEAD + "# " + "x".repeat(pad) + "\ud83d\ude00\nregistries: []\n";
      Hostile.Outcome o = Hostile.parseDocument(text);
      assertNull(o.problem(), () -> problemText(o));
    }
  }

  // ---- every field of the example -------------------------------------------------------------

  @Test
  void everyFieldOfTheExample_withLongNonAsciiAndControlValues() throws Exception {
    Map<String, Object> tree = Hostile.exampleTree();
    List<Object> values =
        List.of(
            "x".repeat(PolicyLimits.MAX_STRING_CHARS + 10),
            "y".repeat(300),
            "\u00fc\u00e9\u4e2d\u6587",
            "\u202e\u200b\ufeff",
            "a\u0000b",
            "a\tb\nc\rd",
            "\u0085\u2028",
            "\ud800",
            "..",
            "../../etc",
            "a/b",
            "a\\b",
            "-",
            "",
            " ",
            "*",
            "?",
            "[::1]",
            "[1::2::3]",
            0,
            -1,
            65536,
            1e308,
            true,
            List.of(),
            Map.of(),
            List.of(List.of(List.of())),
            "9999999999999999h",
            "1ns".repeat(30));
    int runs = 0;
    for (List<Object> path : Hostile.leaves(tree)) {
      for (Object v : values) {
        Object changed = Hostile.with(tree, path, v);
        String text = Hostile.dump(changed);
        Hostile.Outcome o = Hostile.parsePolicy(text);
        if (o.policy() != null) {
          PolicySummary.of(o.policy());
          o.policy().toString();
        }
        runs++;
      }
    }
    assertTrue(runs > 1_000, "runs " + runs);
  }

  // ---- random mutations of the example ---------------------------------------------------------

  private static final String[] TOKENS = {
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "!!binary ",
    "!!str ",
    "!x ",
    "- ",
    ": ",
    "\n  ",
    "\n- ",
    "\t",
    "'",
    "\"",
    "|",
    ">",
    "#",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "? ",
    "@",
    ",",
    "\u0000",
    "\u202e",
    "\u00e9",
    "\ud83d\ude00",
    "\\",
    "\r\n",
    "&a [*a]",
    "<<: ",
    "0x",
    "1e9",
    "~",
    "null",
    "true"
  };

  @Test
  void twoThousandMutationsOfTheExample_endInAPolicyOrProblems() {
    String example = PolicyDocument.example();
    Random r = new Random(20261202);
    int policies = 0;
    for (int i = 0; i < 2_000; i++) {
      String text = mutate(example, r, 1 + r.nextInt(6));
      Hostile.Outcome o = Hostile.parseDocument(text);
      if (o.policy() != null) {
        policies++;
        PolicySummary.of(o.policy());
      }
    }
    assertTrue(policies > 0 && policies < 2_000, "policies " + policies);
  }

  static String mutate(String s, Random r, int times) {
    StringBuilder sb = new StringBuilder(s);
    for (int k = 0; k < times; k++) {
      int at = r.nextInt(sb.length() + 1);
      switch (r.nextInt(7)) {
        case 0 -> sb.delete(at, Math.min(sb.length(), at + 1 + r.nextInt(40)));
        case 1 -> {
          int from = r.nextInt(sb.length());
          int to = Math.min(sb.length(), from + 1 + r.nextInt(200));
          sb.insert(at, sb.substring(from, to));
        }
        case 2, 3 -> sb.insert(at, TOKENS[r.nextInt(TOKENS.length)]);
        case 4 -> {
          if (at < sb.length()) {
            sb.setCharAt(at, (char) r.nextInt(0x3000));
          }
        }
        case 5 ->
            sb.insert(
                at, String.valueOf(TOKENS[r.nextInt(TOKENS.length)]).repeat(1 + r.nextInt(400)));
        default -> {
          int nl = sb.indexOf("\n", at);
          if (nl >= 0) {
            sb.insert(nl + 1, " ".repeat(1 + r.nextInt(6)));
          }
        }
      }
    }
    return sb.toString();
  }
}
