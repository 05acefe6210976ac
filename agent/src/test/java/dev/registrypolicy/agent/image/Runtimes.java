package dev.registrypolicy.agent.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Java runtimes for the TLS tests: the modules of a jlinked one, and one made without a module. */
public final class Runtimes {

  private Runtimes() {}

  /** The modules a runtime holds, from the {@code MODULES} line of its {@code release} file. */
  public static List<String> modules(Path runtime) throws IOException {
    for (String line : Files.readAllLines(runtime.resolve("release"), StandardCharsets.UTF_8)) {
      if (line.startsWith("MODULES=")) {
        String v = line.substring("MODULES=".length()).replace("\"", "").strip();
        return Arrays.stream(v.split("\\s+"))
            .filter(s -> !s.isEmpty())
            .collect(Collectors.toList());
      }
    }
    throw new IOException(runtime + "/release has no MODULES line: not a jlinked runtime");
  }

  /** The running JDK's jmods directory, if it ships one (jlink needs it). */
  public static Optional<Path> jmods() {
    Path jmods = Path.of(System.getProperty("java.home"), "jmods");
    Path jlink = Path.of(System.getProperty("java.home"), "bin", "jlink");
    return Files.isDirectory(jmods) && Files.isExecutable(jlink)
        ? Optional.of(jmods)
        : Optional.empty();
  }

  /**
   * jlinks {@code modules} without {@code left} from the running JDK's jmods into {@code out}
   * (which must not exist).
   */
  public static Path jlinkWithout(List<String> modules, String left, Path out) throws IOException {
    Path jmods = jmods().orElseThrow(() -> new IOException("the running JDK has no jmods"));
    List<String> keep = new ArrayList<>(modules);
    keep.remove(left);
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "jlink").toString(),
            "--module-path",
            jmods.toString(),
            "--add-modules",
            String.join(",", keep),
            "--no-header-files",
            "--no-man-pages",
            "--output",
            out.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      byte[] log = p.getInputStream().readAllBytes();
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException("jlink failed: " + new String(log, StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return out;
  }
}
