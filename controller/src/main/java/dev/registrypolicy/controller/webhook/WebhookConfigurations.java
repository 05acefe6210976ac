package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.controller.Labels;
import dev.registrypolicy.policy.AccessGrant;
import dev.registrypolicy.policy.LabelSelector;
import dev.registrypolicy.policy.NamespaceSelector;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.models.AdmissionregistrationV1ServiceReference;
import io.kubernetes.client.openapi.models.AdmissionregistrationV1WebhookClientConfig;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1LabelSelectorRequirement;
import io.kubernetes.client.openapi.models.V1MatchCondition;
import io.kubernetes.client.openapi.models.V1MutatingWebhook;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1RuleWithOperations;
import io.kubernetes.client.openapi.models.V1ValidatingWebhook;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The webhook configurations the controller keeps: pure functions of the settings, the policy and
 * the CA bundle.
 */
public final class WebhookConfigurations {
  /** Both configurations' name. */
  public static final String NAME = "registry-policy";

  /** The Service port the API server calls (the Service maps it to the server's port). */
  public static final int SERVICE_PORT = 443;

  /** The validating webhook's name (a webhook name must be fully qualified). */
  public static final String VALIDATING_WEBHOOK = "validate.registry-policy.dev";

  /**
   * The label the control plane sets on every namespace to its name (Kubernetes docs,
   * concepts/overview/working-with-objects/namespaces: "The Kubernetes control plane sets an
   * immutable label kubernetes.io/metadata.name on all namespaces"), so namespaceSelector can
   * select by name.
   */
  public static final String NAME_LABEL = "kubernetes.io/metadata.name";

  private WebhookConfigurations() {}

  /**
   * The validating configuration: every {@link WorkloadKind} on CREATE and UPDATE plus {@code
   * pods/ephemeralcontainers}, skipping the exempt namespaces by namespaceSelector.
   *
   * @param exemptNamespaces the namespaces the policy exempts (the API server then never calls the
   *     webhook for them; the webhook itself checks exemption too)
   */
  public static V1ValidatingWebhookConfiguration validating(
      WebhookSettings settings, Set<String> exemptNamespaces, String caBundlePem) {
    return validating(settings, exemptNamespaces, caBundlePem, WebhookServer.VALIDATE_PATH);
  }

  /**
   * {@link #validating(WebhookSettings, Set, String)} calling {@code path}: {@link
   * WebhookServer#VALIDATE_PATH} (every rule) or {@link WebhookServer#VALIDATE_CONTENT_PATH} (the
   * image-content rules alone).
   */
  public static V1ValidatingWebhookConfiguration validating(
      WebhookSettings settings, Set<String> exemptNamespaces, String caBundlePem, String path) {
    List<V1RuleWithOperations> rules = new ArrayList<>();
    for (WorkloadKind k : WorkloadKind.values()) {
      rules.add(rule(k.group(), k.version(), k.resource(), List.of("CREATE", "UPDATE")));
    }
    rules.add(rule("", "v1", WorkloadKind.EPHEMERAL_SUBRESOURCE, List.of("UPDATE")));
    V1LabelSelector ns = new V1LabelSelector();
    if (!exemptNamespaces.isEmpty()) {
      ns.addMatchExpressionsItem(
          new V1LabelSelectorRequirement()
              .key(NAME_LABEL)
              .operator("NotIn")
              .values(List.copyOf(new TreeSet<>(exemptNamespaces))));
    }
    V1ValidatingWebhook hook =
        new V1ValidatingWebhook()
            .name(VALIDATING_WEBHOOK)
            .admissionReviewVersions(List.of("v1"))
            .sideEffects("None")
            .failurePolicy(settings.failurePolicy().wireName())
            .timeoutSeconds(settings.timeoutSeconds())
            .matchPolicy("Equivalent")
            .namespaceSelector(ns)
            .rules(rules)
            .clientConfig(client(settings, path, caBundlePem));
    return new V1ValidatingWebhookConfiguration()
        .apiVersion("admissionregistration.k8s.io/v1")
        .kind("ValidatingWebhookConfiguration")
        .metadata(meta())
        .webhooks(List.of(hook));
  }

  /**
   * The mutating configuration: for each access grant that gives a Secret to some ServiceAccounts,
   * one webhook on Pod CREATE whose namespaceSelector is the grant's namespaces (names through
   * {@link #NAME_LABEL} In, a label selector as it is; a grant with both gets two entries, since
   * one selector cannot say "or") and whose matchConditions pass only Pods of the grant's
   * ServiceAccounts that do not list its Secret yet. So Pods that carry their Secret, and Pods in
   * namespaces no grant selects, never reach the webhook. failurePolicy Ignore: a webhook outage
   * never blocks Pod creation. Null when no grant needs one (no configuration then).
   */
  public static V1MutatingWebhookConfiguration mutating(
      WebhookSettings settings, Policy policy, String caBundlePem) {
    List<V1MutatingWebhook> hooks = new ArrayList<>();
    List<AccessGrant> grants = policy.access();
    for (int i = 0; i < grants.size(); i++) {
      AccessGrant g = grants.get(i);
      if (!g.serviceAccounts().all() && g.serviceAccounts().names().isEmpty()) {
        continue; // gives its Secret to no ServiceAccount
      }
      List<V1MatchCondition> conditions = matchConditions(g);
      for (Map.Entry<String, V1LabelSelector> sel : selectors(g.namespaces()).entrySet()) {
        hooks.add(
            new V1MutatingWebhook()
                .name(hookName(i, g.name(), sel.getKey()))
                .admissionReviewVersions(List.of("v1"))
                .sideEffects("None")
                .failurePolicy("Ignore")
                .reinvocationPolicy("Never")
                .timeoutSeconds(settings.timeoutSeconds())
                .matchPolicy("Equivalent")
                .namespaceSelector(sel.getValue())
                .rules(List.of(rule("", "v1", "pods", List.of("CREATE"))))
                .matchConditions(conditions)
                .clientConfig(client(settings, WebhookServer.MUTATE_PATH, caBundlePem)));
      }
    }
    if (hooks.isEmpty()) {
      return null;
    }
    return new V1MutatingWebhookConfiguration()
        .apiVersion("admissionregistration.k8s.io/v1")
        .kind("MutatingWebhookConfiguration")
        .metadata(meta())
        .webhooks(hooks);
  }

