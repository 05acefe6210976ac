package dev.registrypolicy.controller.admission;

import dev.registrypolicy.policy.Policy;

/**
 * Where the desired admission objects come from: the ValidatingAdmissionPolicy producer and the
 * webhook configuration producer, composed. Called on the reconcile worker with the policy in
 * force; must be a pure function of the policy (and of what the producer holds, such as the current
 * CA bundle), and must not block on the network.
 */
@FunctionalInterface
public interface AdmissionObjectsSource {
  AdmissionObjects desired(Policy policy);

  /** Produces nothing: no admission objects are kept (and any of ours that exist are removed). */
  static AdmissionObjectsSource none() {
    return policy -> AdmissionObjects.empty();
  }
}
