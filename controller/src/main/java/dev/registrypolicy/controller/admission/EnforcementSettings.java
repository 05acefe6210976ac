package dev.registrypolicy.controller.admission;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How the controller enforces admission: the {@link Enforcement} setting, and whether this
 * controller serves the admission webhook (validating and mutating paths) at all.
 *
 * @param mode the {@code --admission-enforcement} setting
 * @param webhookServed the controller runs the webhook server behind the Service the webhook
 *     configurations name; without it no webhook configuration is kept (a configuration pointing at
 *     nothing would fail every matching request under failurePolicy Fail)
 */
public record EnforcementSettings(Enforcement mode, boolean webhookServed) {
  public EnforcementSettings {
    Objects.requireNonNull(mode, "mode");
  }

  /** auto, without a webhook server (what runs until the webhook server is wired in). */
  public static EnforcementSettings defaults() {
    return new EnforcementSettings(Enforcement.AUTO, false);
  }

  /**
   * Which objects to keep.
   *
   * @param policiesServed discovery shows admissionregistration.k8s.io/v1
   *     validatingadmissionpolicies (and their bindings)
   * @param policiesUnusable the policy's ValidatingAdmissionPolicy objects were reported too big,
   *     or the API server rejected them
   * @param hasGrants the policy has access grants (the mutating path adds their pull Secrets)
   */
  public EnforcementChoice choose(
      boolean policiesServed, boolean policiesUnusable, boolean hasGrants) {
    return choose(policiesServed, policiesUnusable, hasGrants, false);
  }

  /**
   * {@link #choose(boolean, boolean, boolean)} for a policy that may have image-content rules
   * ({@code rules[].imageMetadata}): only the webhook evaluates those (a ValidatingAdmissionPolicy
   * cannot read an image), so whenever the full validating webhook is not chosen and this
   * controller serves the webhook, the webhook is registered for them alone ({@link
   * EnforcementChoice#contentWebhook()}), whatever {@link Enforcement} says; without a webhook
   * server they are not enforced, and the status says so.
   */
  public EnforcementChoice choose(
      boolean policiesServed,
      boolean policiesUnusable,
      boolean hasGrants,
      boolean hasContentRules) {
    List<String> problems = new ArrayList<>();
    boolean policies;
    boolean webhook;
    switch (mode) {
      case POLICY -> {
        policies = true;
        webhook = false;
      }
      case WEBHOOK -> {
        policies = false;
        webhook = true;
      }
      case BOTH -> {
        policies = true;
        webhook = true;
      }
      default -> {
        // AUTO
        if (policiesServed && !policiesUnusable) {
          policies = true;
          webhook = false;
        } else if (webhookServed) {
          policies = false;
          webhook = true;
        } else {
          // Nothing better is available: keep the policy objects if the API serves them at all.
          policies = policiesServed;
          webhook = false;
        }
      }
    }
    if (policies && !policiesServed) {
      problems.add(
          "admission enforcement "
              + mode.flagValue()
              + ": this API server does not serve admissionregistration.k8s.io/v1"
              + " validatingadmissionpolicies (Kubernetes < 1.30), so no ValidatingAdmissionPolicy"
              + " is kept"
              + (webhook && webhookServed ? "" : "; the admission section is not enforced"));
      policies = false;
    }
    if (policies && policiesUnusable) {
      problems.add(
          "admission enforcement "
              + mode.flagValue()
              + ": the ValidatingAdmissionPolicy objects for this policy are too big or were"
              + " rejected by the API server"
              + (mode == Enforcement.AUTO
                  ? " and no webhook is served to fall back to"
                  : "; --admission-enforcement auto or webhook would use the validating webhook"));
    }
    if (webhook && !webhookServed) {
      problems.add(
          "admission enforcement "
              + mode.flagValue()
              + ": the admission webhook is not served by this controller, so no"
              + " ValidatingWebhookConfiguration is kept"
              + (policies ? "" : "; the admission section is not enforced"));
      webhook = false;
    }
    if (mode == Enforcement.AUTO && policiesUnusable && webhook) {
      problems.add(
          "admission enforcement auto: the ValidatingAdmissionPolicy objects for this policy are"
              + " too big or were rejected by the API server; the validating webhook enforces it");
    }
    if (mode == Enforcement.AUTO && !policies && !webhook) {
      problems.add(
          "admission enforcement auto: this API server does not serve"
              + " admissionregistration.k8s.io/v1 validatingadmissionpolicies (Kubernetes < 1.30)"
              + " and the admission webhook is not served; the admission section is not enforced");
    }
    boolean mutating = webhookServed && hasGrants;
    boolean content = hasContentRules && !webhook && webhookServed;
    if (hasContentRules && !webhook && !webhookServed) {
      problems.add(
          "image-content rules (rules with imageMetadata) are not enforced: only the admission"
              + " webhook evaluates them and this controller does not serve it (--webhook)");
    }
    return new EnforcementChoice(policies, webhook, mutating, problems, content);
  }
}
