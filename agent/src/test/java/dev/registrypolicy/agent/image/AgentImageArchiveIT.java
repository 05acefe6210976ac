package dev.registrypolicy.agent.image;

import java.util.Set;

/**
 * The agent's OCI archive ({@code agent/target/registry-policy-agent-image.tar}): valid OCI layout,
 * named {@code registry-policy.invalid/agent:<version>}, runs {@code java … -jar
 * /app/registry-policy-agent.jar} as uid 0, carries this build's jar and runtime, no shell, no
 * escaping or dangling link, no secret, at most 25 MiB compressed.
 */
class AgentImageArchiveIT extends ImageArchiveChecks {

  /**
   * The demo's client key ({@code DemoMaterial.CLIENT_KEY}): public in the source, "not secret,
   * demo only", so nothing trusts its certificate. Every other private key in the image fails.
   */
  static final String DEMO_CLIENT_KEY =
      "sha256:9ca37899fbf014cfffba02cb52f51f9cbb7096a74306328892f300751d0bc751";

  /** The target for the agent image, met (20.2 MiB on 2026-12-02): also its budget. */
  static final long TARGET_COMPRESSED = 25L << 20;

  @Override
  protected String imageName() {
    return "agent";
  }

  @Override
  protected ImageContract.Expectation expectation() {
    return new ImageContract.Expectation(
        "registry-policy-agent.jar",
        "0",
        BuiltArtifacts.appJar(),
        BuiltArtifacts.jlinkRuntime(),
        Set.of(DEMO_CLIENT_KEY));
  }

  @Override
  protected long targetCompressedBytes() {
    return TARGET_COMPRESSED;
  }

  @Override
  protected long maxCompressedBytes() {
    return TARGET_COMPRESSED;
  }
}
