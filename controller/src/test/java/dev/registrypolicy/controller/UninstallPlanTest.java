package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.controller.admission.AdmissionObjectsKind;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LocalObjectReference;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The plan as a pure function of what the cluster holds: what, in which order, and never what. */
class UninstallPlanTest {
  static final Map<String, String> OURS = Map.of(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY);

  static V1ObjectMeta meta(String ns, String name, Map<String, String> labels) {
    return new V1ObjectMeta().namespace(ns).name(name).uid("uid-" + name).labels(labels);
  }

  static V1Secret secret(String ns, String name, Map<String, String> labels, String type) {
    return new V1Secret().metadata(meta(ns, name, labels)).type(type);
  }

  static V1ServiceAccount sa(String ns, String name, String annotation, String... entries) {
    V1ServiceAccount sa =
        new V1ServiceAccount().metadata(meta(ns, name, null).resourceVersion("42"));
    if (annotation != null) {
      sa.getMetadata().annotations(Map.of(Desired.SA_ANNOTATION, annotation, "example.com/x", "y"));
    }
    List<V1LocalObjectReference> refs = new ArrayList<>();
    for (String e : entries) {
      refs.add(new V1LocalObjectReference().name(e));
    }
    return sa.imagePullSecrets(refs);
  }

  static UninstallSnapshot snapshot(
      List<KubernetesObject> admission,
      List<V1ServiceAccount> sas,
      List<V1Secret> secrets,
      List<V1ConfigMap> cms) {
    Map<AdmissionObjectsKind, List<KubernetesObject>> byKind = new HashMap<>();
    for (KubernetesObject o : admission) {
      for (AdmissionObjectsKind k : AdmissionObjectsKind.values()) {
        if (k.type().isInstance(o)) {
          byKind.computeIfAbsent(k, x -> new ArrayList<>()).add(o);
        }
      }
    }
    return new UninstallSnapshot(byKind, sas, secrets, cms);
  }

  static List<String> lines(List<UninstallChange> plan) {
    return plan.stream()
        .map(
            c ->
                c.verb()
                    + " "
                    + c.kind()
                    + " "
                    + (c.namespace() == null ? "" : c.namespace() + "/")
                    + c.name())
        .collect(Collectors.toList());
  }

  @Test
  void admissionFirst_thenServiceAccounts_thenPullSecrets_thenTheRest() {
    UninstallSnapshot s =
        snapshot(
            List.of(
                new V1MutatingWebhookConfiguration().metadata(meta(null, "registry-policy", OURS)),
                new V1ValidatingWebhookConfiguration()
                    .metadata(meta(null, "registry-policy", OURS)),
                new V1ValidatingAdmissionPolicy()
                    .metadata(meta(null, "registry-policy-warn", OURS)),
                new V1ValidatingAdmissionPolicy()
                    .metadata(meta(null, "registry-policy-deny", OURS)),
                new V1ValidatingAdmissionPolicyBinding()
                    .metadata(meta(null, "registry-policy-deny", OURS))),
            List.of(sa("team", "default", "corp-pull", "corp-pull")),
            List.of(
                secret(Policy.NAMESPACE, Desired.BUNDLE_SECRET, OURS, "Opaque"),
                secret(Policy.NAMESPACE, "registry-policy-webhook-tls", OURS, "kubernetes.io/tls"),
                secret(
                    "zeta",
                    "corp-pull",
                    Reconciler.managedLabels("corp"),
                    "kubernetes.io/dockerconfigjson"),
                secret(
                    "team",
                    "corp-pull",
                    Reconciler.managedLabels("corp"),
                    "kubernetes.io/dockerconfigjson")),
            List.of(
                new V1ConfigMap()
                    .metadata(meta(Policy.NAMESPACE, Reconciler.STATUS_CONFIGMAP, OURS))));
    List<UninstallChange> plan = UninstallPlan.of(s);
    assertEquals(
        List.of(
            "deleted ValidatingAdmissionPolicyBinding registry-policy-deny",
            "deleted ValidatingAdmissionPolicy registry-policy-deny",
            "deleted ValidatingAdmissionPolicy registry-policy-warn",
            "deleted ValidatingWebhookConfiguration registry-policy",
            "deleted MutatingWebhookConfiguration registry-policy",
            "patched ServiceAccount team/default",
            "deleted Secret team/corp-pull",
            "deleted Secret zeta/corp-pull",
            "deleted Secret registry-policy/registry-policy-node-credentials",
            "deleted Secret registry-policy/registry-policy-webhook-tls",
            "deleted ConfigMap registry-policy/registry-policy-status"),
        lines(plan));
    assertEquals(
        List.of(
            "pull Secret of access grant corp", "node credentials bundle", "webhook TLS Secret"),
        plan.stream()
            .filter(c -> c instanceof UninstallChange.DeleteSecret)
            .map(c -> ((UninstallChange.DeleteSecret) c).what())
            .distinct()
            .collect(Collectors.toList()));
    UninstallChange.DeleteSecret first = (UninstallChange.DeleteSecret) plan.get(6);
    assertEquals("uid-corp-pull", first.uid(), "every delete is guarded by the uid it read");
    assertEquals(
        List.of(
            "kind",
            "Secret",
            "namespace",
            "team",
            "name",
            "corp-pull",
            "what",
            "pull Secret of access grant corp"),
        List.of(first.fields()));
  }

