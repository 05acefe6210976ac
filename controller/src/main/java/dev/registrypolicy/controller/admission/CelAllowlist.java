package dev.registrypolicy.controller.admission;

import dev.registrypolicy.policy.AllowedSource;
import dev.registrypolicy.policy.RepositoryPrefix;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToIntFunction;

/**
 * The allowed sources as CEL map literals keyed by normalized prefix ({@code host}, {@code
 * host/seg1}, {@code host/seg1/seg2}, ...), each value the list of scope indexes that allow it
 * ({@code -1} = every namespace). An image is looked up under its domain and each of its path
 * prefixes up to the deepest prefix the policy has: the cost depends on the image, never on the
 * number of prefixes (no list scan), as {@code PrefixIndex} in Java.
 *
 * <p>The API server refuses an expression longer than 100,000 code points (cel.md §2), so the
 * entries are spread over as many map variables as needed, each under {@link #MAX_LITERAL}.
 *
 * @param maps the map literals, in order
 * @param depth the most path segments of any prefix
 * @param scoped whether any prefix is limited to some namespaces
 */
record CelAllowlist(List<String> maps, int depth, boolean scoped) {
  /** Code points one map literal may take, below the 100,000 limit with room to spare. */
  static final int MAX_LITERAL = 99_000;

  /** Global scope. */
  static final int GLOBAL = -1;

  CelAllowlist {
    maps = List.copyOf(maps);
  }

  /**
   * @param scopeIndex the index of a source's scope in the {@code scopes} variable, or {@link
   *     #GLOBAL}
   */
  static CelAllowlist of(List<AllowedSource> sources, ToIntFunction<AllowedSource> scopeIndex) {
    Map<String, SortedSet<Integer>> byKey = new TreeMap<>();
    int depth = 0;
    boolean scoped = false;
    for (AllowedSource s : sources) {
      RepositoryPrefix p = s.prefix();
      int idx = scopeIndex.applyAsInt(s);
      scoped |= idx != GLOBAL;
      byKey.computeIfAbsent(p.toString(), k -> new TreeSet<>()).add(idx);
      depth = Math.max(depth, p.path().isEmpty() ? 0 : p.path().split("/", -1).length);
    }
    List<String> maps = new ArrayList<>();
    StringBuilder cur = new StringBuilder("{");
    int curPoints = 1;
    for (Map.Entry<String, SortedSet<Integer>> e : byKey.entrySet()) {
      SortedSet<Integer> v =
          e.getValue().contains(GLOBAL) ? new TreeSet<>(List.of(GLOBAL)) : e.getValue();
      StringBuilder entry = new StringBuilder();
      entry.append(CelLiterals.string(e.getKey())).append(": [");
      boolean first = true;
      for (int i : v) {
        if (!first) {
          entry.append(", ");
        }
        entry.append(i);
        first = false;
      }
      entry.append(']');
      int points = CelLiterals.codePoints(entry.toString()) + 2;
      if (curPoints > 1 && curPoints + points + 1 > MAX_LITERAL) {
        maps.add(cur.append('}').toString());
        cur = new StringBuilder("{");
        curPoints = 1;
      }
      if (curPoints > 1) {
        cur.append(", ");
      }
      cur.append(entry);
      curPoints += points;
    }
    if (curPoints > 1) {
      maps.add(cur.append('}').toString());
    }
    return new CelAllowlist(maps, depth, scoped);
  }

  /** The variable name of map {@code i}. */
  static String variable(int i) {
    return "allow" + i;
  }

  /**
   * CEL: whether the valid image record {@code c} (see {@link CelImage}) is under an allowed prefix
   * whose scope selects the namespace ({@code variables.scopes[i]}).
   */
  String allows(String c) {
    String domain = c + "[" + CelImage.DOMAIN + "]";
    String path = c + "[" + CelImage.PATH + "]";
    String n = path + ".split('/').size()";
    StringBuilder js = new StringBuilder("[");
    for (int j = 0; j <= depth; j++) {
      js.append(j == 0 ? "" : ", ").append(j);
    }
    js.append(']');
    String key =
        "j == 0 ? "
            + domain
            + " : "
            + domain
            + " + '/' + (j == "
            + n
            + " ? "
            + path
            + " : "
            + path
            + ".substring(0, "
            + path
            + ".size() - "
            + path
            + ".split('/', j + 1)[j].size() - 1))";
    List<String> lookups = new ArrayList<>();
    for (int i = 0; i < maps.size(); i++) {
      String m = "variables." + variable(i);
      lookups.add(
          scoped
              ? "(k in " + m + " && " + m + "[k].exists(s, s < 0 || variables.scopes[s]))"
              : "k in " + m);
    }
    return js
        + (depth == 0 ? "" : ".filter(j, j <= " + n + ")")
        + ".map(j, "
        + key
        + ").exists(k, "
        + String.join(" || ", lookups)
        + ")";
  }
}
