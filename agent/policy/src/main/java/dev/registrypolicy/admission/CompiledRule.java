package dev.registrypolicy.admission;

import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.AdmissionRule.NameTagPattern;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.LabelSelector;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.NamespaceSelector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One policy rule ready for the verdict function: its action resolved, its namespace selection
 * flattened, and its {@code allowedNameTags} grouped by registry domain when the name glob's part
 * before its first {@code /} has no wildcard, so an image is tried only against the patterns of its
 * own registry and those with a wildcard there. (Blocked images are grouped across all rules by
 * {@link BlockedIndex}.) Grouping changes no verdict: {@code CompiledRuleTest} checks it against
 * trying every pattern.
 */
final class CompiledRule {
  private static final NameTagPattern[] NO_NAMES = new NameTagPattern[0];

  final AdmissionRule rule;
  final Action action;

  // rule.namespaces(), flattened: NamespaceSelector.matches without iterators.
  private final boolean everyNamespace;
  private final Set<String> names;
  private final Set<String> exclude;
  private final boolean hasSelector;
  private final String[] labelKeys;
  private final String[] labelValues;
  private final LabelSelector.Requirement[] requirements;

  private final boolean checksNames;
  private final Map<String, NameTagPattern[]> namesByDomain;
  private final NameTagPattern[] namesAnyDomain;

  CompiledRule(AdmissionRule rule, Action defaultAction) {
    this.rule = rule;
    this.action = rule.mode() == null ? defaultAction : Action.of(rule.mode());
    NamespaceSelector sel = rule.namespaces();
    this.everyNamespace = sel.selectsAll();
    this.names = sel.names();
    this.exclude = sel.exclude();
    LabelSelector ls = sel.selector();
    this.hasSelector = ls != null;
    this.labelKeys = ls == null ? new String[0] : ls.matchLabels().keySet().toArray(new String[0]);
    this.labelValues =
        ls == null ? new String[0] : ls.matchLabels().values().toArray(new String[0]);
    this.requirements =
        ls == null
            ? new LabelSelector.Requirement[0]
            : ls.matchExpressions().toArray(new LabelSelector.Requirement[0]);
    this.checksNames = !rule.allowedNameTags().isEmpty();
    Map<String, List<NameTagPattern>> byDomain = new HashMap<>();
    List<NameTagPattern> anyDomain = new ArrayList<>();
    for (NameTagPattern p : rule.allowedNameTags()) {
      String n = p.name().pattern();
      int slash = n.indexOf('/');
      if (slash > 0 && BlockedIndex.isLiteral(n, 0, slash)) {
        byDomain.computeIfAbsent(n.substring(0, slash), k -> new ArrayList<>()).add(p);
      } else {
        anyDomain.add(p);
      }
    }
    Map<String, NameTagPattern[]> frozen = new HashMap<>();
    byDomain.forEach((k, v) -> frozen.put(k, v.toArray(NO_NAMES)));
    this.namesByDomain = frozen.isEmpty() ? Map.of() : frozen;
    this.namesAnyDomain = anyDomain.toArray(NO_NAMES);
  }

  /** Whether the rule applies to the namespace: {@link NamespaceSelector#matches}. */
  boolean appliesTo(NamespaceInfo ns) {
    if (!exclude.isEmpty() && exclude.contains(ns.name())) {
      return false;
    }
    if (everyNamespace) {
      return true;
    }
    if (!names.isEmpty() && names.contains(ns.name())) {
      return true;
    }
    if (!hasSelector) {
      return false;
    }
    Map<String, String> labels = ns.labels();
    for (int i = 0; i < labelKeys.length; i++) {
      if (!labelValues[i].equals(labels.get(labelKeys[i]))) {
        return false;
      }
    }
    for (LabelSelector.Requirement r : requirements) {
      if (!r.matches(labels)) {
        return false;
      }
    }
    return true;
  }

  /**
   * What the image breaks of this rule, its first failing check in the fixed order (digest, tag,
   * latest, name/tag patterns, blocked images), or null.
   *
   * @param blocked whether one of the rule's blocked images matches (from {@link BlockedIndex})
   */
  String broken(ImageFacts f, boolean blocked) {
    ImageRef ref = f.ref();
    if (rule.requireDigest() && !ref.hasDigest()) {
      return "is not pinned by digest";
    }
    if (rule.blockUntagged() && !ref.hasTag() && !ref.hasDigest()) {
      return "has no tag";
    }
    if (rule.blockLatestTag() && ImageRef.DEFAULT_TAG.equals(f.effectiveTag())) {
      return "uses the latest tag";
    }
    if (checksNames
        && !anyName(namesByDomain.get(ref.domain()), f)
        && !anyName(namesAnyDomain, f)) {
      return "does not match an allowed name and tag";
    }
    if (blocked) {
      return "is blocked";
    }
    return null;
  }

  private static boolean anyName(NameTagPattern[] patterns, ImageFacts f) {
    if (patterns == null) {
      return false;
    }
    for (NameTagPattern p : patterns) {
      if (p.matches(f.name(), f.effectiveTag())) {
        return true;
      }
    }
    return false;
  }
}
