package dev.registrypolicy.controller.admission;

import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiException;
import java.util.Optional;

/** Every API call {@link AdmissionReconciler} makes besides cache reads. */
public interface AdmissionReconcilerApi {
  /** Creates the object; returns it as the API server stored it. */
  KubernetesObject create(AdmissionObjectsKind kind, KubernetesObject object) throws ApiException;

  /** Replaces the object (PUT, guarded by its resourceVersion); returns it as stored. */
  KubernetesObject replace(AdmissionObjectsKind kind, KubernetesObject object) throws ApiException;

  /** Deletes the object only if it is still the one with {@code uid}. */
  void delete(AdmissionObjectsKind kind, String name, String uid) throws ApiException;

  /** Reads one object by name (used only after a create conflict, to tell a foreign one). */
  Optional<KubernetesObject> read(AdmissionObjectsKind kind, String name) throws ApiException;

  /**
   * API discovery: whether {@code /apis/admissionregistration.k8s.io/v1} lists
   * validatingadmissionpolicies and validatingadmissionpolicybindings.
   */
  boolean policiesServed() throws ApiException;

  /** Records a Warning Event about the policy (on the policy ConfigMap). */
  void warn(String reason, String message);
}
