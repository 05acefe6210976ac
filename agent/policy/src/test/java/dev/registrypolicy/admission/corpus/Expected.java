package dev.registrypolicy.admission.corpus;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.ContainerVerdict;
import dev.registrypolicy.admission.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The expected verdict of a case.
 *
 * @param action the request's action (most severe container action)
 * @param containers every container's verdict in spec order, or null when the case checks only the
 *     overall action
 * @param messages exact {@link Verdict#message(Action)} texts for the actions listed (an action
 *     mapped to the empty string expects no message); actions not listed are not checked
 */
public record Expected(
    Action action, List<ExpectedContainer> containers, Map<Action, String> messages) {
  public Expected {
    Objects.requireNonNull(action, "action");
    containers = containers == null ? null : List.copyOf(containers);
    messages = Map.copyOf(messages);
  }

  /**
   * Every way {@code verdict} differs from this expectation, one line each; empty when it agrees.
   */
  public List<String> mismatches(Verdict verdict) {
    List<String> out = new ArrayList<>();
    if (verdict.action() != action) {
      out.add("action: expected " + action.wireName() + ", got " + verdict.action().wireName());
    }
    if (containers != null) {
      List<ContainerVerdict> got = verdict.containers();
      if (got.size() != containers.size()) {
        out.add("containers: expected " + containers.size() + ", got " + got.size());
      }
      for (int i = 0; i < Math.min(got.size(), containers.size()); i++) {
        ExpectedContainer e = containers.get(i);
        ContainerVerdict g = got.get(i);
        String at = "container[" + i + "] " + e.name() + ": ";
        if (!e.name().equals(g.container().name())) {
          out.add(at + "name: got " + g.container().name());
        }
        if (e.action() != g.action()) {
          out.add(
              at + "action: expected " + e.action().wireName() + ", got " + g.action().wireName());
        }
        if (!Objects.equals(e.rule(), g.rule())) {
          out.add(at + "rule: expected " + e.rule() + ", got " + g.rule());
        }
        if (e.image() != null && !e.image().equals(g.image())) {
          out.add(at + "image: expected " + e.image() + ", got " + g.image());
        }
        if (e.message() != null && !e.message().equals(g.message())) {
          out.add(at + "message: expected <" + e.message() + ">, got <" + g.message() + ">");
        }
      }
    }
    for (Map.Entry<Action, String> m : messages.entrySet()) {
      String want = m.getValue().isEmpty() ? null : m.getValue();
      String got = verdict.message(m.getKey());
      if (!Objects.equals(want, got)) {
        out.add(
            "message(" + m.getKey().wireName() + "): expected <" + want + ">, got <" + got + ">");
      }
    }
    return out;
  }
}
