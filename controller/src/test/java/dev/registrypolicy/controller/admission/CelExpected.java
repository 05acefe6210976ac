package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.Finding;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.InvalidImageRefException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** What the generated policies must show, derived from the Java verdict. */
final class CelExpected {
  private CelExpected() {}

  /**
   * {@link Verdict#message(Action)} as the policy bound with {@code action} shows it, or null when
   * it passes: an invalid reference's finding in the CEL wording (no echoed image or parser reason,
   * see {@link ValidatingPolicies}), and the static message when the text is over the API server's
   * 5 KiB messageExpression limit.
   */
  static String message(Verdict v, Action action) {
    List<Finding> first = v.firstFindings(action);
    if (first.isEmpty()) {
      return null;
    }
    List<String> parts = new ArrayList<>();
    for (Finding f : first) {
      parts.add(
          f.rule().equals(AdmissionCheck.RULE_IMAGE_REFERENCE)
              ? f.container().kind().noun()
                  + " \""
                  + f.container().name()
                  + "\": image "
                  + ValidatingPolicies.INVALID_WHAT
                  + " (rule "
                  + AdmissionCheck.RULE_IMAGE_REFERENCE
                  + ")"
              : f.message());
    }
    String m = String.join("; ", parts);
    return m.getBytes(StandardCharsets.UTF_8).length > CelHarness.MESSAGE_MAX_BYTES
        ? ValidatingPolicies.STATIC_MESSAGE
        : m;
  }

  /** The reference as admission reads it: null when invalid or its domain is written uppercase. */
  static ImageRef parse(String image) {
    try {
      return AdmissionCheck.referenceProblem(image) != null ? null : ImageRef.parse(image);
    } catch (InvalidImageRefException e) {
      return null;
    }
  }
}
