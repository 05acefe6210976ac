package dev.registrypolicy.policy;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Parses one file the way the agent does, in a JVM started by {@link LimitsFootprintTest} with the
 * agent's flags (-Xmx32m -Xss256k), and prints what it ended in, the peak heap and the time. Exits
 * 0 for a Policy or a PolicyException, 1 for anything else (an OutOfMemoryError too).
 */
final class FootprintMain {
  private FootprintMain() {}

  public static void main(String[] args) throws Exception {
    byte[] bytes = Files.readAllBytes(Path.of(args[0]));
    System.gc();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      p.resetPeakUsage();
    }
    long start = System.nanoTime();
    String outcome;
    try {
      Policy p = PolicyDocument.parse(bytes);
      PolicySummary.of(p);
      PrefixIndex.Builder<AllowedSource> b = PrefixIndex.builder();
      for (AllowedSource s : p.admission().allowedSources()) {
        b.add(s.prefix(), s);
      }
      b.build();
      outcome =
          "policy registries="
              + p.registries().size()
              + " sources="
              + p.admission().allowedSources().size();
    } catch (PolicyException e) {
      outcome = "problems first=\"" + e.problems().get(0) + "\"";
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    long peak = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        peak += p.getPeakUsage().getUsed();
      }
    }
    System.out.println(
        "outcome="
            + outcome
            + " bytes="
            + bytes.length
            + " peakHeapMiB="
            + (peak >> 20)
            + " ms="
            + ms);
  }
}
