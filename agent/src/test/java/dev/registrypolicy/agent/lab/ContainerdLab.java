package dev.registrypolicy.agent.lab;

import dev.registrypolicy.agent.lab.cri.VersionResponse;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One containerd daemon of a given {@link ContainerdBuild}, with its own root, state, opt directory
 * and unix socket under a short temporary directory in /tmp (the socket path must stay within 107
 * bytes), and {@code config_path} = the certs.d directory the test passes in.
 *
 * <p>The daemon runs with {@code HTTP_PROXY}/{@code HTTPS_PROXY} = {@code http://127.0.0.1:<guard>}
 * and {@code NO_PROXY=127.0.0.1,localhost}. The guard port is held for the lab's lifetime by a
 * bound socket that never listens, so any fallback to the real upstream (registry-1.docker.io)
 * fails at once with {@code proxyconnect … connection refused} and nothing leaves loopback.
 *
 * <p>{@link #start} returns once CRI {@code Version} answers on the socket. {@link #close()} stops
 * only this daemon (through its Process handle), unmounts anything left below the temporary
 * directory, deletes it, and removes {@code /run/containerd} if this lab's daemon created it empty
 * (1.7 and 2.x create it whatever {@code state} says).
 */
public final class ContainerdLab implements AutoCloseable {

  private static final int MAX_SOCKET_PATH = 107;
  private static final Path RUN_CONTAINERD = Path.of("/run/containerd");

  /** Start options. */
  public record Options(Duration readyTimeout, String logLevel, boolean useLocalImagePull) {

    public static Options defaults() {
      return new Options(Duration.ofSeconds(30), "debug", false);
    }

    /**
     * 2.x only: {@code use_local_image_pull = true} (the 1.x pull path instead of the transfer
     * service).
     */
    public Options withLocalImagePull(boolean local) {
      return new Options(readyTimeout, logLevel, local);
    }

    public Options withLogLevel(String level) {
      return new Options(readyTimeout, level, useLocalImagePull);
    }

    public Options withReadyTimeout(Duration timeout) {
      return new Options(timeout, logLevel, useLocalImagePull);
    }
  }

  private final ContainerdBuild build;
  private final Path dir;
  private final Path certsDir;
  private final Path socket;
  private final Socket guard;
  private final OwnedProcess process;
  private final CriClient cri;
  private final boolean createdRunContainerd;
  private final VersionResponse version;
  private final Duration startup;

  private ContainerdLab(
      ContainerdBuild build,
      Path dir,
      Path certsDir,
      Path socket,
      Socket guard,
      OwnedProcess process,
      CriClient cri,
      boolean createdRunContainerd,
      VersionResponse version,
      Duration startup) {
    this.build = build;
    this.dir = dir;
    this.certsDir = certsDir;
    this.socket = socket;
    this.guard = guard;
    this.process = process;
    this.cri = cri;
    this.createdRunContainerd = createdRunContainerd;
    this.version = version;
    this.startup = startup;
  }

  public static ContainerdLab start(ContainerdBuild build, Path certsDir) throws IOException {
    return start(build, certsDir, Options.defaults());
  }

  /**
   * Starts {@code build} with {@code config_path = certsDir} (a single directory; it need not exist
   * — then every pull goes upstream and hits the guard).
   */
  public static ContainerdLab start(ContainerdBuild build, Path certsDir, Options options)
      throws IOException {
    boolean runExisted = Files.exists(RUN_CONTAINERD);
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "rpl-ctrd-");
    Path socket = dir.resolve("run/containerd.sock");
    if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
      deleteTree(dir);
      throw new IOException("socket path too long for a unix socket: " + socket);
    }
    Socket guard = new Socket();
    OwnedProcess process = null;
    CriClient cri = null;
    try {
      guard.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      String proxy = "http://127.0.0.1:" + guard.getLocalPort();

      Files.createDirectories(dir.resolve("run"));
      Path config = dir.resolve("containerd.toml");
      Files.writeString(
          config,
          config(build, dir, socket, certsDir.toAbsolutePath(), options),
          StandardCharsets.UTF_8);

      ProcessBuilder pb =
          new ProcessBuilder(build.binary().toString(), "--config", config.toString())
              .directory(dir.toFile());
      Map<String, String> env = pb.environment();
      env.keySet()
          .removeIf(
              k ->
                  k.equalsIgnoreCase("http_proxy")
                      || k.equalsIgnoreCase("https_proxy")
                      || k.equalsIgnoreCase("no_proxy")
                      || k.equalsIgnoreCase("all_proxy")
                      || k.startsWith("CONTAINERD_"));
      env.put("HTTP_PROXY", proxy);
      env.put("HTTPS_PROXY", proxy);
      env.put("http_proxy", proxy);
      env.put("https_proxy", proxy);
      env.put("NO_PROXY", "127.0.0.1,localhost");
      env.put("no_proxy", "127.0.0.1,localhost");

      long t0 = System.nanoTime();
      process =
          OwnedProcess.start("containerd-" + build.version(), pb, dir.resolve("containerd.log"));
      cri = CriClient.connect(socket);
      VersionResponse v = awaitCri(process, cri, socket, options.readyTimeout());
      Duration startup = Duration.ofNanos(System.nanoTime() - t0);
      return new ContainerdLab(
          build, dir, certsDir, socket, guard, process, cri, !runExisted, v, startup);
    } catch (IOException | RuntimeException e) {
      if (cri != null) {
        cri.close();
      }
      if (process != null) {
        process.close();
      }
      closeQuietly(guard);
      unmountBelow(dir);
      deleteTree(dir);
      removeRunContainerdIfCreated(!runExisted);
      throw e;
    }
  }

  static String config(ContainerdBuild build, Path dir, Path socket, Path certsDir, Options o) {
    StringBuilder t = new StringBuilder();
    if (build.isV2()) {
      t.append("version = 3\n");
    } else {
      t.append("version = 2\n");
    }
    t.append("root = ").append(q(dir.resolve("root"))).append('\n');
    t.append("state = ").append(q(dir.resolve("state"))).append('\n');
    t.append("\n[grpc]\n  address = ").append(q(socket)).append('\n');
    t.append("\n[ttrpc]\n  address = ").append(q(Path.of(socket + ".ttrpc"))).append('\n');
    t.append("\n[debug]\n  level = ").append(q(o.logLevel())).append('\n');
    t.append("\n[plugins]\n");
    if (build.isV2()) {
      t.append("  [plugins.'io.containerd.internal.v1.opt']\n")
          .append("    path = ")
          .append(q(dir.resolve("opt")))
          .append('\n');
      t.append("  [plugins.'io.containerd.nri.v1.nri']\n").append("    disable = true\n");
      t.append("  [plugins.'io.containerd.cri.v1.images']\n")
          .append("    use_local_image_pull = ")
          .append(o.useLocalImagePull())
          .append('\n');
      t.append("  [plugins.'io.containerd.cri.v1.images'.registry]\n")
          .append("    config_path = ")
          .append(q(certsDir))
          .append('\n');
    } else {
      t.append("  [plugins.\"io.containerd.internal.v1.opt\"]\n")
          .append("    path = ")
          .append(q(dir.resolve("opt")))
          .append('\n');
      t.append("  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n")
          .append("    bin_dir = ")
          .append(q(dir.resolve("cni/bin")))
          .append('\n')
          .append("    conf_dir = ")
          .append(q(dir.resolve("cni/conf")))
          .append('\n');
      t.append("  [plugins.\"io.containerd.grpc.v1.cri\".registry]\n")
          .append("    config_path = ")
          .append(q(certsDir))
          .append('\n');
    }
    return t.toString();
  }

  private static String q(Object value) {
    String s = value.toString();
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        sb.append('\\');
      }
      sb.append(c);
    }
    return sb.append('"').toString();
  }

  private static VersionResponse awaitCri(
      OwnedProcess process, CriClient cri, Path socket, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    StatusRuntimeException last = null;
    while (System.nanoTime() < deadline) {
      process.checkAlive();
      if (Files.exists(socket)) {
        try {
          return cri.version(Duration.ofSeconds(2));
        } catch (StatusRuntimeException e) {
          last = e;
          cri.resetConnectBackoff();
        }
      }
      sleep(20);
    }
    throw new IOException(
        process.name()
            + ": CRI Version did not answer on "
            + socket
            + " within "
            + timeout
            + (last == null ? " (socket never appeared)" : ": " + last.getStatus())
            + "\n"
            + process.logTail(40));
  }

  // ---------------------------------------------------------------------------------

  public ContainerdBuild build() {
    return build;
  }

  /** The temporary directory holding root, state, opt, socket, config and log. */
  public Path dir() {
    return dir;
  }

  /** The daemon's {@code config_path}. */
  public Path certsDir() {
    return certsDir;
  }

  public Path socket() {
    return socket;
  }

  /** The CRI client on this daemon's socket (closed with the lab). */
  public CriClient cri() {
    return cri;
  }

  /** What CRI Version answered at start (runtime_name, runtime_version, runtime_api_version). */
  public VersionResponse version() {
    return version;
  }

  /** Time from exec to the first CRI Version answer. */
  public Duration startupTime() {
    return startup;
  }

  /** Port the proxy guard holds (bound, not listening). */
  public int guardPort() {
    return guard.getLocalPort();
  }

  public long pid() {
    return process.pid();
  }

  public Path logFile() {
    return process.logFile();
  }

  public String log() {
    return process.log();
  }

  public String logTail(int lines) {
    return process.logTail(lines);
  }

  @Override
  public void close() {
    cri.close();
    process.close();
    closeQuietly(guard);
    unmountBelow(dir);
    deleteTree(dir);
    removeRunContainerdIfCreated(createdRunContainerd);
  }

  @Override
  public String toString() {
    return "ContainerdLab[" + build.version() + ", pid " + process.pid() + ", " + dir + "]";
  }

  // ---------------------------------------------------------------------------------

  private static void removeRunContainerdIfCreated(boolean created) {
    if (!created) {
      return;
    }
    try {
      Files.deleteIfExists(RUN_CONTAINERD);
    } catch (DirectoryNotEmptyException e) {
      // someone uses it now; leave it
    } catch (IOException e) {
      // not ours to worry about further
    }
  }

  /** Unmounts every mount point at or below {@code dir}, deepest first. */
  static void unmountBelow(Path dir) {
    List<String> points = new ArrayList<>();
    String prefix = dir.toAbsolutePath().normalize().toString();
    try {
      for (String line :
          Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
        String[] f = line.split(" ");
        if (f.length > 4) {
          String mp = unescapeMountinfo(f[4]);
          if (mp.equals(prefix) || mp.startsWith(prefix + "/")) {
            points.add(mp);
          }
        }
      }
    } catch (IOException e) {
      return;
    }
    points.sort(Comparator.comparingInt(String::length).reversed());
    for (String mp : points) {
      if (run("umount", mp) != 0) {
        run("umount", "-l", mp);
      }
    }
  }

  private static String unescapeMountinfo(String s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length()) {
        sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static int run(String... cmd) {
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (NoSuchFileException e) {
                  // gone already
                } catch (IOException e) {
                  System.err.println("[lab] could not delete " + p + ": " + e);
                }
              });
    } catch (IOException e) {
      System.err.println("[lab] could not walk " + dir + ": " + e);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
