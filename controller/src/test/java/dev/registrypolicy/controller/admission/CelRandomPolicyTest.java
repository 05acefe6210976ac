package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.ContainerKind;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Differential test over random policies (scoped sources with label selectors, rules with globs,
 * blocked images, requireGrantForNodeCredentials with grants and opt-out annotations) and hostile
 * images; the generated CEL must give exactly the Java verdict's message per action.
 */
class CelRandomPolicyTest {
  private static final long SEED = Long.getLong("cel.random.seed", 4242L);
  private static final int POLICIES = Integer.getInteger("cel.random.policies", 60);
  private static final int REQUESTS = Integer.getInteger("cel.random.requests", 150);

  static final String[] PREFIXES = {
    "registry.corp",
    "registry.corp:5000",
    "registry.corp/team",
    "registry.corp/team/app",
    "docker.io",
    "docker.io/library",
    "nginx",
    "bitnami",
    "bitnami/redis",
    "index.docker.io/library/busybox",
    "registry-1.docker.io",
    "localhost",
    "localhost:5000/a",
    "[::1]:5000",
    "[fe80::1]",
    "ghcr.io/a/b/c/d",
    "a.b/c-d/e_f/g.h",
    "quay.io/x__y",
    "REGISTRY.corp/x",
    "https://h.io/p/",
    "registry.corp:443",
    "docker.io/nginx",
    "x.io/a/b/c/d/e/f",
  };
  static final String[] NAME_GLOBS = {
    "registry.corp/*",
    "*",
    "*/nginx",
    "docker.io/*",
    "nginx*",
    "registry.corp:5000/a?b",
    "localhost/*",
    "bitnami/*",
    "registry-1.docker.io/*",
    "index.docker.io/library/*",
    "*.corp/*/?",
    "a.b/c-d/*",
    "Registry.Corp/*",
    "x.io/a/b/c/d/e/f*",
    "*_*",
    "*__*",
    "*-*",
    "nginx",
  };
  static final String[] TAG_GLOBS = {"v*", "1.?", "*-rc*", "latest", "_x", "*", "?", "V1*", "*.*"};
  static final String[] HOST_GLOBS = {
    "*.evil",
    "docker.io",
    "registry-1.docker.io",
    "*docker.io",
    "reg?stry.corp",
    "[::1]",
    "index.docker.io",
    "REGISTRY.corp",
    "*",
    "localhost",
    "[fe80::1]",
    "?.io",
    "*.corp",
  };
  static final String[] PATH_GLOBS = {
    "busybox", "library/*", "*/*", "team/app", "b?", "*", "a/b", "*nginx", "x__y", "c-d/*",
  };
  static final String[] IMAGE_BASES = {
    "registry.corp/team/app",
    "registry.corp/team-evil/app",
    "registry.corp:5000/a/b",
    "registry.corp.evil/x",
    "nginx",
    "library/nginx",
    "docker.io/nginx",
    "index.docker.io/nginx",
    "registry-1.docker.io/library/nginx",
    "bitnami/redis",
    "bitnami/redis/x",
    "busybox",
    "localhost/x",
    "localhost:5000/a/b",
    "localhost:5000/ab",
    "[::1]:5000/x",
    "[::1]/x",
    "[fe80::1]/a",
    "[FE80::1]/a",
    "ghcr.io/a/b/c/d/e",
    "ghcr.io/a/b/c",
    "a.b/c-d/e_f/g.h/i",
    "quay.io/x__y",
    "quay.io/x_y",
    "registry.corp:443/team",
    "x.evil/b2",
    "bb",
    "b2",
    "x.io/a/b/c/d/e/f/g",
    "x.io/a/b/c/d/e/fg",
    "registry.corp/x",
    "Registry.corp/x",
    "sha256",
    "h.io/p/q",
  };

