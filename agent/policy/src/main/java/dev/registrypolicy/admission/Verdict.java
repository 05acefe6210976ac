package dev.registrypolicy.admission;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The verdict on one request: one {@link ContainerVerdict} per container in spec order (containers,
 * then initContainers, then ephemeralContainers), and every finding.
 *
 * @param action the most severe container action, {@link Action#ALLOW} when there is none
 * @param containers one verdict per container
 * @param findings every broken (container, rule) pair, in container order, then check order
 */
public record Verdict(Action action, List<ContainerVerdict> containers, List<Finding> findings) {
  public Verdict {
    Objects.requireNonNull(action, "action");
    containers = List.copyOf(containers);
    findings = List.copyOf(findings);
  }

  /**
   * For each container with at least one finding of this action, in container order, the first such
   * finding: what a ValidatingAdmissionPolicy whose binding uses this action reports.
   */
  @SuppressWarnings("ReferenceEquality") // two equal containers (same kind, name, image) are two
  public List<Finding> firstFindings(Action action) {
    List<Finding> out = new ArrayList<>();
    Container last = null;
    for (Finding f : findings) {
      if (f.action() == action && f.container() != last) {
        out.add(f);
        last = f.container();
      }
    }
    return out;
  }

  /**
   * The messages of {@link #firstFindings(Action)} joined with {@code "; "}, or null when there are
   * none: the text the API server shows for this action.
   */
  public String message(Action action) {
    List<Finding> first = firstFindings(action);
    if (first.isEmpty()) {
      return null;
    }
    StringBuilder sb = new StringBuilder();
    for (Finding f : first) {
      if (sb.length() > 0) {
        sb.append("; ");
      }
      sb.append(f.message());
    }
    return sb.toString();
  }
}
