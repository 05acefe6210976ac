package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.policy.Policy;
import java.util.Objects;

/**
 * One policy and its verdict function, swapped as a whole when the policy changes, so a review
 * never sees the grants of one policy and the rules of another.
 *
 * @param policy the policy (its access grants drive the mutating path)
 * @param check the verdict function built from it
 */
public record PolicySnapshot(Policy policy, AdmissionCheck check) {
  public PolicySnapshot {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(check, "check");
  }

  /**
   * The snapshot for a policy; {@code ownNamespace} is the product's namespace (exempt default).
   */
  public static PolicySnapshot of(Policy policy, String ownNamespace) {
    return new PolicySnapshot(policy, AdmissionCheck.of(policy, ownNamespace));
  }
}
