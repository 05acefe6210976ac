package dev.registrypolicy.controller.bench;

import dev.registrypolicy.controller.ControllerBenchAccess;
import io.kubernetes.client.openapi.ApiClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The controller alone in a JVM, for the {@code heap} benchmark: the parent starts it with a heap
 * cap and the fake API's URL, this builds an ApiClient the way {@code run} does, starts the
 * controller, waits until it leads, its caches are synced and the full pass is over, forces full
 * GCs and prints one {@code HEAP key=value ...} line on stdout. It then waits for a line on stdin
 * (any, or EOF) and exits.
 *
 * <p>Arguments: API base URL, number of namespaces (the full pass processes at least that many
 * keys), workers, settle milliseconds (how long the reconcile counter must stand still).
 */
public final class HeapChild {
  private HeapChild() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int namespaces = Integer.parseInt(args[1]);
    int workers = Integer.parseInt(args[2]);
    long settleMs = Long.parseLong(args[3]);
    long t0 = System.nanoTime();
    ControllerBenchAccess.logToStderr();
    ApiClient client = new ApiClient();
    client.setBasePath(url);
    client.setHttpClient(
        client.getHttpClient().newBuilder().readTimeout(0, TimeUnit.SECONDS).build());
    System.out.println("STARTED pid=" + ProcessHandle.current().pid());
    System.out.flush();
    try (ControllerBenchAccess.Running c =
        ControllerBenchAccess.start(
            client, "heap-child", workers, Duration.ofMinutes(10), Duration.ofSeconds(15))) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (!(c.leader() && c.ready() && c.policyLoaded())) {
        check(deadline, "leader, synced, policy loaded");
        Thread.sleep(10);
      }
      long syncedMs = (System.nanoTime() - t0) / 1_000_000;
      long last = -1;
      long stillSince = System.nanoTime();
      while (true) {
        check(deadline, "full pass");
        long r = c.reconciles();
        if (r != last) {
          last = r;
          stillSince = System.nanoTime();
        } else if (r >= namespaces && System.nanoTime() - stillSince >= settleMs * 1_000_000) {
          break;
        }
        Thread.sleep(20);
      }
      long settledMs = (System.nanoTime() - t0) / 1_000_000 - settleMs;
      MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
      long peakSum = 0;
      for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
        if (p.getType() == MemoryType.HEAP) {
          peakSum += p.getPeakUsage().getUsed();
        }
      }
      for (int i = 0; i < 4; i++) {
        System.gc();
        Thread.sleep(200);
      }
      MemoryUsage heap = mem.getHeapMemoryUsage();
      MemoryUsage nonHeap = mem.getNonHeapMemoryUsage();
      dev.registrypolicy.policy.bench.ProcInfo.Memory m =
          Machine.memory(ProcessHandle.current().pid());
      System.out.println(
          "HEAP used="
              + heap.getUsed()
              + " committed="
              + heap.getCommitted()
              + " max="
              + heap.getMax()
              + " nonheap="
              + nonHeap.getUsed()
              + " peakPoolSum="
              + peakSum
              + " rssKb="
              + m.rssKb()
              + " hwmKb="
              + m.hwmKb()
              + " threads="
              + m.threads()
              + " syncedMs="
              + syncedMs
              + " settledMs="
              + settledMs
              + " reconciles="
              + c.reconciles()
              + " writes="
              + c.writes()
              + " gc="
              + String.join("+", Machine.gcNames()).replace(' ', '_'));
      System.out.flush();
      new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    }
    System.exit(0);
  }

  private static void check(long deadline, String what) {
    if (System.nanoTime() > deadline) {
      System.out.println("TIMEOUT " + what);
      System.out.flush();
      System.exit(4); // 3 is what -XX:+ExitOnOutOfMemoryError uses
    }
  }
}
