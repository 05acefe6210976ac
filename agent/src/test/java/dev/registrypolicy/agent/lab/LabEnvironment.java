package dev.registrypolicy.agent.lab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * What this machine offers for the real-daemon tests: root, the registry, openssl, htpasswd and the
 * containerd builds that {@code .ci/install-daemons.sh} left under {@code
 * ${RP_LAB_DIR:-/var/cache/registry-policy-lab}/containerd-<version>/}.
 *
 * <p>{@link #missingReason()} says in plain words what is missing, for JUnit assumptions. The
 * system property {@code rp.lab.containerd} (comma-separated version prefixes, e.g. {@code 1.7,2.})
 * narrows {@link #containerdBuilds()} to some builds.
 */
public final class LabEnvironment {

  public static final Path DEFAULT_LAB_DIR = Path.of("/var/cache/registry-policy-lab");
  public static final Path SYSTEM_CONTAINERD = Path.of("/usr/bin/containerd");
  private static final String INSTALL_HINT = "run .ci/install-daemons.sh as root";

  private static volatile LabEnvironment cached;

  private final Path labDir;
  private final boolean linux;
  private final boolean root;
  private final Optional<Path> dockerRegistry;
  private final Optional<Path> openssl;
  private final Optional<Path> htpasswd;
  private final List<ContainerdBuild> builds;
  private final List<String> buildProblems;
  private final Optional<String> epollProblem;

  private LabEnvironment(Path labDir) {
    this.labDir = labDir;
    this.linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
    this.root = linux && currentUid() == 0;
    this.dockerRegistry = onPath("docker-registry");
    this.openssl = onPath("openssl");
    this.htpasswd = onPath("htpasswd");
    this.buildProblems = new ArrayList<>();
    this.builds = linux ? discoverBuilds(labDir, buildProblems) : List.of();
    this.epollProblem = linux ? epollProblem() : Optional.of("not Linux");
  }

  /** Detects once per JVM (running {@code containerd --version} takes a few hundred ms). */
  public static LabEnvironment detect() {
    LabEnvironment e = cached;
    if (e == null) {
      synchronized (LabEnvironment.class) {
        e = cached;
        if (e == null) {
          e = new LabEnvironment(labDirFromEnvironment());
          cached = e;
        }
      }
    }
    return e;
  }

  /** Detects afresh, looking for containerd builds under {@code labDir}. */
  public static LabEnvironment detect(Path labDir) {
    return new LabEnvironment(labDir);
  }

  public static Path labDirFromEnvironment() {
    String dir = System.getenv("RP_LAB_DIR");
    return dir == null || dir.isBlank() ? DEFAULT_LAB_DIR : Path.of(dir);
  }

  public Path labDir() {
    return labDir;
  }

  public boolean isLinux() {
    return linux;
  }

  public boolean isRoot() {
    return root;
  }

  public Optional<Path> dockerRegistry() {
    return dockerRegistry;
  }

  public Optional<Path> openssl() {
    return openssl;
  }

  public Optional<Path> htpasswd() {
    return htpasswd;
  }

  /** containerd builds that run here, oldest first, one per distinct binary. */
  public List<ContainerdBuild> containerdBuilds() {
    return builds;
  }

  /** Builds whose version starts with {@code prefix} (e.g. {@code "2."}). */
  public List<ContainerdBuild> containerdBuilds(String prefix) {
    return builds.stream().filter(b -> b.version().startsWith(prefix)).collect(Collectors.toList());
  }

  /** Problems met while probing candidate containerd binaries (not fatal on their own). */
  public List<String> containerdProblems() {
    return Collections.unmodifiableList(buildProblems);
  }

  /** Empty when everything the lab needs is here; otherwise why the daemon tests cannot run. */
  public Optional<String> missingReason() {
    List<String> missing = new ArrayList<>();
    if (!linux) {
      missing.add("not Linux (os.name=" + System.getProperty("os.name") + ")");
    } else {
      if (!root) {
        missing.add(
            "not root (uid " + currentUid() + "): containerd needs root to mount snapshots");
      }
      if (dockerRegistry.isEmpty()) {
        missing.add("'docker-registry' not on PATH (Debian package docker-registry)");
      }
      if (openssl.isEmpty()) {
        missing.add("'openssl' not on PATH (Debian package openssl)");
      }
      if (htpasswd.isEmpty()) {
        missing.add("'htpasswd' not on PATH (Debian package apache2-utils)");
      }
      if (builds.isEmpty()) {
        String detail =
            buildProblems.isEmpty() ? "" : " (" + String.join("; ", buildProblems) + ")";
        missing.add(
            "no runnable containerd under "
                + labDir
                + "/containerd-*/usr/bin/ or at "
                + SYSTEM_CONTAINERD
                + detail);
      }
      epollProblem.ifPresent(p -> missing.add("grpc-netty epoll transport unavailable: " + p));
    }
    if (missing.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        "containerd lab not available: " + String.join("; ", missing) + " — " + INSTALL_HINT);
  }

  public boolean ready() {
    return missingReason().isEmpty();
  }

  /** One line per finding, for logs. */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    sb.append("lab dir: ").append(labDir).append('\n');
    sb.append("root: ").append(root).append('\n');
    sb.append("docker-registry: ")
        .append(dockerRegistry.map(Path::toString).orElse("missing"))
        .append('\n');
    sb.append("openssl: ").append(openssl.map(Path::toString).orElse("missing")).append('\n');
    sb.append("htpasswd: ").append(htpasswd.map(Path::toString).orElse("missing")).append('\n');
    for (ContainerdBuild b : builds) {
      sb.append("containerd ")
          .append(b.version())
          .append(": ")
          .append(b.binary())
          .append(" [")
          .append(b.versionLine())
          .append("]\n");
    }
    for (String p : buildProblems) {
      sb.append("skipped: ").append(p).append('\n');
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return describe();
  }

  // ---------------------------------------------------------------------------------

  private static List<ContainerdBuild> discoverBuilds(Path labDir, List<String> problems) {
    List<Path> candidates = new ArrayList<>();
    if (Files.isDirectory(labDir)) {
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(labDir, "containerd-*")) {
        for (Path d : dirs) {
          Path bin = d.resolve("usr/bin/containerd");
          if (Files.isDirectory(d) && Files.exists(bin)) {
            candidates.add(bin);
          }
        }
      } catch (IOException e) {
        problems.add("cannot list " + labDir + ": " + e.getMessage());
      }
    }
    Collections.sort(candidates);
    candidates.add(SYSTEM_CONTAINERD);

    Set<Path> seen = new HashSet<>();
    List<ContainerdBuild> found = new ArrayList<>();
    for (Path bin : candidates) {
      if (!Files.isExecutable(bin)) {
        if (!bin.equals(SYSTEM_CONTAINERD)) {
          problems.add(bin + " is not executable");
        }
        continue;
      }
      Path real;
      try {
        real = bin.toRealPath();
      } catch (IOException e) {
        problems.add(bin + ": " + e.getMessage());
        continue;
      }
      if (!seen.add(real)) {
        continue; // e.g. the lab's symlink to /usr/bin/containerd
      }
      try {
        String out = run(List.of(bin.toString(), "--version"));
        found.add(ContainerdBuild.parse(bin, out));
      } catch (IOException | RuntimeException e) {
        problems.add(bin + " --version failed: " + e.getMessage());
      }
    }
    String filter = System.getProperty("rp.lab.containerd", "").strip();
    if (!filter.isEmpty()) {
      List<String> prefixes =
          Arrays.stream(filter.split(","))
              .map(String::strip)
              .filter(s -> !s.isEmpty())
              .collect(Collectors.toList());
      found.removeIf(b -> prefixes.stream().noneMatch(p -> b.version().startsWith(p)));
    }
    Collections.sort(found);
    return List.copyOf(found);
  }

  private static String run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (InputStream in = p.getInputStream()) {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      in.transferTo(buf);
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("timed out: " + command);
      }
      String out = buf.toString(StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IOException("exit " + p.exitValue() + ": " + out.strip());
      }
      return out;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + command, e);
    }
  }

  /** A command on PATH or in the usual sbin/bin directories (root's PATH may lack sbin). */
  public static Optional<Path> onPath(String name) {
    String path = System.getenv("PATH");
    List<String> dirs = new ArrayList<>();
    if (path != null) {
      dirs.addAll(Arrays.asList(path.split(":")));
    }
    dirs.addAll(
        List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
    for (String d : dirs) {
      if (d.isEmpty()) {
        continue;
      }
      Path p = Path.of(d, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Effective uid from /proc/self/status ({@code Uid: real effective saved fs}); -1 if unknown. */
  static int currentUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
        if (line.startsWith("Uid:")) {
          String[] f = line.substring(4).strip().split("\\s+");
          return Integer.parseInt(f.length > 1 ? f[1] : f[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return -1;
  }

  private static Optional<String> epollProblem() {
    try {
      if (io.grpc.netty.shaded.io.netty.channel.epoll.Epoll.isAvailable()) {
        return Optional.empty();
      }
      Throwable cause = io.grpc.netty.shaded.io.netty.channel.epoll.Epoll.unavailabilityCause();
      return Optional.of(String.valueOf(cause));
    } catch (LinkageError e) {
      return Optional.of(e.toString());
    }
  }
}
