package dev.registrypolicy.admission;

import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;

/**
 * The one verdict function: given the policy, a namespace and a workload, what admission does with
 * each container and why. The ValidatingAdmissionPolicy CEL, the webhook and {@code check} all
 * agree with it; it is immutable and thread-safe, built once per policy.
 */
@SuppressWarnings("DoNotCallSuggester") // skeleton: the model helper fills these in
public final class AdmissionCheck {
  /** Rule name for an image that is not a valid reference. */
  public static final String RULE_IMAGE_REFERENCE = "imageReference";

  /** Rule name for an image outside every allowed source. */
  public static final String RULE_ALLOWED_SOURCES = "allowedSources";

  /** Rule name for an image whose registry's node credentials the namespace is not granted. */
  public static final String RULE_NODE_CREDENTIALS = "requireGrantForNodeCredentials";

  private AdmissionCheck() {}

  /**
   * The check for a policy.
   *
   * @param ownNamespace the namespace the product runs in, exempt unless the policy lists its own
   *     {@code exemptNamespaces}
   */
  public static AdmissionCheck of(Policy policy, String ownNamespace) {
    throw new UnsupportedOperationException("not yet");
  }

  /** Whether this policy enforces nothing at all (no admission section, or an empty one). */
  public boolean enforcesNothing() {
    throw new UnsupportedOperationException("not yet");
  }

  /** Whether the namespace is exempt from every check. */
  public boolean exempt(String namespace) {
    throw new UnsupportedOperationException("not yet");
  }

  /**
   * The verdict on a create ({@code old} null) or an update ({@code old} the object before it). On
   * an update a container whose kind, name and image are unchanged from {@code old} is allowed
   * whatever it breaks, so existing workloads can still be labelled, scaled and rolled back; only
   * what the update introduces is checked.
   */
  public Verdict check(NamespaceInfo namespace, Workload workload, Workload old) {
    throw new UnsupportedOperationException("not yet");
  }
}
