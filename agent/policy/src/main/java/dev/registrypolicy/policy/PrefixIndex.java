package dev.registrypolicy.policy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * An immutable index from {@link RepositoryPrefix}es to values, answering "which prefixes cover
 * this image" in time proportional to the number of path segments of the image, whatever the number
 * of prefixes.
 *
 * <p>Layout: a hash map from domain to a trie of path segments. Each trie node holds the values of
 * the prefixes that end there and its children in an open-addressing table keyed by segment. A
 * lookup hashes each segment of the image path in place (with {@link String#hashCode()}'s formula)
 * and compares it with {@link String#regionMatches}, so {@link #anyMatch} allocates nothing.
 *
 * @param <T> the value attached to each prefix, e.g. the rule it came from
 */
public final class PrefixIndex<T> {
  private static final Object[] NO_VALUES = new Object[0];

  private final Map<String, Node> domains;
  private final int size;

  private PrefixIndex(Map<String, Node> domains, int size) {
    this.domains = domains;
    this.size = size;
  }

  public static <T> Builder<T> builder() {
    return new Builder<>();
  }

  /** Number of (prefix, value) pairs added. */
  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /**
   * Every value whose prefix matches the reference, least specific first: the domain-wide values,
   * then those of each longer matching path prefix; values of the same prefix in the order they
   * were added.
   */
  @SuppressWarnings("unchecked")
  public List<T> matches(ImageRef ref) {
    List<T> out = new ArrayList<>();
    anyMatch(
        ref,
        v -> {
          out.add(v);
          return false; // keep walking: collect every match
        });
    return out.isEmpty() ? List.of() : Collections.unmodifiableList(out);
  }

  /**
   * Whether any value whose prefix matches the reference is accepted, testing the least specific
   * first and stopping at the first accepted one. Allocates nothing.
   */
  @SuppressWarnings("unchecked")
  public boolean anyMatch(ImageRef ref, Predicate<? super T> accept) {
    Node node = domains.get(ref.domain());
    if (node == null) {
      return false;
    }
    String p = ref.path();
    int len = p.length();
    int start = 0;
    while (true) {
      for (Object v : node.values) {
        if (accept.test((T) v)) {
          return true;
        }
      }
      if (start > len) {
        return false;
      }
      int h = 0;
      int i = start;
      for (; i < len; i++) {
        char c = p.charAt(i);
        if (c == '/') {
          break;
        }
        h = 31 * h + c;
      }
      node = node.child(p, start, i, h);
      if (node == null) {
        return false;
      }
      start = i + 1;
    }
  }

  /** Whether any prefix matches the reference. */
  public boolean anyMatch(ImageRef ref) {
    return anyMatch(ref, v -> true);
  }

  /** A frozen trie node. */
  private static final class Node {
    final Object[] values;

    /** Open-addressing table of children; null for a leaf. Capacity is a power of two. */
    final String[] keys;

    final int[] hashes;
    final Node[] children;

    Node(Object[] values, Map<String, Node> kids) {
      this.values = values;
      if (kids.isEmpty()) {
        keys = null;
        hashes = null;
        children = null;
        return;
      }
      int cap = Integer.highestOneBit(Math.max(2, kids.size() * 2 - 1)) << 1;
      keys = new String[cap];
      hashes = new int[cap];
      children = new Node[cap];
      int mask = cap - 1;
      for (Map.Entry<String, Node> e : kids.entrySet()) {
        int h = e.getKey().hashCode();
        int i = spread(h) & mask;
        while (keys[i] != null) {
          i = (i + 1) & mask;
        }
        keys[i] = e.getKey();
        hashes[i] = h;
        children[i] = e.getValue();
      }
    }

    /** The child for segment s[from, to), whose String hash is h, or null. */
    Node child(String s, int from, int to, int h) {
      String[] ks = keys;
      if (ks == null) {
        return null;
      }
      int mask = ks.length - 1;
      int len = to - from;
      for (int i = spread(h) & mask; ; i = (i + 1) & mask) {
        String k = ks[i];
        if (k == null) {
          return null;
        }
        if (hashes[i] == h && k.length() == len && s.regionMatches(from, k, 0, len)) {
          return children[i];
        }
      }
    }

    private static int spread(int h) {
      return h ^ (h >>> 16);
    }
  }

  /** Collects (prefix, value) pairs; {@link #build()} may be called more than once. */
  public static final class Builder<T> {
    private final Map<String, BuildNode> domains = new LinkedHashMap<>();
    private int size;

    private Builder() {}

    public Builder<T> add(RepositoryPrefix prefix, T value) {
      Objects.requireNonNull(prefix, "prefix");
      Objects.requireNonNull(value, "value");
      BuildNode node = domains.computeIfAbsent(prefix.domain(), d -> new BuildNode());
      String p = prefix.path();
      int start = 0;
      while (start < p.length()) {
        int end = p.indexOf('/', start);
        if (end < 0) {
          end = p.length();
        }
        node = node.children.computeIfAbsent(p.substring(start, end), k -> new BuildNode());
        start = end + 1;
      }
      node.values.add(value);
      size++;
      return this;
    }

    public PrefixIndex<T> build() {
      Map<String, Node> frozen = new HashMap<>(Math.max(4, domains.size() * 2));
      for (Map.Entry<String, BuildNode> e : domains.entrySet()) {
        frozen.put(e.getKey(), e.getValue().freeze());
      }
      return new PrefixIndex<>(frozen, size);
    }
  }

  private static final class BuildNode {
    final List<Object> values = new ArrayList<>(1);
    final Map<String, BuildNode> children = new HashMap<>();

    /** Recursive, one level per path segment: at most 128 (a prefix has at most 255 characters). */
    Node freeze() {
      Map<String, Node> kids = new HashMap<>(Math.max(4, children.size() * 2));
      for (Map.Entry<String, BuildNode> e : children.entrySet()) {
        kids.put(e.getKey(), e.getValue().freeze());
      }
      return new Node(values.isEmpty() ? NO_VALUES : values.toArray(), kids);
    }
  }
}
