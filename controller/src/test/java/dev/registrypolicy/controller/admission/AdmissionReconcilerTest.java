package dev.registrypolicy.controller.admission;

import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.POLICY_WITHOUT_GRANTS;
import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.POLICY_WITH_GRANTS;
import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.await;
import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.full;
import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.policy;
import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.vap;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.controller.Labels;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBindingSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link AdmissionReconciler} with its real client and informers against the in-process API. */
class AdmissionReconcilerTest {
  static final Policy GRANTS = policy(POLICY_WITH_GRANTS);
  static final Policy NO_GRANTS = policy(POLICY_WITHOUT_GRANTS);
  static final String VAP = "validatingadmissionpolicies";
  static final String BINDING = "validatingadmissionpolicybindings";
  static final String VWC = "validatingwebhookconfigurations";
  static final String MWC = "mutatingwebhookconfigurations";

  FakeKubeApi fake;
  AdmissionReconcilerFixture fx;

  @BeforeEach
  void startApi() throws Exception {
    fake = new FakeKubeApi().start();
  }

  @AfterEach
  void stop() {
    if (fx != null) {
      fx.close();
    }
    fake.close();
  }

  AdmissionReconcilerFixture fixture(Enforcement mode, boolean webhookServed) {
    fx = new AdmissionReconcilerFixture(fake, new EnforcementSettings(mode, webhookServed), 200);
    return fx;
  }

  static String label(JsonObject o) {
    JsonObject labels = o.getAsJsonObject("metadata").getAsJsonObject("labels");
    return labels == null || !labels.has(Labels.MANAGED_BY_LABEL)
        ? null
        : labels.get(Labels.MANAGED_BY_LABEL).getAsString();
  }

  static String rv(JsonObject o) {
    return o.getAsJsonObject("metadata").get("resourceVersion").getAsString();
  }

  @Test
  void createsEverything_labelled_policyBeforeBinding() throws Exception {
    fixture(Enforcement.BOTH, true).desired.set(full("denied", "CA1"));
    assertEquals(6, fx.settle(GRANTS, false));
    for (String r : List.of(VAP, BINDING)) {
      for (String n : List.of("registry-policy-deny", "registry-policy-warn")) {
        JsonObject o = fake.get(r, null, n);
        assertNotNull(o, r + "/" + n);
        assertEquals(Labels.MANAGED_BY, label(o));
      }
    }
    assertEquals(Labels.MANAGED_BY, label(fake.get(VWC, null, "registry-policy")));
    assertEquals(Labels.MANAGED_BY, label(fake.get(MWC, null, "registry-policy")));
    List<String> w = fx.admissionWrites();
    assertTrue(w.indexOf("POST " + VAP) < w.indexOf("POST " + BINDING), "policies first: " + w);
    assertEquals("policy+webhook", fx.reconciler.status().enforcement());
    assertEquals(List.of(), fx.reconciler.status().problems());
  }

  @Test
  void steadyState_zeroWritesOverSeveralResyncs_thoughTheServerDefaultedFields() throws Exception {
    fixture(Enforcement.BOTH, true).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    // The server filled in what the desired objects leave out.
    JsonObject hook =
        fake.get(VWC, null, "registry-policy").getAsJsonArray("webhooks").get(0).getAsJsonObject();
    assertEquals(10, hook.get("timeoutSeconds").getAsInt());
    assertEquals("Equivalent", hook.get("matchPolicy").getAsString());
    assertEquals(
        443,
        hook.getAsJsonObject("clientConfig").getAsJsonObject("service").get("port").getAsInt());
    assertEquals(
        "Never",
        fake.get(MWC, null, "registry-policy")
            .getAsJsonArray("webhooks")
            .get(0)
            .getAsJsonObject()
            .get("reinvocationPolicy")
            .getAsString());
    assertEquals(
        "Fail",
        fake.get(VAP, null, "registry-policy-deny")
            .getAsJsonObject("spec")
            .get("failurePolicy")
            .getAsString());
    fake.resetCounters();
    long writes = fx.writes.get();
    for (int i = 0; i < 5; i++) {
      Thread.sleep(250); // > the 200 ms informer resync
      assertEquals(AdmissionReconciler.Result.DONE, fx.reconciler.reconcile(GRANTS, false));
    }
    assertEquals(0, fake.writes(), "no write at steady state: " + fake.requests());
    assertEquals(writes, fx.writes.get());
    // and none was even read by name: the caches answered
    assertTrue(
        fake.requests().stream()
            .noneMatch(r -> r.name() != null && r.resource() != null && !r.isWatch()),
        fake.requests().toString());
  }

