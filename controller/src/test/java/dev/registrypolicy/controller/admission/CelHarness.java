package dev.registrypolicy.controller.admission;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1LabelSelectorRequirement;
import io.kubernetes.client.openapi.models.V1MatchResources;
import io.kubernetes.client.openapi.models.V1NamedRuleWithOperations;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1Validation;
import io.kubernetes.client.openapi.models.V1Variable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluates generated ValidatingAdmissionPolicies and bindings with dev.cel:cel the way the API
 * server does (cel.md): the policy's matchConstraints (resource, subresource, operation) and the
 * binding's namespaceSelector choose whether it applies; variables are evaluated in order (one that
 * fails is left out, so only expressions that use it fail, as the API server evaluates them
 * lazily); validations in order; a failing validation's messageExpression, falling back to {@code
 * message} when it errors, holds a line break or is over 5 KiB; an expression error with {@code
 * failurePolicy: Fail} is a failure of the binding's actions.
 *
 * <p>Environment as cel.md §4: {@code CelOptions.current()} with the 100,000 code point limit, the
 * standard macros, and only the {@code strings}, {@code optional} and {@code sets} extensions, on
 * compiler and runtime alike.
 */
final class CelHarness {
  /** The API server's limit on a messageExpression result (cel.md §2). */
  static final int MESSAGE_MAX_BYTES = 5 * 1024;

  private static final CelOptions OPTIONS =
      CelOptions.current().maxExpressionCodePointSize(100_000).build();
  private static final CelCompiler COMPILER =
      CelCompilerFactory.standardCelCompilerBuilder()
          .setOptions(OPTIONS)
          .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
          .addVar("object", SimpleType.DYN)
          .addVar("oldObject", SimpleType.DYN)
          .addVar("namespaceObject", SimpleType.DYN)
          .addVar("request", SimpleType.DYN)
          .addVar("variables", MapType.create(SimpleType.STRING, SimpleType.DYN))
          .addLibraries(
              CelExtensions.strings(), CelExtensions.optional(), CelExtensions.sets(OPTIONS))
          .build();
  private static final CelRuntime RUNTIME =
      CelRuntimeFactory.standardCelRuntimeBuilder()
          .setOptions(OPTIONS)
          .addLibraries(
              CelExtensions.strings(), CelExtensions.optional(), CelExtensions.sets(OPTIONS))
          .build();

  /** A request as admission sees it. */
  record Request(
      String operation,
      String group,
      String version,
      String resource,
      String subResource,
      Map<String, Object> object,
      Map<String, Object> oldObject,
      Map<String, Object> namespace) {}

  /**
   * What one policy + binding did.
   *
   * @param applies whether matchConstraints and the binding's namespaceSelector selected it
   * @param failed whether its validation failed (or errored)
   * @param message the message shown when it failed
   * @param error the expression error when one failed, else null
   */
  record Outcome(boolean applies, boolean failed, String message, String error) {
    static final Outcome NOT_APPLIED = new Outcome(false, false, null, null);
  }

  /** A compiled policy. */
  static final class Compiled {
    final V1ValidatingAdmissionPolicy policy;
    final V1ValidatingAdmissionPolicyBinding binding;
    final List<String> varNames = new ArrayList<>();
    final List<CelRuntime.Program> vars = new ArrayList<>();
    final List<CelRuntime.Program> validations = new ArrayList<>();
    final List<CelRuntime.Program> messages = new ArrayList<>();

    /** The errors of the variables of the last {@link #variables} call, by name. */
    final Map<String, String> errors = new LinkedHashMap<>();

    /**
     * Values of the variables that read nothing of the request (the allowlist map literals and
     * other constants), when built once by {@link #literalsOnce()}; empty otherwise.
     */
    final Map<String, Object> constants = new HashMap<>();

    Compiled(V1ValidatingAdmissionPolicy policy, V1ValidatingAdmissionPolicyBinding binding) {
      this.policy = policy;
      this.binding = binding;
      for (V1Variable v : policy.getSpec().getVariables()) {
        varNames.add(v.getName());
        vars.add(program(v.getExpression()));
      }
      for (V1Validation v : policy.getSpec().getValidations()) {
        validations.add(program(v.getExpression()));
        messages.add(v.getMessageExpression() == null ? null : program(v.getMessageExpression()));
      }
    }

    String name() {
      return policy.getMetadata().getName();
    }

    /**
     * Evaluates once the variables that need no request (an empty activation suffices) and reuses
     * their values: what an evaluator that folds constant literals would do. Without this every
     * evaluation builds the allowlist maps again, as an unoptimized evaluator does.
     */
    Compiled literalsOnce() {
      for (int i = 0; i < vars.size(); i++) {
        try {
          Object v = vars.get(i).eval(Map.of("variables", Map.of()));
          // cel-java answers an unbound variable with an "unknown" value rather than an error.
          if (!v.getClass().getSimpleName().contains("Unknown")) {
            constants.put(varNames.get(i), v);
          }
        } catch (CelEvaluationException | RuntimeException e) {
          // reads the request: evaluated per request
        }
      }
      return this;
    }

