package dev.registrypolicy.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.lab.CriClient;
import dev.registrypolicy.agent.lab.RegistryLab;
import dev.registrypolicy.agent.lab.cri.Image;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The agent image on the real stack: the built OCI archive is pushed to the real registry (TLS,
 * basic auth), pulled through real containerd's CRI {@code PullImage}, and run as a container with
 * runc, the way the DaemonSet runs it (image entrypoint + args, uid 0 from the image, read-only
 * root, host network, certs.d and the policy and credentials bind-mounted).
 *
 * <ol>
 *   <li>CRI pulls the image under the archive's digests; the container runs as root (uid 0, the
 *       image's user).
 *   <li>{@code --once} (with the lab containerd's own config.toml to diagnose) writes {@code
 *       certs.d/docker.io/}: hosts.toml (mirror, CA path as containerd sees it, credentials
 *       header), the CA file and the ownership marker, byte for byte what the same jar writes on
 *       the build's JDK; containerd then pulls {@code docker.io/library/hello:v1} through that
 *       mirror.
 *   <li>The agent's registry probe in the container reaches both TLS registries (basic and token
 *       auth) and reports what they ask for.
 * </ol>
 *
 * <p>Skipped, with the reason, where the daemons or root are missing; failed instead when {@code
 * CI=true}.
 */
