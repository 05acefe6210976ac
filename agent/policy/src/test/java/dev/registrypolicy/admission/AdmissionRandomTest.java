package dev.registrypolicy.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Seeded random policies, namespaces and objects: only PolicyException and InvalidWorkloadException
 * ever escape, and every verdict is well-formed.
 */
class AdmissionRandomTest {
  private static final long SEED = 0x5eed_7a11L;
  private static final int POLICIES = 300;
  private static final int OBJECTS_PER_POLICY = 40;

  private static final String[] IMAGES = {
    "nginx",
    "nginx:latest",
    "nginx:1.25",
    "library/nginx",
    "docker.io/library/nginx",
    "index.docker.io/library/nginx:1",
    "registry-1.docker.io/library/nginx",
    "registry.corp.example/team/app:1",
    "registry.corp.example/team-evil/app",
    "registry.corp.example.evil.com/team/app",
    "registry.corp.example:5000/app",
    "Registry.Corp.Example/team/app",
    "localhost:5000/x",
    "[::1]:5000/x",
    "ghcr.io/team/app@sha256:" + "ab".repeat(32),
    "ghcr.io/team/app:1@sha256:" + "cd".repeat(32),
    "busybox",
    "",
    " ",
    "https://u:p@registry.corp.example/x",
    "a/b/c/d/e/f/g/h",
    "UPPER",
    "x:",
    "@sha256:",
    "\u0000",
    "é/x",
    "a".repeat(300),
  };

  private static final String[] PREFIXES = {
    "registry.corp.example",
    "registry.corp.example/team",
    "docker.io",
    "docker.io/library",
    "nginx",
    "registry-1.docker.io",
    "ghcr.io/team",
    "localhost:5000",
    "*",
    "Registry.Corp",
    "",
  };

  private static final String[] RULE_PARTS = {
    "requireDigest: true",
    "blockLatestTag: true",
    "blockUntagged: true",
    "allowedNameTags: [{name: nginx, tag: \"1.*\"}]",
    "allowedNameTags: [{name: \"*\"}]",
    "blockedImages: [{name: busybox}]",
    "blockedImages: [{host: docker.io}]",
    "blockedImages: [{host: \"*.example\", port: 5000}]",
    "imageMetadata: {denyRunAsRoot: true}",
    "mode: Warn",
    "mode: Audit",
    "mode: Nope",
    "namespaces: {names: [a, b]}",
    "namespaces: {selector: {matchLabels: {env: prod}}}",
    "namespaces: {exclude: [a]}",
    "requireDigest: 1",
  };

  static String randomPolicy(SplittableRandom rnd) {
    StringBuilder sb =
        new StringBuilder("apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n");
    if (rnd.nextBoolean()) {
      sb.append(
          """
          credentials: [{name: c1, secret: s1}, {name: c2, secret: s2}]
          registries:
            - {host: registry.corp.example, credentials: c1}
            - {host: "*", mirrors: [{url: "https://cache.example", credentials: c2}]}
          access:
            - {name: g1, credentials: [c1], namespaces: {selector: {matchLabels: {env: prod}}}}
            - {name: g2, credentials: [c2], namespaces: {names: [a]}}
          """);
    }
    if (rnd.nextInt(8) == 0) {
      return sb.toString();
    }
    sb.append("admission:\n");
    String[] modes = {"Deny", "Warn", "Audit", "deny", "1"};
    if (rnd.nextBoolean()) {
      sb.append("  mode: ").append(modes[rnd.nextInt(modes.length)]).append('\n');
    }
    switch (rnd.nextInt(4)) {
      case 0 -> sb.append("  exemptNamespaces: []\n");
      case 1 -> sb.append("  exemptNamespaces: [a, kube-system]\n");
      default -> {}
    }
    if (rnd.nextInt(3) == 0) {
      sb.append("  requireGrantForNodeCredentials: ")
          .append(rnd.nextInt(5) == 0 ? "\"yes\"" : String.valueOf(rnd.nextBoolean()))
          .append('\n');
    }
    int sources = rnd.nextInt(4);
    if (sources > 0) {
      sb.append("  allowedSources:\n");
      for (int i = 0; i < sources; i++) {
        sb.append("    - prefix: \"").append(PREFIXES[rnd.nextInt(PREFIXES.length)]).append("\"\n");
        if (rnd.nextInt(3) == 0) {
          sb.append("      scope: {names: [a]}\n");
        }
      }
    }
    int rules = rnd.nextInt(4);
    if (rules > 0) {
      sb.append("  rules:\n");
      for (int i = 0; i < rules; i++) {
        sb.append("    - name: r").append(i).append('\n');
        int parts = 1 + rnd.nextInt(3);
        for (int j = 0; j < parts; j++) {
          String part = RULE_PARTS[rnd.nextInt(RULE_PARTS.length)];
          if (sb.indexOf(part.substring(0, part.indexOf(':')) + ":", sb.lastIndexOf("- name:"))
              < 0) {
            sb.append("      ").append(part).append('\n');
          }
        }
      }
    }
    return sb.toString();
  }

  /** A random value where a container list, a container or an image might be. */
  static Object junk(SplittableRandom rnd) {
    return switch (rnd.nextInt(6)) {
      case 0 -> null;
      case 1 -> rnd.nextInt();
      case 2 -> rnd.nextBoolean();
      case 3 -> IMAGES[rnd.nextInt(IMAGES.length)];
      case 4 -> List.of();
      default -> Map.of("k", "v");
    };
  }

