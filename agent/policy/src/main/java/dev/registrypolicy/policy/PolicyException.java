package dev.registrypolicy.policy;

import java.util.List;

/** A policy that cannot be used, with every problem found in it (not just the first). */
public final class PolicyException extends Exception {
  private static final long serialVersionUID = 1L;
  private final transient List<Problem> problems;

  public PolicyException(List<Problem> problems) {
    super(summary(problems));
    this.problems = List.copyOf(problems);
  }

  public List<Problem> problems() {
    return problems;
  }

  private static String summary(List<Problem> problems) {
    StringBuilder sb = new StringBuilder();
    sb.append(problems.size())
        .append(problems.size() == 1 ? " problem" : " problems")
        .append(" in policy");
    for (Problem p : problems) {
      sb.append("\n  ").append(p);
    }
    return sb.toString();
  }
}
