package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.policy.NamespaceInfo;
import java.util.Optional;

/**
 * A namespace's name, labels and annotations, as the controller's informer cache holds them.
 * Implementations must be thread-safe and must not block for long: the webhook calls this on every
 * review, within the API server's {@code timeoutSeconds}.
 */
@FunctionalInterface
public interface NamespaceLookup {
  /**
   * The namespace, or empty when it is not known (yet): the validating path then answers with an
   * error so that {@code failurePolicy} decides, the mutating path adds nothing.
   */
  Optional<NamespaceInfo> find(String name);
}
