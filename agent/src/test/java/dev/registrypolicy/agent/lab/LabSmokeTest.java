package dev.registrypolicy.agent.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.agent.lab.CriClient.PullResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * Proves the lab harness end to end: a real registry (TLS + basic auth, and a token-auth twin), a
 * real containerd per build found on the machine, and CRI PullImage over the unix socket.
 * hosts.toml files are written by hand here; the agent's own writer is tested elsewhere.
 *
 * <p>Skipped, with the reason, where the daemons are not installed (see .ci/install-daemons.sh).
 */
@Tag("containerd")
class LabSmokeTest {

  private static final String IMAGE = "docker.io/library/hello:v1";
  private static final String DENIED = "401 Unauthorized|pull access denied";

  private static LabEnvironment env;
  private static Path work;
  private static Pki pki;
  private static RegistryLab registry;

  @BeforeAll
  static void startRegistry() throws IOException {
    env = LabEnvironment.detect();
    assumeTrue(env.ready(), () -> env.missingReason().orElse(""));
    System.out.println("[lab] " + env.describe().strip().replace("\n", "\n[lab] "));
    long t0 = System.nanoTime();
    work = Files.createTempDirectory(Path.of("/tmp"), "rpl-smoke-");
    pki = Pki.create(work.resolve("pki"));
    registry = RegistryLab.startWithTokenAuth(work.resolve("registry"), pki);
    registry.pushTestImage("library/hello", "v1");
    System.out.printf(
        "[lab] registry %s + token registry %s + token server :%d ready, image pushed: %d ms%n",
        registry.url(), registry.tokenRegistryUrl(), registry.tokenServer().port(), ms(t0));
  }

  @AfterAll
  static void stopRegistry() {
    if (registry != null) {
      registry.close();
    }
    if (work != null) {
      ContainerdLab.deleteTree(work);
    }
  }

  @TestFactory
  Stream<DynamicNode> eachContainerdBuild() {
    List<ContainerdBuild> builds = env.containerdBuilds();
    return builds.stream()
        .map(
            build -> {
              List<DynamicNode> cases = new ArrayList<>();
              cases.add(
                  test(
                      build,
                      "mirror with Authorization header and ca pulls " + IMAGE,
                      () -> mirrorWithHeaderPulls(build)));
              cases.add(
                  test(
                      build,
                      "mirror with a wrong password is refused",
                      () -> wrongPasswordRefused(build)));
              cases.add(
                  test(
                      build,
                      "no certs.d: mirror not used, upstream hits the proxy guard",
                      () -> noCertsDirHitsGuard(build)));
              if (build.isV2()) {
                cases.add(
                    test(
                        build,
                        "token-auth mirror with header credentials pulls",
                        () -> tokenMirrorWithHeaderPulls(build)));
              }
              return DynamicContainer.dynamicContainer(
                  "containerd " + build.version() + " (" + build.binary() + ")", cases.stream());
            })
        .map(DynamicNode.class::cast);
  }

  private static DynamicTest test(ContainerdBuild build, String name, Executable body) {
    return DynamicTest.dynamicTest(
        "containerd " + build.version() + ": " + name,
        () -> {
          long t0 = System.nanoTime();
          try {
            body.execute();
            System.out.printf(
                "[lab] containerd %s | %-62s | ok   | %5d ms%n", build.version(), name, ms(t0));
          } catch (Throwable t) {
            System.out.printf(
                "[lab] containerd %s | %-62s | FAIL | %5d ms%n", build.version(), name, ms(t0));
            throw t;
          }
        });
  }

  // ---------------------------------------------------------------------------------

