package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.InvalidWorkloadException;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.policy.NamespaceInfo;
import java.util.Map;

/**
 * The model calls the validating path makes: reading a workload and the verdict. The production one
 * is {@link #MODEL}; tests of the HTTP plumbing may pass their own.
 */
interface Evaluator {
  boolean exempt(PolicySnapshot policy, String namespace);

  /** The workload, or null when admission does not check this kind. */
  Workload read(Map<String, Object> object, String namespace) throws InvalidWorkloadException;

  Verdict check(PolicySnapshot policy, NamespaceInfo namespace, Workload workload, Workload old);

  /** {@link Workload#fromObject} and {@link dev.registrypolicy.admission.AdmissionCheck}. */
  Evaluator MODEL =
      new Evaluator() {
        @Override
        public boolean exempt(PolicySnapshot policy, String namespace) {
          return policy.check().exempt(namespace);
        }

        @Override
        public Workload read(Map<String, Object> object, String namespace)
            throws InvalidWorkloadException {
          return Workload.fromObject(object, namespace);
        }

        @Override
        public Verdict check(
            PolicySnapshot policy, NamespaceInfo namespace, Workload workload, Workload old) {
          return policy.check().check(namespace, workload, old);
        }
      };
}
