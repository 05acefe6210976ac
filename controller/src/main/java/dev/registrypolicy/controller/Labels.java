package dev.registrypolicy.controller;

/**
 * The label every object the controller makes carries (pull Secrets, the node credentials bundle,
 * the webhook's TLS Secret, the admission objects), defined once for all its packages. The
 * informers select by it and nothing without it is ever changed or deleted.
 */
public final class Labels {
  /** The key (the Kubernetes recommended label for the tool managing an object). */
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

  /** The value. */
  public static final String MANAGED_BY = "registry-policy-controller";

  /** {@code key=value}, as a label selector. */
  public static final String MANAGED_BY_SELECTOR = MANAGED_BY_LABEL + "=" + MANAGED_BY;

  private Labels() {}
}
