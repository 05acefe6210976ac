package dev.registrypolicy.policy.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * /proc readings the benchmark harnesses share (published in this module's test-jar): a process's
 * memory, the load average, CPU model and memory size of the machine.
 */
public final class ProcInfo {
  private ProcInfo() {}

  /** Memory of a process in kB, from /proc/PID/status (-1 where the kernel does not say). */
  public record Memory(long rssKb, long hwmKb, long rssAnonKb, long rssFileKb, int threads) {}

  public static Memory memory(long pid) throws IOException {
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

  /** The number in a /proc "Key: 123 kB" line. */
  public static long kb(String line) {
    String[] parts = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
    return Long.parseLong(parts[0]);
  }

  /** The 1, 5 and 15 minute load averages: other work on the machine shows up in every figure. */
  public static String loadAverage() {
    String[] f = read("/proc/loadavg").split("\\s+");
    return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "unknown";
  }

  public static String cpuModel() {
    for (String line : lines("/proc/cpuinfo")) {
      if (line.startsWith("model name")) {
        return line.substring(line.indexOf(':') + 1).trim();
      }
    }
    return "unknown";
  }

  public static String memTotal() {
    for (String line : lines("/proc/meminfo")) {
      if (line.startsWith("MemTotal:")) {
        return (kb(line) / 1024) + " MiB";
      }
    }
    return "unknown";
  }

  /** A file's trimmed text, or "unknown". */
  public static String read(String path) {
    try {
      return Files.readString(Path.of(path)).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** A file's lines, or none. */
  public static List<String> lines(String path) {
    try {
      return Files.readAllLines(Path.of(path));
    } catch (IOException e) {
      return new ArrayList<>();
    }
  }
}
