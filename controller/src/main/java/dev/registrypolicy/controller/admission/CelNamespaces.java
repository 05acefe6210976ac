package dev.registrypolicy.controller.admission;

import dev.registrypolicy.policy.LabelSelector;
import dev.registrypolicy.policy.NamespaceSelector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A policy {@link NamespaceSelector} as a CEL boolean over the request's namespace, with the same
 * meaning as {@link NamespaceSelector#matches}: not excluded, and (selects all, or named, or its
 * label selector matches). Label keys and values are looked up with {@code in} and {@code []} on
 * the labels map (keys like {@code kubernetes.io/metadata.name} cannot be field selections).
 */
final class CelNamespaces {
  private CelNamespaces() {}

  /** The variable holding the namespace name. */
  static final String NAME = "variables.nsName";

  /** The variable holding the namespace labels (an empty map when it has none). */
  static final String LABELS = "variables.nsLabels";

  static final String NAME_EXPRESSION = "namespaceObject.metadata.name";
  static final String LABELS_EXPRESSION = "namespaceObject.metadata.?labels.orValue({})";

  /** The selector as CEL. */
  static String matches(NamespaceSelector sel) {
    List<String> and = new ArrayList<>();
    if (!sel.exclude().isEmpty()) {
      and.add("!(" + NAME + " in " + CelLiterals.stringList(new TreeSet<>(sel.exclude())) + ")");
    }
    if (!sel.selectsAll()) {
      List<String> or = new ArrayList<>();
      if (!sel.names().isEmpty()) {
        or.add(NAME + " in " + CelLiterals.stringList(new TreeSet<>(sel.names())));
      }
      if (sel.selector() != null) {
        or.add(labels(sel.selector()));
      }
      and.add(or.size() == 1 ? or.get(0) : "(" + String.join(" || ", or) + ")");
    }
    return and.isEmpty() ? "true" : String.join(" && ", and);
  }

  /** A label selector as CEL: matchLabels and matchExpressions, all ANDed. */
  static String labels(LabelSelector s) {
    List<String> and = new ArrayList<>();
    for (Map.Entry<String, String> e : s.matchLabels().entrySet()) {
      String k = CelLiterals.string(e.getKey());
      and.add(
          "("
              + k
              + " in "
              + LABELS
              + " && "
              + LABELS
              + "["
              + k
              + "] == "
              + CelLiterals.string(e.getValue())
              + ")");
    }
    for (LabelSelector.Requirement r : s.matchExpressions()) {
      String k = CelLiterals.string(r.key());
      String has = k + " in " + LABELS;
      String in = LABELS + "[" + k + "] in " + CelLiterals.stringList(new TreeSet<>(r.values()));
      and.add(
          switch (r.operator()) {
            case IN -> "(" + has + " && " + in + ")";
            case NOT_IN -> "(!(" + has + ") || !(" + in + "))";
            case EXISTS -> "(" + has + ")";
            case DOES_NOT_EXIST -> "!(" + has + ")";
          });
    }
    return and.isEmpty() ? "true" : "(" + String.join(" && ", and) + ")";
  }
}
