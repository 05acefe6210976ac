package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.registrypolicy.controller.admission.AdmissionObjects;
import dev.registrypolicy.controller.admission.AdmissionObjectsSource;
import dev.registrypolicy.controller.admission.Enforcement;
import dev.registrypolicy.controller.admission.EnforcementSettings;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.AdmissionregistrationV1ServiceReference;
import io.kubernetes.client.openapi.models.AdmissionregistrationV1WebhookClientConfig;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1MatchResources;
import io.kubernetes.client.openapi.models.V1NamedRuleWithOperations;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1RuleWithOperations;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBindingSpec;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicySpec;
import io.kubernetes.client.openapi.models.V1ValidatingWebhook;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1Validation;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admission objects through the whole controller on the in-process API: informers, the
 * admission work-queue key, the policy as the Reconciler holds it (last good on an invalid one,
 * removed with its ConfigMap) and the status ConfigMap.
 */
class AdmissionReconcilerControllerTest {
  static final String VAP = "validatingadmissionpolicies";
  static final String BINDING = "validatingadmissionpolicybindings";
  static final String VWC = "validatingwebhookconfigurations";

  FakeKubeApi fake;
  CoreV1Api api;
  Controller controller;

  /** One deny policy, its binding and the webhook, whose message names the first source. */
  static final AdmissionObjectsSource SOURCE =
      policy -> {
        if (policy.admission().allowedSources().isEmpty()) {
          return AdmissionObjects.empty();
        }
        String first = policy.admission().allowedSources().get(0).prefix().toString();
        return new AdmissionObjects(
            List.of(vap("only " + first)),
            List.of(
                new V1ValidatingAdmissionPolicyBinding()
                    .metadata(new V1ObjectMeta().name("registry-policy-deny"))
                    .spec(
                        new V1ValidatingAdmissionPolicyBindingSpec()
                            .policyName("registry-policy-deny")
                            .validationActions(List.of("Deny")))),
            List.of(
                new V1ValidatingWebhookConfiguration()
                    .metadata(new V1ObjectMeta().name("registry-policy"))
                    .addWebhooksItem(
                        new V1ValidatingWebhook()
                            .name("validate.registry-policy.dev")
                            .clientConfig(
                                new AdmissionregistrationV1WebhookClientConfig()
                                    .service(
                                        new AdmissionregistrationV1ServiceReference()
                                            .name("registry-policy-webhook")
                                            .namespace(Policy.NAMESPACE)
                                            .path("/validate")))
                            .addRulesItem(
                                new V1RuleWithOperations()
                                    .apiGroups(List.of(""))
                                    .apiVersions(List.of("v1"))
                                    .operations(List.of("CREATE"))
                                    .resources(List.of("pods")))
                            .sideEffects("None")
                            .admissionReviewVersions(List.of("v1")))),
            List.of(),
            List.of());
      };

  static V1ValidatingAdmissionPolicy vap(String message) {
    return new V1ValidatingAdmissionPolicy()
        .metadata(new V1ObjectMeta().name("registry-policy-deny"))
        .spec(
            new V1ValidatingAdmissionPolicySpec()
                .matchConstraints(
                    new V1MatchResources()
                        .addResourceRulesItem(
                            new V1NamedRuleWithOperations()
                                .apiGroups(List.of(""))
                                .apiVersions(List.of("v1"))
                                .operations(List.of("CREATE"))
                                .resources(List.of("pods"))))
                .addValidationsItem(new V1Validation().expression("true").message(message)));
  }

  static String policyText(String source) {
    return String.join(
        "\n",
        "apiVersion: registry-policy.dev/v1alpha1",
        "kind: RegistryPolicy",
        source == null ? "" : "admission: {allowedSources: [{prefix: " + source + "}]}",
        "");
  }

  @BeforeEach
  void start() throws Exception {
    fake = new FakeKubeApi().start();
    NodeStatusControllerTest.serveNodes(fake); // the controller lists and watches Nodes
    api = new CoreV1Api(fake.client());
    for (String ns : List.of("default", Policy.NAMESPACE)) {
      api.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    }
  }

  @AfterEach
  void stop() {
    if (controller != null) {
      controller.close();
    }
    fake.close();
  }

  void startController(Enforcement mode, Duration resync) {
    controller =
        new Controller(
            fake.client(),
            new Controller.Settings(
                "c1",
                2,
                resync,
                Duration.ofSeconds(3),
                Duration.ofSeconds(2),
                Duration.ofMillis(200)),
            new Metrics(),
            new EnforcementSettings(mode, true),
            SOURCE);
    controller.start();
  }

  void upsertPolicy(String text) throws ApiException {
    V1ConfigMap cm =
        new V1ConfigMap()
            .metadata(new V1ObjectMeta().name(Policy.CONFIGMAP_NAME).namespace(Policy.NAMESPACE))
            .data(Map.of(Policy.CONFIGMAP_KEY, text));
    if (fake.get("configmaps", Policy.NAMESPACE, Policy.CONFIGMAP_NAME) == null) {
      api.createNamespacedConfigMap(Policy.NAMESPACE, cm).execute();
    } else {
      V1ConfigMap cur =
          api.readNamespacedConfigMap(Policy.CONFIGMAP_NAME, Policy.NAMESPACE).execute();
      cur.setData(cm.getData());
      api.replaceNamespacedConfigMap(Policy.CONFIGMAP_NAME, Policy.NAMESPACE, cur).execute();
    }
  }

