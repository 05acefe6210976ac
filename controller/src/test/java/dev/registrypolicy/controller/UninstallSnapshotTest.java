package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.registrypolicy.controller.admission.AdmissionObjectsKind;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.policy.Policy;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What uninstall reads: every page of a long list, only the labelled objects and the annotated
 * ServiceAccounts, no Secret data kept, and a cluster that does not serve ValidatingAdmissionPolicy
 * (before Kubernetes 1.30) read as having none.
 */
class UninstallSnapshotTest {
  static final Map<String, String> OURS = Map.of(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY);

  FakeKubeApi fake;

  @AfterEach
  void stop() {
    if (fake != null) {
      fake.close();
    }
  }

  @Test
  void readsEveryPage_keepsNoSecretData_andAClusterWithoutPoliciesHasNone() throws Exception {
    fake = new FakeKubeApi().withoutValidatingAdmissionPolicies().start();
    int n = UninstallSnapshot.PAGE * 2 + 100;
    for (String ns : List.of("a", "b", Policy.NAMESPACE)) {
      fake.create(UninstallTest.object("v1", "Namespace", null, ns, null, null));
    }
    JsonObject data = new JsonObject();
    data.addProperty(".dockerconfigjson", UninstallTest.b64("{\"auths\":{}}"));
    for (int i = 0; i < n; i++) {
      String ns = i % 2 == 0 ? "a" : "b";
      fake.create(UninstallTest.object("v1", "Secret", ns, "s" + i, OURS, data));
      JsonObject sa =
          UninstallTest.serviceAccount(
              ns,
              "sa" + i,
              i % 3 == 0 ? Map.of(Desired.SA_ANNOTATION, "s" + i) : Map.of(),
              "s" + i);
      fake.create(sa);
    }
    fake.create(UninstallTest.object("v1", "Secret", "a", "theirs", null, data));
    fake.create(
        UninstallTest.object(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            null,
            "registry-policy",
            OURS,
            null));

    UninstallSnapshot s = UninstallSnapshot.read(fake.client());

    assertEquals(n, s.secrets().size());
    assertTrue(s.secrets().stream().allMatch(x -> x.getData() == null), "no Secret data kept");
    assertEquals((n + 2) / 3, s.serviceAccounts().size(), "only the annotated ones");
    assertEquals(List.of(), s.admission().get(AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY));
    assertEquals(
        1, s.admission().get(AdmissionObjectsKind.VALIDATING_WEBHOOK_CONFIGURATION).size());
    List<Request> secretLists =
        fake.requests().stream()
            .filter(q -> "GET".equals(q.method()) && "secrets".equals(q.resource()))
            .toList();
    assertEquals(3, secretLists.size(), secretLists.toString());
    assertEquals(
        Labels.MANAGED_BY_SELECTOR, secretLists.get(0).param("labelSelector"), "selected by label");
    assertNull(secretLists.get(0).param("continue"));
    assertTrue(secretLists.get(2).param("continue") != null, "the last page was asked for");
    assertEquals(
        n + (n + 2) / 3 + 1, UninstallPlan.of(s).size(), "a delete per Secret, a patch per SA");
  }
}
