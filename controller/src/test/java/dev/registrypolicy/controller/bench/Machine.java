package dev.registrypolicy.controller.bench;

import dev.registrypolicy.policy.bench.ProcInfo;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What the figures were measured on, and /proc readings of processes. */
final class Machine {
  private Machine() {}

  /** Memory of a process; all -1 if /proc cannot be read. */
  static ProcInfo.Memory memory(long pid) {
    try {
      return ProcInfo.memory(pid);
    } catch (IOException e) {
      return new ProcInfo.Memory(-1, -1, -1, -1, -1);
    }
  }

  /** Machine facts by name, in print order. */
  static Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
    m.put("CPU", ProcInfo.cpuModel());
    m.put("memory", ProcInfo.memTotal());
    m.put("kernel", ProcInfo.read("/proc/sys/kernel/osrelease"));
    m.put(
        "JDK",
        System.getProperty("java.vm.name")
            + " "
            + Runtime.version()
            + " ("
            + System.getProperty("java.vendor")
            + ", "
            + System.getProperty("java.home")
            + ")");
    m.put(
        "harness JVM",
        "max heap "
            + (Runtime.getRuntime().maxMemory() >> 20)
            + " MiB, GC "
            + String.join("+", gcNames()));
    return m;
  }

  static List<String> gcNames() {
    List<String> out = new ArrayList<>();
    ManagementFactory.getGarbageCollectorMXBeans().forEach(b -> out.add(b.getName()));
    return out;
  }

  /** The 1 minute load average, or -1. */
  static double load1() {
    try {
      return Double.parseDouble(ProcInfo.read("/proc/loadavg").split("\\s+")[0]);
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
    private final String before = ProcInfo.loadAverage();
    private volatile double max = load1();
    private volatile boolean stop;
    private final Thread thread;

    LoadSampler() {
      thread =
          new Thread(
              () -> {
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
              },
              "bench-load-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    /** "before / max of 1-min during / after". */
    String summary() {
      return before
          + " / "
          + String.format(Locale.ROOT, "%.2f", max)
          + " / "
          + ProcInfo.loadAverage();
    }

    @Override
    public void close() {
      stop = true;
      thread.interrupt();
    }
  }
}