  Map<String, String> status() {
    JsonObject cm = fake.get("configmaps", Policy.NAMESPACE, Reconciler.STATUS_CONFIGMAP);
    if (cm == null || !cm.has("data")) {
      return Map.of();
    }
    Map<String, String> out = new java.util.HashMap<>();
    cm.getAsJsonObject("data")
        .entrySet()
        .forEach(e -> out.put(e.getKey(), e.getValue().getAsString()));
    return out;
  }

  String message() {
    JsonObject o = fake.get(VAP, null, "registry-policy-deny");
    return o == null
        ? null
        : o.getAsJsonObject("spec")
            .getAsJsonArray("validations")
            .get(0)
            .getAsJsonObject()
            .get("message")
            .getAsString();
  }

  @Test
  void followsThePolicy_keepsTheLastGoodOne_andRemovesEverythingWithItsConfigMap()
      throws Exception {
    upsertPolicy(policyText("registry.corp.example"));
    startController(Enforcement.BOTH, Duration.ofMinutes(10));
    ControllerScenarios.await(
        () -> "only registry.corp.example".equals(message()), "policy created");
    ControllerScenarios.await(() -> fake.get(VWC, null, "registry-policy") != null, "webhook");
    assertNotNull(fake.get(BINDING, null, "registry-policy-deny"));

    upsertPolicy(policyText("ghcr.io/corp"));
    ControllerScenarios.await(() -> "only ghcr.io/corp".equals(message()), "policy updated");

    String rv =
        fake.get(VAP, null, "registry-policy-deny")
            .getAsJsonObject("metadata")
            .get("resourceVersion")
            .getAsString();
    upsertPolicy("apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nadmission: [");
    ControllerScenarios.await(() -> "false".equals(status().get("policyValid")), "invalid seen");
    Thread.sleep(500);
    assertEquals(
        rv,
        fake.get(VAP, null, "registry-policy-deny")
            .getAsJsonObject("metadata")
            .get("resourceVersion")
            .getAsString(),
        "the last good policy's objects stay as they are");

    upsertPolicy(policyText(null)); // the admission section removed
    ControllerScenarios.await(
        () -> fake.list(VAP, null).isEmpty() && fake.list(VWC, null).isEmpty(), "removed");
    assertEquals(List.of(), fake.list(BINDING, null));

    upsertPolicy(policyText("registry.corp.example"));
    ControllerScenarios.await(() -> message() != null, "back");
    fake.delete("configmaps", Policy.NAMESPACE, Policy.CONFIGMAP_NAME); // the policy removed
    ControllerScenarios.await(
        () ->
            fake.list(VAP, null).isEmpty()
                && fake.list(BINDING, null).isEmpty()
                && fake.list(VWC, null).isEmpty(),
        "everything removed with the policy ConfigMap");
  }

  @Test
  void statusShowsEnforcementConflictsAndProblems_andSteadyStateWritesNothing() throws Exception {
    V1ValidatingAdmissionPolicy theirs = vap("theirs");
    fake.create(theirs);
    upsertPolicy(policyText("registry.corp.example"));
    startController(Enforcement.BOTH, Duration.ofSeconds(1));
    ControllerScenarios.await(
        () ->
            "ValidatingAdmissionPolicy/registry-policy-deny"
                .equals(status().get("admissionConflicts")),
        "conflict in the status: " + status());
    Map<String, String> s = status();
    assertEquals("policy+webhook", s.get("admissionEnforcement"));
    assertEquals("both", s.get("admissionEnforcementSetting"));
    assertTrue(
        s.get("problems").contains("registry-policy-deny exists and is not managed"), s.toString());
    assertEquals("theirs", message(), "never touched");
    ControllerScenarios.await(() -> fake.get(VWC, null, "registry-policy") != null, "webhook");

    Thread.sleep(500);
    fake.resetCounters();
    double before = controller.keysProcessed();
    Thread.sleep(3_500); // three resyncs of 1 s
    List<Request> writes =
        fake.requests().stream()
            .filter(Request::isWrite)
            .filter(r -> !"leases".equals(r.resource()))
            .toList();
    assertEquals(List.of(), writes, "no write at steady state");
    assertTrue(controller.keysProcessed() > before + 2, "the resyncs ran passes");
  }

  @Test
  void auto_withoutValidatingAdmissionPolicies_usesTheWebhook() throws Exception {
    fake.withoutValidatingAdmissionPolicies();
    upsertPolicy(policyText("registry.corp.example"));
    startController(Enforcement.AUTO, Duration.ofMinutes(10));
    ControllerScenarios.await(() -> fake.get(VWC, null, "registry-policy") != null, "webhook");
    ControllerScenarios.await(
        () -> "webhook".equals(status().get("admissionEnforcement")), "status: " + status());
    assertTrue(
        fake.requests().stream()
            .noneMatch(r -> VAP.equals(r.resource()) || BINDING.equals(r.resource())));
    assertEquals(
        Labels.MANAGED_BY,
        fake.get(VWC, null, "registry-policy")
            .getAsJsonObject("metadata")
            .getAsJsonObject("labels")
            .get(Labels.MANAGED_BY_LABEL)
            .getAsString());
  }
}