  @Test
  void celAgreesWithJavaOnRandomPolicies() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    CelImageGenerator gen = new CelImageGenerator(SEED);
    List<String> failures = new ArrayList<>();
    int built = 0;
    int rejected = 0;
    int compared = 0;
    for (int p = 0; p < POLICIES && failures.size() < 10; p++) {
      String yaml = randomPolicy(rnd);
      Policy policy;
      try {
        policy =
            PolicyParser.parse(
                "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n" + yaml);
      } catch (PolicyException e) {
        rejected++;
        continue;
      }
      ValidatingPolicies.Result res = ValidatingPolicies.build(policy, CelRequests.OWN);
      if (!res.problems().isEmpty()) {
        failures.add("problems " + res.problems() + "\n" + yaml);
        continue;
      }
      built++;
      Map<Action, CelHarness.Compiled> vaps = CelAgreementTest.compiled(res);
      AdmissionCheck check = AdmissionCheck.of(policy, CelRequests.OWN);
      List<Map<String, Object>> namespaces = namespaces(rnd);
      for (int i = 0; i < REQUESTS && failures.size() < 10; i++) {
        Map<String, Object> ns = namespaces.get(rnd.nextInt(namespaces.size()));
        int n = 1 + rnd.nextInt(3);
        List<CelRequests.C> cs = new ArrayList<>();
        for (int j = 0; j < n; j++) {
          cs.add(
              new CelRequests.C(
                  ContainerKind.values()[rnd.nextInt(3)], "c" + j, image(rnd, gen, p, i, j)));
        }
        WorkloadKind kind = WorkloadKind.values()[rnd.nextInt(WorkloadKind.values().length)];
        CelHarness.Request req = CelRequests.create(kind, ns, cs);
        NamespaceInfo info = nsInfo(ns);
        Verdict verdict = CelAgreementTest.verdict(check, info, req);
        for (Action a : List.of(Action.DENY, Action.WARN, Action.AUDIT)) {
          String expected = CelExpected.message(verdict, a);
          CelHarness.Compiled vap = vaps.get(a);
          String got = null;
          if (vap != null) {
            CelHarness.Outcome o = vap.evaluate(req);
            got = o.failed() ? (o.error() != null ? "error: " + o.error() : o.message()) : null;
          }
          compared++;
          if (!Objects.equals(expected, got) && failures.size() < 10) {
            failures.add(
                a
                    + " ns="
                    + ns
                    + " "
                    + cs
                    + "\n java: "
                    + expected
                    + "\n cel:  "
                    + got
                    + "\n"
                    + yaml);
          }
        }
      }
    }
    System.out.printf(
        "review fuzz: %d policies built, %d rejected by the parser, %d comparisons%n",
        built, rejected, compared);
    assertTrue(failures.isEmpty(), () -> String.join("\n----\n", failures));
    assertTrue(built > POLICIES / 3, "too few policies built: " + built);
  }

  @SuppressWarnings("unchecked")
  static NamespaceInfo nsInfo(Map<String, Object> ns) {
    Map<String, Object> meta = (Map<String, Object>) ns.get("metadata");
    return new NamespaceInfo(
        (String) meta.get("name"),
        (Map<String, String>) meta.getOrDefault("labels", Map.of()),
        (Map<String, String>) meta.getOrDefault("annotations", Map.of()));
  }

  static String image(SplittableRandom rnd, CelImageGenerator gen, int p, int i, int j) {
    int r = rnd.nextInt(4);
    if (r == 0) {
      return gen.next(p * 100_000 + i * 7 + j);
    }
    String base = pick(rnd, IMAGE_BASES);
    switch (rnd.nextInt(6)) {
      case 0 ->
          base += ":" + pick(rnd, new String[] {"v1", "latest", "1.2", "1.0-rc1", "V1", "_x"});
      case 1 -> base += "@sha256:" + "ab".repeat(32);
      case 2 -> base += ":v2@sha256:" + "cd".repeat(32);
      case 3 -> base += ":" + "t".repeat(128);
      default -> {}
    }
    return base;
  }

  static List<Map<String, Object>> namespaces(SplittableRandom rnd) {
    List<Map<String, Object>> out = new ArrayList<>();
    String[] names = {"apps", "team-a", "prod", "kube-system", "registry-policy", "x"};
    for (String n : names) {
      Map<String, String> labels = new LinkedHashMap<>();
      if (rnd.nextBoolean()) {
        labels.put("env", pick(rnd, new String[] {"prod", "stage", "dev"}));
      }
      if (rnd.nextBoolean()) {
        labels.put("team", pick(rnd, new String[] {"a", "b"}));
      }
      if (rnd.nextInt(4) == 0) {
        labels.put("example.com/tier", "x");
      }
      labels.put("kubernetes.io/metadata.name", n);
      Map<String, String> ann = new LinkedHashMap<>();
      if (rnd.nextInt(3) == 0) {
        ann.put(
            "registry-policy.dev/opt-out",
            pick(rnd, new String[] {"true", "TRUE", "True", " true", "yes", "tRuE"}));
      }
      Map<String, Object> meta = new LinkedHashMap<>();
      meta.put("name", n);
      meta.put("labels", labels);
      if (!ann.isEmpty()) {
        meta.put("annotations", ann);
      }
      out.add(Map.of("apiVersion", "v1", "kind", "Namespace", "metadata", meta));
    }
    return out;
  }

  static String pick(SplittableRandom rnd, String[] a) {
    return a[rnd.nextInt(a.length)];
  }

  static String q(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  static String selector(SplittableRandom rnd) {
    StringBuilder sb = new StringBuilder("{");
    List<String> parts = new ArrayList<>();
    if (rnd.nextBoolean()) {
      parts.add("names: [" + pick(rnd, new String[] {"team-a", "prod", "x"}) + "]");
    }
    if (rnd.nextBoolean()) {
      List<String> sel = new ArrayList<>();
      if (rnd.nextBoolean()) {
        sel.add("matchLabels: {env: " + pick(rnd, new String[] {"prod", "dev"}) + "}");
      }
      if (rnd.nextBoolean()) {
        String op = pick(rnd, new String[] {"In", "NotIn", "Exists", "DoesNotExist"});
        String key = pick(rnd, new String[] {"env", "team", "example.com/tier"});
        String vals = op.equals("In") || op.equals("NotIn") ? ", values: [prod, a, x]" : "";
        sel.add("matchExpressions: [{key: " + q(key) + ", operator: " + op + vals + "}]");
      }
      if (!sel.isEmpty()) {
        parts.add("selector: {" + String.join(", ", sel) + "}");
      }
    }
    if (rnd.nextInt(3) == 0) {
      parts.add("exclude: [" + pick(rnd, new String[] {"apps", "prod"}) + "]");
    }
    return sb.append(String.join(", ", parts)).append('}').toString();
  }

  static String randomPolicy(SplittableRandom rnd) {
    StringBuilder y = new StringBuilder();
    boolean creds = rnd.nextBoolean();
    if (creds) {
      y.append(
          """
          credentials:
            - {name: hub, secret: hub}
            - {name: corp, secret: corp}
            - {name: cache, secret: cache}
          registries:
            - host: docker.io
              mirrors: [{url: "https://m.corp", credentials: hub}]
            - {host: "registry.corp:5000", credentials: corp}
            - {host: "[::1]:5000", credentials: corp}
          """);
      if (rnd.nextBoolean()) {
        y.append(
            "  - {host: \"*\", mirrors: [{url: \"https://cache.corp\", credentials: cache}]}\n");
      }
      if (rnd.nextBoolean()) {
        y.append("  - {host: registry-1.docker.io, credentials: hub}\n");
      }
      y.append("access:\n");
      int g = rnd.nextInt(3);
      for (int i = 0; i < g; i++) {
        y.append("  - {name: g")
            .append(i)
            .append(", credentials: [")
            .append(pick(rnd, new String[] {"hub", "corp", "cache", "hub, corp"}))
            .append("], namespaces: ")
            .append(selector(rnd))
            .append("}\n");
      }
      if (g == 0) {
        y.setLength(y.length() - "access:\n".length());
      }
    }
    y.append("admission:\n  mode: ")
        .append(pick(rnd, new String[] {"Deny", "Warn", "Audit"}))
        .append('\n');
    if (creds && rnd.nextBoolean()) {
      y.append("  requireGrantForNodeCredentials: true\n");
    }
    if (rnd.nextInt(3) == 0) {
      y.append("  exemptNamespaces: [").append(pick(rnd, new String[] {"", "apps", "prod, x"}));
      y.append("]\n");
    }
    int ns = rnd.nextInt(6);
    if (ns > 0) {
      y.append("  allowedSources:\n");
      for (int i = 0; i < ns; i++) {
        y.append("    - prefix: ").append(q(pick(rnd, PREFIXES))).append('\n');
        if (rnd.nextInt(3) == 0) {
          y.append("      scope: ").append(selector(rnd)).append('\n');
        }
      }
    }
    int nr = rnd.nextInt(4);
    if (nr > 0) {
      y.append("  rules:\n");
      for (int i = 0; i < nr; i++) {
        y.append("    - name: r").append(i).append('\n');
        if (rnd.nextInt(3) == 0) {
          y.append("      mode: ").append(pick(rnd, new String[] {"Deny", "Warn", "Audit"}));
          y.append('\n');
        }
        if (rnd.nextInt(3) == 0) {
          y.append("      namespaces: ").append(selector(rnd)).append('\n');
        }
        if (rnd.nextInt(4) == 0) {
          y.append("      requireDigest: true\n");
        }
        if (rnd.nextInt(4) == 0) {
          y.append("      blockUntagged: true\n");
        }
        if (rnd.nextInt(3) == 0) {
          y.append("      blockLatestTag: true\n");
        }
        if (rnd.nextInt(3) == 0) {
          y.append("      allowedNameTags:\n");
          for (int k = 0, m = 1 + rnd.nextInt(3); k < m; k++) {
            y.append("        - {name: ").append(q(pick(rnd, NAME_GLOBS)));
            if (rnd.nextBoolean()) {
              y.append(", tag: ").append(q(pick(rnd, TAG_GLOBS)));
            }
            y.append("}\n");
          }
        }
        if (rnd.nextInt(2) == 0) {
          y.append("      blockedImages:\n");
          for (int k = 0, m = 1 + rnd.nextInt(3); k < m; k++) {
            List<String> parts = new ArrayList<>();
            if (rnd.nextBoolean()) {
              parts.add("host: " + q(pick(rnd, HOST_GLOBS)));
            }
            if (rnd.nextInt(3) == 0) {
              parts.add("port: " + pick(rnd, new String[] {"5000", "443", "1"}));
            }
            if (rnd.nextBoolean()) {
              parts.add("name: " + q(pick(rnd, PATH_GLOBS)));
            }
            if (rnd.nextInt(3) == 0 || parts.isEmpty()) {
              parts.add("tag: " + q(pick(rnd, TAG_GLOBS)));
            }
            y.append("        - {").append(String.join(", ", parts)).append("}\n");
          }
        }
      }
    }
    return y.toString();
  }
}
