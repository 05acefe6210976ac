package dev.registrypolicy.admission;

/** The three container lists of a pod spec, in the order admission reads them. */
public enum ContainerKind {
  CONTAINER("containers", "container"),
  INIT("initContainers", "init container"),
  EPHEMERAL("ephemeralContainers", "ephemeral container");

  private final String field;
  private final String noun;

  ContainerKind(String field, String noun) {
    this.field = field;
    this.noun = noun;
  }

  /**
   * The pod spec field: {@code containers}, {@code initContainers}, {@code ephemeralContainers}.
   */
  public String field() {
    return field;
  }

  /** How messages name it: {@code container "web"}, {@code init container "setup"}. */
  public String noun() {
    return noun;
  }
}