@Tag("containerd")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentImageContainerdIT {

  private static final String REPOSITORY = "registry-policy/agent";
  private static final String POLICY_IN = "/etc/registry-policy/policy";
  private static final String CREDENTIALS_IN = "/etc/registry-policy/credentials";
  private static final String CERTS_IN = "/host/certs.d";
  private static final String CONTAINERD_CONFIG_IN = "/host/containerd/config.toml";
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
    lab = ImageLab.start(true);
    RegistryPush.Pushed pushed = lab.push(image, REPOSITORY, BuiltArtifacts.imageTag());
    reference = pushed.reference(lab.registry().hostPort());
    lab.registry().pushTestImage("library/hello", "v1");
    System.out.printf(
        "[agent-image] pushed %s (%s, %.1f MiB) in %d ms%n",
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
  void criPullsTheImageUnderTheArchivesDigestsAndItRunsAsRoot() throws IOException {
    long t0 = System.nanoTime();
    CriClient.PullResult r = lab.pull(reference);
    String id = r.orThrow();
    System.out.printf("[agent-image] CRI PullImage %s: %s in %d ms%n", reference, r, ms(t0));
    assertEquals(image.configDescriptor().digest(), id, "CRI image id is the config digest");
    Image status =
        lab.containerd()
            .cri()
            .imageStatus(reference)
            .orElseThrow(() -> new AssertionError("ImageStatus knows no " + reference));
    assertTrue(
        status
            .getRepoDigestsList()
            .contains(lab.registry().hostPort() + "/" + REPOSITORY + "@" + image.digest()),
        "repo digests " + status.getRepoDigestsList() + " lack the archive's " + image.digest());
    // The JVM reports the user the image's config made the process run as.
    Ctr.Result who =
        lab.run(
            new Ctr.Spec(
                "agent-whoami",
                reference,
                List.of("java", "-XshowSettings:properties", "-version"),
                List.of(),
                Map.of(),
                true,
                true),
            RUN_TIMEOUT);
    assertEquals(0, who.exitCode(), who.toString());
    assertTrue(who.stderr().contains("user.name = root"), who.toString());
  }

  @Test
  @Order(2)
  void onceInTheContainerWritesHostsTomlThatContainerdPullsThrough() throws Exception {
    lab.pull(reference).orThrow();
    Path node = Files.createDirectories(lab.work().resolve("node-once"));
    writeNodeInputs(node, policy(hubMirror(lab.registry().url())));
    Path certs = lab.certsDir();
    String nodeCerts = certs.toAbsolutePath().toString();
    Path ownDir = certs.resolve(lab.registry().hostPort());
    Map<String, byte[]> ownBefore = files(ownDir);

    List<String> args =
        List.of(
            "--policy",
            POLICY_IN + "/policy.yaml",
            "--secrets-dir",
            CREDENTIALS_IN,
            "--certs-dir",
            CERTS_IN,
            "--node-certs-dir",
            nodeCerts,
            "--containerd-config",
            CONTAINERD_CONFIG_IN,
            "--once");
    List<Ctr.Mount> mounts = new ArrayList<>(mounts(node, certs));
    mounts.add(
        new Ctr.Mount(
            lab.containerd().dir().resolve("containerd.toml"), CONTAINERD_CONFIG_IN, true));
    Ctr.Result r =
        lab.run(
            lab.containerSpec("agent-once", reference, image, args, mounts, Map.of()), RUN_TIMEOUT);
    System.out.printf(
        "[agent-image] --once in the container: exit %d in %d ms%n",
        r.exitCode(), r.elapsed().toMillis());
    assertEquals(0, r.exitCode(), "agent --once in the container:\n" + r);
    assertTrue(r.stderr().contains("msg=\"once done\" outcome=applied problems=0"), r.toString());

    Path dockerIo = certs.resolve("docker.io");
    String hostsToml = Files.readString(dockerIo.resolve("hosts.toml"), StandardCharsets.UTF_8);
    String mirror = lab.registry().url();
    assertTrue(hostsToml.contains("server = \"https://registry-1.docker.io\"\n"), hostsToml);
    assertTrue(hostsToml.contains("[host.\"" + mirror + "\"]\n"), hostsToml);
    assertTrue(hostsToml.contains("capabilities = [\"pull\", \"resolve\"]"), hostsToml);
    assertTrue(
        Pattern.compile(
                "ca = \\[\""
                    + Pattern.quote(nodeCerts + "/docker.io/")
                    + "ca-[0-9a-f]+"
                    + "\\.crt\"\\]")
            .matcher(hostsToml)
            .find(),
        "ca must be the node's path: " + hostsToml);
    assertTrue(
        hostsToml.contains("Authorization = \"" + lab.registry().basicAuthorization() + "\""),
        "the credentials header is missing");

    // The same jar on the build's JDK writes the same files.
    Path refCerts = Files.createDirectories(lab.work().resolve("reference-certs.d"));
    int code = runOnHostJdk(node, refCerts, nodeCerts);
    assertEquals(0, code, "the agent jar on the build's JDK failed");
    assertEquals(
        describe(files(refCerts.resolve("docker.io"))),
        describe(files(dockerIo)),
        "certs.d/docker.io written in the image differs from the jar's on the build's JDK");
    assertEquals(modes(refCerts.resolve("docker.io")), modes(dockerIo), "file modes differ");
    assertEquals(describe(ownBefore), describe(files(ownDir)), "the agent touched another dir");

    // containerd uses what the image wrote.
    CriClient cri = lab.containerd().cri();
    cri.removeImage("docker.io/library/hello:v1");
    CriClient.PullResult hello = cri.pullImage("docker.io/library/hello:v1");
    hello.orThrow();
    assertTrue(
        lab.registry()
            .awaitRequest(
                e ->
                    e.path().equals("/v2/library/hello/manifests/v1")
                        && e.uri().contains("ns=docker.io")
                        && e.status() == 200,
                Duration.ofSeconds(5)),
        "the registry saw no mirror request (?ns=docker.io) for hello:v1: "
            + lab.registry().accessLog());
  }

  @Test
  @Order(3)
  void probeInTheContainerReachesBothTlsRegistries() throws Exception {
    lab.pull(reference).orThrow();
    Path node = Files.createDirectories(lab.work().resolve("node-probe"));
    Path certs = Files.createDirectories(node.resolve("certs.d"));
    RegistryLab registry = lab.registry();
    writeNodeInputs(
        node,
        policy(
            hubMirror(registry.url()),
            "  - host: quay.io\n"
                + "    mirrors:\n"
                + "      - url: "
                + registry.tokenRegistryUrl()
                + "\n"
                + "        ca: {secret: lab-ca}\n"
                + "        credentials: lab\n"));
    List<String> args =
        List.of(
            "--policy",
            POLICY_IN + "/policy.yaml",
            "--secrets-dir",
            CREDENTIALS_IN,
            "--certs-dir",
            CERTS_IN,
            "--listen",
            "off",
            "--verbose");
    long t0 = System.nanoTime();
    Ctr.Running agent =
        lab.start(
            lab.containerSpec(
                "agent-probe", reference, image, args, mounts(node, certs), Map.of()));
    try {
      Pattern basic =
          Pattern.compile(
              "msg=\"probed registry\" scheme=https host=127\\.0\\.0\\.1 port="
                  + registry.port()
                  + " auth=BASIC status=401");
      Pattern bearer =
          Pattern.compile(
              "msg=\"probed registry\" scheme=https host=127\\.0\\.0\\.1 port="
                  + registry.tokenRegistryPort()
                  + " auth=BEARER status=401");
      Pattern tokenWarning =
          Pattern.compile(
              Pattern.quote(registry.tokenRegistryUrl()) + " uses token authentication");
      Duration wait = Duration.ofSeconds(30);
      assertTrue(
          agent.awaitOutput(basic, wait),
          "no probe of the basic-auth TLS registry:\n" + agent.stderr());
      assertTrue(
          agent.awaitOutput(bearer, wait),
          "no probe of the token-auth TLS registry:\n" + agent.stderr());
      assertTrue(
          agent.awaitOutput(tokenWarning, wait), "no token-auth warning:\n" + agent.stderr());
      System.out.printf(
          "[agent-image] probes of both TLS registries reported %d ms after start%n", ms(t0));
      assertTrue(
          registry.awaitRequest(
              e -> e.path().equals("/v2/") && e.status() == 401, Duration.ofSeconds(5)),
          "the basic-auth registry logged no probe GET /v2/");
    } finally {
      Ctr.Result r = agent.stop();
      System.out.printf("[agent-image] daemon stopped: exit %d%n", r.exitCode());
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static List<Ctr.Mount> mounts(Path node, Path certs) {
    return List.of(
        new Ctr.Mount(certs, CERTS_IN, false),
        new Ctr.Mount(node.resolve("policy"), POLICY_IN, true),
        new Ctr.Mount(node.resolve("credentials"), CREDENTIALS_IN, true));
  }

  /** policy/policy.yaml and the credentials bundle (lab CA, lab user) under {@code node}. */
  private static void writeNodeInputs(Path node, String policy) throws IOException {
    Path p = Files.createDirectories(node.resolve("policy"));
    Files.writeString(p.resolve("policy.yaml"), policy, StandardCharsets.UTF_8);
    Path c = Files.createDirectories(node.resolve("credentials"));
    Files.write(c.resolve("lab-ca_ca.crt"), lab.pki().caPem());
    Files.writeString(c.resolve("lab-basic_username"), RegistryLab.USER, StandardCharsets.UTF_8);
    Files.writeString(
        c.resolve("lab-basic_password"), RegistryLab.PASSWORD, StandardCharsets.UTF_8);
  }

  private static String policy(String... registries) {
    return "apiVersion: registry-policy.dev/v1alpha1\n"
        + "kind: RegistryPolicy\n"
        + "credentials:\n"
        + "  - {name: lab, secret: lab-basic}\n"
        + "registries:\n"
        + String.join("", registries);
  }

  private static String hubMirror(String url) {
    return "  - host: docker.io\n"
        + "    mirrors:\n"
        + "      - url: "
        + url
        + "\n"
        + "        ca: {secret: lab-ca}\n"
        + "        credentials: lab\n";
  }

  /** The agent jar on the JDK running this test, --once with the same inputs. */
  private static int runOnHostJdk(Path node, Path certs, String nodeCerts) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path log = lab.work().resolve("reference.log");
    Process p =
        new ProcessBuilder(
                java.toString(),
                "-jar",
                BuiltArtifacts.appJar().toString(),
                "--policy",
                node.resolve("policy/policy.yaml").toString(),
                "--secrets-dir",
                node.resolve("credentials").toString(),
                "--certs-dir",
                certs.toString(),
                "--node-certs-dir",
                nodeCerts,
                "--once")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError("the agent jar on the build's JDK did not finish in 60 s");
    }
    return p.exitValue();
  }

  /** Regular files below {@code dir} (relative name → bytes), symlinks not followed. */
  private static Map<String, byte[]> files(Path dir) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
        }
      }
    }
    return out;
  }

  private static Map<String, String> modes(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        out.put(
            dir.relativize(p).toString(),
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)));
      }
    }
    return out;
  }

  /** name → sha256, for an assertion message that shows which file differs. */
  private static List<String> describe(Map<String, byte[]> files) {
    List<String> out = new ArrayList<>();
    files.forEach((k, v) -> out.add(k + " " + OciArchive.sha256(v)));
    return out;
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
