package dev.registrypolicy.controller.image;

import dev.registrypolicy.agent.image.BuiltArtifacts;
import dev.registrypolicy.agent.image.ImageArchiveChecks;
import dev.registrypolicy.agent.image.ImageContract;
import java.util.Set;

/**
 * The controller's OCI archive ({@code controller/target/registry-policy-controller-image.tar}):
 * valid OCI layout, named {@code registry-policy.invalid/controller:<version>}, runs {@code java …
 * -jar /app/registry-policy-controller.jar} as uid 65532 (nonroot), carries this build's jar and
 * runtime, no shell, no escaping or dangling link, no private key, within its size budget (the 45
 * MiB target is not met yet).
 */
class ControllerImageArchiveIT extends ImageArchiveChecks {

  /** The target for the controller image. */
  static final long TARGET_COMPRESSED = 45L << 20;

  /**
   * The target is not met: 47.5 MiB measured on 2026-12-02, of which the shaded jar is about 34 MB
   * uncompressed. The budget keeps the image from growing; lower it as the image shrinks.
   */
  static final long BUDGET_COMPRESSED = 49L << 20;

  @Override
  protected String imageName() {
    return "controller";
  }

  @Override
  protected ImageContract.Expectation expectation() {
    return new ImageContract.Expectation(
        "registry-policy-controller.jar",
        "65532",
        BuiltArtifacts.appJar(),
        BuiltArtifacts.jlinkRuntime(),
        Set.of());
  }

  @Override
  protected long targetCompressedBytes() {
    return TARGET_COMPRESSED;
  }

  @Override
  protected long maxCompressedBytes() {
    return BUDGET_COMPRESSED;
  }
}
