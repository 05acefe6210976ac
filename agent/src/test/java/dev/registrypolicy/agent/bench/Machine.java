package dev.registrypolicy.agent.bench;

import dev.registrypolicy.policy.bench.ProcInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the figures were measured on, and the /proc readings the harness takes of agent processes.
 */
final class Machine {
  private Machine() {}

  /** utime + stime of a process in clock ticks, from /proc/PID/stat. */
  static long cpuTicks(long pid) throws IOException {
    String stat =
        Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15
  }

  private static long clkTck = -1;

  static synchronized long clockTicksPerSecond() {
    if (clkTck > 0) {
      return clkTck;
    }
    clkTck = 100;
    try {
      String out = run(List.of("getconf", "CLK_TCK")).trim();
      clkTck = Long.parseLong(out);
    } catch (IOException | RuntimeException e) {
      // keep the Linux default
    }
    return clkTck;
  }

  /** Runs a short command and returns its stdout and stderr. */
  static String run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (InputStream in = p.getInputStream()) {
      String out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(cmd + " did not finish");
      }
      return out;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** Machine facts by name, in print order. */
  static Map<String, String> describe(String agentJava, Path tempRoot) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
    m.put("CPU", ProcInfo.cpuModel());
    m.put("memory", ProcInfo.memTotal());
    m.put("kernel", ProcInfo.read("/proc/sys/kernel/osrelease"));
    m.put(
        "agent JDK",
        firstLine(safeRun(List.of(agentJava, "-version")))
            + " ("
            + secondLine(safeRun(List.of(agentJava, "-version")))
            + ")");
    m.put("harness JDK", System.getProperty("java.vm.name") + " " + Runtime.version());
    m.put("temp dir", tempRoot + " on " + disk(tempRoot));
    m.put(
        "one atomic file write (temp, fsync, rename, dir fsync) p50/p90/p99",
        fsyncLatency(tempRoot));
    return m;
  }

  /** File-system type, device and (for a block device) whether the kernel calls it rotational. */
  static String disk(Path dir) {
    String abs = dir.toAbsolutePath().normalize().toString();
    String bestMount = "";
    String fsType = "?";
    String source = "?";
    for (String line : ProcInfo.lines("/proc/self/mountinfo")) {
      String[] halves = line.split(" - ", 2);
      if (halves.length < 2) {
        continue;
      }
      String[] a = halves[0].split(" ");
      String[] b = halves[1].split(" ");
      String mount = a[4].replace("\\040", " ");
      boolean covers =
          abs.equals(mount) || abs.startsWith(mount.endsWith("/") ? mount : mount + "/");
      if (covers && mount.length() >= bestMount.length()) {
        bestMount = mount;
        fsType = b[0];
        source = b.length > 1 ? b[1] : "?";
      }
    }
    StringBuilder sb =
        new StringBuilder(fsType + " (" + source + ", mounted at " + bestMount + ")");
    if (source.startsWith("/dev/")) {
      String name = source.substring(5);
      Path blk = Path.of("/sys/class/block", name);
      try {
        Path real = blk.toRealPath();
        Path queue =
            Files.isDirectory(real.resolve("queue"))
                ? real.resolve("queue")
                : real.getParent().resolve("queue");
        String rot = Files.readString(queue.resolve("rotational")).trim();
        String kind =
            name.startsWith("vd")
                ? "virtio block device"
                : name.startsWith("nvme")
                    ? "NVMe"
                    : name.startsWith("xvd") ? "Xen block device" : "block device";
        sb.append(", ").append(kind).append(", rotational=").append(rot);
      } catch (IOException | RuntimeException e) {
        // not a block device we can describe
      }
    }
    return sb.toString();
  }

  /**
   * The agent's per-file write as a floor for every figure here: create a temp file, write 1.5 KiB,
   * fsync it, rename it over the target, fsync the directory.
   */
  private static String fsyncLatency(Path dir) {
    try {
      Path d = Files.createTempDirectory(dir, "fsync-probe");
      try {
        double[] ms = new double[100];
        byte[] content = new byte[1536];
        for (int i = 0; i < ms.length; i++) {
          Path tmp = d.resolve("f" + i + ".tmp");
          long t = System.nanoTime();
          try (FileChannel ch =
              FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(content));
            ch.force(true);
          }
          Files.move(
              tmp,
              d.resolve("f" + (i % 10)),
              java.nio.file.StandardCopyOption.ATOMIC_MOVE,
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
          }
          ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return String.format(
            java.util.Locale.ROOT, "%.2f / %.2f / %.2f ms", ms[49], ms[89], ms[98]);
      } finally {
        CertsTree.deleteRecursively(d);
      }
    } catch (IOException e) {
      return "unknown (" + e.getClass().getSimpleName() + ")";
    }
  }

  private static String safeRun(List<String> cmd) {
    try {
      return run(cmd);
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String firstLine(String s) {
    String[] l = s.split("\n");
    return l.length > 0 ? l[0].trim() : "";
  }

  private static String secondLine(String s) {
    String[] l = s.split("\n");
    return l.length > 1 ? l[1].trim() : "";
  }
}
