package dev.registrypolicy.admission;

import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.AdmissionRule.BlockedImage;
import dev.registrypolicy.policy.AdmissionRule.NameTagPattern;
import dev.registrypolicy.policy.Glob;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.LabelSelector;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.NamespaceSelector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One policy rule ready for the verdict function: its action resolved, and its patterns grouped by
 * a wildcard-free part, so that an image is tried only against the patterns that can match it (and
 * the few with nothing to group by), whatever their number.
 *
 * <ul>
 *   <li>{@code allowedNameTags}: by the registry domain, when the name glob's part before its first
 *       {@code /} has no wildcard.
 *   <li>{@code blockedImages}: by host when the host glob has no wildcard (Docker Hub's two names
 *       as one); else by the whole path when the path glob has no wildcard and no {@code /} (an
 *       official image is also looked up without {@code library/}); else by the first path segment
 *       when the path glob has a {@code /} and no wildcard before it; else by the first character
 *       of a tag glob that starts with one.
 * </ul>
 *
 * Which pattern of a group matches does not matter (any match decides), so grouping changes no
 * verdict; {@code AdmissionCheckTest} and the corpus hold it to the patterns' own rules.
 */
final class CompiledRule {
  private static final BlockedImage[] NO_BLOCKED = new BlockedImage[0];
  private static final NameTagPattern[] NO_NAMES = new NameTagPattern[0];

  final AdmissionRule rule;
  final Action action;

  // rule.namespaces(), flattened: NamespaceSelector.matches without iterators or boxing.
  private final boolean everyNamespace;
  private final java.util.Set<String> names;
  private final java.util.Set<String> exclude;
  private final boolean hasSelector;
  private final String[] labelKeys;
  private final String[] labelValues;
  private final LabelSelector.Requirement[] requirements;

  private final boolean checksNames;
  private final Map<String, NameTagPattern[]> namesByDomain;
  private final NameTagPattern[] namesAnyDomain;

  private final Map<String, BlockedImage[]> blockedByHost;
  private final Map<String, BlockedImage[]> blockedByPath;
  private final Map<String, BlockedImage[]> blockedByFirstSegment;
  private final BlockedImage[][] blockedByTagStart = new BlockedImage[128][];
  private final BlockedImage[] blockedOther;

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
      if (slash > 0 && isLiteral(n, 0, slash)) {
        byDomain.computeIfAbsent(n.substring(0, slash), k -> new ArrayList<>()).add(p);
      } else {
        anyDomain.add(p);
      }
    }
    this.namesByDomain = freeze(byDomain, NO_NAMES);
    this.namesAnyDomain = anyDomain.toArray(NO_NAMES);

    Map<String, List<BlockedImage>> byHost = new HashMap<>();
    Map<String, List<BlockedImage>> byPath = new HashMap<>();
    Map<String, List<BlockedImage>> byFirst = new HashMap<>();
    List<List<BlockedImage>> byTag = new ArrayList<>();
    for (int i = 0; i < 128; i++) {
      byTag.add(null);
    }
    List<BlockedImage> other = new ArrayList<>();
    for (BlockedImage b : rule.blockedImages()) {
      String hostKey = b.literalHostKey();
      Glob path = b.path();
      String p = path == null ? null : path.pattern();
      int slash = p == null ? -1 : p.indexOf('/');
      String t = b.tag() == null ? null : b.tag().pattern();
      if (hostKey != null) {
        byHost.computeIfAbsent(hostKey, k -> new ArrayList<>()).add(b);
      } else if (p != null && slash < 0 && isLiteral(p, 0, p.length())) {
        byPath.computeIfAbsent(p, k -> new ArrayList<>()).add(b);
      } else if (p != null && slash > 0 && isLiteral(p, 0, slash)) {
        byFirst.computeIfAbsent(p.substring(0, slash), k -> new ArrayList<>()).add(b);
      } else if (t != null && !t.isEmpty() && isLiteral(t, 0, 1) && t.charAt(0) < 128) {
        int c = t.charAt(0);
        if (byTag.get(c) == null) {
          byTag.set(c, new ArrayList<>());
        }
        byTag.get(c).add(b);
      } else {
        other.add(b);
      }
    }
    this.blockedByHost = freeze(byHost, NO_BLOCKED);
    this.blockedByPath = freeze(byPath, NO_BLOCKED);
    this.blockedByFirstSegment = freeze(byFirst, NO_BLOCKED);
    for (int c = 0; c < 128; c++) {
      if (byTag.get(c) != null) {
        blockedByTagStart[c] = byTag.get(c).toArray(NO_BLOCKED);
      }
    }
    this.blockedOther = other.toArray(NO_BLOCKED);
  }

  /**
   * Whether {@link #broken} reads {@link ImageFacts#firstSegment} or {@link
   * ImageFacts#officialPath}.
   */
  boolean usesSegments() {
    return !blockedByPath.isEmpty() || !blockedByFirstSegment.isEmpty();
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
    java.util.Map<String, String> labels = ns.labels();
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

  private static boolean isLiteral(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?') {
        return false;
      }
    }
    return true;
  }

  private static <T> Map<String, T[]> freeze(Map<String, List<T>> m, T[] empty) {
    Map<String, T[]> out = new HashMap<>();
    m.forEach((k, v) -> out.put(k, v.toArray(empty)));
    return Map.copyOf(out);
  }

  /**
   * What the image breaks of this rule, its first failing check in the fixed order (digest, tag,
   * latest, name/tag patterns, blocked images), or null.
   */
  String broken(ImageFacts f) {
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
    if (blocked(f)) {
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

  private boolean blocked(ImageFacts f) {
    String tag = f.effectiveTag();
    return (!blockedByHost.isEmpty() && anyBlocked(blockedByHost.get(f.hostKey()), f))
        || (!blockedByPath.isEmpty()
            && (anyBlocked(blockedByPath.get(f.ref().path()), f)
                || (f.officialPath() != null
                    && anyBlocked(blockedByPath.get(f.officialPath()), f))))
        || (!blockedByFirstSegment.isEmpty()
            && anyBlocked(blockedByFirstSegment.get(f.firstSegment()), f))
        || (tag != null
            && !tag.isEmpty()
            && tag.charAt(0) < 128
            && anyBlocked(blockedByTagStart[tag.charAt(0)], f))
        || anyBlocked(blockedOther, f);
  }

  private static boolean anyBlocked(BlockedImage[] patterns, ImageFacts f) {
    if (patterns == null) {
      return false;
    }
    ImageRef ref = f.ref();
    for (BlockedImage b : patterns) {
      if (b.matches(ref.domain(), f.host(), f.port(), ref.path(), f.effectiveTag())) {
        return true;
      }
    }
    return false;
  }
}
