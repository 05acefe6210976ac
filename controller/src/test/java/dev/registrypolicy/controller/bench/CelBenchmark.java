package dev.registrypolicy.controller.bench;

import dev.registrypolicy.controller.admission.CelBenchAccess;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Evaluation time of the generated deny ValidatingAdmissionPolicy with dev.cel:cel (matching, every
 * variable, the validation) on a three-container Pod, at 50, 500 and 2,000 allowed prefixes: the
 * allowlist is looked up by key, so the time should not grow with the prefixes. The setup prints
 * the JSON size of the generated objects. cel-java is not the API server's cel-go: the figures
 * compare prefix counts, they are not the API server's latency.
 *
 * <p>Run (see controller/README.md): {@code ./mvnw -q -Pcel-bench -pl controller -am test-compile
 * exec:exec}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class CelBenchmark {
  @Param({"50", "500", "2000"})
  public int prefixes;

  /**
   * {@code perRequest}: every variable evaluated on every request, the allowlist map literals built
   * each time; {@code literalsOnce}: variables that read nothing of the request evaluated once,
   * leaving the per-request work (parsing, key lookups, rules).
   */
  @Param({"perRequest", "literalsOnce"})
  public String literals;

  private CelBenchAccess access;

  @Setup(Level.Trial)
  public void setUp() {
    access = new CelBenchAccess(prefixes, literals.equals("literalsOnce"));
    System.out.printf(
        "%n%d prefixes: ValidatingAdmissionPolicy %d bytes, binding %d bytes (JSON)%n",
        prefixes, access.policyBytes(), access.bindingBytes());
  }

  @Benchmark
  public boolean evaluateThreeContainerPod() {
    return access.admits();
  }

  /**
   * Thread CPU time per evaluation, for a loaded machine where JMH's wall-clock figures are noise
   * (CPU time leaves out the time the thread waits for a core). Args: evaluations per setting
   * (default 300, after as many for warm-up).
   */
  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    java.lang.management.ThreadMXBean t = java.lang.management.ManagementFactory.getThreadMXBean();
    for (boolean once : new boolean[] {false, true}) {
      for (int prefixes : new int[] {50, 500, 2000}) {
        CelBenchAccess a = new CelBenchAccess(prefixes, once);
        for (int i = 0; i < n; i++) {
          a.admits();
        }
        long cpu0 = t.getCurrentThreadCpuTime();
        for (int i = 0; i < n; i++) {
          a.admits();
        }
        double us = (t.getCurrentThreadCpuTime() - cpu0) / 1000.0 / n;
        System.out.printf(
            java.util.Locale.ROOT,
            "%-12s %5d prefixes: %8.1f us CPU per evaluation; policy %d bytes, binding %d bytes%n",
            once ? "literalsOnce" : "perRequest",
            prefixes,
            us,
            a.policyBytes(),
            a.bindingBytes());
      }
    }
  }
}
