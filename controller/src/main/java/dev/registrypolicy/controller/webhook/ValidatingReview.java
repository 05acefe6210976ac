package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.Finding;
import dev.registrypolicy.admission.InvalidWorkloadException;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.NamespaceInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The validating path: an AdmissionReview request and the current policy in, the answer out. */
final class ValidatingReview {
  /** The status code of a refusal, as in the API's own webhook examples. */
  static final int FORBIDDEN = 403;

  /**
   * Warnings longer than this may be truncated by the API server, and once 4096 characters of
   * warnings (from all sources) are added, further ones are ignored (Kubernetes docs,
   * reference/access-authn-authz/extensible-admission-controllers.md, "Response": "Individual
   * warning messages over 256 characters may be truncated by the API server before being returned
   * to clients. If more than 4096 characters of warning messages are added (from all sources),
   * additional warning messages are ignored."). The webhook shortens each to 256 and stops at 4096
   * itself, so the client sees a count instead of a silent cut.
   */
  static final int MAX_WARNING_CHARS = 256;

  static final int MAX_WARNINGS_TOTAL_CHARS = 4096;

  /**
   * The audit annotation key. The API server stores it as {@code <webhook name>/audit} and drops a
   * key that is not then a qualified name (k8s.io/apiserver pkg/admission/attributes.go
   * checkKeyFormat: {@code validation.IsQualifiedName}, name part at most 63 characters).
   */
  static final String AUDIT_KEY = "audit";

  /**
   * The API server sets no length limit on a webhook's audit annotation values (attributes.go
   * AddAnnotation checks only the key); the webhook caps them at 10 KiB, the length at which a
   * ValidatingAdmissionPolicy's auditAnnotations valueExpression result is truncated (API
   * reference, AuditAnnotation.valueExpression), so both enforcement paths log about the same.
   */
  static final int MAX_AUDIT_VALUE_CHARS = 10 * 1024;

  private ValidatingReview() {}

  /**
   * The answer. Errors that mean the webhook cannot decide (no policy yet, unknown namespace) are
   * thrown as {@link ReviewUndecidedException}, so the server answers with an error and the
   * configured {@code failurePolicy} decides.
   *
   * @param deadline when the image-content rules' metadata lookups must be done (the rules' {@code
   *     onError} decides for those that are not)
   * @param contentOnly only the image-content rules count (the path the webhook is registered on
   *     when ValidatingAdmissionPolicies enforce the rest); otherwise every rule
   */
  static ReviewResponse answer(
      ReviewRequest req,
      PolicySource policies,
      NamespaceLookup namespaces,
      Evaluator evaluator,
      java.time.Instant deadline,
      boolean contentOnly)
      throws InvalidReviewException, ReviewUndecidedException {
    String uid = req.uid();
    WorkloadKind kind = WorkloadKind.ofKind(req.kind());
    if (kind == null || !kind.group().equals(req.group())) {
      return ReviewResponse.allow(uid); // not a kind admission checks
    }
    if (!req.subResource().isEmpty()
        && !(kind == WorkloadKind.POD
            && WorkloadKind.EPHEMERAL_SUBRESOURCE.equals("pods/" + req.subResource()))) {
      return ReviewResponse.allow(uid); // pods/status, deployments/scale, ...: no new images
    }
    if (req.object() == null
        || !("CREATE".equals(req.operation()) || "UPDATE".equals(req.operation()))) {
      return ReviewResponse.allow(uid); // DELETE, CONNECT: nothing to check
    }
    Optional<PolicySnapshot> current = policies.current();
    if (current.isEmpty()) {
      throw new ReviewUndecidedException("no valid policy has been read yet");
    }
    PolicySnapshot policy = current.get();
    String ns = req.namespace().isEmpty() ? metadataNamespace(req.object()) : req.namespace();
    if (ns.isEmpty()) {
      throw new InvalidReviewException("request.namespace is missing for a namespaced kind");
    }
    if (evaluator.exempt(policy, ns)) {
      return ReviewResponse.allow(uid);
    }
    Optional<NamespaceInfo> info = namespaces.find(ns);
    if (info.isEmpty()) {
      throw new ReviewUndecidedException(
          "namespace \"" + ns + "\" is not in the controller's cache yet");
    }
    Workload workload;
    Workload old = null;
    try {
      workload = evaluator.read(req.object(), ns);
      if (workload == null) {
        return ReviewResponse.allow(uid);
      }
      if (req.oldObject() != null && "UPDATE".equals(req.operation())) {
        old = evaluator.read(req.oldObject(), ns);
      }
    } catch (InvalidWorkloadException e) {
      throw new InvalidReviewException("request object: " + e.getMessage());
    }
    Verdict v = evaluator.check(policy, info.get(), workload, old);
    if (contentOnly || !policy.content().isEmpty()) {
      v = policy.review().verdict(policy, info.get(), workload, old, v, deadline, !contentOnly);
    }
    return response(uid, v);
  }

  /** The response for a verdict: Deny refuses, Warn warns, Audit annotates. */
  static ReviewResponse response(String uid, Verdict v) {
    String deny = v.message(Action.DENY);
    List<String> warnings = warnings(v.firstFindings(Action.WARN));
    String audit = v.message(Action.AUDIT);
    Map<String, String> annotations =
        audit == null ? Map.of() : Map.of(AUDIT_KEY, cut(audit, MAX_AUDIT_VALUE_CHARS));
    if (deny != null) {
      return new ReviewResponse(uid, false, FORBIDDEN, deny, warnings, annotations, null);
    }
    return new ReviewResponse(uid, true, 0, null, warnings, annotations, null);
  }

  static List<String> warnings(List<Finding> findings) {
    List<String> out = new ArrayList<>();
    int total = 0;
    for (int i = 0; i < findings.size(); i++) {
      String w = cut(findings.get(i).message(), MAX_WARNING_CHARS);
      String more = (findings.size() - i) + " more warnings from registry-policy not shown";
      boolean last = i == findings.size() - 1;
      // Leave room for the "more" line unless this is the last warning.
      if (total + w.length() + (last ? 0 : more.length()) > MAX_WARNINGS_TOTAL_CHARS) {
        out.add(more);
        break;
      }
      out.add(w);
      total += w.length();
    }
    return out;
  }

  /** At most {@code max} characters, ending in "..." when cut; never splits a surrogate pair. */
  static String cut(String s, int max) {
    if (s.length() <= max) {
      return s;
    }
    int end = max - 3;
    if (Character.isLowSurrogate(s.charAt(end)) && Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(0, end) + "...";
  }

  private static String metadataNamespace(Map<String, Object> object) {
    if (object.get("metadata") instanceof Map<?, ?> m && m.get("namespace") instanceof String s) {
      return s;
    }
    return "";
  }
}
