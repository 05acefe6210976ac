package dev.registrypolicy.agent.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One agent JVM started from the shaded jar, its stdout and stderr in a log file. Only processes
 * started here are ever stopped, through their own {@link Process} handles; a JVM shutdown hook
 * stops any still running if the harness is interrupted.
 */
final class AgentProcess implements AutoCloseable {
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (Process p : LIVE) {
                    p.destroyForcibly();
                  }
                },
                "bench-agent-reaper"));
  }

  final Process process;
  final Path log;

  /** System.nanoTime() just before the process was started. */
  final long startNanos;

  private AgentProcess(Process process, Path log, long startNanos) {
    this.process = process;
    this.log = log;
    this.startNanos = startNanos;
  }

  /**
   * Starts {@code java <jvmFlags> -jar <jar> <args>}, with no JVM options taken from the
   * environment.
   */
  static AgentProcess start(
      String java, List<String> jvmFlags, Path jar, List<String> args, Path log)
      throws IOException {
    return start(java, jvmFlags, jar, args, log, Map.of());
  }

  /** With extra environment variables (the fast path's API server, token file, node name). */
  static AgentProcess start(
      String java,
      List<String> jvmFlags,
      Path jar,
      List<String> args,
      Path log,
      Map<String, String> extraEnv)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(jvmFlags);
    cmd.add("-jar");
    cmd.add(jar.toString());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.remove("JAVA_TOOL_OPTIONS");
    env.remove("JDK_JAVA_OPTIONS");
    env.remove("_JAVA_OPTIONS");
    env.remove("KUBERNETES_SERVICE_HOST");
    env.remove("KUBERNETES_SERVICE_PORT");
    env.putAll(extraEnv);
    pb.redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    long t0 = System.nanoTime();
    Process p = pb.start();
    LIVE.add(p);
    return new AgentProcess(p, log, t0);
  }

  long pid() {
    return process.pid();
  }

  /** The log so far. */
  String logText() throws IOException {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return "";
    }
  }

  /** Waits for a log line matching {@code p} and returns its first group (or the whole match). */
  String awaitLog(Pattern p, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Matcher m = p.matcher(logText());
      if (m.find()) {
        return m.groupCount() > 0 ? m.group(1) : m.group();
      }
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "agent exited with "
                + process.exitValue()
                + " before logging "
                + p
                + "; log:\n"
                + tail(logText()));
      }
      Thread.sleep(5);
    }
    throw new IllegalStateException(
        "agent did not log " + p + " within " + timeout + "; log:\n" + tail(logText()));
  }

  /** Waits for the process to exit; returns the exit code. */
  int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      close();
      throw new IllegalStateException("agent did not exit within " + timeout);
    }
    LIVE.remove(process);
    return process.exitValue();
  }

  /** Counts log lines containing {@code needle}. */
  int countLines(String needle) throws IOException {
    int n = 0;
    for (String line : logText().split("\n")) {
      if (line.contains(needle)) {
        n++;
      }
    }
    return n;
  }

  static String tail(String s) {
    return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
  }

  /** SIGTERM (the agent's shutdown hook runs), then SIGKILL after 10 s. */
  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    LIVE.remove(process);
  }
}