  @Test
  void policyChange_updatesOnlyWhatChanged_keepingOthersLabels() throws Exception {
    fixture(Enforcement.BOTH, true).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    fake.mutate(
        VAP,
        null,
        "registry-policy-deny",
        o -> o.getAsJsonObject("metadata").getAsJsonObject("labels").addProperty("team", "sec"));
    await(
        () ->
            fx.caches.managed(AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY).stream()
                .anyMatch(o -> "sec".equals(o.getMetadata().getLabels().get("team"))),
        "the cache shows their label");
    String warnRv = rv(fake.get(VAP, null, "registry-policy-warn"));
    AdmissionObjects changed =
        new AdmissionObjects(
            List.of(
                vap("registry-policy-deny", "denied now"), vap("registry-policy-warn", "denied")),
            full("x", "CA2").bindings(),
            full("x", "CA2").validatingWebhooks(),
            full("x", "CA2").mutatingWebhooks(),
            List.of());
    fake.resetCounters();
    fx.desired.set(changed);
    assertEquals(3, fx.settle(GRANTS, false)); // deny policy, both webhook configurations (CA)
    assertEquals(
        List.of(
            "PUT " + VAP + "/registry-policy-deny",
            "PUT " + VWC + "/registry-policy",
            "PUT " + MWC + "/registry-policy"),
        fx.admissionWrites());
    JsonObject deny = fake.get(VAP, null, "registry-policy-deny");
    assertEquals(
        "denied now",
        deny.getAsJsonObject("spec")
            .getAsJsonArray("validations")
            .get(0)
            .getAsJsonObject()
            .get("message")
            .getAsString());
    assertEquals(
        "sec",
        deny.getAsJsonObject("metadata").getAsJsonObject("labels").get("team").getAsString());
    assertEquals(warnRv, rv(fake.get(VAP, null, "registry-policy-warn")));
  }

  @Test
  void handEditOfAManagedObject_isUndone_includingAFieldTheServerDefaults() throws Exception {
    fixture(Enforcement.WEBHOOK, true).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    fake.mutate(
        VWC,
        null,
        "registry-policy",
        o ->
            o.getAsJsonArray("webhooks")
                .get(0)
                .getAsJsonObject()
                .addProperty("timeoutSeconds", 30));
    await(
        () -> {
          fx.reconciler.reconcile(GRANTS, false);
          return fake.get(VWC, null, "registry-policy")
                  .getAsJsonArray("webhooks")
                  .get(0)
                  .getAsJsonObject()
                  .get("timeoutSeconds")
                  .getAsInt()
              == 10;
        },
        "timeoutSeconds back to the default the desired object implies");
  }

  @Test
  void removedSection_andRemovedPolicy_deleteEverything_bindingBeforeItsPolicy() throws Exception {
    fixture(Enforcement.BOTH, true).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    fake.resetCounters();
    fx.desired.set(AdmissionObjects.empty()); // the admission section was removed
    assertEquals(6, fx.settle(GRANTS, false));
    for (String r : List.of(VAP, BINDING, VWC, MWC)) {
      assertEquals(List.of(), fake.list(r, null), r);
    }
    List<String> w = fx.admissionWrites();
    assertTrue(
        w.indexOf("DELETE " + BINDING + "/registry-policy-deny")
            < w.indexOf("DELETE " + VAP + "/registry-policy-deny"),
        w.toString());

    // The whole policy: the source is not even asked.
    fx.desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    assertEquals(2, fake.list(VAP, null).size());
    fx.desired.set(null); // a source call would now fail
    assertEquals(6, fx.settle(GRANTS, true));
    for (String r : List.of(VAP, BINDING, VWC, MWC)) {
      assertEquals(List.of(), fake.list(r, null), r);
    }
  }

