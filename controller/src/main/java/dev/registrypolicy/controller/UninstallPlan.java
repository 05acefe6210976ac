package dev.registrypolicy.controller;

import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.controller.admission.AdmissionObjectsKind;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code uninstall} changes, from a {@link UninstallSnapshot}: a pure function, so a second
 * run over what the first left plans nothing. Only objects that carry the managed-by label are
 * deleted (checked here again, whatever the list calls' selectors returned), and from a
 * ServiceAccount only the entries its annotation says the controller added. In order:
 *
 * <ol>
 *   <li>the admission objects: bindings before their ValidatingAdmissionPolicies (as the reconciler
 *       deletes them), then the validating and the mutating webhook configurations, so the API
 *       server stops calling a webhook that no longer runs as early as possible;
 *   <li>the ServiceAccounts: the controller's entries and its annotation, every other entry kept as
 *       and where it is;
 *   <li>the pull Secrets (they carry the grant label), then the other managed Secrets: the node
 *       credentials bundle and the webhook's TLS Secret, after the webhook configurations that
 *       trusted it;
 *   <li>the status ConfigMap ({@link Reconciler#STATUS_CONFIGMAP} in the policy's namespace; a
 *       labelled ConfigMap of another name was not made by the controller and stays);
 *   <li>the agents' report Leases in the policy's namespace (those with the {@link
 *       NodeReport#SELECTOR} label, checked here again), which the controller read and removed.
 * </ol>
 */
final class UninstallPlan {
  /** Deletion order of the admission kinds. */
  static final List<AdmissionObjectsKind> ADMISSION_ORDER =
      List.of(
          AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY_BINDING,
          AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY,
          AdmissionObjectsKind.VALIDATING_WEBHOOK_CONFIGURATION,
          AdmissionObjectsKind.MUTATING_WEBHOOK_CONFIGURATION);

  private UninstallPlan() {}

  static List<UninstallChange> of(UninstallSnapshot s) {
    List<UninstallChange> out = new ArrayList<>();
    for (AdmissionObjectsKind kind : ADMISSION_ORDER) {
      List<KubernetesObject> objects = new ArrayList<>(s.admission().getOrDefault(kind, List.of()));
      objects.sort(Comparator.comparing(o -> name(o.getMetadata())));
      for (KubernetesObject o : objects) {
        if (managed(o.getMetadata())) {
          out.add(
              new UninstallChange.DeleteAdmissionObject(
                  kind, o.getMetadata().getName(), o.getMetadata().getUid()));
        }
      }
    }
    List<V1ServiceAccount> sas = new ArrayList<>(s.serviceAccounts());
    sas.sort(Comparator.comparing(sa -> key(sa.getMetadata())));
    for (V1ServiceAccount sa : sas) {
      UninstallChange c = serviceAccount(sa);
      if (c != null) {
        out.add(c);
      }
    }
    List<V1Secret> secrets = new ArrayList<>(s.secrets());
    secrets.sort(
        Comparator.comparing((V1Secret x) -> grant(x) == null)
            .thenComparing(x -> key(x.getMetadata())));
    for (V1Secret sec : secrets) {
      V1ObjectMeta m = sec.getMetadata();
      if (managed(m)) {
        out.add(
            new UninstallChange.DeleteSecret(m.getNamespace(), m.getName(), m.getUid(), what(sec)));
      }
    }
    for (V1ConfigMap cm : s.configMaps()) {
      V1ObjectMeta m = cm.getMetadata();
      if (managed(m)
          && Policy.NAMESPACE.equals(m.getNamespace())
          && Reconciler.STATUS_CONFIGMAP.equals(m.getName())) {
        out.add(new UninstallChange.DeleteConfigMap(m.getNamespace(), m.getName(), m.getUid()));
      }
    }
    List<V1Lease> leases = new ArrayList<>(s.reportLeases());
    leases.sort(Comparator.comparing(l -> name(l.getMetadata())));
    for (V1Lease l : leases) {
      V1ObjectMeta m = l.getMetadata();
      if (reportLease(m)) {
        out.add(new UninstallChange.DeleteLease(m.getNamespace(), m.getName(), m.getUid()));
      }
    }
    return List.copyOf(out);
  }

  /**
   * The patch that takes off what the controller added, or null when the ServiceAccount has no
   * annotation of the controller's (then nothing on it is the controller's).
   */
  static UninstallChange.PatchServiceAccount serviceAccount(V1ServiceAccount sa) {
    if (sa.getMetadata() == null || ServiceAccountPatch.annotation(sa) == null) {
      return null;
    }
    List<String> current = ServiceAccountPatch.names(sa);
    Set<String> ours = ServiceAccountPatch.ours(sa);
    Desired.SaChange change = Desired.serviceAccount(current, ours, Set.of());
    String patch = ServiceAccountPatch.of(sa, change);
    if (patch == null) {
      return null;
    }
    List<String> removed = new ArrayList<>();
    for (String n : current) {
      if (n != null && ours.contains(n) && !removed.contains(n)) {
        removed.add(n);
      }
    }
    return new UninstallChange.PatchServiceAccount(
        sa.getMetadata().getNamespace(),
        sa.getMetadata().getName(),
        patch,
        removed,
        change.imagePullSecrets());
  }

  /** What a managed Secret is, for the log line. */
  static String what(V1Secret s) {
    String grant = grant(s);
    if (grant != null) {
      return "pull Secret of access grant " + grant;
    }
    V1ObjectMeta m = s.getMetadata();
    if (Policy.NAMESPACE.equals(m.getNamespace()) && Desired.BUNDLE_SECRET.equals(m.getName())) {
      return "node credentials bundle";
    }
    if ("kubernetes.io/tls".equals(s.getType())) {
      return "webhook TLS Secret";
    }
    return "Secret labelled " + Labels.MANAGED_BY_SELECTOR;
  }

  private static String grant(V1Secret s) {
    Map<String, String> l = s.getMetadata() == null ? null : s.getMetadata().getLabels();
    return l == null ? null : l.get(Desired.GRANT_LABEL);
  }

  /** A node report Lease in the policy's namespace (by its label). */
  static boolean reportLease(V1ObjectMeta m) {
    return m != null
        && m.getName() != null
        && Policy.NAMESPACE.equals(m.getNamespace())
        && m.getLabels() != null
        && NodeReport.COMPONENT.equals(m.getLabels().get(NodeReport.COMPONENT_LABEL));
  }

  static boolean managed(V1ObjectMeta m) {
    return m != null
        && m.getName() != null
        && m.getLabels() != null
        && Labels.MANAGED_BY.equals(m.getLabels().get(Labels.MANAGED_BY_LABEL));
  }

  private static String name(V1ObjectMeta m) {
    return m == null || m.getName() == null ? "" : m.getName();
  }

  private static String key(V1ObjectMeta m) {
    return (m == null || m.getNamespace() == null ? "" : m.getNamespace()) + "/" + name(m);
  }
}
