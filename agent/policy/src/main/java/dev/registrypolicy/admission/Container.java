package dev.registrypolicy.admission;

import java.util.Objects;

/**
 * One container of a pod spec as admission sees it.
 *
 * @param kind which list it is in
 * @param name its name
 * @param image the image exactly as written in the spec (not normalized)
 */
public record Container(ContainerKind kind, String name, String image) {
  public Container {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(image, "image");
  }
}