  @Test
  void foreignObjectsWithOurNames_areNeverTouched_andReported() throws Exception {
    V1ValidatingAdmissionPolicy theirs = vap("registry-policy-deny", "theirs");
    theirs.getMetadata().labels(Map.of("owner", "someone-else"));
    fake.create(theirs);
    V1ValidatingAdmissionPolicyBinding theirBinding =
        new V1ValidatingAdmissionPolicyBinding()
            .metadata(new V1ObjectMeta().name("unrelated"))
            .spec(
                new V1ValidatingAdmissionPolicyBindingSpec()
                    .policyName("registry-policy-deny")
                    .validationActions(List.of("Audit")));
    fake.create(theirBinding);
    String theirRv = rv(fake.get(VAP, null, "registry-policy-deny"));
    fixture(Enforcement.BOTH, true).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    // Still theirs, unchanged; the binding of ours for it is written (it names the policy).
    assertEquals(theirRv, rv(fake.get(VAP, null, "registry-policy-deny")));
    assertNull(label(fake.get(VAP, null, "registry-policy-deny")));
    AdmissionReconciler.Status s = fx.reconciler.status();
    assertEquals(List.of("ValidatingAdmissionPolicy/registry-policy-deny"), s.conflicts());
    assertTrue(
        s.problems().stream()
            .anyMatch(p -> p.contains("registry-policy-deny exists and is not managed")),
        s.problems().toString());
    assertEquals(1, fx.events.size(), fx.events.toString());
    assertTrue(fx.events.get(0).startsWith("AdmissionObjectConflict: "), fx.events.toString());

    // Steady state with the conflict: reads, no writes, no second Event.
    fake.resetCounters();
    for (int i = 0; i < 3; i++) {
      fx.reconciler.reconcile(GRANTS, false);
    }
    assertEquals(0, fake.writes(), fake.requests().toString());
    assertEquals(1, fx.events.size());

    // Nothing desired any more: ours go, theirs stay.
    fx.desired.set(AdmissionObjects.empty());
    fx.settle(GRANTS, false);
    assertEquals(theirRv, rv(fake.get(VAP, null, "registry-policy-deny")));
    assertNotNull(fake.get(BINDING, null, "unrelated"));
    assertEquals(List.of(), fx.reconciler.status().conflicts());

    // They delete theirs: the controller creates its own on the next pass.
    fx.desired.set(full("denied", "CA1"));
    fake.delete(VAP, null, "registry-policy-deny");
    fx.settle(GRANTS, false);
    assertEquals(Labels.MANAGED_BY, label(fake.get(VAP, null, "registry-policy-deny")));
  }

  @Test
  void auto_usesPoliciesWhenDiscoveryShowsThem_elseTheWebhook() throws Exception {
    fixture(Enforcement.AUTO, true).desired.set(full("denied", "CA1"));
    fx.settle(NO_GRANTS, false);
    assertEquals(2, fake.list(VAP, null).size());
    assertEquals(2, fake.list(BINDING, null).size());
    assertEquals(List.of(), fake.list(VWC, null));
    assertEquals(List.of(), fake.list(MWC, null), "no grants: no mutating webhook");
    assertEquals("policy", fx.reconciler.status().enforcement());
  }

  @Test
  void auto_withoutDiscovery_usesTheWebhook_andNeverTouchesThePolicyApi() throws Exception {
    fake.withoutValidatingAdmissionPolicies(); // a cluster before 1.30
    fixture(Enforcement.AUTO, true).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    assertEquals(1, fake.list(VWC, null).size());
    assertEquals(1, fake.list(MWC, null).size(), "grants: the mutating webhook");
    assertEquals("webhook", fx.reconciler.status().enforcement());
    assertEquals(List.of(), fx.reconciler.status().problems());
    assertTrue(
        fake.requests().stream()
            .noneMatch(r -> VAP.equals(r.resource()) || BINDING.equals(r.resource())),
        "no request to a resource the API does not serve");
  }

