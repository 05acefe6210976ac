package dev.registrypolicy.policy;

import dev.registrypolicy.common.Redact;
import dev.registrypolicy.common.ValueTypes;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A cursor over one YAML mapping that records every problem with its path and, on {@link
 * #finish(String...)}, reports keys nobody asked for (typos). Values of unknown keys are never
 * echoed: they could be secrets pasted into the wrong place.
 */
final class Node {
  private final String path;
  private final Map<?, ?>
      map; // the loaded mapping itself, not a copy: only String keys are ever looked up
  private final List<Problem> problems;
  private final Set<String> seen = new LinkedHashSet<>();

  private Node(String path, Map<?, ?> map, List<Problem> problems) {
    this.path = path;
    this.map = map;
    this.problems = problems;
  }

  /** Wraps {@code value} if it is a mapping; otherwise reports a problem and returns null. */
  static Node of(String path, Object value, List<Problem> problems) {
    if (value instanceof Map) {
      Map<?, ?> m = (Map<?, ?>) value;
      for (Object k : m.keySet()) {
        if (!(k instanceof String ks)) {
          problems.add(new Problem(path, "keys must be strings, found " + typeName(k)));
        } else if (ks.length() > PolicyLimits.MAX_KEY_CHARS) {
          problems.add(
              new Problem(
                  path,
                  "a key of "
                      + ks.length()
                      + " characters (at most "
                      + PolicyLimits.MAX_KEY_CHARS
                      + ")"));
        }
      }
      return new Node(path, m, problems);
    }
    problems.add(new Problem(path, "must be a mapping, found " + typeName(value)));
    return null;
  }

  String path() {
    return path;
  }

  /**
   * The path of {@code key} below this node. A key the user wrote that is not a plain word (unknown
   * keys, label keys) is shown redacted and quoted, {@code registries[0]["***@x"]}, since a path is
   * part of every message.
   */
  String child(String key) {
    if (!plainKey(key)) {
      return path + "[" + quote(key) + "]";
    }
    return path.isEmpty() ? key : path + "." + key;
  }

  private static boolean plainKey(String key) {
    if (key.isEmpty() || key.length() > 100) {
      return false;
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (!((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_'
          || c == '.'
          || c == '/')) {
        return false;
      }
    }
    return true;
  }

  boolean has(String key) {
    seen.add(key);
    return map.get(key) != null;
  }

  Object raw(String key) {
    seen.add(key);
    return map.get(key);
  }

  void problem(String key, String message) {
    problems.add(new Problem(key == null ? path : child(key), message));
  }

  String string(String key, boolean required) {
    Object v = raw(key);
    if (v == null) {
      if (required) {
        problem(key, "required");
      }
      return null;
    }
    if (v instanceof String s) {
      if (s.length() > PolicyLimits.MAX_STRING_CHARS) {
        problem(
            key,
            "too long ("
                + s.length()
                + " characters, at most "
                + PolicyLimits.MAX_STRING_CHARS
                + ")");
        return null;
      }
      if (required && s.isEmpty()) {
        problem(key, "must not be empty");
        return null;
      }
      return s;
    }
    problem(key, "must be a string, found " + typeName(v));
    return null;
  }

  Boolean bool(String key) {
    Object v = raw(key);
    if (v == null || v instanceof Boolean) {
      return (Boolean) v;
    }
    problem(key, "must be true or false, found " + typeName(v));
    return null;
  }

  boolean bool(String key, boolean dflt) {
    Boolean b = bool(key);
    return b == null ? dflt : b;
  }

  Node node(String key) {
    Object v = raw(key);
    return v == null ? null : of(child(key), v, problems);
  }

  /**
   * The list under {@code key}, or an empty list when absent; reports non-lists and lists over
   * {@link PolicyLimits#MAX_LIST_ITEMS}.
   */
  List<Object> list(String key) {
    return list(key, PolicyLimits.MAX_LIST_ITEMS);
  }

  /**
   * The list under {@code key}, or an empty list when absent, not a list, or longer than {@code
   * max} (reported, items unread).
   */
  List<Object> list(String key, int max) {
    Object v = raw(key);
    if (v == null) {
      return List.of();
    }
    if (v instanceof List) {
      List<?> l = (List<?>) v;
      if (l.size() > max) {
        problem(key, "too many items (" + l.size() + ", at most " + max + ")");
        return List.of();
      }
      return java.util.Collections.unmodifiableList(l);
    }
    problem(key, "must be a list, found " + typeName(v));
    return List.of();
  }

  /** One good item of a list of strings, with its path, which has its index in the user's list. */
  record Item(String path, String value) {}

  /**
   * The non-empty strings of a list; each bad item is reported with its index, and the good ones
   * keep theirs (in {@link Item#path()}) so that later problems name the item the user wrote.
   */
  List<Item> strings(String key) {
    return strings(key, false);
  }

  /** {@link #strings(String)}, optionally taking empty strings as good items. */
  List<Item> strings(String key, boolean allowEmpty) {
    List<Item> out = new ArrayList<>();
    List<Object> items = list(key);
    for (int i = 0; i < items.size(); i++) {
      Object o = items.get(i);
      String itemPath = child(key) + "[" + i + "]";
      if (o instanceof String s && s.length() > PolicyLimits.MAX_STRING_CHARS) {
        problems.add(
            new Problem(
                itemPath,
                "too long ("
                    + s.length()
                    + " characters, at most "
                    + PolicyLimits.MAX_STRING_CHARS
                    + ")"));
      } else if (o instanceof String s && (allowEmpty || !s.isEmpty())) {
        out.add(new Item(itemPath, s));
      } else {
        problems.add(
            new Problem(
                itemPath,
                (allowEmpty ? "must be a string, found " : "must be a non-empty string, found ")
                    + ("".equals(o) ? "an empty string" : typeName(o))));
      }
    }
    return out;
  }

  /** Reports keys that were never read, with a hint for the ones people get wrong. */
  void finish(String... hints) {
    for (Object k : map.keySet()) {
      if (!(k instanceof String key) || key.length() > PolicyLimits.MAX_KEY_CHARS) {
        continue; // reported by of()
      }
      if (!seen.contains(key)) {
        String hint = hint(key, hints);
        problem(key, "unknown key" + hint);
      }
    }
  }

  private String hint(String key, String[] hints) {
    for (int i = 0; i + 1 < hints.length; i += 2) {
      if (hints[i].equals(key)) {
        return " (" + hints[i + 1] + ")";
      }
    }
    String best = null;
    for (String known : seen) {
      // The distance is at least the difference in length: skip the quadratic work when that
      // already rules it out.
      if (Math.abs(known.length() - key.length()) <= 2
          && editDistance(
                  known.toLowerCase(java.util.Locale.ROOT), key.toLowerCase(java.util.Locale.ROOT))
              <= 2) {
        best = known;
        break;
      }
    }
    return best == null ? "" : " (did you mean \"" + best + "\"?)";
  }

  static String typeName(Object o) {
    return ValueTypes.describe(o, ValueTypes.MAPPING);
  }

  /**
   * Quotes a user value for a message by the project's one redaction rule ({@link Redact#quote}).
   */
  static String quote(String s) {
    return Redact.quote(s);
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
