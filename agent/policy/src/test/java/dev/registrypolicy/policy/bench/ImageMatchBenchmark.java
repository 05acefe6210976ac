package dev.registrypolicy.policy.bench;

import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.InvalidImageRefException;
import dev.registrypolicy.policy.PrefixIndex;
import dev.registrypolicy.policy.RepositoryPrefix;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
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
 * The admission hot path: parse an image reference from a pod spec and check it against 1,000
 * allowed registry prefixes spread over 50 registries. {@link #parseAndMatch} is the figure that
 * must stay above 1,000,000 ops/s on one core; {@link #parseOnly} and {@link #matchOnly} split it.
 *
 * <p>Run: {@code mvn -q -Pbench -pl agent/policy exec:exec -Dbench.args=ImageMatchBenchmark} after
 * {@code test-compile}. The bench profile hands {@code bench.args} to JMH as one argument, so it
 * can hold a benchmark pattern but not JMH options; fork, warm-up and measurement come from the
 * annotations below.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Threads(1)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ImageMatchBenchmark {
  static final int REFS = 4096;
  static final int PREFIXES = 1000;
  static final int HOSTS = 50;

  private static final String[] WELL_KNOWN = {
    "docker.io",
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "registry.k8s.io",
    "public.ecr.aws",
    "mcr.microsoft.com"
  };
  private static final String[] WORDS = {
    "team",
    "platform",
    "payments",
    "ml",
    "infra",
    "web",
    "api",
    "batch",
    "tools",
    "base",
    "app",
    "nginx",
    "redis",
    "postgres",
    "python",
    "node",
    "golang",
    "openjdk",
    "alpine",
    "ubuntu",
    "busybox",
    "grafana",
    "prometheus",
    "envoy",
    "istio",
    "cert-manager",
    "ingress-nginx",
    "kube-proxy",
    "coredns",
    "etcd",
    "pause",
    "builder",
    "runner",
    "agent",
    "edge",
    "search",
    "billing",
    "auth",
    "gateway",
    "worker",
    "data_pipeline",
    "ci-tools"
  };
  private static final String[] TAGS = {
    "latest",
    "1.25",
    "1.25.3-alpine",
    "v2.1.0",
    "3.12-slim-bookworm",
    "stable",
    "20241122",
    "v1.31.0",
    "main-4f2a9c1"
  };

  /** Accept three rules in four, as a namespace-scoped allow list would. */
  private static final Predicate<Integer> IN_SCOPE = v -> (v & 3) != 0;

  PrefixIndex<Integer> index;
  String[] refs;
  ImageRef[] parsed;
  int next;

  @Setup
  public void setup() throws InvalidImageRefException {
    SplittableRandom rnd = new SplittableRandom(20261122L);
    String[] hosts = new String[HOSTS];
    for (int i = 0; i < HOSTS; i++) {
      if (i < WELL_KNOWN.length) {
        hosts[i] = WELL_KNOWN[i];
      } else if (i % 5 == 0) {
        hosts[i] = "registry-" + i + ".corp.example:5000";
      } else if (i % 7 == 0) {
        hosts[i] = "10.20." + i + ".7:443";
      } else {
        hosts[i] = "registry-" + i + ".corp.example";
      }
    }

    List<String> prefixTexts = new ArrayList<>(PREFIXES);
    PrefixIndex.Builder<Integer> builder = PrefixIndex.builder();
    for (int i = 0; i < PREFIXES; i++) {
      String host = hosts[rnd.nextInt(HOSTS)];
      StringBuilder p = new StringBuilder(host);
      int depth = 1 + rnd.nextInt(3);
      for (int d = 0; d < depth; d++) {
        p.append('/')
            .append(
                host.equals("docker.io") && d == 0 && rnd.nextInt(3) == 0
                    ? "library"
                    : WORDS[rnd.nextInt(WORDS.length)]);
      }
      prefixTexts.add(p.toString());
      builder.add(RepositoryPrefix.parse(p.toString()), i);
    }
    index = builder.build();

    refs = new String[REFS];
    parsed = new ImageRef[REFS];
    int allowed = 0;
    for (int i = 0; i < REFS; i++) {
      int kind = rnd.nextInt(10);
      String name;
      if (kind < 5) {
        // Below an allowed prefix.
        StringBuilder n = new StringBuilder(prefixTexts.get(rnd.nextInt(PREFIXES)));
        int extra = rnd.nextInt(3);
        for (int e = 0; e < extra; e++) {
          n.append('/').append(WORDS[rnd.nextInt(WORDS.length)]);
        }
        name = n.toString();
      } else {
        // A known or unknown registry with a path that usually is not allowed.
        String host = kind < 8 ? hosts[rnd.nextInt(HOSTS)] : "untrusted-" + i + ".example.net";
        StringBuilder n = new StringBuilder(host);
        int depth = 1 + rnd.nextInt(3);
        for (int d = 0; d < depth; d++) {
          n.append('/').append(WORDS[rnd.nextInt(WORDS.length)]).append(d == 0 ? "-x" : "");
        }
        name = n.toString();
      }
      if (name.startsWith("docker.io/") && rnd.nextBoolean()) {
        // Familiar form, as most pod specs write Docker Hub images.
        name = name.substring("docker.io/".length());
        if (name.startsWith("library/") && name.indexOf('/', 8) < 0) {
          name = name.substring(8);
        }
      }
      int suffix = rnd.nextInt(10);
      if (suffix < 6) {
        name += ":" + TAGS[rnd.nextInt(TAGS.length)];
      } else if (suffix < 8) {
        name += "@sha256:" + hex(rnd, 64);
      } else if (suffix < 9) {
        name += ":" + TAGS[rnd.nextInt(TAGS.length)] + "@sha256:" + hex(rnd, 64);
      }
      refs[i] = name;
      parsed[i] = ImageRef.parse(name);
      if (index.anyMatch(parsed[i], IN_SCOPE)) {
        allowed++;
      }
    }
    System.out.printf(
        Locale.ROOT,
        "%n%d prefixes on %d hosts, %d references, %.0f%% allowed%n",
        index.size(),
        HOSTS,
        REFS,
        100.0 * allowed / REFS);
  }

  private static String hex(SplittableRandom rnd, int len) {
    StringBuilder sb = new StringBuilder(len);
    for (int i = 0; i < len; i++) {
      sb.append("0123456789abcdef".charAt(rnd.nextInt(16)));
    }
    return sb.toString();
  }

  /** Parse one reference string and check it against the allow list. */
  @Benchmark
  public boolean parseAndMatch() throws InvalidImageRefException {
    String s = refs[next++ & (REFS - 1)];
    return index.anyMatch(ImageRef.parse(s), IN_SCOPE);
  }

  @Benchmark
  public ImageRef parseOnly() throws InvalidImageRefException {
    return ImageRef.parse(refs[next++ & (REFS - 1)]);
  }

  @Benchmark
  public boolean matchOnly() {
    return index.anyMatch(parsed[next++ & (REFS - 1)], IN_SCOPE);
  }
}
