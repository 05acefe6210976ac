package dev.registrypolicy.controller.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.PolicyDocument;
import io.kubernetes.client.openapi.models.V1MutatingWebhook;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1ValidatingWebhook;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The webhook configurations and the settings parser. */
class WebhookConfigurationsTest {
  static final WebhookSettings SETTINGS =
      WebhookSettings.parse(
              Map.of(
                  "--webhook",
                  "true",
                  "--webhook-failure-policy",
                  "Ignore",
                  "--webhook-timeout-seconds",
                  "7"),
              "registry-policy")
          .settings();

  @Test
  void validatingCoversEveryKindAndTheEphemeralSubresourceAndSkipsExemptNamespaces() {
    V1ValidatingWebhookConfiguration c =
        WebhookConfigurations.validating(SETTINGS, Set.of("kube-system", "registry-policy"), "CA");
    assertEquals("registry-policy", c.getMetadata().getName());
    V1ValidatingWebhook w = c.getWebhooks().get(0);
    assertEquals("Ignore", w.getFailurePolicy());
    assertEquals(7, w.getTimeoutSeconds());
    assertEquals("None", w.getSideEffects());
    assertEquals(List.of("v1"), w.getAdmissionReviewVersions());
    assertEquals(WorkloadKind.values().length + 1, w.getRules().size());
    assertEquals(
        List.of("pods/ephemeralcontainers"),
        w.getRules().get(w.getRules().size() - 1).getResources());
    assertEquals(
        List.of("cronjobs"), w.getRules().get(WorkloadKind.CRON_JOB.ordinal()).getResources());
    assertEquals(
        List.of("batch"), w.getRules().get(WorkloadKind.CRON_JOB.ordinal()).getApiGroups());
    var req = w.getNamespaceSelector().getMatchExpressions().get(0);
    assertEquals("kubernetes.io/metadata.name", req.getKey());
    assertEquals("NotIn", req.getOperator());
    assertEquals(List.of("kube-system", "registry-policy"), req.getValues());
    var svc = w.getClientConfig().getService();
    assertEquals("registry-policy", svc.getNamespace());
    assertEquals("registry-policy-webhook", svc.getName());
    assertEquals(443, svc.getPort());
    assertEquals("/validate", svc.getPath());
    assertEquals("CA", new String(w.getClientConfig().getCaBundle(), StandardCharsets.UTF_8));
  }

  @Test
  void mutatingHasOneEntryPerGrantSelectionWithMatchConditions() throws Exception {
    var policy =
        PolicyDocument.parse(
            """
            apiVersion: registry-policy.dev/v1alpha1
            kind: RegistryPolicy
            credentials:
              - {name: corp, secret: corp-pull}
            access:
              - name: both-ways
                credentials: [corp]
                secretName: corp-registry
                namespaces: {names: [team-a], selector: {matchLabels: {corp: "yes"}}, exclude: [team-x]}
                serviceAccounts: [default, builder]
              - name: everyone
                credentials: [corp]
                namespaces: {}
                serviceAccounts: all
              - name: nobody
                credentials: [corp]
                namespaces: {}
                serviceAccounts: none
            """);
    V1MutatingWebhookConfiguration c = WebhookConfigurations.mutating(SETTINGS, policy, "CA");
    List<V1MutatingWebhook> hooks = c.getWebhooks();
    assertEquals(3, hooks.size(), "names + labels for the first grant, one for the second");
    V1MutatingWebhook labels = hooks.get(0);
    V1MutatingWebhook names = hooks.get(1);
    assertEquals("0-both-ways-labels.pull-secrets.registry-policy.dev", labels.getName());
    assertEquals("0-both-ways-names.pull-secrets.registry-policy.dev", names.getName());
    for (V1MutatingWebhook h : hooks) {
      assertEquals("Ignore", h.getFailurePolicy());
      assertEquals("Never", h.getReinvocationPolicy());
      assertEquals("None", h.getSideEffects());
      assertEquals(List.of("CREATE"), h.getRules().get(0).getOperations());
      assertEquals(List.of("pods"), h.getRules().get(0).getResources());
      assertEquals("/mutate", h.getClientConfig().getService().getPath());
      assertTrue(h.getMatchConditions().size() <= 64);
    }
    assertEquals(Map.of("corp", "yes"), labels.getNamespaceSelector().getMatchLabels());
    var nameReq = names.getNamespaceSelector().getMatchExpressions().get(0);
    assertEquals("In", nameReq.getOperator());
    assertEquals(List.of("team-a"), nameReq.getValues());
    assertEquals("NotIn", names.getNamespaceSelector().getMatchExpressions().get(1).getOperator());
    assertEquals(
        "!has(object.spec.imagePullSecrets) || !object.spec.imagePullSecrets.exists(s,"
            + " has(s.name) && s.name == 'corp-registry')",
        names.getMatchConditions().get(0).getExpression());
    assertEquals(
        "(has(object.spec.serviceAccountName) && object.spec.serviceAccountName != '' ?"
            + " object.spec.serviceAccountName : 'default') in ['builder', 'default']",
        names.getMatchConditions().get(1).getExpression());
    V1MutatingWebhook all = hooks.get(2);
    assertTrue(all.getNamespaceSelector().getMatchExpressions().isEmpty());
    assertEquals(1, all.getMatchConditions().size(), "every ServiceAccount: no SA condition");
    assertTrue(
        all.getMatchConditions().get(0).getExpression().contains("'registry-policy-everyone'"));
    var noGrants =
        PolicyDocument.parse("apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n");
    assertNull(WebhookConfigurations.mutating(SETTINGS, noGrants, "CA"));
  }

  @Test
  void celLiteralsAreQuoted() {
    assertEquals("'a\\'b\\\\c'", WebhookConfigurations.cel("a'b\\c"));
  }

  @Test
  void settingsDefaultsAndErrors() {
    WebhookSettings d = WebhookSettings.parse(Map.of(), "registry-policy").settings();
    assertEquals(
        new WebhookSettings(
            false,
            9443,
            WebhookSettings.FailurePolicy.FAIL,
            5,
            WebhookSettings.CertificateMode.SELF,
            "registry-policy-webhook-tls",
            "registry-policy-webhook",
            "registry-policy"),
        d);
    assertEquals("registry-policy-webhook.registry-policy.svc", d.serviceHost());
    WebhookSettings.Parsed bad =
        WebhookSettings.parse(
            Map.of(
                "--webhook-port", "70000",
                "--webhook-timeout-seconds", "31",
                "--webhook-failure-policy", "fail",
                "--webhook-certificates", "acme",
                "--webhook-tls-secret", "Bad_Name",
                "--webhook-nope", "1"),
            "registry-policy");
    assertNull(bad.settings());
    assertEquals(
        Set.of(
            "unknown webhook flag --webhook-nope",
            "--webhook-port wants a port 1-65535, not \"70000\"",
            "--webhook-timeout-seconds wants whole seconds 1-30 (the API's range for timeoutSeconds), not \"31\"",
            "--webhook-failure-policy wants Fail or Ignore, not \"fail\"",
            "--webhook-certificates wants self or secret, not \"acme\"",
            "--webhook-tls-secret wants a Secret name (DNS subdomain), not \"Bad_Name\""),
        Set.copyOf(bad.errors()));
    assertEquals(
        WebhookSettings.CertificateMode.SECRET,
        WebhookSettings.parse(Map.of("--webhook-certificates", "secret"), "rp")
            .settings()
            .certificates());
  }
}
