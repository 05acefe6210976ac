package dev.registrypolicy.agent.image;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.agent.lab.ContainerdBuild;
import dev.registrypolicy.agent.lab.ContainerdLab;
import dev.registrypolicy.agent.lab.CriClient;
import dev.registrypolicy.agent.lab.LabEnvironment;
import dev.registrypolicy.agent.lab.Pki;
import dev.registrypolicy.agent.lab.RegistryLab;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * The real stack an image is proven on: a TLS registry with basic auth (docker-registry, from the
 * agent's lab; optionally its token-auth twin), one real containerd whose {@code config_path} is
 * {@link #certsDir()}, and runc through containerd's own runc shim. An image is pushed byte for
 * byte ({@link RegistryPush}), pulled through CRI {@code PullImage} (what the kubelet calls), and
 * run with {@code ctr run} ({@link Ctr}).
 *
 * <p>For the pull, {@code certs.d/127.0.0.1:<port>/hosts.toml} trusts the lab CA and sends the lab
 * credentials, as a node set up for a private registry would; the agent under test writes other
 * host directories next to it.
 *
 * <p>containerd: the machine's own ({@code /usr/bin/containerd}, 1.6 on Debian 12, what the real
 * single-node cluster ran), else the newest build the lab found. {@link #close()} stops every
 * container this lab started, then containerd and the registries (their own processes only), and
 * deletes the working directory.
 */
public final class ImageLab implements AutoCloseable {

  private final Path work;
  private final Pki pki;
  private final RegistryLab registry;
  private final Path certsDir;
  private final ContainerdLab containerd;
  private final Ctr ctr;
  private final List<String> started = new CopyOnWriteArrayList<>();
  private final boolean createdRunContainerd;

  /**
   * What running containers leaves in /run/containerd whatever the lab's root and state: ctr's FIFO
   * directory, the shims' sockets and runc's state root, deepest first.
   */
  private static final List<Path> RUN_DIRS =
      List.of(
          Path.of("/run/containerd/runc/k8s.io"),
          Path.of("/run/containerd/runc"),
          Path.of("/run/containerd/fifo"),
          Path.of("/run/containerd/s"),
          Path.of("/run/containerd"));

  private ImageLab(
      Path work,
      Pki pki,
      RegistryLab registry,
      Path certsDir,
      ContainerdLab containerd,
      Ctr ctr,
      boolean createdRunContainerd) {
    this.createdRunContainerd = createdRunContainerd;
    this.work = work;
    this.pki = pki;
    this.registry = registry;
    this.certsDir = certsDir;
    this.containerd = containerd;
    this.ctr = ctr;
  }

  /**
   * Skips the calling test, with the reason, where the lab cannot run here; fails it instead when
   * {@code CI=true}, where the real-daemon tests must run.
   */
  public static void assumeAvailable() {
    Optional<String> missing = missingReason();
    if (missing.isEmpty()) {
      return;
    }
    System.out.println("[image-lab] not available: " + missing.get());
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail("CI=true, but the image tests cannot run: " + missing.get());
    }
    assumeTrue(false, missing.get());
  }

  /** Why the lab cannot run here, or empty. */
  public static Optional<String> missingReason() {
    LabEnvironment env = LabEnvironment.detect();
    List<String> missing = new ArrayList<>();
    env.missingReason().ifPresent(missing::add);
    if (env.isLinux() && LabEnvironment.onPath("runc").isEmpty()) {
      missing.add("'runc' not on PATH (Debian package runc): containers cannot run");
    }
    if (!env.containerdBuilds().isEmpty() && ctrFor(pick(env)).isEmpty()) {
      missing.add("no 'ctr' next to " + pick(env).binary() + " or on PATH");
    }
    return missing.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", missing));
  }

  /** Starts the registry (with its token-auth twin if {@code tokenRegistry}) and containerd. */
  public static ImageLab start(boolean tokenRegistry) throws IOException {
    LabEnvironment env = LabEnvironment.detect();
    ContainerdBuild build = pick(env);
    Path ctrBinary =
        ctrFor(build).orElseThrow(() -> new IOException("no ctr for " + build.binary()));
    boolean runContainerdExisted = Files.exists(Path.of("/run/containerd"));
    Path work = Files.createTempDirectory(Path.of("/tmp"), "rpl-img-");
    RegistryLab registry = null;
    ContainerdLab containerd = null;
    try {
      Pki pki = Pki.create(work.resolve("pki"));
      registry =
          tokenRegistry
              ? RegistryLab.startWithTokenAuth(work.resolve("registry"), pki)
              : RegistryLab.start(work.resolve("registry"), pki);
      Path certs = Files.createDirectories(work.resolve("certs.d"));
      Path hostDir = Files.createDirectories(certs.resolve(registry.hostPort()));
      Files.writeString(
          hostDir.resolve("hosts.toml"),
          registryHostsToml(registry, pki.caCert()),
          StandardCharsets.UTF_8);
      containerd = ContainerdLab.start(build, certs);
      System.out.printf(
          "[image-lab] containerd %s (pid %d) up in %d ms; registry %s%n",
          build.version(), containerd.pid(), containerd.startupTime().toMillis(), registry.url());
      return new ImageLab(
          work,
          pki,
          registry,
          certs,
          containerd,
          new Ctr(ctrBinary, containerd.socket()),
          !runContainerdExisted);
    } catch (IOException | RuntimeException e) {
      if (containerd != null) {
        containerd.close();
      }
      if (registry != null) {
        registry.close();
      }
      deleteTree(work);
      throw e;
    }
  }

  /** hosts.toml that lets containerd pull from the lab registry by its own name. */
  static String registryHostsToml(RegistryLab registry, Path ca) {
    String url = registry.url();
    return "server = \""
        + url
        + "\"\n\n[host.\""
        + url
        + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = \""
        + ca
        + "\"\n  [host.\""
        + url
        + "\".header]\n    Authorization = \""
        + registry.basicAuthorization()
        + "\"\n";
  }

  private static ContainerdBuild pick(LabEnvironment env) {
    List<ContainerdBuild> builds = env.containerdBuilds();
    Path system = realPath(LabEnvironment.SYSTEM_CONTAINERD);
    for (ContainerdBuild b : builds) {
      if (realPath(b.binary()).equals(system)) {
        return b;
      }
    }
    return builds.get(builds.size() - 1);
  }

  private static Path realPath(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException e) {
      return p.toAbsolutePath();
    }
  }

  private static Optional<Path> ctrFor(ContainerdBuild build) {
    Path sibling = realPath(build.binary()).resolveSibling("ctr");
    if (Files.isExecutable(sibling)) {
      return Optional.of(sibling);
    }
    return LabEnvironment.onPath("ctr");
  }

  // ---------------------------------------------------------------------------------------------

  /** Pushes {@code image} to the lab registry as {@code repository:tag}. */
  public RegistryPush.Pushed push(OciArchive image, String repository, String tag)
      throws IOException {
    RegistryPush pusher =
        new RegistryPush(
            URI.create(registry.url()), pki.clientSslContext(), registry.basicAuthorization());
    return pusher.push(image, repository, tag);
  }

  /** CRI PullImage of {@code reference}; the image id (sha256 of the config) or a failure. */
  public CriClient.PullResult pull(String reference) {
    return containerd.cri().pullImage(reference);
  }

  /**
   * A container of {@code image} (pulled as {@code reference}) that runs the image's Entrypoint
   * with {@code args}, as a Pod with {@code args:} and no {@code command:} does, the way both
   * manifests run it: host network (to reach the lab on 127.0.0.1), a read-only root file system
   * and a writable {@code /tmp} of its own (the manifests' emptyDir).
   */
  public Ctr.Spec containerSpec(
      String id,
      String reference,
      OciArchive image,
      List<String> args,
      List<Ctr.Mount> mounts,
      Map<String, String> env)
      throws IOException {
    Path tmp = Files.createDirectories(work.resolve("tmp-" + id));
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
    List<Ctr.Mount> all = new ArrayList<>(mounts);
    all.add(new Ctr.Mount(tmp, "/tmp", false));
    List<String> command = new ArrayList<>(image.entrypoint());
    command.addAll(args);
    return new Ctr.Spec(id, reference, command, all, env, true, true);
  }

  /** Runs a container to its end (or kills it after {@code timeout}); see {@link Ctr#run}. */
  public Ctr.Result run(Ctr.Spec spec, Duration timeout) throws IOException {
    started.add(spec.id());
    return ctr.run(spec, timeout, work.resolve("ctr-" + spec.id()));
  }

  /** Starts a container in the background; {@link Ctr.Running#stop} ends it. */
  public Ctr.Running start(Ctr.Spec spec) throws IOException {
    started.add(spec.id());
    return ctr.start(spec, work.resolve("ctr-" + spec.id()));
  }

  public Path work() {
    return work;
  }

  public Pki pki() {
    return pki;
  }

  public RegistryLab registry() {
    return registry;
  }

  /** containerd's {@code config_path}. */
  public Path certsDir() {
    return certsDir;
  }

  public ContainerdLab containerd() {
    return containerd;
  }

  @Override
  public void close() {
    for (String id : started) {
      ctr.remove(id);
    }
    containerd.close();
    registry.close();
    deleteTree(work);
    if (createdRunContainerd) {
      // Only empty directories, and only when this lab's containers made them.
      for (Path d : RUN_DIRS) {
        try {
          Files.deleteIfExists(d);
        } catch (IOException e) {
          break; // not empty: someone else's containerd uses it now
        }
      }
    }
  }

  static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  System.err.println("[image-lab] could not delete " + p + ": " + e);
                }
              });
    } catch (IOException e) {
      System.err.println("[image-lab] could not walk " + dir + ": " + e);
    }
  }
}