  private void mirrorWithHeaderPulls(ContainerdBuild build) throws IOException {
    Path certs = certsDir(build, "ok");
    writeDockerIoHosts(certs, registry.url(), registry.basicAuthorization());
    try (ContainerdLab ctrd = ContainerdLab.start(build, certs)) {
      assertEquals("containerd", ctrd.version().getRuntimeName());
      assertTrue(
          ctrd.version().getRuntimeVersion().startsWith(build.version()),
          () -> "CRI reports " + ctrd.version().getRuntimeVersion() + " for " + build);
      System.out.printf(
          "[lab] containerd %s: CRI Version %s %s (API %s), up in %d ms%n",
          build.version(),
          ctrd.version().getRuntimeName(),
          ctrd.version().getRuntimeVersion(),
          ctrd.version().getRuntimeApiVersion(),
          ctrd.startupTime().toMillis());

      PullResult pull = ctrd.cri().pullImage(IMAGE);
      assertTrue(
          pull.ok(),
          () -> "expected pull through the mirror to succeed: " + pull + "\n" + ctrd.logTail(30));
      assertTrue(pull.imageRef().startsWith("sha256:"), pull::toString);
      assertTrue(ctrd.cri().imageStatus(IMAGE).isPresent(), "ImageStatus after pull");
      assertTrue(
          registry.awaitRequest(
              e ->
                  e.uri().contains("/v2/library/hello/manifests/v1")
                      && e.uri().contains("ns=docker.io"),
              Duration.ofSeconds(10)),
          () -> "registry access log shows no ?ns=docker.io request: " + registry.accessLog());

      ctrd.cri().removeImage(IMAGE);
      assertFalse(ctrd.cri().imageStatus(IMAGE).isPresent(), "ImageStatus after RemoveImage");
      PullResult again = ctrd.cri().pullImage(IMAGE);
      assertTrue(again.ok(), () -> "second pull after RemoveImage: " + again);
      System.out.printf(
          "[lab] containerd %s: first pull %d ms, pull after RemoveImage %d ms%n",
          build.version(), pull.elapsed().toMillis(), again.elapsed().toMillis());
    }
  }

  private void wrongPasswordRefused(ContainerdBuild build) throws IOException {
    Path certs = certsDir(build, "wrong-password");
    writeDockerIoHosts(
        certs,
        registry.url(),
        RegistryLab.basicAuthorization(RegistryLab.USER, "not-the-password"));
    try (ContainerdLab ctrd = ContainerdLab.start(build, certs)) {
      PullResult pull = ctrd.cri().pullImage(IMAGE);
      assertTrue(pull.failedWith(DENIED), () -> "expected '" + DENIED + "', got " + pull);
    }
  }

  private void noCertsDirHitsGuard(ContainerdBuild build) throws IOException {
    Path certs = work.resolve("certs-" + build.version() + "-none"); // never created
    try (ContainerdLab ctrd = ContainerdLab.start(build, certs)) {
      PullResult pull = ctrd.cri().pullImage(IMAGE);
      assertTrue(
          pull.failedWith("proxyconnect"),
          () -> "expected the proxy guard to stop the upstream pull, got " + pull);
      assertTrue(pull.description().contains("127.0.0.1:" + ctrd.guardPort()), pull::toString);
    }
  }

  private void tokenMirrorWithHeaderPulls(ContainerdBuild build) throws IOException {
    Path certs = certsDir(build, "token");
    writeDockerIoHosts(certs, registry.tokenRegistryUrl(), registry.basicAuthorization());
    registry.tokenServer().clearRequests();
    try (ContainerdLab ctrd = ContainerdLab.start(build, certs)) {
      PullResult pull = ctrd.cri().pullImage(IMAGE);
      assertTrue(
          pull.ok(),
          () ->
              "expected pull through the token registry to succeed: "
                  + pull
                  + "\ntoken requests: "
                  + registry.tokenServer().requests()
                  + "\n"
                  + ctrd.logTail(30));
      assertTrue(
          registry.tokenServer().requests().stream()
              .anyMatch(r -> r.status() == 200 && "Basic".equals(r.authKind())),
          () ->
              "token server saw no Basic-authenticated request: "
                  + registry.tokenServer().requests());
      assertTrue(
          registry.awaitTokenRegistryRequest(
              e -> e.uri().contains("ns=docker.io") && e.status() == 200, Duration.ofSeconds(10)),
          () -> "token registry log: " + registry.tokenRegistryAccessLog());
    }
  }

  // ---------------------------------------------------------------------------------

  private static Path certsDir(ContainerdBuild build, String name) throws IOException {
    return Files.createDirectories(work.resolve("certs-" + build.version() + "-" + name));
  }

  /** certs.d/docker.io/hosts.toml with one mirror host, written by hand. */
  private static void writeDockerIoHosts(Path certsDir, String mirrorUrl, String authorization)
      throws IOException {
    Path dir = Files.createDirectories(certsDir.resolve("docker.io"));
    String toml =
        "server = \"https://registry-1.docker.io\"\n"
            + "\n"
            + "[host.\""
            + mirrorUrl
            + "\"]\n"
            + "  capabilities = [\"pull\", \"resolve\"]\n"
            + "  ca = \""
            + pki.caCert()
            + "\"\n"
            + "  [host.\""
            + mirrorUrl
            + "\".header]\n"
            + "    Authorization = \""
            + authorization
            + "\"\n";
    Path tmp = dir.resolve(".hosts.toml.tmp");
    Files.writeString(tmp, toml, StandardCharsets.UTF_8);
    Files.move(
        tmp,
        dir.resolve("hosts.toml"),
        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