  @Test
  void policyMode_withoutDiscovery_reportsThatNothingEnforces() throws Exception {
    fake.withoutValidatingAdmissionPolicies();
    fixture(Enforcement.POLICY, true).desired.set(full("denied", "CA1"));
    fx.settle(NO_GRANTS, false);
    assertEquals(List.of(), fake.list(VWC, null));
    assertEquals("none", fx.reconciler.status().enforcement());
    assertTrue(
        fx.reconciler.status().problems().stream()
            .anyMatch(p -> p.contains("does not serve") && p.contains("not enforced")),
        fx.reconciler.status().problems().toString());
  }

  @Test
  void auto_policiesTooBig_fallsBackToTheWebhook_andRemovesThePolicies() throws Exception {
    fixture(Enforcement.AUTO, true).desired.set(full("denied", "CA1"));
    fx.settle(NO_GRANTS, false);
    assertEquals(2, fake.list(VAP, null).size());
    fx.desired.set(full("denied", "CA1").withPoliciesTooBig());
    fake.resetCounters();
    fx.settle(NO_GRANTS, false);
    List<String> w = fx.admissionWrites();
    assertTrue(
        w.indexOf("POST " + VWC) < w.indexOf("DELETE " + BINDING + "/registry-policy-deny"),
        "the webhook before the policies go: " + w);
    assertEquals(List.of(), fake.list(VAP, null));
    assertEquals(1, fake.list(VWC, null).size());
    assertEquals("webhook", fx.reconciler.status().enforcement());
    assertTrue(
        fx.reconciler.status().problems().stream().anyMatch(p -> p.contains("too big")),
        fx.reconciler.status().problems().toString());
  }

  @Test
  void auto_policyRejectedByTheApiServer_fallsBackToTheWebhook() throws Exception {
    fixture(Enforcement.AUTO, true).desired.set(full("denied", "CA1"));
    FakeKubeApi.Registration rejecting = fake.failNext("POST", "/" + VAP + "$", 422, 100);
    try {
      for (int i = 0; i < 3; i++) {
        fx.reconciler.reconcile(NO_GRANTS, false);
      }
      fx.settle(NO_GRANTS, false);
    } finally {
      rejecting.close();
    }
    assertEquals(List.of(), fake.list(VAP, null));
    assertEquals(1, fake.list(VWC, null).size());
    assertTrue(
        fx.reconciler.status().problems().stream()
            .anyMatch(
                p ->
                    p.contains("rejected ValidatingAdmissionPolicy registry-policy-")
                        && p.contains("(422)")
                        && p.endsWith("the validating webhook enforces this policy instead")),
        fx.reconciler.status().problems().toString());
    // A different policy is tried with ValidatingAdmissionPolicy again.
    fx.settle(GRANTS, false);
    assertEquals(2, fake.list(VAP, null).size());
  }

  @Test
  void webhookNotServed_keepsNoWebhookConfiguration() throws Exception {
    fixture(Enforcement.BOTH, false).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    assertEquals(2, fake.list(VAP, null).size());
    assertEquals(List.of(), fake.list(VWC, null));
    assertEquals(List.of(), fake.list(MWC, null));
    assertTrue(
        fx.reconciler.status().problems().stream().anyMatch(p -> p.contains("not served")),
        fx.reconciler.status().problems().toString());
  }

