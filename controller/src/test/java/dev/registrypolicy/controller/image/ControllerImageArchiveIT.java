package dev.registrypolicy.controller.image;

import dev.registrypolicy.agent.image.BuiltArtifacts;
import dev.registrypolicy.agent.image.ImageArchiveChecks;
import dev.registrypolicy.agent.image.ImageContract;
import java.util.Set;

/**
 * The controller's OCI archive ({@code controller/target/registry-policy-controller-image.tar}):
 * valid OCI layout, named {@code registry-policy.invalid/controller:<version>}, runs {@code java …
 * -jar /app/registry-policy-controller.jar} as uid 65532 (nonroot), carries this build's jar and
 * runtime, no shell, no escaping or dangling link, no private key, within the 45 MiB.
 */
class ControllerImageArchiveIT extends ImageArchiveChecks {

  /** The target for the controller image. */
  static final long TARGET_COMPRESSED = 45L << 20;

  /**
   * The budget is the target: 44.0 MiB measured on 2026-12-02 (it was 47.5 MiB before jackson, the
   * Servlet API's schemas and BouncyCastle's post-quantum provider classes left the shaded jar).
   */
  static final long BUDGET_COMPRESSED = TARGET_COMPRESSED;

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
