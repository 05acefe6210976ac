package dev.registrypolicy.controller;

import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.controller.admission.AdmissionObjectsKind;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AdmissionregistrationV1Api;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code uninstall} plans from: the objects that carry the controller's managed-by label
 * (admission objects, Secrets in every namespace, ConfigMaps in the policy's namespace), the
 * ServiceAccounts that carry its annotation, and the agents' report Leases (by their label), as the
 * API lists them now. Secret and ConfigMap data is dropped as soon as a page is read: only metadata
 * is kept, so no credential stays in memory.
 *
 * @param admission the managed objects of each admission kind the API serves (a kind it does not
 *     serve, such as ValidatingAdmissionPolicy before Kubernetes 1.30, has none)
 * @param serviceAccounts the ServiceAccounts with the controller's annotation
 * @param secrets the managed Secrets, data removed
 * @param configMaps the managed ConfigMaps in the policy's namespace, data removed
 * @param reportLeases the agents' report Leases in the policy's namespace ({@link
 *     NodeReport#SELECTOR})
 */
record UninstallSnapshot(
    Map<AdmissionObjectsKind, List<KubernetesObject>> admission,
    List<V1ServiceAccount> serviceAccounts,
    List<V1Secret> secrets,
    List<V1ConfigMap> configMaps,
    List<V1Lease> reportLeases) {

  /** A snapshot without report Leases (as before agents reported). */
  UninstallSnapshot(
      Map<AdmissionObjectsKind, List<KubernetesObject>> admission,
      List<V1ServiceAccount> serviceAccounts,
      List<V1Secret> secrets,
      List<V1ConfigMap> configMaps) {
    this(admission, serviceAccounts, secrets, configMaps, List.of());
  }

  /** Objects per list call; the API server pages longer lists ({@code continue}). */
  static final int PAGE = 500;

  /** Pages of one list at most (5,000,000 objects): an API that never ends a list is an error. */
  static final int MAX_PAGES = 10_000;

  UninstallSnapshot {
    Map<AdmissionObjectsKind, List<KubernetesObject>> a = new EnumMap<>(AdmissionObjectsKind.class);
    admission.forEach((k, v) -> a.put(k, List.copyOf(v)));
    admission = Collections.unmodifiableMap(a);
    serviceAccounts = List.copyOf(serviceAccounts);
    secrets = List.copyOf(secrets);
    configMaps = List.copyOf(configMaps);
    reportLeases = List.copyOf(reportLeases);
  }

  /** One page of a list call. */
  private interface PageCall {
    KubernetesListObject page(String continueToken) throws ApiException;
  }

  /** Reads the cluster; a failing call throws, naming what it read in {@link ReadException}. */
  static UninstallSnapshot read(ApiClient client) throws ReadException {
    CoreV1Api core = new CoreV1Api(client);
    AdmissionregistrationV1Api adm = new AdmissionregistrationV1Api(client);
    String managed = Labels.MANAGED_BY_SELECTOR;
    Map<AdmissionObjectsKind, List<KubernetesObject>> admission =
        new EnumMap<>(AdmissionObjectsKind.class);
    for (AdmissionObjectsKind kind : AdmissionObjectsKind.values()) {
      PageCall call =
          c ->
              switch (kind) {
                case VALIDATING_ADMISSION_POLICY ->
                    adm.listValidatingAdmissionPolicy()
                        .labelSelector(managed)
                        .limit(PAGE)
                        ._continue(c)
                        .execute();
                case VALIDATING_ADMISSION_POLICY_BINDING ->
                    adm.listValidatingAdmissionPolicyBinding()
                        .labelSelector(managed)
                        .limit(PAGE)
                        ._continue(c)
                        .execute();
                case VALIDATING_WEBHOOK_CONFIGURATION ->
                    adm.listValidatingWebhookConfiguration()
                        .labelSelector(managed)
                        .limit(PAGE)
                        ._continue(c)
                        .execute();
                case MUTATING_WEBHOOK_CONFIGURATION ->
                    adm.listMutatingWebhookConfiguration()
                        .labelSelector(managed)
                        .limit(PAGE)
                        ._continue(c)
                        .execute();
              };
      List<KubernetesObject> objects = new ArrayList<>();
      try {
        all(call, objects::add);
      } catch (ApiException e) {
        if (e.getCode() != 404 || !kind.needsPolicyApi()) {
          throw new ReadException(kind.kind() + "s labelled " + managed, e);
        }
        // 404: the API server does not serve the kind (before Kubernetes 1.30): none exist.
      }
      admission.put(kind, objects);
    }
    List<V1ServiceAccount> serviceAccounts = new ArrayList<>();
    try {
      all(
          c -> core.listServiceAccountForAllNamespaces().limit(PAGE)._continue(c).execute(),
          o -> {
            V1ServiceAccount sa = (V1ServiceAccount) o;
            if (ServiceAccountPatch.annotation(sa) != null) {
              serviceAccounts.add(sa);
            }
          });
    } catch (ApiException e) {
      throw new ReadException("ServiceAccounts in all namespaces", e);
    }
    List<V1Secret> secrets = new ArrayList<>();
    try {
      all(
          c ->
              core.listSecretForAllNamespaces()
                  .labelSelector(managed)
                  .limit(PAGE)
                  ._continue(c)
                  .execute(),
          o -> {
            V1Secret s = (V1Secret) o;
            s.setData(null);
            s.setStringData(null);
            secrets.add(s);
          });
    } catch (ApiException e) {
      throw new ReadException("Secrets labelled " + managed + " in all namespaces", e);
    }
    List<V1ConfigMap> configMaps = new ArrayList<>();
    try {
      all(
          c ->
              core.listNamespacedConfigMap(Policy.NAMESPACE)
                  .labelSelector(managed)
                  .limit(PAGE)
                  ._continue(c)
                  .execute(),
          o -> {
            V1ConfigMap cm = (V1ConfigMap) o;
            cm.setData(null);
            cm.setBinaryData(null);
            configMaps.add(cm);
          });
    } catch (ApiException e) {
      throw new ReadException(
          "ConfigMaps labelled " + managed + " in namespace " + Policy.NAMESPACE, e);
    }
    List<V1Lease> reportLeases = new ArrayList<>();
    CoordinationV1Api coordination = new CoordinationV1Api(client);
    try {
      all(
          c ->
              coordination
                  .listNamespacedLease(Policy.NAMESPACE)
                  .labelSelector(NodeReport.SELECTOR)
                  .limit(PAGE)
                  ._continue(c)
                  .execute(),
          o -> reportLeases.add((V1Lease) o));
    } catch (ApiException e) {
      throw new ReadException(
          "Leases labelled " + NodeReport.SELECTOR + " in namespace " + Policy.NAMESPACE, e);
    }
    return new UninstallSnapshot(admission, serviceAccounts, secrets, configMaps, reportLeases);
  }

  /** Every page of a list, each object to {@code sink}. */
  private static void all(PageCall call, java.util.function.Consumer<KubernetesObject> sink)
      throws ApiException {
    String token = null;
    int pages = 0;
    do {
      if (++pages > MAX_PAGES) {
        throw new ApiException(
            "the list did not end after " + MAX_PAGES + " pages of " + PAGE + " objects");
      }
      KubernetesListObject page = call.page(token);
      if (page.getItems() != null) {
        page.getItems().forEach(sink);
      }
      token = page.getMetadata() == null ? null : page.getMetadata().getContinue();
    } while (token != null && !token.isEmpty());
  }

  /** A list call failed: {@code what} it read, and the API's answer as the cause. */
  static final class ReadException extends Exception {
    private static final long serialVersionUID = 1L;
    final String what;

    ReadException(String what, ApiException cause) {
      super("cannot list " + what, cause);
      this.what = what;
    }
  }
}
