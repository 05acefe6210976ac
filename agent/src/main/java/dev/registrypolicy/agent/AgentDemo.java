package dev.registrypolicy.agent;

import dev.registrypolicy.policy.PolicyDocument;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code registry-policy-agent demo}: runs the agent once on the built-in example policy against a
 * temporary certs.d, with a demo-only credentials bundle (real, parsable certificates and key from
 * {@link DemoMaterial}; made-up passwords), prints what it wrote (credentials masked), and runs
 * again to show that an unchanged policy writes nothing.
 */
final class AgentDemo {

  private AgentDemo() {}

  static int run(PrintStream out) throws IOException {
    Path work = Files.createTempDirectory("registry-policy-demo");
    Path policy = work.resolve("policy.yaml");
    Path bundle = Files.createDirectories(work.resolve("credentials"));
    Path certs =
        Files.createDirectories(work.resolve("certs.d")); // as the DaemonSet's hostPath does
    Files.writeString(policy, PolicyDocument.example(), StandardCharsets.UTF_8);
    // Demo-only values for the Secret keys the example references (the controller keeps the real
    // bundle).
    Files.writeString(bundle.resolve("corp-ca_ca.crt"), DemoMaterial.CA_CERT);
    Files.writeString(bundle.resolve("corp-ca_intermediate.crt"), DemoMaterial.INTERMEDIATE_CERT);
    Files.writeString(bundle.resolve("pull-through-client_tls.crt"), DemoMaterial.CLIENT_CERT);
    Files.writeString(bundle.resolve("pull-through-client_tls.key"), DemoMaterial.CLIENT_KEY);
    Files.writeString(bundle.resolve("hub-mirror-basic_username"), "demo");
    Files.writeString(bundle.resolve("hub-mirror-basic_password"), "demo-password");
    Files.writeString(
        bundle.resolve("corp-registry-pull_.dockerconfigjson"),
        "{\"auths\":{\"registry.corp.example\":{\"username\":\"demo\",\"password\":\"demo-password\"}}}");
    for (String name :
        List.of(
            "pull-through-client_tls.key",
            "hub-mirror-basic_username",
            "hub-mirror-basic_password",
            "corp-registry-pull_.dockerconfigjson")) {
      setOwnerOnly(bundle.resolve(name)); // demo values, but credential files are 0600 all the same
    }

    out.println("registry-policy agent demo: the example policy applied to " + certs);
    Agent agent =
        new Agent(
            new Agent.Options(
                policy, bundle, certs, certs.toString(), false, Duration.ofSeconds(60), null),
            new Metrics());
    Agent.Outcome first = agent.reconcile("demo");
    out.println(
        "first pass: "
            + first.name().toLowerCase(java.util.Locale.ROOT)
            + ", problems: "
            + details(agent));
    try (Stream<Path> s = Files.walk(certs)) {
      for (Path p : s.sorted().collect(Collectors.toList())) {
        if (Files.isRegularFile(p)) {
          out.println(
              "  "
                  + certs.relativize(p)
                  + "  "
                  + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        }
      }
    }
    for (String dir : new CertsDir(certs).list()) {
      out.println("\n--- certs.d/" + dir + "/hosts.toml");
      String toml =
          Files.readString(certs.resolve(dir).resolve(NodePlan.HOSTS_TOML), StandardCharsets.UTF_8);
      out.print(
          toml.replaceAll(
              "Authorization = \"(Basic|Bearer) [^\"]*\"", "Authorization = \"$1 ***\""));
    }
    double before = written(agent);
    Agent.Outcome second = agent.reconcile("demo");
    out.println(
        "\nsecond pass, nothing changed: "
            + second.name().toLowerCase(java.util.Locale.ROOT)
            + ", files written: "
            + Math.round(written(agent) - before)
            + ", problems: "
            + details(agent));
    out.println("(left in " + work + " for a look; delete it when done)");
    return first == Agent.Outcome.APPLIED && second == Agent.Outcome.APPLIED
        ? AgentMain.OK
        : AgentMain.FAILED;
  }

  private static void setOwnerOnly(Path file) throws IOException {
    Files.setPosixFilePermissions(file, AtomicFiles.PRIVATE);
  }

  private static double written(Agent agent) {
    double v =
        agent
            .metrics()
            .counter("registry_policy_agent_files_written_total", "Files written to certs.d.")
            .value();
    return Double.isNaN(v) ? 0 : v;
  }

  private static List<String> details(Agent agent) {
    return agent.problems().stream().map(AgentProblem::detail).collect(Collectors.toList());
  }
}
