package dev.registrypolicy.controller.admission;

import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import java.util.List;

/** The four cluster-scoped kinds (admissionregistration.k8s.io/v1) the controller keeps. */
public enum AdmissionObjectsKind {
  VALIDATING_ADMISSION_POLICY(
      "ValidatingAdmissionPolicy",
      "validatingadmissionpolicies",
      "spec",
      V1ValidatingAdmissionPolicy.class),
  VALIDATING_ADMISSION_POLICY_BINDING(
      "ValidatingAdmissionPolicyBinding",
      "validatingadmissionpolicybindings",
      "spec",
      V1ValidatingAdmissionPolicyBinding.class),
  VALIDATING_WEBHOOK_CONFIGURATION(
      "ValidatingWebhookConfiguration",
      "validatingwebhookconfigurations",
      "webhooks",
      V1ValidatingWebhookConfiguration.class),
  MUTATING_WEBHOOK_CONFIGURATION(
      "MutatingWebhookConfiguration",
      "mutatingwebhookconfigurations",
      "webhooks",
      V1MutatingWebhookConfiguration.class);

  public static final String GROUP = "admissionregistration.k8s.io";
  public static final String API_VERSION = GROUP + "/v1";

  private final String kind;
  private final String plural;
  private final String body;
  private final Class<? extends KubernetesObject> type;

  AdmissionObjectsKind(
      String kind, String plural, String body, Class<? extends KubernetesObject> type) {
    this.kind = kind;
    this.plural = plural;
    this.body = body;
    this.type = type;
  }

  public String kind() {
    return kind;
  }

  public String plural() {
    return plural;
  }

  /** The top-level field that holds what the controller sets (besides metadata). */
  String body() {
    return body;
  }

  public Class<? extends KubernetesObject> type() {
    return type;
  }

  /** Exist only where the API serves ValidatingAdmissionPolicy (Kubernetes >= 1.30). */
  public boolean needsPolicyApi() {
    return this == VALIDATING_ADMISSION_POLICY || this == VALIDATING_ADMISSION_POLICY_BINDING;
  }

  /** The desired objects of this kind. */
  List<? extends KubernetesObject> of(AdmissionObjects o) {
    return switch (this) {
      case VALIDATING_ADMISSION_POLICY -> o.policies();
      case VALIDATING_ADMISSION_POLICY_BINDING -> o.bindings();
      case VALIDATING_WEBHOOK_CONFIGURATION -> o.validatingWebhooks();
      case MUTATING_WEBHOOK_CONFIGURATION -> o.mutatingWebhooks();
    };
  }
}
