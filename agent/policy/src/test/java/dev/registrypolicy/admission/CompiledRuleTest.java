package dev.registrypolicy.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.AdmissionMode;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.AdmissionRule.BlockedImage;
import dev.registrypolicy.policy.AdmissionRule.NameTagPattern;
import dev.registrypolicy.policy.Glob;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.LabelSelector;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.NamespaceSelector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The grouped patterns and the rule selection by namespace give exactly what trying every pattern
 * and every rule gives: random rules with many patterns against random references.
 */
class CompiledRuleTest {
  private static final String[] HOSTS = {
    "docker.io", "registry-1.docker.io", "ghcr.io", "reg.corp", "*.corp", "*", "reg.?orp", null
  };
  private static final String[] PATHS = {
    "busybox", "library/busybox", "team/app", "team/*", "team", "*/app", "t?am/app", "*", null
  };
  private static final String[] TAGS = {"latest", "1.*", "snap*", "*", "?.0", null};
  private static final String[] NAMES = {
    "docker.io/library/*",
    "registry-1.docker.io/*",
    "reg.corp/team/*",
    "*/app",
    "ghcr.io/*",
    "*",
    "reg.corp:5000/*",
    "reg.c?rp/*"
  };
  private static final String[] IMAGES = {
    "busybox",
    "busybox:1.0",
    "library/busybox:snapshot",
    "registry-1.docker.io/library/busybox",
    "registry-1.docker.io/busybox:latest",
    "index.docker.io/team/app:1.2",
    "reg.corp/team/app",
    "reg.corp/team",
    "reg.corp:5000/team/app:9.0",
    "ghcr.io/team/app@sha256:" + "ab".repeat(32),
    "x.corp/busybox:snap1",
    "localhost:5000/app",
  };

  static Glob glob(String s) {
    return s == null ? null : Glob.of(s);
  }

  static AdmissionRule randomRule(SplittableRandom rnd, int i) {
    List<NameTagPattern> names = new ArrayList<>();
    for (int n = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(6) : 0; n > 0; n--) {
      names.add(
          new NameTagPattern(
              Glob.of(NAMES[rnd.nextInt(NAMES.length)]), glob(TAGS[rnd.nextInt(TAGS.length)])));
    }
    List<BlockedImage> blocked = new ArrayList<>();
    for (int n = rnd.nextInt(12); n > 0; n--) {
      BlockedImage b =
          new BlockedImage(
              glob(HOSTS[rnd.nextInt(HOSTS.length)]),
              rnd.nextInt(6) == 0 ? 5000 : null,
              glob(PATHS[rnd.nextInt(PATHS.length)]),
              glob(TAGS[rnd.nextInt(TAGS.length)]));
      if (b.host() != null || b.port() != null || b.path() != null || b.tag() != null) {
        blocked.add(b);
      }
    }
    NamespaceSelector ns =
        switch (rnd.nextInt(5)) {
          case 0 -> NamespaceSelector.ALL;
          case 1 -> new NamespaceSelector(Set.of("a", "b"), null, Set.of());
          case 2 ->
              new NamespaceSelector(
                  Set.of(),
                  new LabelSelector(Map.of("env", rnd.nextBoolean() ? "prod" : "dev"), List.of()),
                  rnd.nextBoolean() ? Set.of("b") : Set.of());
          case 3 ->
              new NamespaceSelector(
                  Set.of("c"),
                  new LabelSelector(
                      Map.of(),
                      List.of(
                          new LabelSelector.Requirement(
                              "team", LabelSelector.Operator.EXISTS, Set.of()))),
                  Set.of());
          default -> new NamespaceSelector(Set.of(), null, Set.of("a"));
        };
    return new AdmissionRule(
        "r" + i,
        rnd.nextBoolean() ? null : AdmissionMode.WARN,
        ns,
        rnd.nextInt(6) == 0,
        rnd.nextInt(6) == 0,
        rnd.nextInt(6) == 0,
        names,
        blocked,
        null);
  }

  /** The rule's first failing check, trying every pattern: the specification. */
  static String reference(AdmissionRule r, ImageRef ref) {
    if (r.requireDigest() && !ref.hasDigest()) {
      return "is not pinned by digest";
    }
    if (r.blockUntagged() && !ref.hasTag() && !ref.hasDigest()) {
      return "has no tag";
    }
    if (r.blockLatestTag() && "latest".equals(ref.effectiveTag())) {
      return "uses the latest tag";
    }
    if (!r.allowedNameTags().isEmpty()
        && r.allowedNameTags().stream().noneMatch(p -> p.matches(ref))) {
      return "does not match an allowed name and tag";
    }
    if (r.blockedImages().stream().anyMatch(b -> b.matches(ref))) {
      return "is blocked";
    }
    return null;
  }

  @Test
  void groupedPatternsAndRuleSelection_agreeWithTryingEverything() throws Exception {
    SplittableRandom rnd = new SplittableRandom(7);
    NamespaceInfo[] namespaces = {
      NamespaceInfo.named("a"),
      NamespaceInfo.named("b"),
      new NamespaceInfo("b", Map.of("env", "prod"), Map.of()),
      new NamespaceInfo("c", Map.of("env", "dev", "team", "x"), Map.of()),
      new NamespaceInfo("d", Map.of("team", "y"), Map.of()),
    };
    int blockedSeen = 0;
    for (int round = 0; round < 600; round++) {
      CompiledRule[] rules = new CompiledRule[1 + rnd.nextInt(8)];
      for (int i = 0; i < rules.length; i++) {
        rules[i] = new CompiledRule(randomRule(rnd, i), Action.DENY);
      }
      RuleSelection selection = new RuleSelection(rules);
      for (NamespaceInfo ns : namespaces) {
        boolean[] applies = selection.applying(ns);
        for (int i = 0; i < rules.length; i++) {
          assertEquals(
              rules[i].rule.namespaces().matches(ns), applies[i], rules[i].rule + " " + ns);
          assertEquals(rules[i].rule.namespaces().matches(ns), rules[i].appliesTo(ns));
        }
      }
      BlockedIndex index = new BlockedIndex(rules);
      boolean[] all = new boolean[rules.length];
      java.util.Arrays.fill(all, true);
      for (String image : IMAGES) {
        ImageRef ref = ImageRef.parse(image);
        ImageFacts facts = ImageFacts.of(ref, index.usesSegments());
        boolean[] blocked = index.blocked(facts, all);
        for (int i = 0; i < rules.length; i++) {
          CompiledRule r = rules[i];
          String expected = reference(r.rule, ref);
          assertEquals(
              expected, r.broken(facts, blocked != null && blocked[i]), r.rule + " on " + image);
          blockedSeen += "is blocked".equals(expected) ? 1 : 0;
        }
      }
    }
    assertTrue(blockedSeen > 300, "blocked: " + blockedSeen);
  }
}
