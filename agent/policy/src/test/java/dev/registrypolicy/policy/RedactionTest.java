package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One redaction rule for every field (issue 11): each string field of the example policy, in turn,
 * holds a secret-looking value, and the secret appears in no problem, no summary and no toString().
 * Unknown keys and label keys named like a secret too.
 */
class RedactionTest {
  private static final String SECRET = "S3cr3tPW";
  private static final List<String> SHAPES =
      List.of(
          "u:" + SECRET + "@registry.example/x",
          "https://u:" + SECRET + "@registry.example/x",
          "http://" + SECRET + "@registry.example",
          "registry.example/x?token=" + SECRET,
          "https://registry.example/v2?token=" + SECRET,
          "registry.example#" + SECRET,
          SECRET + "@registry.example",
          "u:" + SECRET + "@registry.example:5000",
          "u:" + SECRET + "@registry.example",
          "u:pa@" + SECRET + "@h",
          "u:" + SECRET + "#@h",
          "https://u:" + SECRET + "/x@h/y",
          "h/x?token=p@" + SECRET);

  private static int policies;
  private static int failures;

  private static void check(String what, Object tree) {
    String text = Hostile.dump(tree);
    Hostile.Outcome o = Hostile.parsePolicy(text);
    List<String> shown = new ArrayList<>();
    if (o.policy() != null) {
      policies++;
      shown.add(PolicySummary.of(o.policy()));
      shown.add(o.policy().toString());
    } else {
      failures++;
      shown.add(o.problem().getMessage());
      for (Problem p : o.problem().problems()) {
        shown.add(p.toString());
      }
    }
    for (String s : shown) {
      assertFalse(s.contains(SECRET), () -> what + " shows the secret:\n" + s);
    }
  }

  @Test
  void everyStringField_withASecretLookingValue_neverShowsTheSecret() throws Exception {
    Map<String, Object> tree = Hostile.exampleTree();
    for (List<Object> path : Hostile.leaves(tree)) {
      for (String v : SHAPES) {
        check(path + " = " + v, Hostile.with(tree, path, v));
        check(path + " = [" + v + "]", Hostile.with(tree, path, List.of(v)));
      }
    }
    assertTrue(failures > 0, "some values must be refused");
  }

  @Test
  void keysNamedLikeASecret_areRedactedInPaths() throws Exception {
    Map<String, Object> tree = Hostile.exampleTree();
    List<List<Object>> mappings = new ArrayList<>();
    for (List<Object> leaf : Hostile.leaves(tree)) {
      List<Object> parent = leaf.subList(0, leaf.size() - 1);
      if (!(leaf.get(leaf.size() - 1) instanceof Integer) && !mappings.contains(parent)) {
        mappings.add(parent);
      }
    }
    mappings.add(List.of());
    for (List<Object> at : mappings) {
      for (String v : SHAPES) {
        List<Object> path = new ArrayList<>(at);
        path.add(v);
        check("key " + path, Hostile.with(tree, path, "x"));
      }
    }
    // label keys and values of a selector, a place where user keys are read on purpose
    for (String v : SHAPES) {
      Map<String, Object> t = Hostile.exampleTree();
      Map<Object, Object> labels = new LinkedHashMap<>();
      labels.put(v, v);
      check(
          "matchLabels " + v,
          Hostile.with(t, List.of("access", 1, "namespaces", "selector", "matchLabels"), labels));
    }
  }

  @Test
  void theAdmissionFieldsOfTheIssue_areRefusedWithoutTheSecret() throws Exception {
    String head = "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nadmission:\n";
    for (String v : SHAPES) {
      String q = "'" + v + "'";
      for (String text :
          List.of(
              head + "  allowedSources: [{prefix: " + q + "}]\n",
              head + "  rules: [{name: r, blockedImages: [{host: " + q + "}]}]\n",
              head + "  rules: [{name: r, blockedImages: [{name: " + q + "}]}]\n",
              head + "  rules: [{name: r, allowedNameTags: [{name: " + q + "}]}]\n",
              head + "  rules: [{name: r, allowedNameTags: [{name: x, tag: " + q + "}]}]\n")) {
        Hostile.Outcome o = Hostile.parsePolicy(text);
        assertTrue(o.problem() != null, () -> "accepted: " + text);
        assertFalse(o.problem().getMessage().contains(SECRET), o.problem()::getMessage);
      }
    }
  }
}
