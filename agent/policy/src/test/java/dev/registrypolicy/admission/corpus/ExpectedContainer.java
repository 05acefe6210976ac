package dev.registrypolicy.admission.corpus;

import dev.registrypolicy.admission.Action;
import java.util.Objects;

/**
 * The expected verdict on one container.
 *
 * @param name the container's name
 * @param action its action
 * @param rule the rule of its reported finding, null when allowed
 * @param image the normalized image ({@code docker.io/library/nginx:latest}), or the image as
 *     written when it is invalid; null when the case does not check it
 * @param message the exact container message, or null when the case does not check it
 */
public record ExpectedContainer(
    String name, Action action, String rule, String image, String message) {
  public ExpectedContainer {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(action, "action");
  }
}
