package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.fail;

import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import io.kubernetes.client.openapi.models.AdmissionregistrationV1ServiceReference;
import io.kubernetes.client.openapi.models.AdmissionregistrationV1WebhookClientConfig;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1LabelSelectorRequirement;
import io.kubernetes.client.openapi.models.V1MatchResources;
import io.kubernetes.client.openapi.models.V1MutatingWebhook;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1NamedRuleWithOperations;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1RuleWithOperations;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBindingSpec;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicySpec;
import io.kubernetes.client.openapi.models.V1ValidatingWebhook;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1Validation;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * An {@link AdmissionReconciler} with its real client and informers against the in-process API, and
 * desired objects built by hand the way the producers build them (names registry-policy-deny,
 * -warn, -audit and registry-policy; no server-defaulted field set).
 */
final class AdmissionReconcilerFixture implements AutoCloseable {
  static final String POLICY_WITH_GRANTS =
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
          "admission:",
          "  allowedSources: [{prefix: registry.corp.example}]",
          "");

  static final String POLICY_WITHOUT_GRANTS =
      String.join(
          "\n",
          "apiVersion: registry-policy.dev/v1alpha1",
          "kind: RegistryPolicy",
          "admission:",
          "  allowedSources: [{prefix: registry.corp.example}]",
          "");

  final FakeKubeApi fake;
  final AdmissionReconcilerInformers caches;
  final AdmissionReconciler reconciler;
  final AtomicReference<AdmissionObjects> desired = new AtomicReference<>(AdmissionObjects.empty());
  final AtomicLong writes = new AtomicLong();
  final List<String> events = new ArrayList<>();

  AdmissionReconcilerFixture(FakeKubeApi fake, EnforcementSettings settings, long resyncMillis) {
    this.fake = fake;
    caches = new AdmissionReconcilerInformers(fake.client(), resyncMillis);
    AdmissionReconcilerClient client =
        new AdmissionReconcilerClient(
            fake.client(),
            (reason, message) -> {
              synchronized (events) {
                events.add(reason + ": " + message);
              }
            });
    reconciler =
        new AdmissionReconciler(
            caches,
            client,
            p -> desired.get(),
            settings,
            writes::incrementAndGet,
            System::nanoTime,
            60_000_000_000L);
    caches.onEvent(reconciler::observed);
    caches.start();
  }

  static Policy policy(String text) {
    try {
      return PolicyDocument.parse(text);
    } catch (Exception e) {
      throw new AssertionError("test policy does not parse", e);
    }
  }

  /**
   * Passes until one finds nothing to write; fails after 10 s. Returns the number of writes made.
   */
  long settle(Policy policy, boolean removed) throws InterruptedException {
    long start = writes.get();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      long before = writes.get();
      AdmissionReconciler.Result r = reconciler.reconcile(policy, removed);
      if (r == AdmissionReconciler.Result.DONE && writes.get() == before) {
        return writes.get() - start;
      }
      Thread.sleep(20);
    }
    List<String> w = admissionWrites();
    fail(
        "the admission objects did not settle; status "
            + reconciler.status()
            + "; last writes "
            + w.subList(Math.max(0, w.size() - 8), w.size()));
    return -1;
  }

  static void await(BooleanSupplier cond, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (cond.getAsBoolean()) {
        return;
      }
      Thread.sleep(20);
    }
    fail("timed out waiting for " + what);
  }

  /** Writes on the four admission resources in the request log, as "METHOD resource/name". */
  List<String> admissionWrites() {
    List<String> out = new ArrayList<>();
    for (Request r : fake.requests()) {
      if (r.isWrite() && r.resource() != null && r.resource().contains("webhook")
          || r.isWrite() && r.resource() != null && r.resource().contains("admissionpolic")) {
        out.add(r.method() + " " + r.resource() + (r.name() == null ? "" : "/" + r.name()));
      }
    }
    return out;
  }

  @Override
  public void close() {
    caches.stop();
  }

  // ------------------------------------------------------------------- desired objects

  static V1ValidatingAdmissionPolicy vap(String name, String message) {
    return new V1ValidatingAdmissionPolicy()
        .metadata(new V1ObjectMeta().name(name))
        .spec(
            new V1ValidatingAdmissionPolicySpec()
                .matchConstraints(
                    new V1MatchResources()
                        .addResourceRulesItem(
                            new V1NamedRuleWithOperations()
                                .apiGroups(List.of(""))
                                .apiVersions(List.of("v1"))
                                .operations(List.of("CREATE", "UPDATE"))
                                .resources(List.of("pods", "pods/ephemeralcontainers"))))
                .addValidationsItem(
                    new V1Validation()
                        .expression("object.spec.containers.all(c, c.image != '')")
                        .message(message)));
  }

  static V1ValidatingAdmissionPolicyBinding binding(String name, String action) {
    return new V1ValidatingAdmissionPolicyBinding()
        .metadata(new V1ObjectMeta().name(name))
        .spec(
            new V1ValidatingAdmissionPolicyBindingSpec()
                .policyName(name)
                .validationActions(List.of(action))
                .matchResources(
                    new V1MatchResources()
                        .namespaceSelector(
                            new V1LabelSelector()
                                .addMatchExpressionsItem(
                                    new V1LabelSelectorRequirement()
                                        .key("kubernetes.io/metadata.name")
                                        .operator("NotIn")
                                        .values(List.of("kube-system", "registry-policy"))))));
  }

  static V1ValidatingWebhookConfiguration vwc(String ca) {
    return new V1ValidatingWebhookConfiguration()
        .metadata(new V1ObjectMeta().name("registry-policy"))
        .addWebhooksItem(
            new V1ValidatingWebhook()
                .name("validate.registry-policy.dev")
                .clientConfig(clientConfig("/validate", ca))
                .addRulesItem(
                    new V1RuleWithOperations()
                        .apiGroups(List.of(""))
                        .apiVersions(List.of("v1"))
                        .operations(List.of("CREATE", "UPDATE"))
                        .resources(List.of("pods")))
                .sideEffects("None")
                .admissionReviewVersions(List.of("v1")));
  }

  static V1MutatingWebhookConfiguration mwc(String ca) {
    return new V1MutatingWebhookConfiguration()
        .metadata(new V1ObjectMeta().name("registry-policy"))
        .addWebhooksItem(
            new V1MutatingWebhook()
                .name("pull-secrets.registry-policy.dev")
                .clientConfig(clientConfig("/mutate", ca))
                .addRulesItem(
                    new V1RuleWithOperations()
                        .apiGroups(List.of(""))
                        .apiVersions(List.of("v1"))
                        .operations(List.of("CREATE"))
                        .resources(List.of("pods")))
                .failurePolicy("Ignore")
                .sideEffects("None")
                .admissionReviewVersions(List.of("v1")));
  }

  private static AdmissionregistrationV1WebhookClientConfig clientConfig(String path, String ca) {
    return new AdmissionregistrationV1WebhookClientConfig()
        .service(
            new AdmissionregistrationV1ServiceReference()
                .name("registry-policy-webhook")
                .namespace("registry-policy")
                .path(path))
        .caBundle(ca.getBytes(StandardCharsets.US_ASCII));
  }

  /** deny and warn policies with bindings, both webhook configurations. */
  static AdmissionObjects full(String message, String ca) {
    return new AdmissionObjects(
        List.of(vap("registry-policy-deny", message), vap("registry-policy-warn", message)),
        List.of(binding("registry-policy-deny", "Deny"), binding("registry-policy-warn", "Warn")),
        List.of(vwc(ca)),
        List.of(mwc(ca)),
        List.of());
  }
}
