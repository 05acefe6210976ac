package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The loader's second limit set, {@link Yaml.Limits#OBJECTS}, for dumps of cluster objects: a real
 * cluster's dump loads, the policy's limits stay exactly as they were, and hostile shapes are
 * refused under both with the same messages.
 */
class YamlObjectsLimitsTest {
  private static String problem(String text, Yaml.Limits limits) {
    List<Problem> problems = new ArrayList<>();
    List<Object> docs = Yaml.loadAll(text, "", problems, limits);
    assertNull(docs, "refused");
    assertEquals(1, problems.size(), problems.toString());
    return problems.get(0).toString();
  }

  @Test
  void thePolicyLimitsAreExactlyAsBefore() {
    assertEquals(
        new Yaml.Limits(3 << 19, 3 << 19, 32, 40_000, 3 << 19, 1_000, 1_000), Yaml.Limits.POLICY);
    assertEquals(PolicyLimits.MAX_FILE_BYTES, Yaml.Limits.POLICY.maxBytes());
    // the two-argument loadAll is the policy's
    String big = "x: " + "y".repeat(PolicyLimits.MAX_FILE_BYTES) + "\n";
    List<Problem> problems = new ArrayList<>();
    assertNull(Yaml.loadAll(big, "", problems));
    assertTrue(problems.toString().contains("too large: more than 1.5 MiB"), problems.toString());
  }

  @Test
  void theObjectsLimitsScaleSizeNodesAndTextButNotDepthOrAliases() {
    Yaml.Limits o = Yaml.Limits.OBJECTS;
    assertEquals(256 << 20, o.maxBytes());
    assertEquals(o.maxBytes(), o.maxExpandedChars());
    assertEquals(
        (long) PolicyLimits.MAX_NODES * o.maxBytes() / PolicyLimits.MAX_FILE_BYTES, o.maxNodes());
    assertEquals(PolicyLimits.MAX_DEPTH, o.maxDepth());
    assertEquals(PolicyLimits.MAX_ALIASES, o.maxAliases());
    assertEquals(PolicyLimits.MAX_FILE_BYTES, o.maxScalarChars(), "one value: one whole object");
  }

  @Test
  void aDumpOf5000PodsLoadsWithTheObjectsLimitsOnly() {
    String text = YamlObjectDumps.pods(5_000, 40);
    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
    assertTrue(bytes > PolicyLimits.MAX_FILE_BYTES * 10, "a real dump's size: " + bytes);
    List<Problem> problems = new ArrayList<>();
    assertNull(Yaml.loadAll(text, "", problems), "the policy limits refuse it");
    assertTrue(
        problems.get(0).message().startsWith("too large: more than 1.5 MiB"), problems.toString());

    problems.clear();
    List<Object> docs = Yaml.loadAll(text, "", problems, Yaml.Limits.OBJECTS);
    assertNotNull(docs, problems.toString());
    Map<?, ?> list = (Map<?, ?>) docs.get(0);
    assertEquals(5_040, ((List<?>) list.get("items")).size());
  }

  @Test
  void deepNestingIsRefusedWithTheSameMessage() {
    for (String text :
        List.of(
            "[".repeat(33) + "]".repeat(33),
            "{a: ".repeat(5_000) + "1" + "}".repeat(5_000),
            "[".repeat(200_000) + "]".repeat(200_000))) {
      String policy = problem(text, Yaml.Limits.POLICY);
      String objects = problem(text, Yaml.Limits.OBJECTS);
      assertTrue(objects.startsWith("nested deeper than 32 levels at line 1, column "), objects);
      assertEquals(policy, objects);
    }
  }

  @Test
  void recursiveAndUndefinedAliasesAreRefusedWithTheSameMessage() {
    for (String text : List.of("&a [*a]: 1", "a: &a {b: [1, *a]}", "a: *nothing\n")) {
      assertEquals(problem(text, Yaml.Limits.POLICY), problem(text, Yaml.Limits.OBJECTS));
    }
  }

  @Test
  void tooManyAliasesAreRefusedWithTheSameMessage() {
    String text = "x: &x 1\ny: [" + "*x, ".repeat(PolicyLimits.MAX_ALIASES) + "*x]\n";
    String objects = problem(text, Yaml.Limits.OBJECTS);
    assertEquals(problem(text, Yaml.Limits.POLICY), objects);
    assertTrue(objects.startsWith("more than 1000 aliases at line 2"), objects);
  }

  @Test
  void anAliasBombStopsAtTheScaledNodeLimit() {
    // 10^19 nodes in 19 lines of aliases: under the alias limit, far over any node limit
    StringBuilder sb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 20; i++) {
      sb.append("a").append(i).append(": &a").append(i).append(" [");
      for (int j = 0; j < 10; j++) {
        sb.append(j == 0 ? "" : ", ").append("*a").append(i - 1);
      }
      sb.append("]\n");
    }
    String objects = problem(sb.toString(), Yaml.Limits.OBJECTS);
    assertTrue(
        objects.startsWith(
            "more than "
                + Yaml.Limits.OBJECTS.maxNodes()
                + " YAML nodes in one document (aliases count as what they repeat) at line 7"),
        objects);
    assertTrue(
        problem(sb.toString(), Yaml.Limits.POLICY)
            .startsWith("more than 40000 YAML nodes in one document"));
  }

  @Test
  void aliasedTextStopsAtTheScaledTextLimit() {
    // one value of 1 MiB repeated 300 times: 300 MiB of text from a 1 MiB file
    String text = "a: &a " + "v".repeat(1 << 20) + "\nb: [" + "*a, ".repeat(299) + "*a]\n";
    String objects = problem(text, Yaml.Limits.OBJECTS);
    assertTrue(
        objects.startsWith(
            "more than "
                + (256 << 20)
                + " characters of text in one document (aliases count as what they repeat)"),
        objects);
  }

  @Test
  void aValueLongerThanAnObjectIsRefused() {
    String text = "a: " + "v".repeat(PolicyLimits.MAX_FILE_BYTES + 1) + "\n";
    assertTrue(
        problem(text, Yaml.Limits.OBJECTS)
            .startsWith("a value longer than " + PolicyLimits.MAX_FILE_BYTES + " characters"));
  }

  @Test
  void documentsAreCountedAgainstTheirOwnLimit() {
    String text = "---\na: 1\n".repeat(Yaml.Limits.OBJECTS.maxDocuments() + 1);
    assertTrue(
        problem(text, Yaml.Limits.OBJECTS)
            .startsWith("more than " + Yaml.Limits.OBJECTS.maxDocuments() + " YAML documents"));
    List<Problem> problems = new ArrayList<>();
    List<Object> docs =
        Yaml.loadAll(
            "---\na: 1\n".repeat(PolicyLimits.MAX_DOCUMENTS + 1),
            "",
            problems,
            Yaml.Limits.OBJECTS);
    assertNotNull(docs, problems.toString());
    assertEquals(PolicyLimits.MAX_DOCUMENTS + 1, docs.size());
  }

  @Test
  void aFileOverTheObjectsLimitIsRefusedBeforeParsing() {
    Yaml.Limits small = new Yaml.Limits(1_000, 1_000, 32, 100, 1_000, 10, 10);
    String text = "a: [" + "1, ".repeat(400) + "1]\n";
    assertTrue(problem(text, small).startsWith("too large: more than"), problem(text, small));
  }
}
