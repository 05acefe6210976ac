package dev.registrypolicy.controller;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.ContainerKind;
import java.util.Objects;

/**
 * One line of {@code check}'s output: the verdict on one container of one object.
 *
 * @param kind the object's kind ({@code Deployment})
 * @param namespace its namespace
 * @param name its name
 * @param owner {@code Kind/name} of its first ownerReference, or null
 * @param containerKind which container list
 * @param container the container's name
 * @param image the normalized image, or the image as written (redacted) when it is invalid
 * @param verdict what admission would do with it
 * @param rule the reported rule, null when allowed
 * @param message the verdict's message (naming the container, the image and the rule)
 * @param exempt whether the namespace is exempt (every container allowed)
 */
record CheckRow(
    String kind,
    String namespace,
    String name,
    String owner,
    ContainerKind containerKind,
    String container,
    String image,
    Action verdict,
    String rule,
    String message,
    boolean exempt) {
  CheckRow {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(containerKind, "containerKind");
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(verdict, "verdict");
    Objects.requireNonNull(message, "message");
  }
}
