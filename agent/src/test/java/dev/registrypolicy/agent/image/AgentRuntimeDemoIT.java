package dev.registrypolicy.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.bench.AgentBench;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jlinked runtime ({@code agent/target/jlink-runtime}, the air-gapped JVM artifact) runs the
 * agent's {@code --version} and {@code demo} with the manifests' JVM flags: the demo parses the
 * example policy, writes its certs.d (hosts.toml files, CA files) into a temporary directory, and a
 * second pass writes nothing. ({@code --once} in the image itself: {@link AgentImageContainerdIT}.)
 */
class AgentRuntimeDemoIT {

  @Test
  void versionAndDemoRunOnTheJlinkedRuntime(@TempDir Path tmp) throws Exception {
    Path java = BuiltArtifacts.jlinkRuntime().resolve("bin/java");
    Run version = run(tmp, java, "--version");
    assertEquals(0, version.exitCode(), version.output());
    assertTrue(version.output().contains("registry-policy"), version.output());

    Run demo = run(tmp, java, "demo");
    assertEquals(0, demo.exitCode(), demo.output());
    assertTrue(
        demo.output().contains("second pass, nothing changed: applied, files written: 0"),
        demo.output());
    List<Path> hostsToml;
    try (Stream<Path> files = Files.walk(tmp)) {
      hostsToml = files.filter(p -> p.getFileName().toString().equals("hosts.toml")).toList();
    }
    assertTrue(hostsToml.size() >= 2, "hosts.toml files written by the demo: " + hostsToml);
  }

  private record Run(int exitCode, String output) {}

  /** The agent jar with the DaemonSet's JVM flags, java.io.tmpdir in {@code tmp}. */
  private static Run run(Path tmp, Path java, String arg) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(java.toString());
    cmd.addAll(AgentBench.PRODUCTION_FLAGS);
    cmd.addAll(List.of("-Djava.io.tmpdir=" + tmp, "-jar", BuiltArtifacts.appJar().toString(), arg));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("agent " + arg + " did not finish within 60 s");
    }
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
