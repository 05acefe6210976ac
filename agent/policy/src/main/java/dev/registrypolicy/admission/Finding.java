package dev.registrypolicy.admission;

import java.util.Objects;

/**
 * One broken rule for one container.
 *
 * @param container the container
 * @param image the normalized image ({@code docker.io/library/nginx:latest}), or the image as
 *     written (redacted) when it is not a valid reference
 * @param rule the rule: a policy rule's name, or {@link AdmissionCheck#RULE_IMAGE_REFERENCE},
 *     {@link AdmissionCheck#RULE_ALLOWED_SOURCES}, {@link AdmissionCheck#RULE_NODE_CREDENTIALS}
 * @param action what the rule's mode asks for; never {@link Action#ALLOW}
 * @param message the whole message, naming the container, the image and the rule, e.g. {@code
 *     container "web": image "docker.io/library/nginx:latest" is not from an allowed source (rule
 *     allowedSources)}
 */
public record Finding(
    Container container, String image, String rule, Action action, String message) {
  public Finding {
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(rule, "rule");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(message, "message");
    if (action == Action.ALLOW) {
      throw new IllegalArgumentException("a finding is never ALLOW");
    }
  }
}
