package dev.registrypolicy.controller;

import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Secret;
import java.util.Optional;

/**
 * Every call the reconciler makes that can change the cluster (plus the one read it needs on
 * conflicts); {@code uninstall} removes what the controller made through the same calls.
 */
interface ClusterWrites {
  void createSecret(String namespace, V1Secret secret) throws ApiException;

  void replaceSecret(String namespace, V1Secret secret) throws ApiException;

  /** Deletes the Secret only if it is still the object with {@code uid} (null: any). */
  void deleteSecret(String namespace, String name, String uid) throws ApiException;

  /**
   * Applies an RFC 6902 JSON Patch (the reconciler always guards it with a resourceVersion test).
   */
  void patchServiceAccount(String namespace, String name, String jsonPatch) throws ApiException;

  /** Creates the ConfigMap; returns the resourceVersion the API server gave it (null if none). */
  String createConfigMap(String namespace, V1ConfigMap configMap) throws ApiException;

  /** Replaces the ConfigMap; returns its new resourceVersion (null if none). */
  String replaceConfigMap(String namespace, V1ConfigMap configMap) throws ApiException;

  /** Deletes the ConfigMap only if it is still the object with {@code uid} (null: any). */
  void deleteConfigMap(String namespace, String name, String uid) throws ApiException;

  /**
   * Deletes a node report Lease only if it is still the object with {@code uid} (null: any): the
   * report of a node that no longer exists.
   */
  void deleteLease(String namespace, String name, String uid) throws ApiException;

  /** Records a Kubernetes Event about an object. */
  void event(
      String namespace, String kind, String name, String type, String reason, String message);

  /** Reads a Secret that the caches do not hold (used only after a create conflict). */
  Optional<V1Secret> readSecret(String namespace, String name) throws ApiException;
}
