package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's exit codes and messages (0 ok, 1 invalid policy or could not start, 2 usage). */
class ControllerMainTest {
  @TempDir Path tmp;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int main(String... args) {
    return ControllerMain.run(
        args,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void validate_exampleIsValid() {
    assertEquals(
        0, main("validate", "--policy", "../manifests/examples/policy-configmap.yaml"), err());
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("valid"));
  }

  @Test
  void validate_listsEveryProblemWithItsPathAndNoSecret() throws Exception {
    Path bad = tmp.resolve("bad.yaml");
    Files.writeString(
        bad,
        String.join(
            "\n",
            "apiVersion: registry-policy.dev/v1alpha1",
            "kind: RegistryPolicy",
            "registries:",
            "  - host: docker.io",
            "    mirrrors: []",
            "  - host: ghcr.io",
            "    mirrors: [{url: \"https://robot:hunter2@mirror.corp.example\"}]",
            "  - host: ../../etc",
            ""));
    assertEquals(1, main("validate", "--policy", bad.toString()));
    String e = err();
    assertTrue(e.contains("registries[0].mirrrors: unknown key"), e);
    assertTrue(e.contains("registries[1].mirrors[0].url"), e);
    assertTrue(e.contains("registries[2].host"), e);
    assertFalse(e.contains("hunter2"), e);
  }

  @Test
  void usageErrorsExitWith2() {
    assertEquals(2, main());
    assertEquals(2, main("nope"));
    assertEquals(2, main("validate"));
    assertEquals(2, main("render", "--policy", "x.yaml"));
  }

  @Test
  void run_badFlagsAreUsageErrorsNotHangs() {
    assertTimeoutPreemptively(
        Duration.ofSeconds(10),
        () -> {
          assertEquals(2, main("run", "--workers", "0"));
          assertEquals(2, main("run", "--listen", "nocolon"));
          assertEquals(2, main("run", "--listen=127.0.0.1:abc"));
          assertEquals(2, main("run", "--listen", "127.0.0.1:70000"));
          assertEquals(2, main("run", "--resync", "soon"));
          assertEquals(2, main("run", "--bogus", "1"));
          assertEquals(2, main("run", "--workers"));
          assertEquals(2, main("run", "--webhook-timeout-seconds", "31"));
          assertEquals(2, main("run", "--webhook", "--webhook-certificates", "manual"));
          assertEquals(2, main("run", "--webhook=yes"));
        });
  }

  @Test
  void run_portInUseExitsWith1AndSaysWhy() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path kubeconfig = tmp.resolve("config");
      Files.writeString(
          kubeconfig,
          String.join(
              "\n",
              "apiVersion: v1",
              "kind: Config",
              "clusters: [{name: c, cluster: {server: \"http://127.0.0.1:"
                  + taken.getLocalPort()
                  + "\"}}]",
              "users: [{name: u, user: {token: t}}]",
              "contexts: [{name: x, context: {cluster: c, user: u}}]",
              "current-context: x",
              ""));
      PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
      int code =
          assertTimeoutPreemptively(
              Duration.ofSeconds(20),
              () ->
                  ControllerMain.run(
                      new String[] {"run", "--listen", "127.0.0.1:" + taken.getLocalPort()},
                      e,
                      e,
                      java.util.Map.of("KUBECONFIG", kubeconfig.toString()),
                      null));
      assertEquals(1, code, err());
      assertTrue(err().contains("msg=\"could not start\""), err());
      assertTrue(err().contains("error=\"Address already in use"), err());
    }
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void version_printsTheNameAndAVersion() {
    assertEquals(0, main("--version"), err());
    assertTrue(out().startsWith("registry-policy-controller "), out());
    assertFalse(out().strip().endsWith("null"), out());
  }

  @Test
  void help_onTheJarAndOnEverySubcommand_exits0WithThatCommandsUsage() {
    assertEquals(0, main("--help"), err());
    assertTrue(out().contains("usage: registry-policy-controller <command>"), out());
    for (String cmd : List.of("validate", "render", "demo", "run")) {
      out.reset();
      assertEquals(0, main(cmd, "--help"), cmd + ": " + err());
      assertTrue(out().contains("usage: registry-policy-controller " + cmd), cmd + ": " + out());
      out.reset();
      assertEquals(0, main(cmd, "-h"), cmd + ": " + err());
      assertTrue(out().contains("usage: registry-policy-controller " + cmd), cmd + ": " + out());
    }
    assertEquals("", err());
    out.reset();
    assertEquals(0, main("run", "--help"));
    for (String flag :
        List.of("--admission-enforcement", "--webhook ", "--webhook-certificates self|secret")) {
      assertTrue(out().contains(flag), flag + ": " + out());
    }
  }

  @Test
  void oneMessagePerBadFlag() {
    assertEquals(2, main("render", "--bogus", "--policy", "--namespaces=", "--other=1"));
    List<String> lines = List.of(err().split("\n"));
    assertEquals(
        List.of(
            "render: unknown flag --bogus",
            "render: --policy needs a value (--policy FILE)",
            "render: --namespaces needs a value (--namespaces FILE)",
            "render: unknown flag --other",
            "run registry-policy-controller render --help for usage"),
        lines);
  }

