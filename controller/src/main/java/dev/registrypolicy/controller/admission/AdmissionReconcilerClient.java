package dev.registrypolicy.controller.admission;

import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AdmissionregistrationV1Api;
import io.kubernetes.client.openapi.models.V1APIResource;
import io.kubernetes.client.openapi.models.V1APIResourceList;
import io.kubernetes.client.openapi.models.V1DeleteOptions;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1Preconditions;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;

/** {@link AdmissionReconcilerApi} over client-java's typed admissionregistration/v1 calls. */
public final class AdmissionReconcilerClient implements AdmissionReconcilerApi {
  private final AdmissionregistrationV1Api api;
  private final BiConsumer<String, String> warn;

  /**
   * @param warn records a Warning Event (reason, message) about the policy ConfigMap
   */
  public AdmissionReconcilerClient(ApiClient client, BiConsumer<String, String> warn) {
    this.api = new AdmissionregistrationV1Api(client);
    this.warn = warn;
  }

  @Override
  public KubernetesObject create(AdmissionObjectsKind kind, KubernetesObject o)
      throws ApiException {
    return switch (kind) {
      case VALIDATING_ADMISSION_POLICY ->
          api.createValidatingAdmissionPolicy((V1ValidatingAdmissionPolicy) o).execute();
      case VALIDATING_ADMISSION_POLICY_BINDING ->
          api.createValidatingAdmissionPolicyBinding((V1ValidatingAdmissionPolicyBinding) o)
              .execute();
      case VALIDATING_WEBHOOK_CONFIGURATION ->
          api.createValidatingWebhookConfiguration((V1ValidatingWebhookConfiguration) o).execute();
      case MUTATING_WEBHOOK_CONFIGURATION ->
          api.createMutatingWebhookConfiguration((V1MutatingWebhookConfiguration) o).execute();
    };
  }

  @Override
  public KubernetesObject replace(AdmissionObjectsKind kind, KubernetesObject o)
      throws ApiException {
    String name = o.getMetadata().getName();
    return switch (kind) {
      case VALIDATING_ADMISSION_POLICY ->
          api.replaceValidatingAdmissionPolicy(name, (V1ValidatingAdmissionPolicy) o).execute();
      case VALIDATING_ADMISSION_POLICY_BINDING ->
          api.replaceValidatingAdmissionPolicyBinding(name, (V1ValidatingAdmissionPolicyBinding) o)
              .execute();
      case VALIDATING_WEBHOOK_CONFIGURATION ->
          api.replaceValidatingWebhookConfiguration(name, (V1ValidatingWebhookConfiguration) o)
              .execute();
      case MUTATING_WEBHOOK_CONFIGURATION ->
          api.replaceMutatingWebhookConfiguration(name, (V1MutatingWebhookConfiguration) o)
              .execute();
    };
  }

  @Override
  public void delete(AdmissionObjectsKind kind, String name, String uid) throws ApiException {
    V1DeleteOptions options = new V1DeleteOptions();
    if (uid != null) {
      // A same-named object re-created by someone else in the meantime is a different object.
      options.preconditions(new V1Preconditions().uid(uid));
    }
    switch (kind) {
      case VALIDATING_ADMISSION_POLICY ->
          api.deleteValidatingAdmissionPolicy(name).body(options).execute();
      case VALIDATING_ADMISSION_POLICY_BINDING ->
          api.deleteValidatingAdmissionPolicyBinding(name).body(options).execute();
      case VALIDATING_WEBHOOK_CONFIGURATION ->
          api.deleteValidatingWebhookConfiguration(name).body(options).execute();
      case MUTATING_WEBHOOK_CONFIGURATION ->
          api.deleteMutatingWebhookConfiguration(name).body(options).execute();
    }
  }

  @Override
  public Optional<KubernetesObject> read(AdmissionObjectsKind kind, String name)
      throws ApiException {
    try {
      return Optional.of(
          switch (kind) {
            case VALIDATING_ADMISSION_POLICY -> api.readValidatingAdmissionPolicy(name).execute();
            case VALIDATING_ADMISSION_POLICY_BINDING ->
                api.readValidatingAdmissionPolicyBinding(name).execute();
            case VALIDATING_WEBHOOK_CONFIGURATION ->
                api.readValidatingWebhookConfiguration(name).execute();
            case MUTATING_WEBHOOK_CONFIGURATION ->
                api.readMutatingWebhookConfiguration(name).execute();
          });
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /**
   * GET /apis/admissionregistration.k8s.io/v1 (discovery: every authenticated client may read it
   * through the default system:discovery ClusterRoleBinding, KEP-789, so no RBAC rule is needed). A
   * 404 means the group version is not served at all.
   */
  @Override
  public boolean policiesServed() throws ApiException {
    V1APIResourceList list;
    try {
      list = api.getAPIResources().execute();
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return false;
      }
      throw e;
    }
    Set<String> names = new HashSet<>();
    if (list.getResources() != null) {
      for (V1APIResource r : list.getResources()) {
        names.add(r.getName());
      }
    }
    return names.contains(AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY.plural())
        && names.contains(AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY_BINDING.plural());
  }

  @Override
  public void warn(String reason, String message) {
    warn.accept(reason, message);
  }
}
