package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentTest {
  @TempDir
  Path tmp;
  Path policy;
  Path bundle;
  Path certs;
  Agent agent;

  @BeforeEach
  void setUp() throws IOException {
    policy = tmp.resolve("policy/policy.yaml");
    Files.createDirectories(policy.getParent());
    Files.writeString(policy, Fixtures.POLICY);
    bundle = tmp.resolve("bundle");
    Fixtures.writeBundle(bundle);
    certs = tmp.resolve("certs.d");
    agent = new Agent(new Agent.Options(policy, bundle, certs, Fixtures.NODE_CERTS, false, Duration.ofSeconds(60), null),
        new Metrics());
  }

  Map<String, String> snapshot() throws IOException {
    try (Stream<Path> s = Files.walk(certs)) {
      return s.filter(Files::isRegularFile).collect(Collectors.toMap(p -> certs.relativize(p).toString(), p -> {
        try {
          return Files.readString(p);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }));
    }
  }

  @Test
  void reconcile_invalidPolicyKeepsLastGoodFilesAndReportsIt() throws IOException {
    assertEquals(Agent.Outcome.APPLIED, agent.reconcile("test"));
    Map<String, String> good = snapshot();
    Files.writeString(policy, Fixtures.POLICY.replace("mirrors:", "mirrrors:"));
    assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"));
    assertEquals(good, snapshot(), "an invalid policy must not change the node");
    assertTrue(agent.problems().values().stream().anyMatch(p -> p.contains("mirrrors: unknown key")), agent.problems()::toString);
    Health h = agent.health();
    assertTrue(h.ready(), "still serving the last good config");
    assertTrue(h.healthy(), "an invalid policy is reported, not fatal");
    assertFalse(((List<?>) h.details().get("problems")).isEmpty());
    Files.writeString(policy, Fixtures.POLICY);
    assertEquals(Agent.Outcome.APPLIED, agent.reconcile("test"));
    assertTrue(agent.problems().isEmpty(), agent.problems()::toString);
  }

  @Test
  void reconcile_missingSecretKeepsLastGoodAndNamesTheSecretNotItsValue() throws IOException {
    agent.reconcile("test");
    Map<String, String> good = snapshot();
    Files.delete(bundle.resolve("hub-basic_password"));
    assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"));
    assertEquals(good, snapshot());
    String problems = agent.problems().values().toString();
    assertTrue(problems.contains("hub-basic"), problems);
    assertFalse(problems.contains("hub-secret-pass") || problems.contains("hubuser"), problems);
  }

  @Test
  void reconcile_invalidPolicyAtStartWritesNothing() throws IOException {
    Files.writeString(policy, "apiVersion: nope\n");
    assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"));
    assertFalse(Files.exists(certs) && Files.list(certs).findAny().isPresent());
    assertFalse(agent.health().ready());
  }

  @Test
  void reconcile_foreignDirectoryIsAProblemButTheRestIsApplied() throws IOException {
    Files.createDirectories(certs.resolve("ghcr.io"));
    Files.writeString(certs.resolve("ghcr.io/hosts.toml"), "server = \"https://ghcr.io\"\n");
    agent.reconcile("test");
    assertTrue(Files.exists(certs.resolve("docker.io/hosts.toml")));
    assertTrue(agent.problems().values().stream().anyMatch(p -> p.contains("certs.d/ghcr.io exists and is not managed")));
  }

  @Test
  void health_reportsPolicyAndHosts() {
    agent.reconcile("test");
    Health h = agent.health();
    assertTrue(h.healthy());
    assertTrue(h.ready());
    assertEquals(List.of("_default", "docker.io", "gcr.io", "ghcr.io", "lab.corp.example", "registry.corp.example:5000"),
        h.details().get("managedHosts"));
  }

  @Test
  void main_exitCodes() throws IOException {
    assertEquals(AgentMain.OK, main("--once", "--policy", policy.toString(), "--certs-dir", certs.toString(),
        "--secrets-dir", bundle.toString()));
    Files.writeString(policy, "kind: nope\n");
    assertEquals(AgentMain.FAILED, main("--once", "--policy", policy.toString(), "--certs-dir", certs.toString(),
        "--secrets-dir", bundle.toString()));
    assertEquals(AgentMain.USAGE, main("--once", "--certs-dir", certs.toString()));
    assertEquals(AgentMain.USAGE, main("--policy", policy.toString()));
    assertEquals(AgentMain.USAGE, main("--bogus"));
    assertEquals(AgentMain.USAGE, main("--once", "--cleanup", "--policy", "p", "--certs-dir", "c"));
    assertEquals(AgentMain.OK, main("--cleanup", "--certs-dir", certs.toString()));
    assertFalse(Files.exists(certs.resolve("docker.io")));
  }

  private static int main(String... args) {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(sink, true, StandardCharsets.UTF_8);
    return AgentMain.run(args, ps, ps);
  }
}
