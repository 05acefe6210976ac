package dev.registrypolicy.controller.admission;

import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import java.util.List;

/**
 * The cluster-scoped admission objects a policy asks for, as its producers build them (the
 * ValidatingAdmissionPolicies with their bindings, and the webhook configurations). {@link
 * AdmissionReconciler} keeps the cluster equal to them, after {@link EnforcementSettings} chose
 * which of them this cluster uses. The reconciler adds the managed-by label itself and never
 * changes these objects (it writes copies).
 *
 * @param policies ValidatingAdmissionPolicies, each named (metadata.name)
 * @param bindings their bindings; a binding is written only after its policy (spec.policyName)
 * @param validatingWebhooks the validating webhook configuration(s), caBundle included
 * @param mutatingWebhooks the mutating webhook configuration(s) that add pull Secrets
 * @param problems what the producers could not express (shown in the status ConfigMap)
 * @param policiesTooBig the producer found the ValidatingAdmissionPolicy objects too big for the
 *     API server; {@link Enforcement#AUTO} then uses the validating webhook instead
 * @param contentWebhooks the validating webhook configuration for the image-content rules alone,
 *     kept instead of {@code validatingWebhooks} when ValidatingAdmissionPolicies enforce the rest
 *     (same name: at most one of the two is kept)
 */
public record AdmissionObjects(
    List<V1ValidatingAdmissionPolicy> policies,
    List<V1ValidatingAdmissionPolicyBinding> bindings,
    List<V1ValidatingWebhookConfiguration> validatingWebhooks,
    List<V1MutatingWebhookConfiguration> mutatingWebhooks,
    List<String> problems,
    boolean policiesTooBig,
    List<V1ValidatingWebhookConfiguration> contentWebhooks) {

  private static final AdmissionObjects EMPTY =
      new AdmissionObjects(List.of(), List.of(), List.of(), List.of(), List.of());

  public AdmissionObjects {
    policies = List.copyOf(policies);
    bindings = List.copyOf(bindings);
    validatingWebhooks = List.copyOf(validatingWebhooks);
    mutatingWebhooks = List.copyOf(mutatingWebhooks);
    problems = List.copyOf(problems);
    contentWebhooks = List.copyOf(contentWebhooks);
  }

  /** The objects without a configuration for the image-content rules alone. */
  public AdmissionObjects(
      List<V1ValidatingAdmissionPolicy> policies,
      List<V1ValidatingAdmissionPolicyBinding> bindings,
      List<V1ValidatingWebhookConfiguration> validatingWebhooks,
      List<V1MutatingWebhookConfiguration> mutatingWebhooks,
      List<String> problems,
      boolean policiesTooBig) {
    this(
        policies,
        bindings,
        validatingWebhooks,
        mutatingWebhooks,
        problems,
        policiesTooBig,
        List.of());
  }

  /** The objects as the producers give them, not reported too big. */
  public AdmissionObjects(
      List<V1ValidatingAdmissionPolicy> policies,
      List<V1ValidatingAdmissionPolicyBinding> bindings,
      List<V1ValidatingWebhookConfiguration> validatingWebhooks,
      List<V1MutatingWebhookConfiguration> mutatingWebhooks,
      List<String> problems) {
    this(policies, bindings, validatingWebhooks, mutatingWebhooks, problems, false);
  }

  /** Nothing: what a removed policy, or a policy without an admission section, asks for. */
  public static AdmissionObjects empty() {
    return EMPTY;
  }

  /** The same objects, with the ValidatingAdmissionPolicies reported too big. */
  public AdmissionObjects withPoliciesTooBig() {
    return new AdmissionObjects(
        policies, bindings, validatingWebhooks, mutatingWebhooks, problems, true, contentWebhooks);
  }
}
