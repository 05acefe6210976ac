package dev.registrypolicy.controller;

import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What the reconciler reads: informer caches in a cluster, plain objects in {@code render}. */
interface ClusterView {
  Optional<V1ConfigMap> policyConfigMap();

  /** Secrets in the policy's namespace, by name. */
  Map<String, SourceSecret> sourceSecrets();

  List<V1Namespace> namespaces();

  Optional<V1Namespace> namespace(String name);

  List<V1ServiceAccount> serviceAccounts(String namespace);

  /** Secrets in the namespace that carry the controller's managed-by label. */
  List<V1Secret> managedSecrets(String namespace);

  /** The controller's own objects in the policy's namespace (bundle, status). */
  Optional<V1Secret> ownSecret(String name);

  Optional<V1ConfigMap> ownConfigMap(String name);
}
