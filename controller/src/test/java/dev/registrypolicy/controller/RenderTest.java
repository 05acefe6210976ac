package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.controller.admission.ValidatingPolicies;
import dev.registrypolicy.controller.webhook.WebhookConfigurations;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RenderTest {
  static final String POLICY =
      String.join(
          "\n",
          "apiVersion: registry-policy.dev/v1alpha1",
          "kind: RegistryPolicy",
          "credentials:",
          "  - {name: corp, secret: corp-source, registry: registry.corp.example}",
          "access:",
          "  - name: corp",
          "    credentials: corp",
          "    secretName: corp-pull",
          "    namespaces: {selector: {matchLabels: {pull: corp}}}",
          "    serviceAccounts: default",
          "");

  @Test
  void everyNamespaceHasItsDefaultServiceAccount() throws Exception {
    String out =
        Render.render(
            POLICY,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: Namespace, metadata: {name: team-b}}",
                ""));
    assertTrue(out.contains("ServiceAccount team-a/default"), out);
    assertTrue(out.contains("corp-pull"), out);
    assertFalse(out.contains("team-b/default"), "an unselected namespace is left alone:\n" + out);
  }

  @Test
  void secretDataIsRedacted() throws Exception {
    String out =
        Render.render(
            POLICY, "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}\n");
    assertFalse(
        out.contains("cmVkYWN0ZWQ6cmVkYWN0ZWQ="),
        "no dockerconfigjson, not even the placeholder:\n" + out);
  }

  @Test
  void aServiceAccountOfANamespaceNotInTheFileIsAProblemWithItsPath() {
    PolicyException e =
        assertThrows(
            PolicyException.class,
            () ->
                Render.render(
                    POLICY,
                    String.join(
                        "\n",
                        "- {kind: Namespace, metadata: {name: team-a}}",
                        "- {kind: ServiceAccount, metadata: {name: builder, namespace: team-z}}",
                        "")));
    List<String> problems =
        e.problems().stream().map(Object::toString).collect(Collectors.toList());
    assertEquals(1, problems.size(), problems::toString);
    assertTrue(
        problems.get(0).startsWith("[1].metadata.namespace: namespace team-z is not in the file"),
        problems::toString);
  }

  @Test
  void patchesTestTheInputsOwnResourceVersion() throws Exception {
    String out =
        Render.render(
            POLICY,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: ServiceAccount, metadata: {name: default, namespace: team-a, resourceVersion: \"81234\"}}",
                ""));
    assertTrue(
        out.contains("\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"81234\""),
        out);
  }

  @Test
  void aServiceAccountWithoutResourceVersionIsTestedAgainstAPlaceholderNotAnInventedNumber()
      throws Exception {
    String out =
        Render.render(
            POLICY, "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}\n");
    assertTrue(out.contains("\"value\":\"" + Render.UNKNOWN_RESOURCE_VERSION + "\""), out);
    assertFalse(out.contains("\"value\":\"1\""), out);
  }

  @Test
  void objectsOfOtherKindsAreSkippedWithANote() throws Exception {
    String out =
        Render.render(
            POLICY,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: Pod, metadata: {name: web, namespace: team-a}}",
                "- {kind: ConfigMap, metadata: {namespace: team-a}}",
                ""));
    assertTrue(
        out.contains(
            "# skipped [1] Pod team-a/web: render reads only Namespaces and ServiceAccounts"),
        out);
    assertTrue(out.contains("# skipped [2] ConfigMap team-a/"), out);
    assertTrue(out.contains("ServiceAccount team-a/default"), "the rest is rendered:\n" + out);
  }

  @Test
  void aServiceAccountTheGrantNamesButTheInputLacksIsReported() throws Exception {
    String named =
        POLICY.replace("serviceAccounts: default", "serviceAccounts: [default, builder, deployer]");
    String out =
        Render.render(
            named,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: ServiceAccount, metadata: {name: deployer, namespace: team-a}}",
                "- {kind: Namespace, metadata: {name: team-b}}",
                ""));
    assertTrue(
        out.contains(
            "# ServiceAccount team-a/builder (named by access grant corp) is not in the input"),
        out);
    assertFalse(out.contains("team-a/deployer (named"), out);
    assertFalse(out.contains("team-a/default (named"), "every namespace has its default:\n" + out);
    assertFalse(out.contains("team-b/builder"), "team-b is not selected:\n" + out);
  }

  static final String ADMISSION_POLICY =
      POLICY
          + String.join(
              "\n",
              "admission:",
              "  mode: Deny",
              "  allowedSources: [{prefix: registry.corp.example}]",
              "  rules:",
              "    - {name: no-latest, mode: Warn, blockLatestTag: true}",
              "");

  /** The YAML documents of render's output (comments dropped by the loader). */
  private static List<Map<?, ?>> documents(String out) {
    List<Map<?, ?>> docs = new java.util.ArrayList<>();
    for (Object d :
        new org.snakeyaml.engine.v2.api.Load(
                org.snakeyaml.engine.v2.api.LoadSettings.builder().build())
            .loadAllFromString(out)) {
      if (d != null) {
        docs.add((Map<?, ?>) d);
      }
    }
    return docs;
  }

  private static List<String> kinds(String out) {
    return documents(out).stream().map(d -> (String) d.get("kind")).collect(Collectors.toList());
  }

  @Test
  void theAdmissionObjectsAreWhatTheProducersMakeAsYaml() throws Exception {
    String out =
        Render.render(
            ADMISSION_POLICY,
            "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}\n");
    assertEquals(
        List.of(
            "Secret",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration"),
        kinds(out),
        out);
    Policy policy = PolicyDocument.parse(ADMISSION_POLICY);
    ValidatingPolicies.Result vap = ValidatingPolicies.build(policy, Policy.NAMESPACE);
    List<Map<?, ?>> docs = documents(out);
    // Each rendered object reads back as the object the controller would write.
    for (int i = 0; i < 2; i++) {
      assertEquals(
          vap.policies().get(i),
          JSON.deserialize(
              new com.google.gson.Gson().toJson(docs.get(1 + i)),
              V1ValidatingAdmissionPolicy.class));
      assertEquals(
          vap.bindings().get(i),
          JSON.deserialize(
              new com.google.gson.Gson().toJson(docs.get(3 + i)),
              V1ValidatingAdmissionPolicyBinding.class));
    }
    V1ValidatingWebhookConfiguration hook =
        JSON.deserialize(
            new com.google.gson.Gson().toJson(docs.get(5)), V1ValidatingWebhookConfiguration.class);
    V1ValidatingWebhookConfiguration expected =
        WebhookConfigurations.validating(
            WebhookSettings.parse(Map.of(), Policy.NAMESPACE).settings(),
            java.util.Set.of("kube-system", Policy.NAMESPACE),
            "unused");
    expected.getWebhooks().get(0).getClientConfig().setCaBundle(null);
    assertEquals(expected, hook);
    assertTrue(
        out.contains(
            "    # caBundle: filled in by the controller at run time (the CA certificate of the"
                + " webhook's TLS Secret registry-policy/registry-policy-webhook-tls)"),
        out);
    assertTrue(out.contains("# enforcement auto (the default): Kubernetes >= 1.30"), out);
    assertFalse(out.contains("# note:"), out);
  }

  @Test
  void aPolicyWithoutAdmissionKeepsOnlyTheMutatingWebhook() throws Exception {
    String out =
        Render.render(
            POLICY, "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}\n");
    assertEquals(List.of("Secret", "MutatingWebhookConfiguration"), kinds(out), out);
    assertTrue(out.contains("# the admission section enforces nothing"), out);
  }

  @Test
  void policiesTooBigForTheApiServerAreNotesAndTheWebhookEnforces() throws Exception {
    StringBuilder p =
        new StringBuilder(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nadmission:\n"
                + "  rules:\n    - name: blocked\n      blockedImages:\n");
    // One rule whose CEL passes the API server's 100,000 code points per expression.
    for (int i = 0; i < 1_000; i++) {
      p.append("        - {name: \"team/").append("legacy-".repeat(15)).append(i).append("\"}\n");
    }
    String out = Render.render(p.toString(), "- {kind: Namespace, metadata: {name: a}}\n");
    assertTrue(
        out.contains("# note: registry-policy-deny: variable ruleFindings has"),
        out.substring(0, 2000));
    assertTrue(out.contains("ValidatingAdmissionPolicies cannot be used"), out.substring(0, 2000));
    assertEquals(List.of("ValidatingWebhookConfiguration"), kinds(out));
  }

  @Test
  void aNamespacesFileLargerThanThePolicyLimitIsRead() throws Exception {
    StringBuilder ns = new StringBuilder();
    for (int i = 0; i < 40_000; i++) {
      ns.append("- {kind: Namespace, metadata: {name: ns-")
          .append(i)
          .append(", labels: {team: t")
          .append(i)
          .append("}}}\n");
    }
    assertTrue(ns.length() > dev.registrypolicy.policy.PolicyLimits.MAX_FILE_BYTES);
    String out = Render.render(POLICY, ns.toString());
    assertTrue(out.contains("# ---- namespace ns-39999: nothing to do"), "read to the end");
  }
}
