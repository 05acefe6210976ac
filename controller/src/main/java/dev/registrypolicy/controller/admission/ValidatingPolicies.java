package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.controller.Labels;
import dev.registrypolicy.policy.Admission;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.AllowedSource;
import dev.registrypolicy.policy.NamespaceSelector;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1LabelSelectorRequirement;
import io.kubernetes.client.openapi.models.V1MatchResources;
import io.kubernetes.client.openapi.models.V1NamedRuleWithOperations;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBindingSpec;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicySpec;
import io.kubernetes.client.openapi.models.V1Validation;
import io.kubernetes.client.openapi.models.V1Variable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The ValidatingAdmissionPolicy objects ({@code admissionregistration.k8s.io/v1}) and bindings that
 * enforce a policy's {@code admission} section in the API server, with the same verdicts as {@link
 * AdmissionCheck}.
 *
 * <p>One policy and one binding per action that some check can produce: {@value #DENY_NAME} bound
 * with {@code [Deny]}, {@value #WARN_NAME} with {@code [Warn]}, {@value #AUDIT_NAME} with {@code
 * [Audit]} (fixed names, so RBAC can name them). Each has a single validation that fails when a
 * container has a finding of its action; its {@code messageExpression} gives exactly {@code
 * Verdict.message(action)}: for each such container, in order, the first finding of that action,
 * joined with {@code "; "}. One exception: an invalid image reference is reported as {@code
 * container "x": image is not a valid image reference (rule imageReference)}, without the echoed
 * image and parser reason, which CEL cannot reproduce safely (redaction, character descriptions). A
 * message over the API server's 5 KiB limit falls back to the static {@code message}, which points
 * to {@code registry-policy-controller check}.
 *
 * <p>Exempt namespaces are left out by the binding's namespace selector on the {@code
 * kubernetes.io/metadata.name} label, which the API server sets on every namespace.
 *
 * <p>Limits (cel.md §2): each expression at most {@value #MAX_EXPRESSION_CODE_POINTS} code points,
 * the allowlist split over several map variables to stay under it; each object at most {@value
 * #MAX_OBJECT_BYTES} bytes of JSON. What would break a limit is a problem in {@link
 * Result#problems()}, and then no objects are returned: the caller enforces with the webhook.
 */
public final class ValidatingPolicies {
  public static final String DENY_NAME = "registry-policy-deny";
  public static final String WARN_NAME = "registry-policy-warn";
  public static final String AUDIT_NAME = "registry-policy-audit";

  /** The label the API server puts on every namespace (its name). */
  static final String NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

  /** The API server's limit per CEL expression (cel.md §2). */
  public static final int MAX_EXPRESSION_CODE_POINTS = 100_000;

  /**
   * Largest JSON object we send: well under the ~1.5 MB request limit etcd imposes (cel.md §2: 16
   * variables of 100k code points were refused as "request is too large").
   */
  public static final int MAX_OBJECT_BYTES = 1 << 20;

  /** Shown when the messageExpression cannot be (over 5 KiB): says where to look. */
  static final String STATIC_MESSAGE =
      "images break the registry policy; run registry-policy-controller check --policy FILE"
          + " --objects FILE for each container's verdict";

  /** Text for an invalid image reference (see the class comment). */
  static final String INVALID_WHAT = "is not a valid image reference";

  /**
   * What the policy makes.
   *
   * @param policies the ValidatingAdmissionPolicies, deny, warn, audit (those needed)
   * @param bindings their bindings, same order and names
   * @param problems why the objects cannot be used (then both lists are empty)
   */
  public record Result(
      List<V1ValidatingAdmissionPolicy> policies,
      List<V1ValidatingAdmissionPolicyBinding> bindings,
      List<String> problems) {
    public Result {
      policies = List.copyOf(policies);
      bindings = List.copyOf(bindings);
      problems = List.copyOf(problems);
    }
  }

  private ValidatingPolicies() {}

  /** The objects for the policy; empty lists when its admission section enforces nothing. */
  public static Result build(Policy policy, String ownNamespace) {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(ownNamespace, "ownNamespace");
    Admission adm = policy.admission();
    Action dflt = Action.of(adm.mode());
    List<AdmissionRule> rules = new ArrayList<>();
    for (AdmissionRule r : adm.rules()) {
      if (r.checksAtAdmission()) {
        rules.add(r);
      }
    }
    if (!adm.enforcesSomething()) {
      return new Result(List.of(), List.of(), List.of());
    }
    Set<String> exempt = new TreeSet<>(adm.effectiveExemptNamespaces(ownNamespace));
    List<V1ValidatingAdmissionPolicy> policies = new ArrayList<>();
    List<V1ValidatingAdmissionPolicyBinding> bindings = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (Action a : List.of(Action.DENY, Action.WARN, Action.AUDIT)) {
      List<AdmissionRule> mine = new ArrayList<>();
      for (AdmissionRule r : rules) {
        if (action(r, dflt) == a) {
          mine.add(r);
        }
      }
      boolean base = a == dflt;
      if (!base && mine.isEmpty()) {
        continue;
      }
      String name = name(a);
      V1ValidatingAdmissionPolicy vap;
      try {
        vap =
            policy(
                name,
                base,
                base ? adm.allowedSources() : List.of(),
                base && adm.requireGrantForNodeCredentials() ? CelNodeCredentials.of(policy) : null,
                mine,
                problems);
      } catch (IllegalArgumentException e) {
        problems.add(name + ": " + e.getMessage());
        continue;
      }
      V1ValidatingAdmissionPolicyBinding binding = binding(name, a, exempt);
      checkSize(vap, problems);
      checkSize(binding, problems);
      policies.add(vap);
      bindings.add(binding);
    }
    if (!problems.isEmpty()) {
      return new Result(List.of(), List.of(), problems);
    }
    return new Result(policies, bindings, List.of());
  }

  static String name(Action a) {
    return switch (a) {
      case DENY -> DENY_NAME;
      case WARN -> WARN_NAME;
      case AUDIT -> AUDIT_NAME;
      case ALLOW -> throw new IllegalArgumentException("no policy for ALLOW");
    };
  }

  static Action action(AdmissionRule r, Action dflt) {
    return r.mode() == null ? dflt : Action.of(r.mode());
  }

  private static V1ValidatingAdmissionPolicy policy(
      String name,
      boolean base,
      List<AllowedSource> sources,
      CelNodeCredentials creds,
      List<AdmissionRule> rules,
      List<String> problems) {
    Map<NamespaceSelector, Integer> scopes = new LinkedHashMap<>();
    CelAllowlist allow =
        sources.isEmpty()
            ? null
            : CelAllowlist.of(
                sources,
                s ->
                    s.scope().equals(NamespaceSelector.ALL)
                        ? CelAllowlist.GLOBAL
                        : scopes.computeIfAbsent(s.scope(), k -> scopes.size()));
    List<Integer> ruleScopes = new ArrayList<>();
    for (AdmissionRule r : rules) {
      ruleScopes.add(
          r.namespaces().equals(NamespaceSelector.ALL)
              ? CelAllowlist.GLOBAL
              : scopes.computeIfAbsent(r.namespaces(), k -> scopes.size()));
    }
    List<V1Variable> vars = new ArrayList<>();
    if (!scopes.isEmpty() || creds != null) {
      vars.add(variable("nsName", CelNamespaces.NAME_EXPRESSION));
      vars.add(variable("nsLabels", CelNamespaces.LABELS_EXPRESSION));
    }
    if (creds != null) {
      vars.add(variable("nsAnnotations", CelNodeCredentials.ANNOTATIONS_EXPRESSION));
      vars.add(variable("credGranted", "[" + String.join(", ", creds.granted()) + "]"));
      vars.add(variable("credNames", CelLiterals.stringList(creds.names())));
      vars.add(variable("nodeCreds", creds.byHost()));
      vars.add(variable("catchAllCreds", creds.catchAll()));
    }
    if (!scopes.isEmpty()) {
      List<String> sel = new ArrayList<>();
      for (NamespaceSelector s : scopes.keySet()) {
        sel.add(CelNamespaces.matches(s));
      }
      vars.add(variable("scopes", "[" + String.join(", ", sel) + "]"));
    }
    if (allow != null) {
      for (int i = 0; i < allow.maps().size(); i++) {
        vars.add(variable(CelAllowlist.variable(i), allow.maps().get(i)));
      }
    }
    vars.add(variable("containers", CelImage.containers(CelImage.podSpec("object"))));
    vars.add(
        variable(
            "oldContainers",
            "oldObject == null ? [] : " + CelImage.containers(CelImage.podSpec("oldObject"))));
    vars.add(
        variable("checked", "variables.containers.filter(c, !(c in variables.oldContainers))"));
    vars.add(variable("image1", CelImage.stage1("variables.checked")));
    vars.add(variable("image2", CelImage.stage2("variables.image1")));
    vars.add(variable("image3", CelImage.stage3("variables.image2")));
    vars.add(variable("image4", CelImage.stage4("variables.image3")));
    vars.add(variable("images", CelImage.stage5("variables.image4")));
    String imagesVar = "variables.images";
    if (!rules.isEmpty()) {
      List<String> whats = new ArrayList<>();
      for (int i = 0; i < rules.size(); i++) {
        int scope = ruleScopes.get(i);
        String what = CelRules.what(rules.get(i), "c");
        whats.add(
            scope == CelAllowlist.GLOBAL
                ? what
                : "(variables.scopes[" + scope + "] ? " + what + " : '')");
      }
      vars.add(
          variable(
              "ruleFindings",
              "variables.images.map(c, c + (c["
                  + CelImage.VALID
                  + "] == 'y' ? ["
                  + String.join(", ", whats)
                  + "] : "
                  + CelLiterals.stringList(java.util.Collections.nCopies(rules.size(), ""))
                  + "))"));
      imagesVar = "variables.ruleFindings";
    }
    vars.add(
        variable(
            "findings",
            imagesVar
                + ".map(c, "
                + CelRules.message(base, allow, creds != null, rules, "c")
                + ")"));
    for (V1Variable v : vars) {
      checkLength(name, "variable " + v.getName(), v.getExpression(), problems);
    }
    V1Validation validation =
        new V1Validation()
            .expression("variables.findings.all(m, m == '')")
            .messageExpression("variables.findings.filter(m, m != '').join('; ')")
            .message(STATIC_MESSAGE)
            .reason("Forbidden");
    return new V1ValidatingAdmissionPolicy()
        .apiVersion("admissionregistration.k8s.io/v1")
        .kind("ValidatingAdmissionPolicy")
        .metadata(
            new V1ObjectMeta()
                .name(name)
                .labels(Map.of(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY)))
        .spec(
            new V1ValidatingAdmissionPolicySpec()
                .failurePolicy("Fail")
                .matchConstraints(matchConstraints())
                .variables(vars)
                .validations(List.of(validation)));
  }

  private static V1Variable variable(String name, String expression) {
    return new V1Variable().name(name).expression(expression);
  }

  /** Every {@link WorkloadKind} on create and update, and the ephemeral containers subresource. */
  static V1MatchResources matchConstraints() {
    List<V1NamedRuleWithOperations> rules = new ArrayList<>();
    for (WorkloadKind k : WorkloadKind.values()) {
      rules.add(
          new V1NamedRuleWithOperations()
              .apiGroups(List.of(k.group()))
              .apiVersions(List.of(k.version()))
              .operations(List.of("CREATE", "UPDATE"))
              .resources(List.of(k.resource())));
    }
    // cel.md §3: "pods" does not match the subresource; kubectl debug updates it.
    rules.add(
        new V1NamedRuleWithOperations()
            .apiGroups(List.of(WorkloadKind.POD.group()))
            .apiVersions(List.of(WorkloadKind.POD.version()))
            .operations(List.of("UPDATE"))
            .resources(List.of(WorkloadKind.EPHEMERAL_SUBRESOURCE)));
    return new V1MatchResources().matchPolicy("Equivalent").resourceRules(rules);
  }

  private static V1ValidatingAdmissionPolicyBinding binding(
      String name, Action a, Set<String> exempt) {
    V1LabelSelector ns = new V1LabelSelector();
    if (!exempt.isEmpty()) {
      ns.matchExpressions(
          List.of(
              new V1LabelSelectorRequirement()
                  .key(NAMESPACE_NAME_LABEL)
                  .operator("NotIn")
                  .values(new ArrayList<>(exempt))));
    }
    String action =
        switch (a) {
          case DENY -> "Deny";
          case WARN -> "Warn";
          case AUDIT -> "Audit";
          case ALLOW -> throw new IllegalArgumentException("no binding for ALLOW");
        };
    return new V1ValidatingAdmissionPolicyBinding()
        .apiVersion("admissionregistration.k8s.io/v1")
        .kind("ValidatingAdmissionPolicyBinding")
        .metadata(
            new V1ObjectMeta()
                .name(name)
                .labels(Map.of(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY)))
        .spec(
            new V1ValidatingAdmissionPolicyBindingSpec()
                .policyName(name)
                .validationActions(List.of(action))
                .matchResources(new V1MatchResources().namespaceSelector(ns)));
  }

  private static void checkLength(String object, String what, String expr, List<String> problems) {
    int n = CelLiterals.codePoints(expr);
    if (n > MAX_EXPRESSION_CODE_POINTS) {
      problems.add(
          object
              + ": "
              + what
              + " has "
              + n
              + " code points, over the API server's limit of "
              + MAX_EXPRESSION_CODE_POINTS
              + " per expression; admission falls back to the webhook");
    }
  }

  /** The object's size as JSON, the form the controller sends. */
  static int jsonBytes(Object o) {
    return JSON.serialize(o).getBytes(StandardCharsets.UTF_8).length;
  }

  private static void checkSize(Object o, List<String> problems) {
    int n = jsonBytes(o);
    if (n > MAX_OBJECT_BYTES) {
      String name =
          o instanceof V1ValidatingAdmissionPolicy p
              ? "ValidatingAdmissionPolicy " + p.getMetadata().getName()
              : "ValidatingAdmissionPolicyBinding "
                  + ((V1ValidatingAdmissionPolicyBinding) o).getMetadata().getName();
      problems.add(
          name
              + " would be "
              + n
              + " bytes, over the "
              + MAX_OBJECT_BYTES
              + " bytes this controller sends as one object (the API server refuses requests"
              + " over ~1.5 MB); admission falls back to the webhook");
    }
  }
}
