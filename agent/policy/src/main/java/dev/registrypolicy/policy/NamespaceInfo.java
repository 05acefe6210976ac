package dev.registrypolicy.policy;

import java.util.Map;
import java.util.Objects;

/** What selection rules need to know about a namespace: its name, labels and annotations. */
public record NamespaceInfo(
    String name, Map<String, String> labels, Map<String, String> annotations) {
  public NamespaceInfo {
    Objects.requireNonNull(name, "name");
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
  }

  public static NamespaceInfo named(String name) {
    return new NamespaceInfo(name, Map.of(), Map.of());
  }
}
