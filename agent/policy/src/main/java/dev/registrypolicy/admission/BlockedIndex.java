package dev.registrypolicy.admission;

import dev.registrypolicy.policy.AdmissionRule.BlockedImage;
import dev.registrypolicy.policy.Glob;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every rule's {@code blockedImages}, grouped by a wildcard-free part, so that one image is tried
 * only against the patterns that can match it, whatever their number and across all rules at once
 * (one lookup per group, not one per rule):
 *
 * <ul>
 *   <li>by host when the host glob has no wildcard (Docker Hub's two names as one, {@link
 *       BlockedImage#literalHostKey});
 *   <li>else by the whole path when the path glob has no wildcard and no {@code /} (an official
 *       Docker Hub image is also looked up without {@code library/});
 *   <li>else by the first path segment when the path glob has a {@code /} and no wildcard before
 *       it;
 *   <li>else by the first character of a tag glob that starts with one;
 *   <li>else tried on every image.
 * </ul>
 *
 * A pattern can match only images with its group's key, so grouping changes no verdict ({@code
 * CompiledRuleTest} checks it against trying every pattern).
 */
final class BlockedIndex {
  private static final Entry[] NONE = new Entry[0];

  /** One pattern of the rule at {@code rule} (its index in the check's rule array). */
  private record Entry(int rule, BlockedImage pattern) {}

  private final int rules;
  private final Map<String, Entry[]> byHost;
  private final Map<String, Entry[]> byPath;
  private final Map<String, Entry[]> byFirstSegment;
  private final Entry[][] byTagStart = new Entry[128][];
  private final Entry[] other;
  private final boolean empty;

  BlockedIndex(CompiledRule[] compiled) {
    this.rules = compiled.length;
    Map<String, List<Entry>> host = new HashMap<>();
    Map<String, List<Entry>> path = new HashMap<>();
    Map<String, List<Entry>> first = new HashMap<>();
    List<List<Entry>> tag = new ArrayList<>();
    for (int c = 0; c < 128; c++) {
      tag.add(null);
    }
    List<Entry> rest = new ArrayList<>();
    int count = 0;
    for (int i = 0; i < compiled.length; i++) {
      for (BlockedImage b : compiled[i].rule.blockedImages()) {
        count++;
        Entry e = new Entry(i, b);
        String hostKey = b.literalHostKey();
        Glob pg = b.path();
        String p = pg == null ? null : pg.pattern();
        int slash = p == null ? -1 : p.indexOf('/');
        String t = b.tag() == null ? null : b.tag().pattern();
        if (hostKey != null) {
          host.computeIfAbsent(hostKey, k -> new ArrayList<>()).add(e);
        } else if (p != null && slash < 0 && isLiteral(p, 0, p.length())) {
          path.computeIfAbsent(p, k -> new ArrayList<>()).add(e);
        } else if (p != null && slash > 0 && isLiteral(p, 0, slash)) {
          first.computeIfAbsent(p.substring(0, slash), k -> new ArrayList<>()).add(e);
        } else if (t != null && !t.isEmpty() && isLiteral(t, 0, 1) && t.charAt(0) < 128) {
          int ch = t.charAt(0);
          if (tag.get(ch) == null) {
            tag.set(ch, new ArrayList<>());
          }
          tag.get(ch).add(e);
        } else {
          rest.add(e);
        }
      }
    }
    this.empty = count == 0;
    this.byHost = freeze(host);
    this.byPath = freeze(path);
    this.byFirstSegment = freeze(first);
    for (int ch = 0; ch < 128; ch++) {
      if (tag.get(ch) != null) {
        byTagStart[ch] = tag.get(ch).toArray(NONE);
      }
    }
    this.other = rest.toArray(NONE);
  }

  static boolean isLiteral(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?') {
        return false;
      }
    }
    return true;
  }

  private static Map<String, Entry[]> freeze(Map<String, List<Entry>> m) {
    Map<String, Entry[]> out = new HashMap<>();
    m.forEach((k, v) -> out.put(k, v.toArray(NONE)));
    return out.isEmpty() ? Map.of() : out;
  }

  /** Whether any rule has blocked images. */
  boolean isEmpty() {
    return empty;
  }

  /** Whether {@link ImageFacts#firstSegment} or {@link ImageFacts#officialPath} are looked up. */
  boolean usesSegments() {
    return !byPath.isEmpty() || !byFirstSegment.isEmpty();
  }

  /**
   * For each rule that applies, whether one of its blocked images matches the image; null when no
   * rule has any.
   */
  boolean[] blocked(ImageFacts f, boolean[] applies) {
    if (empty) {
      return null;
    }
    boolean[] out = new boolean[rules];
    String tag = f.effectiveTag();
    if (!byHost.isEmpty()) {
      mark(byHost.get(f.hostKey()), f, applies, out);
    }
    if (!byPath.isEmpty()) {
      mark(byPath.get(f.ref().path()), f, applies, out);
      if (f.officialPath() != null) {
        mark(byPath.get(f.officialPath()), f, applies, out);
      }
    }
    if (!byFirstSegment.isEmpty()) {
      mark(byFirstSegment.get(f.firstSegment()), f, applies, out);
    }
    if (tag != null && !tag.isEmpty() && tag.charAt(0) < 128) {
      mark(byTagStart[tag.charAt(0)], f, applies, out);
    }
    mark(other, f, applies, out);
    return out;
  }

  private static void mark(Entry[] entries, ImageFacts f, boolean[] applies, boolean[] out) {
    if (entries == null) {
      return;
    }
    String domain = f.ref().domain();
    String path = f.ref().path();
    for (Entry e : entries) {
      int r = e.rule();
      if (applies[r]
          && !out[r]
          && e.pattern().matches(domain, f.host(), f.port(), path, f.effectiveTag())) {
        out[r] = true;
      }
    }
  }
}