  @Test
  void neverAValidPolicy_touchesNothing_andAFailingWriteDeletesNothing() throws Exception {
    fixture(Enforcement.BOTH, true).desired.set(full("denied", "CA1"));
    assertEquals(AdmissionReconciler.Result.DONE, fx.reconciler.reconcile(null, false));
    assertEquals(0, fake.writes());
    fx.settle(GRANTS, false);
    // The new set drops the warn policy and changes the webhook; the webhook write fails.
    fx.desired.set(
        new AdmissionObjects(
            List.of(vap("registry-policy-deny", "denied")),
            List.of(AdmissionReconcilerFixture.binding("registry-policy-deny", "Deny")),
            full("x", "CA2").validatingWebhooks(),
            full("x", "CA1").mutatingWebhooks(),
            List.of()));
    FakeKubeApi.Registration failing = fake.failNext("PUT", VWC, 500, 1);
    try {
      assertEquals(AdmissionReconciler.Result.REQUEUE, fx.reconciler.reconcile(GRANTS, false));
    } finally {
      failing.close();
    }
    assertEquals(2, fake.list(VAP, null).size(), "no delete in a pass whose write failed");
    fx.settle(GRANTS, false);
    assertEquals(1, fake.list(VAP, null).size());
  }

  @Test
  void aSourceThatThrows_leavesEverythingAsItIs() throws Exception {
    fixture(Enforcement.BOTH, true).desired.set(full("denied", "CA1"));
    fx.settle(GRANTS, false);
    fake.resetCounters();
    fx.desired.set(null); // the source now answers null
    assertEquals(AdmissionReconciler.Result.DONE, fx.reconciler.reconcile(GRANTS, false));
    assertEquals(0, fake.writes());
    assertTrue(
        fx.reconciler.status().problems().get(0).startsWith("admission objects could not be built"),
        fx.reconciler.status().problems().toString());
    AdmissionReconciler throwing =
        new AdmissionReconciler(
            fx.caches,
            new AdmissionReconcilerClient(fake.client(), (a, b) -> {}),
            p -> {
              throw new IllegalArgumentException("producer bug");
            },
            new EnforcementSettings(Enforcement.BOTH, true),
            () -> {},
            System::nanoTime,
            1);
    assertEquals(AdmissionReconciler.Result.DONE, throwing.reconcile(GRANTS, false));
    assertEquals(0, fake.writes());
    assertEquals(
        List.of(
            "admission objects could not be built (producer bug); the admission objects in the"
                + " cluster are left as they are until the policy or what the objects are built"
                + " from changes"),
        throwing.status().problems());
  }

  @Test
  void unnamedAndDuplicateObjects_areReported_notWritten() throws Exception {
    V1ValidatingAdmissionPolicy unnamed = vap("x", "m");
    unnamed.getMetadata().setName(null);
    fixture(Enforcement.POLICY, false)
        .desired
        .set(
            new AdmissionObjects(
                List.of(
                    unnamed, vap("registry-policy-deny", "a"), vap("registry-policy-deny", "b")),
                List.of(),
                List.of(),
                List.of(),
                List.of("a producer problem")));
    fx.settle(NO_GRANTS, false);
    assertEquals(1, fake.list(VAP, null).size());
    List<String> p = fx.reconciler.status().problems();
    assertTrue(p.contains("a producer problem"), p.toString());
    assertTrue(p.contains("ValidatingAdmissionPolicy #1 has no metadata.name; it is not written"));
    assertTrue(
        p.contains(
            "ValidatingAdmissionPolicy registry-policy-deny is asked for twice; only the first one"
                + " is written"));
  }

  @Test
  void discoveryAnswersForTheGroup_andHidesPoliciesWhenNotServed() throws Exception {
    AdmissionReconcilerClient c = new AdmissionReconcilerClient(fake.client(), (a, b) -> {});
    assertTrue(c.policiesServed());
    String list = fake.client().getBasePath() + "/apis/admissionregistration.k8s.io/v1";
    fake.withoutValidatingAdmissionPolicies();
    assertFalse(c.policiesServed());
    JsonObject group =
        JsonParser.parseString(
                new String(
                    java.net.URI.create(list).toURL().openStream().readAllBytes(),
                    java.nio.charset.StandardCharsets.UTF_8))
            .getAsJsonObject();
    assertEquals(
        List.of("validatingwebhookconfigurations", "mutatingwebhookconfigurations"),
        group.getAsJsonArray("resources").asList().stream()
            .map(e -> e.getAsJsonObject().get("name").getAsString())
            .toList());
  }
}