  @Test
  void run_badValuesAreEachReported() {
    assertEquals(2, main("run", "--workers", "x", "--resync", "soon", "--listen", "nope"));
    String e = err();
    assertTrue(e.contains("run: --listen wants HOST:PORT"), e);
    assertTrue(e.contains("run: --workers wants a whole number >= 1, not \"x\""), e);
    assertTrue(e.contains("run: --resync: invalid duration \"soon\""), e);
  }

  @Test
  void aMissingOrUnreadableInputFileIsAUsageError() throws Exception {
    assertEquals(2, main("validate", "--policy", tmp.resolve("nope.yaml").toString()));
    assertTrue(
        err().contains("validate: --policy " + tmp.resolve("nope.yaml") + ": no such file"), err());
    assertEquals(2, main("validate", "--policy", tmp.toString()));
    assertTrue(err().contains("is a directory"), err());
    Path ns = tmp.resolve("ns.yaml");
    Files.writeString(ns, "[]\n");
    assertEquals(
        2,
        main(
            "render",
            "--policy",
            tmp.resolve("nope.yaml").toString(),
            "--namespaces",
            ns.toString()));
  }

  @Test
  void inputThatIsNotUtf8OrTooLargeIsAProblemNotAClassName() throws Exception {
    Path latin1 = tmp.resolve("latin1.yaml");
    Files.write(latin1, new byte[] {'k', ':', ' ', (byte) 0xe9, '\n'});
    assertEquals(1, main("validate", "--policy", latin1.toString()));
    assertTrue(err().contains(": not valid UTF-8 at byte 3 (line 1)"), err());
    Path big = tmp.resolve("big.yaml");
    Files.write(big, new byte[(int) ControllerMain.MAX_POLICY_BYTES + 1]);
    assertEquals(1, main("validate", "--policy", big.toString()));
    assertTrue(
        err().contains("too large: more than 1.5 MiB (1572864 bytes); nothing was parsed"), err());
    assertFalse(err().contains("Exception"), err());
  }

  @Test
  void oneProblemIsSingular() throws Exception {
    Path bad = tmp.resolve("one.yaml");
    Files.writeString(
        bad, "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nbogus: 1\n");
    assertEquals(1, main("validate", "--policy", bad.toString()));
    assertTrue(err().contains("(1 problem)"), err());
    Path ns = tmp.resolve("ns.yaml");
    Files.writeString(ns, "[]\n");
    err.reset();
    assertEquals(1, main("render", "--policy", bad.toString(), "--namespaces", ns.toString()));
    assertTrue(err().contains("render: invalid input (1 problem)"), err());
  }

  @Test
  void demo_showsValidateRenderWithAdmissionObjectsAndCheck_andExits0() {
    assertEquals(0, main("demo"), err());
    String o = out.toString(StandardCharsets.UTF_8);
    int validate = o.indexOf("==== 1/3 validate");
    int render = o.indexOf("==== 2/3 render");
    int check = o.indexOf("==== 3/3 check");
    assertTrue(validate >= 0 && validate < render && render < check, o);
    assertTrue(o.contains("policy is valid: built-in example"), o);
    String rendered = o.substring(render, check);
    assertTrue(rendered.contains("# ---- namespace team-a"), rendered);
    assertTrue(rendered.contains(".dockerconfigjson: <redacted>"), rendered);
    assertFalse(rendered.contains("cmVkYWN0ZWQ6cmVkYWN0ZWQ="), "Secret data stays redacted");
    for (String kind :
        List.of(
            "kind: ValidatingAdmissionPolicy\n",
            "kind: ValidatingAdmissionPolicyBinding\n",
            "kind: ValidatingWebhookConfiguration\n",
            "kind: MutatingWebhookConfiguration\n")) {
      assertTrue(rendered.contains(kind), kind);
    }
    assertTrue(rendered.contains("# enforcement auto"), rendered);
    String checked = o.substring(check);
    assertTrue(
        checked.contains(
            "deny  Deployment/shop/api container \"cache\": image"
                + " \"registry-1.docker.io/library/redis:7\" is not from an allowed source (rule"
                + " allowedSources)"),
        checked);
    assertTrue(checked.contains("warn  Pod/shop/debug container \"shell\""), checked);
    assertTrue(checked.contains("allow Pod/kube-system/"), checked);
    assertTrue(
        checked.contains("checked 9 objects, 12 containers: 4 allow, 1 audit, 2 warn, 5 deny"),
        checked);
    assertTrue(
        checked.contains(
            "audit CronJob/shop/nightly-report container \"report\": image"
                + " \"docker.io/library/centos:7\" is blocked (rule deprecated-images)"),
        checked);
    assertEquals("", err());
  }

  @Test
  void validate_printsThePolicyWarnings_exitCodeUnchanged() throws Exception {
    Path p = tmp.resolve("hub.yaml");
    Files.writeString(
        p,
        String.join(
            "\n",
            "apiVersion: registry-policy.dev/v1alpha1",
            "kind: RegistryPolicy",
            "registries:",
            "  - host: docker.io",
            "    mirrors: [{url: \"https://mirror.corp.example\"}]",
            "  - host: registry-1.docker.io",
            "    mirrors: [{url: \"https://mirror.corp.example\"}]",
            ""));
    assertEquals(0, main("validate", "--policy", p.toString()), err());
    String o = out.toString(StandardCharsets.UTF_8);
    assertTrue(
        o.contains(
            "warning: registries[1].host: registry-1.docker.io is Docker Hub's API host, which"
                + " containerd keeps as a host of its own"),
        o);
    assertFalse(o.contains("registries[0]"), o);
  }
}
