package dev.registrypolicy.controller.admission;

import java.util.List;

/**
 * What {@link EnforcementSettings#choose} decided for one policy on this cluster.
 *
 * @param policies keep the ValidatingAdmissionPolicies and their bindings
 * @param validatingWebhook keep the ValidatingWebhookConfiguration
 * @param mutatingWebhook keep the MutatingWebhookConfiguration (pull Secrets for granted
 *     namespaces)
 * @param problems why something asked for is not kept (shown in the status)
 */
public record EnforcementChoice(
    boolean policies, boolean validatingWebhook, boolean mutatingWebhook, List<String> problems) {
  public EnforcementChoice {
    problems = List.copyOf(problems);
  }

  /** The objects to keep: those of {@code desired} this choice uses. */
  public AdmissionObjects select(AdmissionObjects desired) {
    return new AdmissionObjects(
        policies ? desired.policies() : List.of(),
        policies ? desired.bindings() : List.of(),
        validatingWebhook ? desired.validatingWebhooks() : List.of(),
        mutatingWebhook ? desired.mutatingWebhooks() : List.of(),
        desired.problems(),
        desired.policiesTooBig());
  }

  /** For the status: {@code policy}, {@code webhook}, {@code policy+webhook} or {@code none}. */
  public String summary() {
    if (policies && validatingWebhook) {
      return "policy+webhook";
    }
    return policies ? "policy" : validatingWebhook ? "webhook" : "none";
  }
}
