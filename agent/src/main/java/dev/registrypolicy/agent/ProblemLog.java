package dev.registrypolicy.agent;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The agent's current problems: logs each one once when it appears (with the action the agent took)
 * and once when it goes, and keeps {@code registry_policy_agent_problem{kind,subject}} at 1 while a
 * problem with those labels is present. Used by the pass thread only.
 */
final class ProblemLog {
  /**
   * Longest subject used as a metric label; longer ones are cut (the detail keeps the full text).
   */
  static final int MAX_LABEL = 120;

  private final Metrics.Gauge gauge;
  private List<AgentProblem> current = List.of();

  ProblemLog(Metrics.Gauge gauge) {
    this.gauge = gauge;
  }

  /**
   * Replaces the current problems with {@code found} (problem to the action taken, in order).
   *
   * @return the new current problems, immutable
   */
  List<AgentProblem> update(Map<AgentProblem, String> found) {
    Set<AgentProblem> before = new HashSet<>(current);
    for (Map.Entry<AgentProblem, String> e : found.entrySet()) {
      AgentProblem p = e.getKey();
      if (!before.contains(p)) {
        Log.warn(
            "problem",
            "kind",
            p.kind(),
            "subject",
            p.subject(),
            "detail",
            p.detail(),
            "action",
            e.getValue());
      }
    }
    Set<List<String>> labelsBefore = labels(current);
    for (AgentProblem p : current) {
      if (!found.containsKey(p)) {
        Log.info(
            "problem resolved", "kind", p.kind(), "subject", p.subject(), "detail", p.detail());
      }
    }
    List<AgentProblem> now = List.copyOf(found.keySet());
    Set<List<String>> labelsNow = labels(now);
    for (List<String> l : labelsNow) {
      if (!labelsBefore.contains(l)) {
        gauge.labels(l.get(0), l.get(1)).set(1);
      }
    }
    for (List<String> l : labelsBefore) {
      if (!labelsNow.contains(l)) {
        gauge.remove(l.get(0), l.get(1));
      }
    }
    current = now;
    return now;
  }

  List<AgentProblem> current() {
    return current;
  }

  private static Set<List<String>> labels(List<AgentProblem> problems) {
    Set<List<String>> out = new HashSet<>();
    for (AgentProblem p : problems) {
      String s = p.subject();
      out.add(List.of(p.kind(), s.length() > MAX_LABEL ? s.substring(0, MAX_LABEL) : s));
    }
    return out;
  }

  /** An ordered map that keeps the first action given for a problem found twice in one pass. */
  static final class Found {
    private final Map<AgentProblem, String> found = new LinkedHashMap<>();

    void add(String kind, String subject, String detail, String action) {
      found.putIfAbsent(new AgentProblem(kind, subject, detail), action);
    }

    boolean has(String kind) {
      return found.keySet().stream().anyMatch(p -> p.kind().equals(kind));
    }

    Map<AgentProblem, String> asMap() {
      return found;
    }

    List<AgentProblem> problems() {
      return new ArrayList<>(found.keySet());
    }
  }
}