  static Map<String, Object> randomObject(SplittableRandom rnd) {
    WorkloadKind kind = WorkloadKind.values()[rnd.nextInt(WorkloadKind.values().length)];
    Map<String, Object> spec = new HashMap<>();
    for (ContainerKind ck : ContainerKind.values()) {
      if (rnd.nextInt(4) == 0) {
        continue;
      }
      if (rnd.nextInt(30) == 0) {
        spec.put(ck.field(), junk(rnd));
        continue;
      }
      List<Object> list = new ArrayList<>();
      int n = rnd.nextInt(4);
      for (int i = 0; i < n; i++) {
        Map<String, Object> c = new HashMap<>();
        c.put("name", rnd.nextInt(40) == 0 ? junk(rnd) : "c" + rnd.nextInt(3));
        c.put("image", rnd.nextInt(40) == 0 ? junk(rnd) : IMAGES[rnd.nextInt(IMAGES.length)]);
        list.add(rnd.nextInt(60) == 0 ? junk(rnd) : c);
      }
      spec.put(ck.field(), list);
    }
    Object node = spec;
    List<String> path = kind.podSpecPath();
    for (int i = path.size() - 1; i >= 0; i--) {
      Map<String, Object> m = new HashMap<>();
      m.put(path.get(i), rnd.nextInt(50) == 0 ? junk(rnd) : node);
      node = m;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> o = new HashMap<>((Map<String, Object>) node);
    o.put("kind", rnd.nextInt(30) == 0 ? "ConfigMap" : kind.kind());
    o.put("metadata", Map.of("name", "w", "namespace", "a"));
    return o;
  }

  static NamespaceInfo randomNamespace(SplittableRandom rnd) {
    String[] names = {"a", "b", "kube-system", "registry-policy", "other"};
    Map<String, String> labels = rnd.nextBoolean() ? Map.of("env", "prod") : Map.of();
    Map<String, String> annotations =
        rnd.nextInt(5) == 0
            ? Map.of(dev.registrypolicy.policy.NamespaceSelector.OPT_OUT_ANNOTATION, "true")
            : Map.of();
    return new NamespaceInfo(names[rnd.nextInt(names.length)], labels, annotations);
  }

  @Test
  void randomPoliciesAndObjects_giveWellFormedVerdicts() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    int policies = 0;
    int verdicts = 0;
    int denied = 0;
    int invalid = 0;
    for (int p = 0; p < POLICIES; p++) {
      String yaml = randomPolicy(rnd);
      Policy policy;
      try {
        policy = PolicyParser.parse(yaml);
      } catch (PolicyException e) {
        continue;
      }
      policies++;
      AdmissionCheck ck = AdmissionCheck.of(policy, "registry-policy");
      for (int i = 0; i < OBJECTS_PER_POLICY; i++) {
        Map<String, Object> object = randomObject(rnd);
        Workload w;
        Workload old;
        try {
          w = Workload.fromObject(object, "a");
          old = rnd.nextInt(3) == 0 ? Workload.fromObject(randomObject(rnd), "a") : null;
        } catch (InvalidWorkloadException e) {
          invalid++;
          assertTrue(e.getMessage().contains(": "), e.getMessage());
          continue;
        } catch (RuntimeException e) {
          throw new AssertionError("fromObject threw " + e + " on " + object, e);
        }
        if (w == null) {
          continue;
        }
        Verdict v;
        try {
          v = ck.check(randomNamespace(rnd), w, old);
        } catch (RuntimeException e) {
          throw new AssertionError("check threw " + e + " with\n" + yaml + "on " + w, e);
        }
        wellFormed(w, v, yaml);
        verdicts++;
        if (v.action() == Action.DENY) {
          denied++;
        }
      }
    }
    // the generator reaches every outcome, so the assertions above are not vacuous
    assertTrue(policies > POLICIES / 3, "valid policies: " + policies);
    assertTrue(verdicts > 1000, "verdicts: " + verdicts);
    assertTrue(denied > 100, "denied: " + denied);
    assertTrue(invalid > 10, "invalid objects: " + invalid);
  }

  @SuppressWarnings("ReferenceEquality") // findings belong to their container object
  static void wellFormed(Workload w, Verdict v, String yaml) {
    assertEquals(w.containers().size(), v.containers().size(), yaml);
    Action worst = Action.ALLOW;
    int f = 0;
    for (int i = 0; i < w.containers().size(); i++) {
      Container c = w.containers().get(i);
      ContainerVerdict cv = v.containers().get(i);
      assertTrue(cv.container() == c, "verdicts in container order");
      String head = c.kind().noun() + " \"" + c.name() + "\": image \"" + cv.image() + "\" ";
      Action most = Action.ALLOW;
      Finding first = null;
      while (f < v.findings().size() && v.findings().get(f).container() == c) {
        Finding x = v.findings().get(f++);
        assertNotEquals(Action.ALLOW, x.action());
        assertEquals(cv.image(), x.image());
        assertTrue(x.message().startsWith(head), x.message());
        assertTrue(x.message().endsWith(" (rule " + x.rule() + ")"), x.message());
        assertFalse(x.message().contains("u:p@"), x.message());
        if (x.action().compareTo(most) > 0) {
          most = x.action();
          first = x;
        }
      }
      assertEquals(most, cv.action(), yaml);
      if (first == null) {
        assertNull(cv.rule());
        assertEquals(head + "is allowed", cv.message());
      } else {
        assertEquals(first.rule(), cv.rule());
        assertEquals(first.message(), cv.message());
      }
      worst = worst.max(most);
    }
    if (f != v.findings().size()) {
      fail("findings out of container order: " + v.findings());
    }
    assertEquals(worst, v.action());
  }
}
