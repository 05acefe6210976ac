package dev.registrypolicy.agent.image;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Runs containers with containerd's {@code ctr} in the CRI namespace {@code k8s.io} (where CRI
 * PullImage put the image), with runc through the runc shim.
 *
 * <p>{@code ctr run IMAGE ID CMD...} takes the image's config (user, environment, working
 * directory) but replaces its whole process with CMD, Entrypoint included; so a {@link Spec}'s
 * {@code command} is the image's Entrypoint (read from the archive) followed by the arguments,
 * which is what a Pod with {@code args:} and no {@code command:} runs.
 *
 * <p>The lab's containerd config has no {@code restrict_oom_score_adj}: the runc failure the
 * project's notes record on these VMs ({@code failed to update /proc/self/oom_score_adj}) came from
 * kubelet-created containers, and containers started with {@code ctr run} ran here without it
 * (containerd 1.6.20, 1.7.24 and 2.1.9, December 2026).
 */
public final class Ctr {

  private static final Duration GRACE = Duration.ofSeconds(10);
  private static final String NAMESPACE = "k8s.io";

  /** A bind mount. */
  public record Mount(Path source, String destination, boolean readOnly) {
    String flag() {
      return "type=bind,src="
          + source.toAbsolutePath()
          + ",dst="
          + destination
          + ",options=rbind:"
          + (readOnly ? "ro" : "rw");
    }
  }

  /**
   * One container.
   *
   * @param hostNetwork share the host's network (to reach the lab on 127.0.0.1), as the agent's
   *     DaemonSet does
   * @param readOnlyRoot a read-only root file system, as both manifests ask
   */
  public record Spec(
      String id,
      String image,
      List<String> command,
      List<Mount> mounts,
      Map<String, String> env,
      boolean hostNetwork,
      boolean readOnlyRoot) {}

  /** How a container ended. */
  public record Result(
      int exitCode, String stdout, String stderr, Duration elapsed, boolean timedOut) {
    @Override
    public String toString() {
      return "exit "
          + exitCode
          + (timedOut ? " (killed after the timeout)" : "")
          + " in "
          + elapsed.toMillis()
          + " ms\n--- stdout ---\n"
          + stdout
          + "--- stderr ---\n"
          + stderr;
    }
  }

  private final Path binary;
  private final Path socket;

  Ctr(Path binary, Path socket) {
    this.binary = binary;
    this.socket = socket;
  }

  /** Runs {@code spec} to its end; after {@code timeout} the task is killed (SIGKILL). */
  Result run(Spec spec, Duration timeout, Path dir) throws IOException {
    Running r = start(spec, dir);
    boolean timedOut = !r.awaitExit(timeout);
    if (timedOut) {
      r.kill("SIGKILL");
      r.awaitExit(GRACE);
    }
    return r.result(timedOut);
  }

  /** Starts {@code spec} in the background. */
  Running start(Spec spec, Path dir) throws IOException {
    Files.createDirectories(dir);
    List<String> cmd = base();
    cmd.add("run");
    cmd.add("--rm");
    if (spec.hostNetwork()) {
      cmd.add("--net-host");
    }
    if (spec.readOnlyRoot()) {
      cmd.add("--read-only");
    }
    for (Mount m : spec.mounts()) {
      cmd.add("--mount");
      cmd.add(m.flag());
    }
    for (Map.Entry<String, String> e : spec.env().entrySet()) {
      cmd.add("--env");
      cmd.add(e.getKey() + "=" + e.getValue());
    }
    cmd.add(spec.image());
    cmd.add(spec.id());
    cmd.addAll(spec.command());
    Path out = dir.resolve("stdout");
    Path err = dir.resolve("stderr");
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    long t0 = System.nanoTime();
    Process p = pb.start();
    return new Running(spec.id(), p, out, err, t0);
  }

  /** Kills, deletes the task and deletes the container {@code id}; quiet when already gone. */
  void remove(String id) {
    quiet("task", "kill", "--signal", "SIGKILL", id);
    quiet("task", "delete", "--force", id);
    quiet("container", "delete", id);
  }

  private void quiet(String... args) {
    List<String> cmd = base();
    cmd.addAll(List.of(args));
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      // nothing to remove, or ctr gone: nothing more to do
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private List<String> base() {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    cmd.add("--address");
    cmd.add(socket.toString());
    cmd.add("--namespace");
    cmd.add(NAMESPACE);
    return cmd;
  }

  /** A container started by {@link #start}; the {@code ctr run} process is this JVM's child. */
  public final class Running {
    private final String id;
    private final Process process;
    private final Path out;
    private final Path err;
    private final long started;

    private Running(String id, Process process, Path out, Path err, long started) {
      this.id = id;
      this.process = process;
      this.out = out;
      this.err = err;
      this.started = started;
    }

    public String id() {
      return id;
    }

    public String stdout() {
      return read(out);
    }

    public String stderr() {
      return read(err);
    }

    /**
     * Waits until stdout or stderr holds a match of {@code pattern}; false if the container ended
     * or the time ran out first.
     */
    public boolean awaitOutput(Pattern pattern, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (pattern.matcher(stdout()).find() || pattern.matcher(stderr()).find()) {
          return true;
        }
        if (!process.isAlive()) {
          return pattern.matcher(stdout()).find() || pattern.matcher(stderr()).find();
        }
        sleep(50);
      }
      return false;
    }

    /** Sends {@code signal} to the container's task. */
    public void kill(String signal) {
      quiet("task", "kill", "--signal", signal, id);
    }

    /** SIGTERM, then SIGKILL after a grace period; the result of the run. */
    public Result stop() {
      kill("SIGTERM");
      if (!awaitExit(GRACE)) {
        kill("SIGKILL");
        awaitExit(GRACE);
      }
      return result(false);
    }

    boolean awaitExit(Duration timeout) {
      try {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    Result result(boolean timedOut) {
      if (process.isAlive()) {
        // ctr itself hangs: end our own child, the container is removed in ImageLab.close()
        process.destroyForcibly();
        awaitExit(GRACE);
      }
      int code = process.isAlive() ? -1 : process.exitValue();
      return new Result(
          code, stdout(), stderr(), Duration.ofNanos(System.nanoTime() - started), timedOut);
    }
  }

  private static String read(Path p) {
    try {
      return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
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