  @Test
  void objectsWithoutTheLabel_areNeverPlanned_whateverTheListsReturned() {
    Map<String, String> foreign = Map.of("app.kubernetes.io/managed-by", "someone-else");
    UninstallSnapshot s =
        snapshot(
            List.of(
                new V1ValidatingAdmissionPolicy()
                    .metadata(meta(null, "registry-policy-audit", null)),
                new V1ValidatingWebhookConfiguration()
                    .metadata(meta(null, "registry-policy", foreign))),
            List.of(sa("team", "default", null, "corp-pull")),
            List.of(
                secret("team", "corp-pull", null, "kubernetes.io/dockerconfigjson"),
                secret(Policy.NAMESPACE, Desired.BUNDLE_SECRET, foreign, "Opaque"),
                secret(
                    Policy.NAMESPACE,
                    "registry-policy-webhook-tls",
                    Map.of(),
                    "kubernetes.io/tls")),
            List.of(
                new V1ConfigMap().metadata(meta(Policy.NAMESPACE, Policy.CONFIGMAP_NAME, null)),
                // the label, but not a name the controller writes, or not its namespace
                new V1ConfigMap().metadata(meta(Policy.NAMESPACE, "notes", OURS)),
                new V1ConfigMap().metadata(meta("team", Reconciler.STATUS_CONFIGMAP, OURS))));
    assertEquals(List.of(), UninstallPlan.of(s));
  }

  @Test
  void serviceAccount_losesOnlyTheEntriesItsAnnotationNames_andTheAnnotation() {
    V1ServiceAccount sa =
        sa("team", "builder", "corp-pull,gone-pull", "mine", "corp-pull", "theirs");
    sa.getImagePullSecrets().add(2, null); // an entry without a name is someone else's too
    UninstallChange.PatchServiceAccount p = UninstallPlan.serviceAccount(sa);
    assertEquals(List.of("corp-pull"), p.removed());
    assertEquals(List.of("mine", "<no name>", "theirs"), p.kept());
    JsonArray ops = JsonParser.parseString(p.jsonPatch()).getAsJsonArray();
    assertEquals(
        "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"42\"},"
            + "{\"op\":\"add\",\"path\":\"/imagePullSecrets\",\"value\":[{\"name\":\"mine\"},{},{\"name\":\"theirs\"}]},"
            + "{\"op\":\"remove\",\"path\":\"/metadata/annotations/registry-policy.dev~1image-pull-secrets\"}]",
        ops.toString());
  }

  @Test
  void serviceAccount_withTheAnnotationButNoEntryLeft_loses_theAnnotationOnly() {
    UninstallChange.PatchServiceAccount p =
        UninstallPlan.serviceAccount(sa("team", "default", "corp-pull", "theirs"));
    assertEquals(List.of(), p.removed());
    String patch = p.jsonPatch();
    assertTrue(patch.contains("\"op\":\"remove\""), patch);
    assertTrue(!patch.contains("/imagePullSecrets"), patch);
  }

  @Test
  void serviceAccount_withoutTheAnnotation_isNotTouched_evenWhenItNamesAPullSecret() {
    assertNull(UninstallPlan.serviceAccount(sa("team", "default", null, "corp-pull")));
  }

  @Test
  void reportLeasesLast_onlyLabelledOnesInThePolicyNamespace() {
    Map<String, String> report = Map.of(NodeReport.COMPONENT_LABEL, NodeReport.COMPONENT);
    UninstallSnapshot s =
        new UninstallSnapshot(
            Map.of(),
            List.of(),
            List.of(),
            List.of(
                new V1ConfigMap()
                    .metadata(meta(Policy.NAMESPACE, Reconciler.STATUS_CONFIGMAP, OURS))),
            List.of(
                new V1Lease().metadata(meta(Policy.NAMESPACE, "registry-policy-node-b", report)),
                new V1Lease().metadata(meta(Policy.NAMESPACE, "registry-policy-node-a", report)),
                new V1Lease().metadata(meta(Policy.NAMESPACE, Controller.LEASE_NAME, null)),
                new V1Lease().metadata(meta("elsewhere", "registry-policy-node-c", report)),
                new V1Lease()
                    .metadata(
                        meta(
                            Policy.NAMESPACE,
                            "registry-policy-node-d",
                            Map.of(NodeReport.COMPONENT_LABEL, "controller")))));
    assertEquals(
        List.of(
            "deleted ConfigMap registry-policy/registry-policy-status",
            "deleted Lease registry-policy/registry-policy-node-a",
            "deleted Lease registry-policy/registry-policy-node-b"),
        lines(UninstallPlan.of(s)));
  }
}
