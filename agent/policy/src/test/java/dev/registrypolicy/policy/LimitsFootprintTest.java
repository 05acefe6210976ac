package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The honest check of {@link PolicyLimits}: the largest inputs they allow, and some just past them,
 * parsed in a separate JVM with the agent's -Xmx32m -Xss256k (manifests/agent-daemonset.yaml). Each
 * must end in a Policy or problems, never an error; the figures go to the test output (and the
 * model README), not into asserts.
 */
class LimitsFootprintTest {
  private static final String HEAD =
      "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";

  /** Half the agent's -Xmx32m: the parse must leave the other half to the agent. */
  static final String HEAP = "16m";

  @TempDir Path dir;

  /**
   * Registries at their limit, with as many mirrors each as the size and node limits leave room
   * for.
   */
  static String mostEndpoints() {
    // Each registry: its mapping, host key and value, mirrors key and list (5 nodes); each mirror
    // 3.
    int perRegistry =
        (PolicyLimits.MAX_NODES - 20 - PolicyLimits.MAX_REGISTRIES * 5)
            / (PolicyLimits.MAX_REGISTRIES * 3);
    return endpoints(perRegistry);
  }

  static String endpoints(int perRegistry) {
    StringBuilder sb =
        new StringBuilder(HEAD + "credentials: [{name: c, secret: s}]\nregistries:\n");
    for (int r = 0; r < PolicyLimits.MAX_REGISTRIES; r++) {
      sb.append("- host: r").append(r).append(".x\n  mirrors: [");
      for (int m = 0; m < perRegistry; m++) {
        sb.append(m == 0 ? "" : ",")
            .append("{url: 'https://m")
            .append(m)
            .append(".r")
            .append(r)
            .append(".x'}");
      }
      sb.append("]\n");
    }
    return sb.toString();
  }

  /**
   * Every admission list at a size the node limit allows: sources at their limit and rules with
   * patterns.
   */
  static String mostAdmission() {
    StringBuilder sb = new StringBuilder(HEAD + "admission:\n  allowedSources:\n");
    for (int i = 0; i < PolicyLimits.MAX_ALLOWED_SOURCES; i++) {
      sb.append("  - prefix: registry").append(i % 50).append(".corp/team").append(i).append('\n');
    }
    sb.append("  rules:\n");
    for (int r = 0; r < 70; r++) {
      sb.append("  - name: r").append(r).append("\n    allowedNameTags: [");
      for (int p = 0; p < 100; p++) {
        sb.append(p == 0 ? "" : ",").append("{name: 'registry.corp/t").append(p).append("/*'}");
      }
      sb.append("]\n");
    }
    return sb.toString();
  }

  /** The node limit reached with the smallest scalars. */
  static String mostNodes() {
    StringBuilder sb = new StringBuilder(HEAD + "x: [");
    for (int i = 0; i < PolicyLimits.MAX_NODES - 10; i++) {
      sb.append(i == 0 ? "a" : ",a");
    }
    return sb.append("]\n").toString();
  }

  /**
   * The largest file: the ConfigMap with a policy of 1 MiB less a little, and a full 256 KiB of
   * annotations.
   */
  static String largestFile() {
    String policy = mostEndpoints();
    String padding =
        "# " + "p".repeat(PolicyLimits.MAX_POLICY_BYTES - policy.length() - 8192) + "\n";
    String indented = "    " + (padding + policy).replace("\n", "\n    ").stripTrailing() + "\n";
    String annotation = "x".repeat(256 * 1024 - 64);
    String file =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: registry-policy\n  namespace: registry-policy\n"
            + "  annotations:\n    note: "
            + annotation
            + "\ndata:\n  policy.yaml: |\n"
            + indented;
    assertTrue(file.length() <= PolicyLimits.MAX_FILE_BYTES, "file " + file.length());
    return file;
  }

  private String run(String name, String text) throws Exception {
    Path file = dir.resolve(name + ".yaml");
    Files.write(file, text.getBytes(StandardCharsets.UTF_8));
    List<String> cp = new ArrayList<>();
    for (Class<?> c :
        List.of(
            PolicyParser.class,
            FootprintMain.class,
            org.snakeyaml.engine.v2.api.Load.class,
            com.google.gson.JsonParser.class)) {
      cp.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                java,
                "-Xmx" + HEAP,
                "-Xss256k",
                "-XX:+UseSerialGC",
                "-cp",
                String.join(File.pathSeparator, cp),
                FootprintMain.class.getName(),
                file.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), name);
    assertEquals(0, p.exitValue(), () -> name + ": " + out);
    System.out.println("footprint " + name + ": " + out.strip());
    return out;
  }

  @Test
  void theLargestAllowedPolicies_parseIn32MiB() throws Exception {
    String endpoints = mostEndpoints();
    assertTrue(endpoints.length() < PolicyLimits.MAX_POLICY_BYTES);
    assertTrue(
        run("most-endpoints", endpoints)
            .contains("outcome=policy registries=" + PolicyLimits.MAX_REGISTRIES));
    assertTrue(run("most-admission", mostAdmission()).contains("outcome=policy"));
    assertTrue(
        run("most-nodes", mostNodes()).contains("outcome=problems first=\"x: unknown key\""));
    assertTrue(run("largest-file", largestFile()).contains("outcome=policy"));
  }

  @Test
  void inputsPastTheLimits_areProblemsIn32MiB() throws Exception {
    assertTrue(
        run("too-many-nodes", mostNodes().replace("[a,", "[a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,"))
            .contains("YAML nodes"));
    String big = HEAD + "# " + "x".repeat(PolicyLimits.MAX_POLICY_BYTES) + "\n";
    assertTrue(run("too-large", big).contains("too large"));
    StringBuilder sixty = new StringBuilder(HEAD + "registries:\n");
    for (int i = 0; i < 60_000; i++) {
      sixty.append("- host: r").append(i).append('\n');
    }
    assertTrue(run("sixty-thousand-registries", sixty.toString()).contains("outcome=problems"));
  }
}
