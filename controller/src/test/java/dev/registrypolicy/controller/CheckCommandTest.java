package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.policy.Yaml;
import dev.registrypolicy.policy.YamlObjectDumps;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code check}: verdict lines and JSON, notes, exit codes, hostile input. */
class CheckCommandTest {
  @TempDir Path tmp;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private static final String POLICY =
      String.join(
          "\n",
          "apiVersion: registry-policy.dev/v1alpha1",
          "kind: RegistryPolicy",
          "admission:",
          "  mode: Deny",
          "  allowedSources:",
          "    - prefix: registry.corp.example",
          "    - prefix: docker.io/library",
          "    - prefix: registry.corp.example:5000/team-b",
          "      scope: {selector: {matchLabels: {team: b}}}",
          "  rules:",
          "    - name: no-latest",
          "      mode: Warn",
          "      blockLatestTag: true",
          "");

  /** As kubectl get ns,pods,deployments,cronjobs,services -A -o yaml prints it (shortened). */
  private static final String OBJECTS =
      String.join(
          "\n",
          "apiVersion: v1",
          "kind: List",
          "items:",
          "- apiVersion: v1",
          "  kind: Pod",
          "  metadata:",
          "    name: web-5d9c-x2",
          "    namespace: apps",
          "    ownerReferences:",
          "    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9c, uid: u1, controller: true}",
          "  spec:",
          "    containers:",
          "    - {name: web, image: nginx, ports: [{containerPort: 80}]}",
          "    - {name: side, image: 'quay.io/x/side:1'}",
          "    initContainers:",
          "    - {name: setup, image: 'registry.corp.example/setup:1'}",
          "- apiVersion: v1",
          "  kind: Namespace",
          "  metadata: {name: team-b, labels: {team: b}}",
          "- apiVersion: v1",
          "  kind: Namespace",
          "  metadata: {name: apps}",
          "- apiVersion: apps/v1",
          "  kind: Deployment",
          "  metadata: {name: api, namespace: team-b}",
          "  spec:",
          "    template:",
          "      spec:",
          "        containers: [{name: api, image: 'registry.corp.example:5000/team-b/api:2'}]",
          "- apiVersion: batch/v1",
          "  kind: CronJob",
          "  metadata: {name: nightly, namespace: team-c}",
          "  spec:",
          "    jobTemplate:",
          "      spec:",
          "        template:",
          "          spec:",
          "            containers: [{name: run, image: 'registry.corp.example:5000/team-b/run:2'}]",
          "- apiVersion: v1",
          "  kind: Service",
          "  metadata: {name: web, namespace: apps}",
          "- apiVersion: v1",
          "  kind: Pod",
          "  metadata: {name: dns, namespace: kube-system}",
          "  spec:",
          "    containers: [{name: dns, image: 'quay.io/dns:1'}]",
          "");

