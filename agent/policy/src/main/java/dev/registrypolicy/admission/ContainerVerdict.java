package dev.registrypolicy.admission;

import java.util.Objects;

/**
 * The outcome for one container: its most severe finding, or allowed.
 *
 * @param container the container
 * @param image the normalized image, or the image as written (redacted) when it is invalid
 * @param action the most severe action of its findings; {@link Action#ALLOW} when it has none
 * @param rule the rule of the first finding with that action, or null when allowed
 * @param message that finding's message, or {@code container "web": image "..." is allowed} when
 *     allowed
 */
public record ContainerVerdict(
    Container container, String image, Action action, String rule, String message) {
  public ContainerVerdict {
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(message, "message");
  }
}
