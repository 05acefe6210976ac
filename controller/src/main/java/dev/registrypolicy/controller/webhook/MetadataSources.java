package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.controller.imagemeta.ImageMetadataException;
import dev.registrypolicy.controller.imagemeta.ImageMetadataSource;
import dev.registrypolicy.policy.Policy;

/**
 * How the webhook and {@code check --registry-access} get the {@link ImageMetadataSource} for a
 * policy (its mirrors, credentials and TLS settings decide how registries are reached): one
 * construction for both, so their verdicts agree.
 */
@FunctionalInterface
public interface MetadataSources {
  /** The source for reviews under this policy; called once per valid policy. */
  ImageMetadataSource forPolicy(Policy policy);

  /**
   * No registry access: every lookup fails with {@link ImageMetadataException.Kind#ERROR} saying
   * so, and each image-content rule's {@code onError} decides. What a controller built without a
   * registry client uses.
   */
  MetadataSources UNAVAILABLE =
      policy ->
          (image, deadline) -> {
            throw new ImageMetadataException(
                ImageMetadataException.Kind.ERROR,
                "this controller has no registry access configured for image-content rules, so"
                    + " the metadata of "
                    + image.canonical()
                    + " was not fetched");
          };
}
