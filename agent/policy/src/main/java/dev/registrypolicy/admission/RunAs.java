package dev.registrypolicy.admission;

/**
 * The two securityContext fields that decide whether a container may run as root, as written at one
 * level (the Pod's {@code spec.securityContext} or a container's {@code securityContext}); null
 * when not set there.
 *
 * <p>Kubernetes API reference (PodSecurityContext and SecurityContext): {@code runAsUser} is "the
 * UID to run the entrypoint of the container process. Defaults to user specified in image metadata
 * if unspecified"; {@code runAsNonRoot} "indicates that the container must run as a non-root user.
 * If true, the Kubelet will validate the image at runtime to ensure that it does not run as UID 0
 * (root) and fail to start the container if it does"; for both, "if set in both SecurityContext and
 * PodSecurityContext, the value specified in SecurityContext takes precedence".
 *
 * @param runAsNonRoot {@code runAsNonRoot}, or null
 * @param runAsUser {@code runAsUser}, or null
 */
public record RunAs(Boolean runAsNonRoot, Long runAsUser) {
  /** Neither field set. */
  public static final RunAs UNSET = new RunAs(null, null);

  /** The effective settings of a container: its own fields, else the Pod's, field by field. */
  public RunAs over(RunAs pod) {
    return new RunAs(
        runAsNonRoot != null ? runAsNonRoot : pod.runAsNonRoot,
        runAsUser != null ? runAsUser : pod.runAsUser);
  }

  /**
   * Whether these (effective) settings keep the process from running as root whatever the image's
   * config says: a non-zero {@code runAsUser} replaces the image's user, and {@code runAsNonRoot:
   * true} makes the kubelet refuse to start a container that would run as UID 0. A {@code
   * runAsUser: 0} runs as root in any case.
   */
  public boolean forcesNonRoot() {
    if (runAsUser != null) {
      return runAsUser != 0;
    }
    return Boolean.TRUE.equals(runAsNonRoot);
  }

  /** Whether these (effective) settings make the process run as root: {@code runAsUser: 0}. */
  public boolean forcesRoot() {
    return runAsUser != null && runAsUser == 0;
  }
}
