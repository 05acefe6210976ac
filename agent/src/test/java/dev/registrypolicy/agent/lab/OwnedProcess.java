package dev.registrypolicy.agent.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A daemon started by the lab, with stdout and stderr going to one log file. {@link #close()} stops
 * exactly this process through its {@link Process} handle (SIGTERM, then SIGKILL after a grace
 * period). A JVM shutdown hook does the same if a test run is interrupted before close.
 */
public final class OwnedProcess implements AutoCloseable {

  private static final Duration GRACE = Duration.ofSeconds(10);

  private final String name;
  private final Process process;
  private final Path log;
  private final Thread shutdownHook;
  private volatile boolean closed;

  private OwnedProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.shutdownHook = new Thread(this::stop, "lab-stop-" + name);
  }

  /** Starts {@code builder} with its output appended to {@code log}. */
  public static OwnedProcess start(String name, ProcessBuilder builder, Path log)
      throws IOException {
    Files.createDirectories(log.toAbsolutePath().getParent());
    builder.redirectErrorStream(true);
    builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process p = builder.start();
    OwnedProcess op = new OwnedProcess(name, p, log);
    try {
      Runtime.getRuntime().addShutdownHook(op.shutdownHook);
    } catch (IllegalStateException e) {
      // JVM already shutting down: stop right away
      op.stop();
      throw new IOException("JVM is shutting down, not starting " + name, e);
    }
    return op;
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Process process() {
    return process;
  }

  public Path logFile() {
    return log;
  }

  /** Whole log so far ("" if unreadable). */
  public String log() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** The last {@code lines} lines of the log, for error messages. */
  public String logTail(int lines) {
    List<String> all = log().lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  /** Fails with the log tail if the process has exited. */
  public void checkAlive() throws IOException {
    if (!process.isAlive()) {
      throw new IOException(
          name
              + " (pid "
              + process.pid()
              + ") exited with "
              + process.exitValue()
              + "; log "
              + log
              + ":\n"
              + logTail(40));
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // shutting down; the hook runs stop() again, which is harmless
    }
  }

  private void stop() {
    closed = true;
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
