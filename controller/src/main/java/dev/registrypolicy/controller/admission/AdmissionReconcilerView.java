package dev.registrypolicy.controller.admission;

import io.kubernetes.client.common.KubernetesObject;
import java.util.List;

/**
 * What {@link AdmissionReconciler} reads: caches of the admission objects that carry the
 * controller's managed-by label (others are never cached, and never touched).
 */
public interface AdmissionReconcilerView {
  /**
   * Whether the cache of this kind is filled. For the ValidatingAdmissionPolicy kinds, which only
   * clusters >= 1.30 serve, the first call starts their cache (the reconciler asks only after
   * discovery showed them served).
   */
  boolean ready(AdmissionObjectsKind kind);

  /** The managed objects of a kind, as cached. */
  List<? extends KubernetesObject> managed(AdmissionObjectsKind kind);
}
