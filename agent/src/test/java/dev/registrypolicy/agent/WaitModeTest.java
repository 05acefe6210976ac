package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The uninstall DaemonSet (manifests/uninstall-cleanup.yaml) as its pod runs it: the init
 * container's {@code --cleanup} exits non-zero when it cannot remove what the agent owns (the pod
 * shows Init:Error and the procedure's wait times out), and the waiting container's {@code --wait}
 * uses only the agent's image, stays up without using the CPU, and exits 0 promptly on SIGTERM.
 */
class WaitModeTest {
  static final Path MANIFEST = Path.of("..", "manifests", "uninstall-cleanup.yaml");

  @TempDir Path tmp;

  /** The DaemonSet's containers by name ("cleanup" is the init container). */
  @SuppressWarnings("unchecked")
  static Map<String, Map<String, Object>> containers() throws Exception {
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    Load load = new Load(LoadSettings.builder().build());
    for (Object doc : load.loadAllFromString(Files.readString(MANIFEST))) {
      Map<String, Object> m = (Map<String, Object>) doc;
      if (m == null || !"DaemonSet".equals(m.get("kind"))) {
        continue;
      }
      Map<String, Object> pod =
          (Map<String, Object>)
              ((Map<String, Object>) ((Map<String, Object>) m.get("spec")).get("template"))
                  .get("spec");
      for (String key : List.of("initContainers", "containers")) {
        for (Map<String, Object> c : (List<Map<String, Object>>) pod.get(key)) {
          out.put((String) c.get("name"), c);
        }
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  static List<String> list(Map<String, Object> container, String key) {
    return (List<String>) container.getOrDefault(key, List.of());
  }

  /** The JVM options between "java" and "-jar" in a container's command. */
  static List<String> jvmFlags(Map<String, Object> container) {
    List<String> cmd = list(container, "command");
    assertEquals("java", cmd.get(0), cmd.toString());
    return cmd.subList(1, cmd.indexOf("-jar"));
  }

  @Test
  void manifestRunsOnlyTheAgentImage_cleanupThenWait() throws Exception {
    Map<String, Map<String, Object>> cs = containers();
    assertEquals(List.of("cleanup", "done"), new ArrayList<>(cs.keySet()));
    Map<String, Object> cleanup = cs.get("cleanup");
    Map<String, Object> done = cs.get("done");
    assertEquals(cleanup.get("image"), done.get("image"), "one image, already on the node");
    assertEquals("IfNotPresent", done.get("imagePullPolicy"));
    for (Map<String, Object> c : cs.values()) {
      List<String> cmd = list(c, "command");
      assertEquals(
          List.of("-jar", "/app/registry-policy-agent.jar"),
          cmd.subList(cmd.size() - 2, cmd.size()),
          "the image contract's jar");
      for (String word : cmd) {
        assertFalse(word.contains("sleep"), "no program but java: " + cmd);
      }
    }
    assertEquals(jvmFlags(cleanup), jvmFlags(done));
    assertEquals(List.of("--wait"), list(done, "args"));
    assertEquals("--cleanup", list(cleanup, "args").get(0));
  }

  @Test
  void waitExitsZeroPromptlyOnSigterm_andUsesNoCpuMeanwhile() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(jvmFlags(containers().get("done"))); // the pod's own JVM flags
    cmd.addAll(
        List.of("-cp", System.getProperty("java.class.path"), AgentMain.class.getName(), "--wait"));
    Path log = tmp.resolve("wait.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    pb.environment().remove("JDK_JAVA_OPTIONS");
    pb.redirectOutput(log.toFile());
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.readString(log).contains("msg=\"waiting until stopped\"")) {
        assertTrue(p.isAlive(), () -> "exited early: " + read(log));
        assertTrue(System.nanoTime() < deadline, () -> "no waiting line: " + read(log));
        Thread.sleep(20);
      }
      Thread.sleep(500); // start-up's own work (class loading, the first compilations) settles
      ProcessHandle.Info before = p.toHandle().info();
      assumeTrue(before.totalCpuDuration().isPresent(), "the OS reports no process CPU time");
      Duration cpu0 = before.totalCpuDuration().get();
      Thread.sleep(3000);
      Duration cpu = p.toHandle().info().totalCpuDuration().get().minus(cpu0);
      // A spinning thread would use the whole 3 s; an idle JVM's own threads use a few ms.
      assertTrue(cpu.toMillis() < 300, "CPU used while waiting: " + cpu);
      assertTrue(p.isAlive(), () -> "stopped by itself: " + read(log));

      long t0 = System.nanoTime();
      p.destroy(); // SIGTERM, as the kubelet stops a container
      assertTrue(p.waitFor(5, TimeUnit.SECONDS), "still running 5 s after SIGTERM");
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertEquals(0, p.exitValue(), () -> "exit code on SIGTERM; log: " + read(log));
      assertTrue(ms < 2000, "took " + ms + " ms to stop");
      assertFalse(read(log).contains("Exception"), read(log));
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void waitTakesNoOtherArguments_andIsInTheHelp() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    PrintStream o = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    assertEquals(
        AgentMain.USAGE,
        AgentMain.run(new String[] {"--wait", "--certs-dir", tmp.toString()}, o, e));
    assertEquals(AgentMain.USAGE, AgentMain.run(new String[] {"--cleanup", "--wait"}, o, e));
    assertTrue(
        err.toString(StandardCharsets.UTF_8).contains("--wait takes no other arguments"),
        err.toString(StandardCharsets.UTF_8));
    assertTrue(AgentMain.USAGE_TEXT.contains("registry-policy-agent --wait"));
  }

  /**
   * A host directory of the agent's that cannot be emptied (immutable: even root cannot delete in
   * it): {@code --cleanup} exits 1, so the init container fails and the pod shows Init:Error; once
   * fixed, a second run removes it and exits 0.
   */
  @Test
  void cleanupThatCannotRemoveExitsNonZero_thenSucceedsOnceFixed() throws Exception {
    Path certs = Files.createDirectories(tmp.resolve("certs.d"));
    Path host = Files.createDirectories(certs.resolve("docker.io"));
    Files.writeString(host.resolve(NodePlan.OWNER_FILE), "");
    Files.writeString(
        host.resolve(NodePlan.HOSTS_TOML), "server = \"https://registry-1.docker.io\"\n");
    boolean immutable = FsSnapshot.run(tmp, "chattr", "+i", host.toString()) == 0;
    try {
      assumeTrue(
          immutable && !canCreateIn(host), "needs chattr +i on the temp file system (root, ext4)");
      PrintStream o = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
      assertEquals(
          AgentMain.FAILED,
          AgentMain.run(new String[] {"--cleanup", "--certs-dir", certs.toString()}, o, o));
      assertTrue(Files.exists(host.resolve(NodePlan.HOSTS_TOML)));
    } finally {
      if (immutable) {
        FsSnapshot.run(tmp, "chattr", "-i", host.toString());
      }
    }
    PrintStream o = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    assertEquals(
        AgentMain.OK,
        AgentMain.run(new String[] {"--cleanup", "--certs-dir", certs.toString()}, o, o));
    assertFalse(Files.exists(host));
  }

  private static boolean canCreateIn(Path dir) {
    try {
      Files.delete(Files.createFile(dir.resolve("probe")));
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (java.io.IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }
}
