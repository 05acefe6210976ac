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
 * @param contentWebhook keep the ValidatingWebhookConfiguration for the image-content rules alone
 *     (the policy has some, ValidatingAdmissionPolicies enforce the rest and cannot read image
 *     content); never together with {@code validatingWebhook}, which covers them
 */
public record EnforcementChoice(
    boolean policies,
    boolean validatingWebhook,
    boolean mutatingWebhook,
    List<String> problems,
    boolean contentWebhook) {
  public EnforcementChoice {
    problems = List.copyOf(problems);
    if (validatingWebhook && contentWebhook) {
      throw new IllegalArgumentException("the full validating webhook covers the content rules");
    }
  }

  /** A choice without a webhook for the image-content rules alone. */
  public EnforcementChoice(
      boolean policies, boolean validatingWebhook, boolean mutatingWebhook, List<String> problems) {
    this(policies, validatingWebhook, mutatingWebhook, problems, false);
  }

  /** The objects to keep: those of {@code desired} this choice uses. */
  public AdmissionObjects select(AdmissionObjects desired) {
    return new AdmissionObjects(
        policies ? desired.policies() : List.of(),
        policies ? desired.bindings() : List.of(),
        validatingWebhook
            ? desired.validatingWebhooks()
            : contentWebhook ? desired.contentWebhooks() : List.of(),
        mutatingWebhook ? desired.mutatingWebhooks() : List.of(),
        desired.problems(),
        desired.policiesTooBig());
  }

  /**
   * For the status: {@code policy}, {@code webhook}, {@code policy+webhook}, {@code
   * policy+content-webhook} (the webhook for the image-content rules only), {@code content-webhook}
   * or {@code none}.
   */
  public String summary() {
    if (policies && validatingWebhook) {
      return "policy+webhook";
    }
    if (contentWebhook) {
      return policies ? "policy+content-webhook" : "content-webhook";
    }
    return policies ? "policy" : validatingWebhook ? "webhook" : "none";
  }
}
