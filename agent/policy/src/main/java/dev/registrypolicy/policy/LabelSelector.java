package dev.registrypolicy.policy;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/** A Kubernetes label selector: {@code matchLabels} and {@code matchExpressions}, all ANDed. */
public record LabelSelector(Map<String, String> matchLabels, List<Requirement> matchExpressions) {
  public static final LabelSelector EVERYTHING = new LabelSelector(Map.of(), List.of());

  public LabelSelector {
    matchLabels = new TreeMap<>(matchLabels);
    matchLabels = java.util.Collections.unmodifiableMap(matchLabels);
    matchExpressions = List.copyOf(matchExpressions);
  }

  public boolean matches(Map<String, String> labels) {
    for (Map.Entry<String, String> e : matchLabels.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    for (Requirement r : matchExpressions) {
      if (!r.matches(labels)) {
        return false;
      }
    }
    return true;
  }

  /** Operators of a {@code matchExpressions} entry. */
  public enum Operator {
    IN("In"),
    NOT_IN("NotIn"),
    EXISTS("Exists"),
    DOES_NOT_EXIST("DoesNotExist");

    private final String wireName;

    Operator(String wireName) {
      this.wireName = wireName;
    }

    public String wireName() {
      return wireName;
    }

    public static Operator fromWire(String s) {
      for (Operator o : values()) {
        if (o.wireName.equals(s)) {
          return o;
        }
      }
      return null;
    }
  }

  /** One {@code matchExpressions} entry. */
  public record Requirement(String key, Operator operator, Set<String> values) {
    public Requirement {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(operator, "operator");
      values = Set.copyOf(values);
    }

    public boolean matches(Map<String, String> labels) {
      String v = labels.get(key);
      return switch (operator) {
        case IN -> v != null && values.contains(v);
        case NOT_IN -> v == null || !values.contains(v);
        case EXISTS -> v != null;
        case DOES_NOT_EXIST -> v == null;
      };
    }
  }
}
