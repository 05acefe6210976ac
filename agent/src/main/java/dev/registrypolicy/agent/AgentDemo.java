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
 * {@code registry-policy-agent demo}: runs the agent once on the built-in example policy against
 * a temporary certs.d, with a placeholder credentials bundle, prints what it wrote (credentials
 * masked), and runs again to show that an unchanged policy writes nothing.
 */
final class AgentDemo {
  private static final String PEM = "-----BEGIN CERTIFICATE-----\nZGVtbyBwbGFjZWhvbGRlcg==\n-----END CERTIFICATE-----\n";
  private static final String KEY = "-----BEGIN PRIVATE KEY-----\nZGVtbyBwbGFjZWhvbGRlcg==\n-----END PRIVATE KEY-----\n";

  private AgentDemo() {}

  static int run(PrintStream out) throws IOException {
    Path work = Files.createTempDirectory("registry-policy-demo");
    Path policy = work.resolve("policy.yaml");
    Path bundle = Files.createDirectories(work.resolve("credentials"));
    Path certs = Files.createDirectories(work.resolve("certs.d")); // as the DaemonSet's hostPath does
    Files.writeString(policy, PolicyDocument.example(), StandardCharsets.UTF_8);
    // Placeholders for the Secret keys the example references (the controller keeps the real bundle).
    for (String name : List.of("corp-ca_ca.crt", "corp-ca_intermediate.crt", "pull-through-client_tls.crt")) {
      Files.writeString(bundle.resolve(name), PEM);
    }
    Files.writeString(bundle.resolve("pull-through-client_tls.key"), KEY);
    Files.writeString(bundle.resolve("hub-mirror-basic_username"), "demo");
    Files.writeString(bundle.resolve("hub-mirror-basic_password"), "demo-password");
    Files.writeString(bundle.resolve("corp-registry-pull_.dockerconfigjson"),
        "{\"auths\":{\"registry.corp.example\":{\"username\":\"demo\",\"password\":\"demo-password\"}}}");
    for (String name : List.of("pull-through-client_tls.key", "hub-mirror-basic_username", "hub-mirror-basic_password",
        "corp-registry-pull_.dockerconfigjson")) {
      setOwnerOnly(bundle.resolve(name)); // placeholders, but credential files are 0600 all the same
    }

    out.println("registry-policy agent demo: the example policy applied to " + certs);
    Agent agent = new Agent(new Agent.Options(policy, bundle, certs, certs.toString(), false, Duration.ofSeconds(60), null),
        new Metrics());
    Agent.Outcome first = agent.reconcile("demo");
    out.println("first pass: " + first.name().toLowerCase(java.util.Locale.ROOT) + ", problems: " + agent.problems().values());
    try (Stream<Path> s = Files.walk(certs)) {
      for (Path p : s.sorted().collect(Collectors.toList())) {
        if (Files.isRegularFile(p)) {
          out.println("  " + certs.relativize(p) + "  " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        }
      }
    }
    for (String dir : new CertsDir(certs).list()) {
      out.println("\n--- certs.d/" + dir + "/hosts.toml");
      String toml = Files.readString(certs.resolve(dir).resolve(NodePlan.HOSTS_TOML), StandardCharsets.UTF_8);
      out.print(toml.replaceAll("Authorization = \"(Basic|Bearer) [^\"]*\"", "Authorization = \"$1 ***\""));
    }
    long before = newest(certs);
    Agent.Outcome second = agent.reconcile("demo");
    out.println("\nsecond pass, nothing changed: " + second.name().toLowerCase(java.util.Locale.ROOT)
        + ", files rewritten: " + (newest(certs) == before ? 0 : "some"));
    out.println("(left in " + work + " for a look; delete it when done)");
    return first == Agent.Outcome.APPLIED && second == Agent.Outcome.APPLIED ? AgentMain.OK : AgentMain.FAILED;
  }

  private static void setOwnerOnly(Path file) throws IOException {
    Files.setPosixFilePermissions(file, AtomicFiles.PRIVATE);
  }

  private static long newest(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.mapToLong(p -> {
        try {
          return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
          return 0;
        }
      }).max().orElse(0);
    }
  }
}