    /** Every variable's value (failed ones left out) for a request the policy applies to. */
    Map<String, Object> variables(Request r) {
      Map<String, Object> act = activation(r);
      Map<String, Object> values = new HashMap<>();
      act.put("variables", values);
      errors.clear();
      values.putAll(constants);
      for (int i = 0; i < vars.size(); i++) {
        if (constants.containsKey(varNames.get(i))) {
          continue;
        }
        try {
          values.put(varNames.get(i), vars.get(i).eval(act));
        } catch (CelEvaluationException e) {
          // Left out: an expression that reads it fails, as with lazy evaluation.
          errors.put(varNames.get(i), e.getMessage());
        }
      }
      return values;
    }

    Outcome evaluate(Request r) {
      if (!matches(policy.getSpec().getMatchConstraints(), r)
          || !selects(binding.getSpec().getMatchResources(), r.namespace())) {
        return Outcome.NOT_APPLIED;
      }
      Map<String, Object> act = activation(r);
      act.put("variables", variables(r));
      List<V1Validation> specs = policy.getSpec().getValidations();
      for (int i = 0; i < validations.size(); i++) {
        Object ok;
        try {
          ok = validations.get(i).eval(act);
        } catch (CelEvaluationException e) {
          return new Outcome(true, true, null, e.getMessage());
        }
        if (!Boolean.TRUE.equals(ok)) {
          return new Outcome(true, true, message(specs.get(i), messages.get(i), act), null);
        }
      }
      return new Outcome(true, false, null, null);
    }

    private static String message(
        V1Validation spec, CelRuntime.Program expr, Map<String, Object> act) {
      if (expr != null) {
        try {
          Object m = expr.eval(act);
          if (m instanceof String s
              && s.indexOf('\n') < 0
              && s.getBytes(StandardCharsets.UTF_8).length <= MESSAGE_MAX_BYTES) {
            return s;
          }
        } catch (CelEvaluationException e) {
          // falls back to message
        }
      }
      return spec.getMessage();
    }
  }

  private CelHarness() {}

  /** Compiles every expression of the policy; throws when one does not compile. */
  static Compiled compile(
      V1ValidatingAdmissionPolicy policy, V1ValidatingAdmissionPolicyBinding binding) {
    return new Compiled(policy, binding);
  }

  static CelAbstractSyntaxTree ast(String expression) {
    try {
      return COMPILER.compile(expression).getAst();
    } catch (CelValidationException e) {
      String m = String.valueOf(e.getMessage());
      throw new AssertionError(
          "does not compile: " + m.substring(0, Math.min(2000, m.length())), e);
    }
  }

  /** Evaluates a constant expression. */
  static Object eval(String expression) {
    try {
      return program(expression).eval(Map.of());
    } catch (CelEvaluationException e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  static CelRuntime.Program program(String expression) {
    try {
      return RUNTIME.createProgram(ast(expression));
    } catch (CelEvaluationException e) {
      throw new AssertionError("no program: " + e.getMessage(), e);
    }
  }

  private static Map<String, Object> activation(Request r) {
    Map<String, Object> act = new HashMap<>();
    act.put("object", r.object());
    act.put(
        "oldObject",
        r.oldObject() == null ? dev.cel.common.values.NullValue.NULL_VALUE : r.oldObject());
    act.put("namespaceObject", r.namespace());
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("operation", r.operation());
    request.put(
        "kind",
        Map.of(
            "group",
            r.group(),
            "version",
            r.version(),
            "kind",
            String.valueOf(r.object().get("kind"))));
    request.put(
        "resource", Map.of("group", r.group(), "version", r.version(), "resource", r.resource()));
    if (!r.subResource().isEmpty()) {
      request.put("subResource", r.subResource());
    }
    act.put("request", request);
    return act;
  }

  /** The policy's resourceRules against group, version, resource[/subresource] and operation. */
  static boolean matches(V1MatchResources m, Request r) {
    String res = r.subResource().isEmpty() ? r.resource() : r.resource() + "/" + r.subResource();
    for (V1NamedRuleWithOperations rule : m.getResourceRules()) {
      if (anyOf(rule.getApiGroups(), r.group())
          && anyOf(rule.getApiVersions(), r.version())
          && anyOf(rule.getOperations(), r.operation())
          && rule.getResources().contains(res)) {
        return true;
      }
    }
    return false;
  }

  private static boolean anyOf(List<String> values, String v) {
    return values.contains("*") || values.contains(v);
  }

  /** The binding's namespaceSelector against the namespace's labels. */
  @SuppressWarnings("unchecked")
  static boolean selects(V1MatchResources m, Map<String, Object> namespace) {
    V1LabelSelector sel = m == null ? null : m.getNamespaceSelector();
    if (sel == null) {
      return true;
    }
    Map<String, Object> meta = (Map<String, Object>) namespace.get("metadata");
    Map<String, String> labels = (Map<String, String>) meta.getOrDefault("labels", Map.of());
    if (sel.getMatchLabels() != null) {
      for (Map.Entry<String, String> e : sel.getMatchLabels().entrySet()) {
        if (!e.getValue().equals(labels.get(e.getKey()))) {
          return false;
        }
      }
    }
    if (sel.getMatchExpressions() != null) {
      for (V1LabelSelectorRequirement req : sel.getMatchExpressions()) {
        String v = labels.get(req.getKey());
        boolean ok =
            switch (req.getOperator()) {
              case "In" -> v != null && req.getValues().contains(v);
              case "NotIn" -> v == null || !req.getValues().contains(v);
              case "Exists" -> v != null;
              case "DoesNotExist" -> v == null;
              default -> throw new AssertionError("operator " + req.getOperator());
            };
        if (!ok) {
          return false;
        }
      }
    }
    return true;
  }
}
