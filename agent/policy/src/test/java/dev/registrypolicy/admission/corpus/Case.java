package dev.registrypolicy.admission.corpus;

import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import java.util.Map;
import java.util.Objects;

/**
 * One corpus case: a policy, a namespace and an admission request (CREATE when {@code oldObject} is
 * null), with the verdict derived by hand from the verdict semantics.
 *
 * @param id {@code file.yaml#case-name}, unique across the corpus
 * @param policyId the policy's id in its file (several cases share one policy)
 * @param policy the parsed policy
 * @param ownNamespace the product's namespace ({@value AdmissionCorpus#DEFAULT_OWN_NAMESPACE}
 *     unless the case says otherwise)
 * @param namespace the request's namespace with its labels and annotations
 * @param object the object as the API server would send it (numbers are {@code Long})
 * @param oldObject the object before an UPDATE, or null for a CREATE
 * @param subResource null, or {@code ephemeralcontainers} for {@code pods/ephemeralcontainers}
 * @param expected the verdict
 * @param note why the verdict is what it is (free text, may be null)
 */
public record Case(
    String id,
    String policyId,
    Policy policy,
    String ownNamespace,
    NamespaceInfo namespace,
    Map<String, Object> object,
    Map<String, Object> oldObject,
    String subResource,
    Expected expected,
    String note) {
  public Case {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(ownNamespace, "ownNamespace");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(object, "object");
    Objects.requireNonNull(expected, "expected");
  }

  /** Whether this is an UPDATE (an old object is given). */
  public boolean isUpdate() {
    return oldObject != null;
  }

  @Override
  public String toString() {
    return id;
  }
}