  private int main(String... args) {
    return ControllerMain.run(
        args,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private Path write(String name, String text) throws Exception {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  private int check(String objects, String... more) throws Exception {
    Path policy = write("policy.yaml", POLICY);
    Path obj = write("objects.yaml", objects);
    String[] args = new String[5 + more.length];
    args[0] = "check";
    args[1] = "--policy";
    args[2] = policy.toString();
    args[3] = "--objects";
    args[4] = obj.toString();
    System.arraycopy(more, 0, args, 5, more.length);
    return main(args);
  }

  @Test
  void textPrintsOneLinePerContainerAllowedIncluded() throws Exception {
    assertEquals(0, check(OBJECTS), err());
    String o = out();
    assertEquals(
        String.join(
            "\n",
            "warn  Pod/apps/web-5d9c-x2 container \"web\": image \"docker.io/library/nginx:latest\""
                + " uses the latest tag (rule no-latest) (owned by ReplicaSet/web-5d9c)",
            "deny  Pod/apps/web-5d9c-x2 container \"side\": image \"quay.io/x/side:1\" is not from an"
                + " allowed source (rule allowedSources) (owned by ReplicaSet/web-5d9c)",
            "allow Pod/apps/web-5d9c-x2 init container \"setup\": image"
                + " \"registry.corp.example/setup:1\" is allowed (owned by ReplicaSet/web-5d9c)",
            "allow Deployment/team-b/api container \"api\": image"
                + " \"registry.corp.example:5000/team-b/api:2\" is allowed",
            "deny  CronJob/team-c/nightly container \"run\": image"
                + " \"registry.corp.example:5000/team-b/run:2\" is not from an allowed source (rule"
                + " allowedSources)",
            "allow Pod/kube-system/dns container \"dns\": image \"quay.io/dns:1\" is allowed"
                + " (namespace exempt)",
            ""),
        o);
    String e = err();
    assertTrue(e.contains("note: skipped 1 Service object"), e);
    assertTrue(e.contains("namespace team-c is not in the file"), e);
    assertTrue(e.contains("namespace kube-system is not in the file"), e);
    assertTrue(e.contains("checked 4 objects, 6 containers: 3 allow, 0 audit, 1 warn, 2 deny"), e);
  }

  @Test
  void jsonHasTheFieldsScriptsNeed() throws Exception {
    assertEquals(0, check(OBJECTS, "-o", "json"), err());
    JsonArray a = JsonParser.parseString(out()).getAsJsonArray();
    assertEquals(6, a.size());
    JsonObject web = a.get(0).getAsJsonObject();
    assertEquals("Pod", web.get("kind").getAsString());
    assertEquals("apps", web.get("namespace").getAsString());
    assertEquals("web-5d9c-x2", web.get("name").getAsString());
    assertEquals("ReplicaSet/web-5d9c", web.get("owner").getAsString());
    assertEquals("container", web.get("containerType").getAsString());
    assertEquals("web", web.get("container").getAsString());
    assertEquals("docker.io/library/nginx:latest", web.get("image").getAsString());
    assertEquals("warn", web.get("verdict").getAsString());
    assertEquals("no-latest", web.get("rule").getAsString());
    assertTrue(web.get("message").getAsString().contains("uses the latest tag"));
    assertFalse(web.get("exempt").getAsBoolean());
    JsonObject setup = a.get(2).getAsJsonObject();
    assertEquals("initContainer", setup.get("containerType").getAsString());
    assertEquals("allow", setup.get("verdict").getAsString());
    assertTrue(setup.get("rule").isJsonNull());
    assertEquals("deny", a.get(4).getAsJsonObject().get("verdict").getAsString());
    assertTrue(a.get(5).getAsJsonObject().get("exempt").getAsBoolean());
    assertFalse(out().contains("note:"), "stdout is only JSON");
  }

  @Test
  void failOnTurnsVerdictsIntoExitCode1() throws Exception {
    assertEquals(1, check(OBJECTS, "--fail-on", "deny"));
    assertTrue(err().contains("--fail-on deny: at least one container's verdict is deny"), err());
    String allowed =
        "kind: Pod\nmetadata: {name: p, namespace: apps}\nspec:\n  containers: [{name: a, image: 'nginx:1'}]\n";
    out.reset();
    err.reset();
    assertEquals(0, check(allowed, "--fail-on", "audit"), err());
    assertTrue(out().startsWith("allow Pod/apps/p"), out());
  }

  @Test
  void ownNamespaceFlagChangesTheDefaultExemption() throws Exception {
    String pod =
        "kind: Pod\nmetadata: {name: p, namespace: platform}\nspec:\n  containers: [{name: a, image: 'quay.io/a:1'}]\n";
    assertEquals(0, check(pod), err());
    assertTrue(out().startsWith("deny "), out());
    out.reset();
    assertEquals(0, check(pod, "--own-namespace", "platform"), err());
    assertTrue(out().startsWith("allow ") && out().contains("(namespace exempt)"), out());
  }

  @Test
  void multiDocumentAndBareSequenceInputs() throws Exception {
    String docs =
        "kind: Namespace\nmetadata: {name: team-b, labels: {team: b}}\n---\n"
            + "kind: Pod\nmetadata: {name: p, namespace: team-b}\nspec:\n"
            + "  containers: [{name: a, image: 'registry.corp.example:5000/team-b/a:1'}]\n---\n"
            + "- kind: Job\n  metadata: {name: j, namespace: team-b}\n"
            + "  spec: {template: {spec: {containers: [{name: b, image: 'nginx:1'}]}}}\n";
    assertEquals(0, check(docs), err());
    assertTrue(out().startsWith("allow Pod/team-b/p"), out());
    assertTrue(out().contains("allow Job/team-b/j"), out());
  }

  @Test
  void usageErrors() throws Exception {
    assertEquals(2, check(OBJECTS, "-o", "xml"));
    assertTrue(err().contains("-o must be text or json"), err());
    assertEquals(2, check(OBJECTS, "--fail-on", "allow"));
    assertEquals(2, check(OBJECTS, "--own-namespace", "Not_A_Namespace"));
    assertEquals(2, main("check", "--policy", "x.yaml"));
    assertTrue(err().contains("--objects FILE is required"), err());
    assertEquals(
        2,
        main(
            "check",
            "--policy",
            write("p.yaml", POLICY).toString(),
            "--objects",
            tmp.resolve("missing.yaml").toString()));
    assertTrue(
        err().contains("--objects " + tmp.resolve("missing.yaml") + ": no such file"), err());
    out.reset();
    assertEquals(0, main("check", "--help"));
    assertTrue(out().contains("-o json"), out());
  }

  @Test
  void invalidPolicyIsExit1WithProblems() throws Exception {
    Path policy = write("bad.yaml", POLICY.replace("mode: Deny", "mode: Block"));
    Path obj = write("o.yaml", OBJECTS);
    assertEquals(1, main("check", "--policy", policy.toString(), "--objects", obj.toString()));
    assertTrue(err().contains("admission.mode"), err());
    assertEquals("", out());
  }

  @Test
  void wrongShapesAreProblemsWithPlacesAndTheRestIsChecked() throws Exception {
    String objects =
        String.join(
            "\n",
            "- kind: Pod",
            "  metadata: {name: broken, namespace: apps}",
            "  spec: {containers: {name: a, image: nginx}}",
            "- just a string",
            "- metadata: {name: nokind}",
            "- kind: Namespace",
            "  metadata: {name: apps, labels: [a, b]}",
            "- kind: Pod",
            "  metadata: {name: ok, namespace: apps}",
            "  spec: {containers: [{name: a, image: 'nginx:1'}]}",
            "");
    assertEquals(1, check(objects));
    String e = err();
    assertTrue(e.contains("[0]: Pod apps/broken: "), e);
    assertTrue(e.contains("[1]: want a Kubernetes object (a mapping), found a string"), e);
    assertTrue(e.contains("[2].kind: required"), e);
    assertTrue(e.contains("[3].metadata.labels: want a mapping of strings, found a list"), e);
    assertFalse(e.contains("Exception"), e);
    assertFalse(e.contains("\tat "), e);
    assertTrue(out().contains("allow Pod/apps/ok"), out());
  }

  @Test
  void hostileFilesGiveClearErrors() throws Exception {
    assertEquals(1, check("kind: Pod\n  bad: [\n"));
    assertTrue(err().contains("invalid YAML at line"), err());
    err.reset();
    assertEquals(1, check("[".repeat(100) + "]".repeat(100)));
    assertTrue(err().contains("nested deeper than"), err());
    err.reset();
    // Over the objects limit (256 MiB), as a sparse file: refused by its size, nothing read.
    Path huge = tmp.resolve("huge.yaml");
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
      f.setLength(CheckCommand.MAX_OBJECTS_BYTES + 1);
    }
    assertEquals(
        1,
        main(
            "check",
            "--policy",
            write("policy.yaml", POLICY).toString(),
            "--objects",
            huge.toString()));
    assertTrue(
        err().contains("too large: more than 256 MiB (268435456 bytes)")
            && err().contains("one namespace at a time"),
        err());
    err.reset();
    // An alias bomb: 10^19 Pods in 20 lines, refused at the node limit for object dumps.
    StringBuilder bomb = new StringBuilder("kind: List\np0: &p0 [{kind: Pod}, {kind: Pod}]\n");
    for (int i = 1; i < 20; i++) {
      bomb.append("p").append(i).append(": &p").append(i).append(" [");
      for (int j = 0; j < 10; j++) {
        bomb.append(j == 0 ? "" : ", ").append("*p").append(i - 1);
      }
      bomb.append("]\n");
    }
    bomb.append("items: *p19\n");
    assertEquals(1, check(bomb.toString()));
    assertTrue(
        err().contains("more than " + Yaml.Limits.OBJECTS.maxNodes() + " YAML nodes"), err());
    assertFalse(err().contains("Exception"), err());
    assertEquals("", out());
  }

  @Test
  void containerNamesWithNewlinesStayOnOneLine() throws Exception {
    String pod =
        "kind: Pod\nmetadata: {name: p, namespace: apps}\nspec:\n"
            + "  containers: [{name: \"a\\nallow Pod/apps/fake\", image: 'quay.io/x:1'}]\n";
    assertEquals(0, check(pod), err());
    assertEquals(1, out().split("\n").length, out());
    assertTrue(out().startsWith("deny "), out());
  }

  /**
   * A cluster-sized dump ({@code kubectl get ns,pods -A -o yaml} of 5,000 Pods, 23.6 MB, far over
   * the policy's 1.5 MiB) is checked, in a JVM with a 160 MiB heap: measured, it needs between 112
   * and 128 MiB (controller/README.md).
   */
  @Test
  void aDumpOf5000PodsIsCheckedInABoundedHeap() throws Exception {
    Path dump = write("pods.yaml", YamlObjectDumps.pods(5_000, 40));
    assertTrue(Files.size(dump) > 20_000_000, "size " + Files.size(dump));
    Path json = tmp.resolve("verdicts.json");
    Path log = tmp.resolve("stderr.txt");
    Process p = checkInAJvm("-Xmx160m", dump, json, log);
    assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "finished in 2 minutes");
    String stderr = Files.readString(log);
    assertEquals(0, p.exitValue(), stderr);
    assertTrue(stderr.contains("checked 5000 objects, 5000 containers"), stderr);
    JsonArray rows = JsonParser.parseString(Files.readString(json)).getAsJsonArray();
    assertEquals(5_000, rows.size());
    assertEquals("ns-7", rows.get(7).getAsJsonObject().get("namespace").getAsString());

    // With too small a heap: a message and exit 1, not a stack trace.
    p = checkInAJvm("-Xmx48m", dump, json, log);
    assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "finished in 2 minutes");
    stderr = Files.readString(log);
    assertEquals(1, p.exitValue(), stderr);
    assertTrue(stderr.contains(": not enough memory to check it (the JVM's heap limit is"), stderr);
    assertFalse(stderr.contains("Exception"), stderr);
    assertEquals("", Files.readString(json));
  }

  private static Process checkInAJvm(String xmx, Path dump, Path json, Path log)
      throws java.io.IOException {
    return new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            xmx,
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path"),
            ControllerMain.class.getName(),
            "check",
            "--policy",
            "../manifests/examples/policy-configmap.yaml",
            "--objects",
            dump.toString(),
            "-o",
            "json")
        .redirectOutput(json.toFile())
        .redirectError(log.toFile())
        .start();
  }
}
