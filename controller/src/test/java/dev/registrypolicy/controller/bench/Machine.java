package dev.registrypolicy.controller.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What the figures were measured on, and /proc readings of processes. */
final class Machine {
  private Machine() {}

  /** Memory of a process in kB, from /proc/PID/status. */
  record Memory(long rssKb, long hwmKb, long rssAnonKb, int threads) {}

  static Memory memory(long pid) {
    long rss = -1;
    long hwm = -1;
    long anon = -1;
    int threads = -1;
    for (String line : lines("/proc/" + pid + "/status")) {
      if (line.startsWith("VmRSS:")) {
        rss = kb(line);
      } else if (line.startsWith("VmHWM:")) {
        hwm = kb(line);
      } else if (line.startsWith("RssAnon:")) {
        anon = kb(line);
      } else if (line.startsWith("Threads:")) {
        threads = (int) kb(line);
      }
    }
    return new Memory(rss, hwm, anon, threads);
  }

  private static long kb(String line) {
    String[] parts = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
    return Long.parseLong(parts[0]);
  }

  /** Machine facts by name, in print order. */
  static Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
    m.put("CPU", cpuModel());
    m.put("memory", memTotal());
    m.put("kernel", read("/proc/sys/kernel/osrelease"));
    m.put("JDK", System.getProperty("java.vm.name") + " " + Runtime.version() + " (" + System.getProperty("java.vendor")
        + ", " + System.getProperty("java.home") + ")");
    m.put("harness JVM", "max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB, GC "
        + String.join("+", gcNames()));
    return m;
  }

  static List<String> gcNames() {
    List<String> out = new ArrayList<>();
    ManagementFactory.getGarbageCollectorMXBeans().forEach(b -> out.add(b.getName()));
    return out;
  }

  /** The 1, 5 and 15 minute load averages. */
  static String loadAverage() {
    String[] f = read("/proc/loadavg").split("\\s+");
    return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "unknown";
  }

  /** The 1 minute load average, or -1. */
  static double load1() {
    try {
      return Double.parseDouble(read("/proc/loadavg").split("\\s+")[0]);
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** CPU time of this JVM (all threads), in ms, or -1. */
  static long processCpuMillis() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() / 1_000_000;
    }
    return -1;
  }

  /** Samples the 1 minute load average every second while a benchmark runs. */
  static final class LoadSampler implements AutoCloseable {
    private final String before = loadAverage();
    private volatile double max = load1();
    private volatile boolean stop;
    private final Thread thread;

    LoadSampler() {
      thread = new Thread(() -> {
        while (!stop) {
          double l = load1();
          if (l > max) {
            max = l;
          }
          try {
            Thread.sleep(1000);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "bench-load-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    /** "before / max of 1-min during / after". */
    String summary() {
      return before + " / " + String.format(Locale.ROOT, "%.2f", max) + " / " + loadAverage();
    }

    @Override
    public void close() {
      stop = true;
      thread.interrupt();
    }
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
}
