package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.ImageContentRules;
import dev.registrypolicy.controller.imagemeta.ImageMetadataSource;
import dev.registrypolicy.policy.Policy;
import java.util.Objects;

/**
 * One policy and everything a review judges by, swapped as a whole when the policy changes, so a
 * review never sees the grants of one policy and the rules of another.
 *
 * @param policy the policy (its access grants drive the mutating path)
 * @param check the verdict function built from it
 * @param content its image-content rules
 * @param source where those rules get image metadata (built for this policy's registries)
 * @param review the fetching and merging of the content rules (shared by all snapshots of a
 *     runtime)
 */
public record PolicySnapshot(
    Policy policy,
    AdmissionCheck check,
    ImageContentRules content,
    ImageMetadataSource source,
    ContentReview review) {
  public PolicySnapshot {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(check, "check");
    Objects.requireNonNull(content, "content");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(review, "review");
  }

  /**
   * The snapshot for a policy without registry access ({@link MetadataSources#UNAVAILABLE}: the
   * content rules' {@code onError} decides); {@code ownNamespace} is the product's namespace.
   */
  public static PolicySnapshot of(Policy policy, String ownNamespace) {
    return of(
        policy, ownNamespace, MetadataSources.UNAVAILABLE.forPolicy(policy), SharedReview.INSTANCE);
  }

  /**
   * The snapshot for a policy whose content rules fetch from {@code source} through {@code review}.
   */
  public static PolicySnapshot of(
      Policy policy, String ownNamespace, ImageMetadataSource source, ContentReview review) {
    return new PolicySnapshot(
        policy,
        AdmissionCheck.of(policy, ownNamespace),
        ImageContentRules.of(policy, ownNamespace),
        source,
        review);
  }

  /** A review for snapshots made without one, created on first use (daemon threads). */
  private static final class SharedReview {
    static final ContentReview INSTANCE = new ContentReview(ImageContentMetrics.unregistered());
  }
}
