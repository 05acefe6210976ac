package dev.registrypolicy.controller.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.image.BuiltArtifacts;
import dev.registrypolicy.agent.image.Ctr;
import dev.registrypolicy.agent.image.ImageLab;
import dev.registrypolicy.agent.image.OciArchive;
import dev.registrypolicy.agent.image.RegistryPush;
import dev.registrypolicy.agent.image.TlsEndpoints;
import dev.registrypolicy.agent.lab.CriClient;
import dev.registrypolicy.agent.lab.FreePorts;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The controller image on the real stack: the built OCI archive is pushed to the real registry,
 * pulled through real containerd's CRI {@code PullImage} and run with runc the way the Deployment
 * runs it (image entrypoint + args, the image's user, read-only root, a writable /tmp).
 *
 * <ol>
 *   <li>CRI pulls it under the archive's digests; the container runs as nonroot (65532).
 *   <li>{@code validate --policy} on the manifests' policy ConfigMap exits 0 and prints exactly
 *       what the same jar prints on the build's JDK; an invalid policy exits 1 and names the
 *       problem.
 *   <li>{@code run} talks to a TLS API that offers only elliptic-curve key exchange, once with an
 *       ECDSA and once with an RSA server certificate: requests arrive over a completed handshake.
 * </ol>
 *
 * <p>Skipped, with the reason, where the daemons or root are missing; failed instead when {@code
 * CI=true}.
 */
@Tag("containerd")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControllerImageContainerdIT {

  private static final String REPOSITORY = "registry-policy/controller";
  private static final String POLICY_IN = "/etc/registry-policy/policy-configmap.yaml";
  private static final String KUBECONFIG_IN = "/etc/registry-policy/kubeconfig";
  private static final Duration RUN_TIMEOUT = Duration.ofSeconds(60);

  private static OciArchive image;
  private static ImageLab lab;
  private static String reference;

  @BeforeAll
  static void pushToTheRealRegistry() throws IOException {
    ImageLab.assumeAvailable();
    image = OciArchive.read(BuiltArtifacts.imageArchive());
    assertEquals(List.of(), image.problems(), "the archive must be valid to be pushed");
    long t0 = System.nanoTime();
    lab = ImageLab.start(false);
    RegistryPush.Pushed pushed = lab.push(image, REPOSITORY, BuiltArtifacts.imageTag());
    reference = pushed.reference(lab.registry().hostPort());
    System.out.printf(
        "[controller-image] pushed %s (%s, %.1f MiB) in %d ms%n",
        reference, pushed.digest(), pushed.bytes() / 1048576.0, ms(t0));
  }

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  @Order(1)
  void criPullsTheImageAndItRunsAsNonroot() throws IOException {
    long t0 = System.nanoTime();
    CriClient.PullResult r = lab.pull(reference);
    assertEquals(image.configDescriptor().digest(), r.orThrow(), "CRI image id");
    System.out.printf("[controller-image] CRI PullImage: %s in %d ms%n", r, ms(t0));
    // The JVM reports the user the image's config made the process run as.
    Ctr.Spec spec =
        new Ctr.Spec(
            "controller-whoami",
            reference,
            List.of("java", "-XshowSettings:properties", "-version"),
            List.of(),
            Map.of(),
            true,
            true);
    Ctr.Result who = lab.run(spec, RUN_TIMEOUT);
    assertEquals(0, who.exitCode(), who.toString());
    assertTrue(who.stderr().contains("user.name = nonroot"), who.toString());
  }

  @Test
  @Order(2)
  void validateInTheContainerPrintsWhatTheJarPrints() throws Exception {
    lab.pull(reference).orThrow();
    Path manifest = Path.of(System.getProperty("rp.policy.manifest", "")).toAbsolutePath();
    assertTrue(Files.isRegularFile(manifest), "rp.policy.manifest " + manifest + " is no file");
    Ctr.Result r = validate("controller-validate", manifest);
    System.out.printf(
        "[controller-image] validate in the container: exit %d in %d ms%n",
        r.exitCode(), r.elapsed().toMillis());
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.stdout().startsWith("policy is valid: " + POLICY_IN + "\n"), r.toString());

    HostRun host = runOnHostJdk("validate", "--policy", manifest.toString());
    assertEquals(0, host.exitCode(), host.output());
    assertEquals(
        host.stdout().replace(manifest.toString(), POLICY_IN),
        r.stdout(),
        "validate's output in the image differs from the jar's on the build's JDK");
  }

  @Test
  @Order(3)
  void validateInTheContainerRefusesAnInvalidPolicy() throws Exception {
    Path bad = Files.createDirectories(lab.work().resolve("bad")).resolve("policy.yaml");
    Files.writeString(
        bad,
        "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nregistries:\n"
            + "  - host: docker.io\n    mirrors:\n      - url: ftp://mirror.example\n",
        StandardCharsets.UTF_8);
    Ctr.Result r = validate("controller-validate-bad", bad);
    assertEquals(1, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("registries[0].mirrors[0].url"), r.toString());
  }

  @Test
  @Order(4)
  void runInTheContainerTalksToEllipticCurveOnlyTlsApis() throws Exception {
    lab.pull(reference).orThrow();
    try (TlsEndpoints api = TlsEndpoints.start()) {
      for (String name : List.of(TlsEndpoints.EC, TlsEndpoints.RSA)) {
        Path dir = Files.createDirectories(lab.work().resolve("kube-" + name));
        Path kubeconfig = dir.resolve("config");
        Files.writeString(kubeconfig, kubeconfig(api, name), StandardCharsets.UTF_8);
        int listen = FreePorts.allocate(1)[0];
        List<String> args =
            List.of("run", "--listen", "127.0.0.1:" + listen, "--admission-enforcement", "auto");
        long t0 = System.nanoTime();
        Ctr.Running controller =
            lab.start(
                lab.containerSpec(
                    "controller-run-" + name,
                    reference,
                    image,
                    args,
                    List.of(new Ctr.Mount(kubeconfig, KUBECONFIG_IN, true)),
                    Map.of("KUBECONFIG", KUBECONFIG_IN)));
        try {
          boolean talked =
              api.awaitLine(
                  Pattern.compile("(?m)^REQUEST " + name + " \\S+ /(api|apis|version)"),
                  Duration.ofSeconds(40));
          assertTrue(
              talked,
              "the controller made no request to the "
                  + name
                  + " endpoint:\n"
                  + api.log()
                  + "\ncontroller:\n"
                  + controller.stderr());
          System.out.printf(
              "[controller-image] run: first API request over TLS (%s certificate) %d ms after"
                  + " start; %s%n",
              name, ms(t0), api.lines("HANDSHAKE", name).get(0));
        } finally {
          Ctr.Result r = controller.stop();
          System.out.printf("[controller-image] run stopped: exit %d%n", r.exitCode());
        }
        assertTrue(api.lines("HANDSHAKE-FAILED", name).isEmpty(), api.log());
        assertFalse(api.lines("HANDSHAKE", name).isEmpty(), api.log());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static Ctr.Result validate(String id, Path policy) throws IOException {
    return lab.run(
        lab.containerSpec(
            id,
            reference,
            image,
            List.of("validate", "--policy", POLICY_IN),
            List.of(new Ctr.Mount(policy, POLICY_IN, true)),
            Map.of()),
        RUN_TIMEOUT);
  }

  private static String kubeconfig(TlsEndpoints api, String name) throws IOException {
    String ca = Base64.getEncoder().encodeToString(api.certificatePem(name));
    return "apiVersion: v1\n"
        + "kind: Config\n"
        + "clusters:\n"
        + "  - name: test\n"
        + "    cluster:\n"
        + "      server: https://127.0.0.1:"
        + api.port(name)
        + "\n"
        + "      certificate-authority-data: "
        + ca
        + "\n"
        + "users:\n"
        + "  - name: test\n"
        + "    user:\n"
        + "      token: image-test-token\n"
        + "contexts:\n"
        + "  - name: test\n"
        + "    context: {cluster: test, user: test}\n"
        + "current-context: test\n";
  }

  private record HostRun(int exitCode, String stdout, String output) {}

  /** The controller jar on the JDK running this test. */
  private static HostRun runOnHostJdk(String... args) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path out = Files.createTempFile(lab.work(), "host-", ".out");
    Path err = Files.createTempFile(lab.work(), "host-", ".err");
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(java.toString(), "-jar", BuiltArtifacts.appJar().toString()));
    cmd.addAll(List.of(args));
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError("the controller jar on the build's JDK did not finish in 60 s");
    }
    String stdout = Files.readString(out, StandardCharsets.UTF_8);
    return new HostRun(
        p.exitValue(), stdout, stdout + Files.readString(err, StandardCharsets.UTF_8));
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
