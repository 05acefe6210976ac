package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.controller.webhook.WebhookConfigurations;
import dev.registrypolicy.controller.webhook.WebhookRuntime;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.Policy;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The objects the real producers build ({@link ValidatingPolicies}, {@link WebhookConfigurations})
 * reconcile to zero writes on the in-process API, which applies the API server's defaults to them;
 * the source is the controller's own ({@link WebhookRuntime#admissionObjects}).
 */
class AdmissionReconcilerProducersTest {
  static final String CA =
      "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"; // opaque here

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
          "    namespaces: {names: [team-a], selector: {matchLabels: {pull: corp}}}",
          "    serviceAccounts: all",
          "admission:",
          "  mode: Deny",
          "  allowedSources:",
          "    - prefix: registry.corp.example",
          "    - prefix: registry.corp.example/team-a",
          "      scope: {names: [team-a]}",
          "  rules:",
          "    - {name: no-latest, blockLatestTag: true, mode: Warn}",
          "    - {name: pinned, requireDigest: true, mode: Audit}",
          "");

  /** The controller's own composition of the two producers. */
  static AdmissionObjectsSource producers(WebhookSettings ws, String caBundle) {
    return WebhookRuntime.admissionObjects(ws, () -> caBundle);
  }

  @Test
  void theProducersObjects_settle_andCostNoWriteAtSteadyState() throws Exception {
    WebhookSettings ws =
        new WebhookSettings(
            true,
            WebhookSettings.DEFAULT_PORT,
            WebhookSettings.FailurePolicy.FAIL,
            WebhookSettings.DEFAULT_TIMEOUT_SECONDS,
            WebhookSettings.CertificateMode.SELF,
            WebhookSettings.DEFAULT_SECRET,
            WebhookSettings.DEFAULT_SERVICE,
            Policy.NAMESPACE);
    Policy policy = AdmissionReconcilerFixture.policy(POLICY);
    try (FakeKubeApi fake = new FakeKubeApi().start();
        AdmissionReconcilerFixture fx =
            new AdmissionReconcilerFixture(
                fake, new EnforcementSettings(Enforcement.BOTH, true), 200)) {
      fx.desired.set(producers(ws, CA).desired(policy));
      long made = fx.settle(policy, false);
      assertEquals(List.of(), fx.reconciler.status().problems());
      assertEquals(3, fake.list("validatingadmissionpolicies", null).size());
      assertEquals(3, fake.list("validatingadmissionpolicybindings", null).size());
      assertEquals(1, fake.list("validatingwebhookconfigurations", null).size());
      assertEquals(1, fake.list("mutatingwebhookconfigurations", null).size());
      assertEquals(8, made, "one write per object");
      fake.resetCounters();
      for (int i = 0; i < 5; i++) {
        Thread.sleep(250);
        assertEquals(AdmissionReconciler.Result.DONE, fx.reconciler.reconcile(policy, false));
      }
      assertEquals(0, fake.writes(), fake.requests().toString());
      // The same policy built again (as after a restart) is still equal to what is stored.
      fx.desired.set(producers(ws, CA).desired(policy));
      assertEquals(0, fx.settle(policy, false));
      // A new CA bundle rewrites exactly the two webhook configurations.
      fx.desired.set(producers(ws, CA.replace("test", "next")).desired(policy));
      assertEquals(2, fx.settle(policy, false));
      assertTrue(fx.admissionWrites().stream().allMatch(w -> w.startsWith("PUT ")));
    }
  }
}
