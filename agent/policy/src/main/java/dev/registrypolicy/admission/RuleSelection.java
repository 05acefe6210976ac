package dev.registrypolicy.admission;

import dev.registrypolicy.policy.LabelSelector;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.NamespaceSelector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which rules apply to a namespace, found without trying every rule: rules for every namespace
 * apply at once, rules that only name namespaces are looked up by the namespace's name, rules whose
 * label selector has a {@code matchLabels} entry are tried only when the namespace has that label
 * with that value (the selector's first entry, by key), and only the rest are tried one by one. A
 * candidate is always confirmed with {@link CompiledRule#appliesTo}, which is {@link
 * NamespaceSelector#matches}.
 */
final class RuleSelection {
  private static final int[] NONE = new int[0];

  private final CompiledRule[] rules;
  private final int[] always;
  private final Map<String, int[]> byName;
  private final String[] labelKeys;
  private final List<Map<String, int[]>> byLabelValue;
  private final int[] others;

  RuleSelection(CompiledRule[] rules) {
    this.rules = rules;
    List<Integer> alwaysList = new ArrayList<>();
    Map<String, List<Integer>> names = new HashMap<>();
    Map<String, Map<String, List<Integer>>> labels = new LinkedHashMap<>();
    List<Integer> rest = new ArrayList<>();
    for (int i = 0; i < rules.length; i++) {
      NamespaceSelector s = rules[i].rule.namespaces();
      LabelSelector ls = s.selector();
      if (s.selectsAll() && s.exclude().isEmpty()) {
        alwaysList.add(i);
      } else if (ls == null && !s.names().isEmpty()) {
        for (String n : s.names()) {
          names.computeIfAbsent(n, k -> new ArrayList<>()).add(i);
        }
      } else if (ls != null && s.names().isEmpty() && !ls.matchLabels().isEmpty()) {
        Map.Entry<String, String> first = ls.matchLabels().entrySet().iterator().next();
        labels
            .computeIfAbsent(first.getKey(), k -> new HashMap<>())
            .computeIfAbsent(first.getValue(), k -> new ArrayList<>())
            .add(i);
      } else {
        rest.add(i);
      }
    }
    this.always = ints(alwaysList);
    Map<String, int[]> n = new HashMap<>();
    names.forEach((k, v) -> n.put(k, ints(v)));
    this.byName = Map.copyOf(n);
    this.labelKeys = labels.keySet().toArray(new String[0]);
    List<Map<String, int[]>> values = new ArrayList<>();
    for (Map<String, List<Integer>> m : labels.values()) {
      Map<String, int[]> f = new HashMap<>();
      m.forEach((k, v) -> f.put(k, ints(v)));
      values.add(Map.copyOf(f));
    }
    this.byLabelValue = List.copyOf(values);
    this.others = ints(rest);
  }

  private static int[] ints(List<Integer> l) {
    if (l.isEmpty()) {
      return NONE;
    }
    int[] out = new int[l.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = l.get(i);
    }
    return out;
  }

  /** For each rule, in policy order, whether it applies to the namespace. */
  boolean[] applying(NamespaceInfo ns) {
    boolean[] out = new boolean[rules.length];
    for (int i : always) {
      out[i] = true;
    }
    confirm(byName.get(ns.name()), ns, out);
    Map<String, String> labels = ns.labels();
    for (int k = 0; k < labelKeys.length; k++) {
      String v = labels.get(labelKeys[k]);
      if (v != null) {
        confirm(byLabelValue.get(k).get(v), ns, out);
      }
    }
    confirm(others, ns, out);
    return out;
  }

  private void confirm(int[] candidates, NamespaceInfo ns, boolean[] out) {
    if (candidates == null) {
      return;
    }
    for (int i : candidates) {
      if (rules[i].appliesTo(ns)) {
        out[i] = true;
      }
    }
  }
}