  /**
   * The grant's match conditions (at most 2; the API allows 64): the Pod does not list the grant's
   * Secret, and (unless the grant covers all ServiceAccounts) runs as one of its ServiceAccounts.
   * Only functions of Kubernetes' CEL base library are used ({@code has}, {@code exists}, {@code
   * in}, the conditional operator), valid since matchConditions exist.
   */
  static List<V1MatchCondition> matchConditions(AccessGrant g) {
    List<V1MatchCondition> out = new ArrayList<>();
    out.add(
        new V1MatchCondition()
            .name("lacks-pull-secret")
            .expression(
                "!has(object.spec.imagePullSecrets) || !object.spec.imagePullSecrets.exists(s,"
                    + " has(s.name) && s.name == "
                    + cel(g.secretName())
                    + ")"));
    if (!g.serviceAccounts().all()) {
      List<String> names = new ArrayList<>(new TreeSet<>(g.serviceAccounts().names()));
      StringBuilder list = new StringBuilder("[");
      for (int i = 0; i < names.size(); i++) {
        list.append(i == 0 ? "" : ", ").append(cel(names.get(i)));
      }
      list.append(']');
      out.add(
          new V1MatchCondition()
              .name("granted-service-account")
              .expression(
                  "(has(object.spec.serviceAccountName) && object.spec.serviceAccountName != ''"
                      + " ? object.spec.serviceAccountName : 'default') in "
                      + list));
    }
    return out;
  }

  /** Key "names", "labels" or "all" to the namespaceSelector, each with the exclusions. */
  static Map<String, V1LabelSelector> selectors(NamespaceSelector s) {
    Map<String, V1LabelSelector> out = new TreeMap<>();
    if (s.selectsAll()) {
      out.put("all", exclude(new V1LabelSelector(), s.exclude()));
      return out;
    }
    if (!s.names().isEmpty()) {
      out.put(
          "names",
          exclude(
              new V1LabelSelector()
                  .addMatchExpressionsItem(
                      new V1LabelSelectorRequirement()
                          .key(NAME_LABEL)
                          .operator("In")
                          .values(List.copyOf(new TreeSet<>(s.names())))),
              s.exclude()));
    }
    if (s.selector() != null) {
      LabelSelector l = s.selector();
      V1LabelSelector v = new V1LabelSelector();
      if (!l.matchLabels().isEmpty()) {
        v.matchLabels(new TreeMap<>(l.matchLabels()));
      }
      for (LabelSelector.Requirement r : l.matchExpressions()) {
        V1LabelSelectorRequirement req =
            new V1LabelSelectorRequirement().key(r.key()).operator(r.operator().wireName());
        if (!r.values().isEmpty()) {
          req.values(List.copyOf(new TreeSet<>(r.values())));
        }
        v.addMatchExpressionsItem(req);
      }
      out.put("labels", exclude(v, s.exclude()));
    }
    return out;
  }

  private static V1LabelSelector exclude(V1LabelSelector v, Set<String> exclude) {
    if (!exclude.isEmpty()) {
      v.addMatchExpressionsItem(
          new V1LabelSelectorRequirement()
              .key(NAME_LABEL)
              .operator("NotIn")
              .values(List.copyOf(new TreeSet<>(exclude))));
    }
    return v;
  }

  /**
   * {@code <index>-<grant>-<names|labels|all>.pull-secrets.registry-policy.dev}: unique by the
   * index, readable by the grant's name reduced to a DNS label's characters.
   */
  static String hookName(int index, String grant, String selection) {
    String g = grant.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]+", "-");
    String label = index + "-" + g;
    int room = 63 - selection.length() - 1;
    if (label.length() > room) {
      label = label.substring(0, room);
    }
    label = label.replaceAll("-+$", "") + "-" + selection;
    return label + ".pull-secrets.registry-policy.dev";
  }

  /** A CEL single-quoted string literal. */
  static String cel(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  private static V1RuleWithOperations rule(
      String group, String version, String resource, List<String> operations) {
    return new V1RuleWithOperations()
        .apiGroups(List.of(group))
        .apiVersions(List.of(version))
        .resources(List.of(resource))
        .operations(operations)
        .scope("Namespaced");
  }

  private static AdmissionregistrationV1WebhookClientConfig client(
      WebhookSettings settings, String path, String caBundlePem) {
    return new AdmissionregistrationV1WebhookClientConfig()
        .service(
            new AdmissionregistrationV1ServiceReference()
                .namespace(settings.serviceNamespace())
                .name(settings.serviceName())
                .port(SERVICE_PORT)
                .path(path))
        .caBundle(caBundlePem.getBytes(StandardCharsets.UTF_8));
  }

  private static V1ObjectMeta meta() {
    return new V1ObjectMeta().name(NAME).labels(Map.of(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY));
  }
}
