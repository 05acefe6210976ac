package dev.registrypolicy.admission;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Pod or a workload's pod template, reduced to what admission checks.
 *
 * @param kind what it is
 * @param namespace its namespace
 * @param name its name ({@code metadata.name}, or {@code generateName} when it has no name yet)
 * @param containers its containers: containers, then initContainers, then ephemeralContainers
 */
@SuppressWarnings("DoNotCallSuggester") // skeleton: the model helper fills this in
public record Workload(
    WorkloadKind kind, String namespace, String name, List<Container> containers) {
  public Workload {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    containers = List.copyOf(containers);
  }

  /**
   * Reads a decoded object (JSON or YAML as maps, lists, strings, numbers and booleans) of one of
   * the {@link WorkloadKind}s. {@code defaultNamespace} is used when {@code metadata.namespace} is
   * absent (an AdmissionReview carries it in the request).
   *
   * @return null when the object's kind is not one admission checks
   * @throws InvalidWorkloadException when the object is of a checked kind but its pod spec is not
   *     shaped like one (a container list that is not a list, a container without a string image),
   *     naming the field path
   */
  public static Workload fromObject(Map<String, ?> object, String defaultNamespace)
      throws InvalidWorkloadException {
    throw new UnsupportedOperationException("not yet");
  }
}
