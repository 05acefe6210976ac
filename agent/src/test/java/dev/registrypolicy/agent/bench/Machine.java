package dev.registrypolicy.agent.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What the figures were measured on, and the /proc readings the harness takes of agent processes. */
final class Machine {
  private Machine() {}

  /** Memory of a process in kB, from /proc/PID/status. */
  record Memory(long rssKb, long hwmKb, long rssAnonKb, long rssFileKb, int threads) {}

  static Memory memory(long pid) throws IOException {
    long rss = -1;
    long hwm = -1;
    long anon = -1;
    long file = -1;
    int threads = -1;
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        rss = kb(line);
      } else if (line.startsWith("VmHWM:")) {
        hwm = kb(line);
      } else if (line.startsWith("RssAnon:")) {
        anon = kb(line);
      } else if (line.startsWith("RssFile:")) {
        file = kb(line);
      } else if (line.startsWith("Threads:")) {
        threads = (int) kb(line);
      }
    }
    return new Memory(rss, hwm, anon, file, threads);
  }

  private static long kb(String line) {
    String[] parts = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
    return Long.parseLong(parts[0]);
  }

  /** utime + stime of a process in clock ticks, from /proc/PID/stat. */
  static long cpuTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
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
    m.put("CPU", cpuModel());
    m.put("memory", memTotal());
    m.put("kernel", read("/proc/sys/kernel/osrelease"));
    m.put("agent JDK", firstLine(safeRun(List.of(agentJava, "-version"))) + " ("
        + secondLine(safeRun(List.of(agentJava, "-version"))) + ")");
    m.put("harness JDK", System.getProperty("java.vm.name") + " " + Runtime.version());
    m.put("temp dir", tempRoot + " on " + disk(tempRoot));
    m.put("one atomic file write (temp, fsync, rename, dir fsync) p50/p90/p99", fsyncLatency(tempRoot));
    return m;
  }

  /** The 1, 5 and 15 minute load averages: other work on the machine shows up in every figure here. */
  static String loadAverage() {
    String[] f = read("/proc/loadavg").split("\\s+");
    return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "unknown";
  }

  private static String cpuModel() {
    for (String line : lines("/proc/cpuinfo")) {
      if (line.startsWith("model name")) {
        return line.substring(line.indexOf(':') + 1).trim();
      }
    }
    return "unknown";
  }

  private static String memTotal() {
    for (String line : lines("/proc/meminfo")) {
      if (line.startsWith("MemTotal:")) {
        return (kb(line) / 1024) + " MiB";
      }
    }
    return "unknown";
  }

  /** File-system type, device and (for a block device) whether the kernel calls it rotational. */
  static String disk(Path dir) {
    String abs = dir.toAbsolutePath().normalize().toString();
    String bestMount = "";
    String fsType = "?";
    String source = "?";
    for (String line : lines("/proc/self/mountinfo")) {
      String[] halves = line.split(" - ", 2);
      if (halves.length < 2) {
        continue;
      }
      String[] a = halves[0].split(" ");
      String[] b = halves[1].split(" ");
      String mount = a[4].replace("\\040", " ");
      boolean covers = abs.equals(mount) || abs.startsWith(mount.endsWith("/") ? mount : mount + "/");
      if (covers && mount.length() >= bestMount.length()) {
        bestMount = mount;
        fsType = b[0];
        source = b.length > 1 ? b[1] : "?";
      }
    }
    StringBuilder sb = new StringBuilder(fsType + " (" + source + ", mounted at " + bestMount + ")");
    if (source.startsWith("/dev/")) {
      String name = source.substring(5);
      Path blk = Path.of("/sys/class/block", name);
      try {
        Path real = blk.toRealPath();
        Path queue = Files.isDirectory(real.resolve("queue")) ? real.resolve("queue") : real.getParent().resolve("queue");
        String rot = Files.readString(queue.resolve("rotational")).trim();
        String kind = name.startsWith("vd") ? "virtio block device" : name.startsWith("nvme") ? "NVMe"
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
          try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(content));
            ch.force(true);
          }
          Files.move(tmp, d.resolve("f" + (i % 10)), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
          }
          ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return String.format(java.util.Locale.ROOT, "%.2f / %.2f / %.2f ms", ms[49], ms[89], ms[98]);
      } finally {
        CertsTree.deleteRecursively(d);
      }
    } catch (IOException e) {
      return "unknown (" + e.getClass().getSimpleName() + ")";
    }
  }

  private static String read(String path) {
    try {
      return Files.readString(Path.of(path)).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static List<String> lines(String path) {
    try {
      return Files.readAllLines(Path.of(path));
    } catch (IOException e) {
      return new ArrayList<>();
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
