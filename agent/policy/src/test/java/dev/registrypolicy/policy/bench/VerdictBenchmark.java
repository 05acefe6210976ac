package dev.registrypolicy.policy.bench;

import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.Container;
import dev.registrypolicy.admission.ContainerKind;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.PolicyParser;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The verdict function on a 3-container Pod (two containers and an init container) against a policy
 * with 2,000 allowed prefixes (a quarter of them scoped to namespaces by name or label) and 50
 * rules (ten for every namespace: digest, tag, name/tag and blocked-image checks; forty scoped to
 * other namespaces). The Pods rotate over 1,024 prepared ones whose images all come from allowed
 * sources, so every check runs to its end: the usual, fully allowed case. Target: at least 500,000
 * verdicts/s on one core.
 *
 * <p>Run: {@code ./mvnw -q -o -Pbench -pl agent/policy -am test-compile exec:exec
 * -Dbench.args=VerdictBenchmark}; fork, warm-up and measurement come from the annotations.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Threads(1)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class VerdictBenchmark {
  static final int PREFIXES = 2000;
  static final int RULES = 50;
  static final int HOSTS = 50;
  static final int PODS = 1024;

  AdmissionCheck check;
  NamespaceInfo namespace;
  Workload[] pods;
  int next;

  /** The policy text: 2,000 allowed sources over 50 registries, and 50 rules. */
  static String policy() {
    StringBuilder sb =
        new StringBuilder(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nadmission:\n"
                + "  mode: Deny\n  allowedSources:\n");
    for (int i = 0; i < PREFIXES; i++) {
      sb.append("    - prefix: ").append(prefix(i)).append('\n');
      switch (i % 8) {
        case 1 -> sb.append("      scope: {names: [team-").append(i % 13).append("]}\n");
        case 5 ->
            sb.append("      scope: {selector: {matchLabels: {team: t")
                .append(i % 17)
                .append("}}}\n");
        default -> {}
      }
    }
    sb.append("  rules:\n");
    sb.append("    - {name: pin-prod, requireDigest: true, namespaces: {names: [prod]}}\n");
    sb.append("    - {name: no-latest, blockLatestTag: true}\n");
    sb.append("    - {name: tagged, blockUntagged: true, mode: Warn}\n");
    sb.append("    - name: corp-names\n      allowedNameTags:\n");
    for (int h = 0; h < 20; h++) {
      sb.append("        - {name: \"reg").append(h).append(".corp.example/*\"}\n");
    }
    sb.append("        - {name: \"*.corp.example/*\", tag: \"v*\"}\n");
    sb.append("        - {name: \"*.corp.example/*\"}\n");
    for (int r = 0; r < 6; r++) {
      sb.append("    - name: blocked-").append(r).append("\n      blockedImages:\n");
      for (int b = 0; b < 5; b++) {
        sb.append("        - {name: \"team")
            .append(r * 5 + b)
            .append("/debug-*\"}\n        - {tag: \"snapshot-")
            .append(r)
            .append(b)
            .append("*\"}\n        - {host: evil")
            .append(b)
            .append(".example}\n");
      }
    }
    sb.append("    - {name: audit-untagged, mode: Audit, blockUntagged: true}\n");
    for (int r = 10; r < RULES; r++) {
      sb.append("    - name: team-rule-").append(r).append('\n');
      if (r % 2 == 0) {
        sb.append("      namespaces: {names: [other-").append(r).append("]}\n");
      } else {
        sb.append("      namespaces: {selector: {matchLabels: {team: x").append(r).append("}}}\n");
      }
      sb.append(r % 3 == 0 ? "      requireDigest: true\n" : "      blockedImages: [{name: x}]\n");
    }
    return sb.toString();
  }

  /** reg<h>.corp.example/team<t>[/sub<s>]: 50 hosts, 40 teams each, some one level deeper. */
  static String prefix(int i) {
    int h = i % HOSTS;
    int t = i / HOSTS;
    return "reg" + h + ".corp.example/team" + t + (t % 4 == 3 ? "/sub" + (i % 7) : "");
  }

  @Setup
  public void setup() throws Exception {
    check = AdmissionCheck.of(PolicyParser.parse(policy()), "registry-policy");
    namespace = new NamespaceInfo("shop", Map.of("team", "t3", "env", "prod"), Map.of());
    SplittableRandom rnd = new SplittableRandom(42);
    String[] tags = {"1.25", "v2.1.0", "3.12-slim", "20241122", "main-4f2a9c1"};
    pods = new Workload[PODS];
    for (int p = 0; p < PODS; p++) {
      Container[] cs = new Container[3];
      for (int c = 0; c < 3; c++) {
        int i;
        do {
          i = rnd.nextInt(PREFIXES);
        } while (i % 8 == 1 || i % 8 == 5); // global sources: admitted in any namespace
        String image = prefix(i) + "/app" + rnd.nextInt(9) + ":" + tags[rnd.nextInt(tags.length)];
        cs[c] =
            new Container(c == 2 ? ContainerKind.INIT : ContainerKind.CONTAINER, "c" + c, image);
      }
      pods[p] = new Workload(WorkloadKind.POD, "shop", "pod-" + p, List.of(cs));
    }
    Verdict v = check.check(namespace, pods[0], null);
    if (v.containers().size() != 3 || !v.findings().isEmpty()) {
      throw new IllegalStateException("the benchmark Pods must be allowed: " + v.findings());
    }
  }

  @Benchmark
  public Verdict podVerdict() {
    Workload w = pods[next++ & (PODS - 1)];
    return check.check(namespace, w, null);
  }
}
