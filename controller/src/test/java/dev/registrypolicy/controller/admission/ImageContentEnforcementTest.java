package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.controller.webhook.WebhookRuntime;
import dev.registrypolicy.controller.webhook.WebhookServer;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.Policy;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Image-content rules need the webhook whatever enforces the rest: the choice registers it for them
 * alone when policy objects enforce the rest, and the policy objects never carry them.
 */
class ImageContentEnforcementTest {
  static final String CA = AdmissionReconcilerProducersTest.CA;

  static final String POLICY =
      String.join(
          "\n",
          "apiVersion: registry-policy.dev/v1alpha1",
          "kind: RegistryPolicy",
          "admission:",
          "  allowedSources: [{prefix: registry.corp.example}]",
          "  rules:",
          "    - {name: no-latest, blockLatestTag: true}",
          "    - {name: content-only-rule, imageMetadata: {denyRunAsRoot: true, maxSize: 1Gi}}",
          "");

  /** mode, webhookServed, policiesServed → policies, full webhook, content webhook, problem. */
  @ParameterizedTest
  @CsvSource({
    "AUTO,    true,  true,  true,  false, true,  false",
    "AUTO,    true,  false, false, true,  false, false",
    "AUTO,    false, true,  true,  false, false, true",
    "POLICY,  true,  true,  true,  false, true,  false",
    "POLICY,  false, true,  true,  false, false, true",
    "WEBHOOK, true,  true,  false, true,  false, false",
    "BOTH,    true,  true,  true,  true,  false, false",
  })
  void choice(
      Enforcement mode,
      boolean webhookServed,
      boolean policiesServed,
      boolean policies,
      boolean webhook,
      boolean content,
      boolean contentProblem) {
    EnforcementChoice c =
        new EnforcementSettings(mode, webhookServed).choose(policiesServed, false, false, true);
    assertEquals(
        List.of(policies, webhook, content),
        List.of(c.policies(), c.validatingWebhook(), c.contentWebhook()),
        c.toString());
    assertEquals(
        contentProblem,
        c.problems().stream().anyMatch(p -> p.startsWith("image-content rules")),
        c.problems().toString());
    EnforcementChoice without =
        new EnforcementSettings(mode, webhookServed).choose(policiesServed, false, false, false);
    assertFalse(without.contentWebhook());
  }

  static WebhookSettings settings() {
    return new WebhookSettings(
        true,
        WebhookSettings.DEFAULT_PORT,
        WebhookSettings.FailurePolicy.FAIL,
        WebhookSettings.DEFAULT_TIMEOUT_SECONDS,
        WebhookSettings.CertificateMode.SELF,
        WebhookSettings.DEFAULT_SECRET,
        WebhookSettings.DEFAULT_SERVICE,
        Policy.NAMESPACE);
  }

  static String path(JsonObject config) {
    return config
        .getAsJsonArray("webhooks")
        .get(0)
        .getAsJsonObject()
        .getAsJsonObject("clientConfig")
        .getAsJsonObject("service")
        .get("path")
        .getAsString();
  }

  @Test
  void policyModeKeepsPolicyObjectsAndTheContentWebhook() throws Exception {
    Policy policy = AdmissionReconcilerFixture.policy(POLICY);
    try (FakeKubeApi fake = new FakeKubeApi().start();
        AdmissionReconcilerFixture fx =
            new AdmissionReconcilerFixture(
                fake, new EnforcementSettings(Enforcement.POLICY, true), 200)) {
      fx.desired.set(WebhookRuntime.admissionObjects(settings(), () -> CA).desired(policy));
      fx.settle(policy, false);
      assertEquals(List.of(), fx.reconciler.status().problems());
      List<JsonObject> vaps = fake.list("validatingadmissionpolicies", null);
      assertFalse(vaps.isEmpty());
      for (JsonObject v : vaps) {
        assertFalse(
            v.toString().contains("content-only-rule"),
            "a ValidatingAdmissionPolicy never evaluates an image-content rule: " + v);
      }
      List<JsonObject> hooks = fake.list("validatingwebhookconfigurations", null);
      assertEquals(1, hooks.size());
      assertEquals(WebhookServer.VALIDATE_CONTENT_PATH, path(hooks.get(0)));
      assertEquals("policy+content-webhook", fx.reconciler.status().enforcement());
    }
  }

  @Test
  void webhookModeUsesTheFullPath() throws Exception {
    Policy policy = AdmissionReconcilerFixture.policy(POLICY);
    try (FakeKubeApi fake = new FakeKubeApi().start();
        AdmissionReconcilerFixture fx =
            new AdmissionReconcilerFixture(
                fake, new EnforcementSettings(Enforcement.WEBHOOK, true), 200)) {
      fx.desired.set(WebhookRuntime.admissionObjects(settings(), () -> CA).desired(policy));
      fx.settle(policy, false);
      List<JsonObject> hooks = fake.list("validatingwebhookconfigurations", null);
      assertEquals(1, hooks.size());
      assertEquals(WebhookServer.VALIDATE_PATH, path(hooks.get(0)));
    }
  }

  @Test
  void aPolicyWithOnlyContentRulesStillGetsTheWebhook() throws Exception {
    Policy policy =
        AdmissionReconcilerFixture.policy(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nadmission:\n"
                + "  rules: [{name: r, imageMetadata: {requireKnownDigest: true}}]\n");
    AdmissionObjects desired =
        WebhookRuntime.admissionObjects(settings(), () -> CA).desired(policy);
    assertEquals(List.of(), desired.policies(), "nothing for CEL to do");
    assertEquals(1, desired.contentWebhooks().size());
    AdmissionObjects kept =
        new EnforcementSettings(Enforcement.AUTO, true)
            .choose(true, false, false, true)
            .select(desired);
    assertEquals(1, kept.validatingWebhooks().size());
    assertTrue(
        kept.validatingWebhooks()
            .get(0)
            .getWebhooks()
            .get(0)
            .getClientConfig()
            .getService()
            .getPath()
            .equals(WebhookServer.VALIDATE_CONTENT_PATH));
  }

  @Test
  void withoutTheWebhookServerTheStatusSaysContentRulesAreNotEnforced() throws Exception {
    Policy policy = AdmissionReconcilerFixture.policy(POLICY);
    try (FakeKubeApi fake = new FakeKubeApi().start();
        AdmissionReconcilerFixture fx =
            new AdmissionReconcilerFixture(
                fake, new EnforcementSettings(Enforcement.AUTO, false), 200)) {
      WebhookSettings disabled =
          new WebhookSettings(
              false,
              WebhookSettings.DEFAULT_PORT,
              WebhookSettings.FailurePolicy.FAIL,
              WebhookSettings.DEFAULT_TIMEOUT_SECONDS,
              WebhookSettings.CertificateMode.SELF,
              WebhookSettings.DEFAULT_SECRET,
              WebhookSettings.DEFAULT_SERVICE,
              Policy.NAMESPACE);
      fx.desired.set(WebhookRuntime.admissionObjects(disabled, () -> CA).desired(policy));
      fx.settle(policy, false);
      assertTrue(
          fx.reconciler.status().problems().stream()
              .anyMatch(p -> p.contains("image-content rules (rules with imageMetadata) are not")),
          fx.reconciler.status().problems().toString());
    }
  }
}
