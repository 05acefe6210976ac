package dev.registrypolicy.admission;

import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.RegistryHosts;

/**
 * What the rules of a policy read from one valid reference, computed once per container rather than
 * once per pattern.
 *
 * @param ref the reference
 * @param name {@link ImageRef#name()}
 * @param host {@link ImageRef#host()}
 * @param port {@link ImageRef#port()}
 * @param hostKey {@link AdmissionRule.BlockedImage#hostKey} of the host
 * @param effectiveTag {@link ImageRef#effectiveTag()}
 * @param firstSegment the path up to its first {@code /} (the whole path when it has none)
 * @param officialPath for a Docker Hub {@code library/x}, {@code x}: what a blocked name without
 *     {@code /} is also compared with; else null
 */
record ImageFacts(
    ImageRef ref,
    String name,
    String host,
    int port,
    String hostKey,
    String effectiveTag,
    String firstSegment,
    String officialPath) {
  private static final String LIBRARY = "library/";

  /**
   * The facts of a reference; {@code withSegments} false leaves {@link #firstSegment} and {@link
   * #officialPath} null, for policies whose rules never look them up.
   */
  static ImageFacts of(ImageRef ref, boolean withSegments) {
    String host = ref.host();
    String path = ref.path();
    int slash = path.indexOf('/');
    String official =
        withSegments
                && RegistryHosts.isDockerHubSpelling(ref.domain())
                && path.startsWith(LIBRARY)
                && path.indexOf('/', LIBRARY.length()) < 0
            ? path.substring(LIBRARY.length())
            : null;
    return new ImageFacts(
        ref,
        ref.name(),
        host,
        ref.port(),
        AdmissionRule.BlockedImage.hostKey(host),
        ref.effectiveTag(),
        !withSegments ? null : slash < 0 ? path : path.substring(0, slash),
        official);
  }
}
