package dev.registrypolicy.agent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** The figures in agent/README.md were measured with the flags the manifests really run. */
class ManifestFlagsTest {
  @Test
  void benchmarksUseTheDaemonSetsJvmFlags() throws Exception {
    assertEquals(
        AgentBench.PRODUCTION_FLAGS, jvmFlags("../manifests/agent-daemonset.yaml", "agent", false));
  }

  @Test
  void uninstallCleanupUsesTheSameFlagsBarTheInitialHeap() throws Exception {
    List<String> want = new ArrayList<>(AgentBench.PRODUCTION_FLAGS);
    want.remove("-Xms4m");
    assertEquals(want, jvmFlags("../manifests/uninstall-cleanup.yaml", "cleanup", true));
  }

  /** The options between "java" and "-jar" in the named container's command. */
  @SuppressWarnings("unchecked")
  private static List<String> jvmFlags(String file, String container, boolean init)
      throws Exception {
    Load load = new Load(LoadSettings.builder().build());
    for (Object doc : load.loadAllFromString(Files.readString(Path.of(file)))) {
      Map<String, Object> m = (Map<String, Object>) doc;
      if (m == null || !(m.get("spec") instanceof Map)) {
        continue;
      }
      Map<String, Object> template =
          (Map<String, Object>) ((Map<String, Object>) m.get("spec")).get("template");
      if (template == null) {
        continue;
      }
      Map<String, Object> pod = (Map<String, Object>) template.get("spec");
      List<Map<String, Object>> cs =
          (List<Map<String, Object>>) pod.get(init ? "initContainers" : "containers");
      for (Map<String, Object> c : cs == null ? List.<Map<String, Object>>of() : cs) {
        if (container.equals(c.get("name"))) {
          List<String> cmd = (List<String>) c.get("command");
          assertEquals("java", cmd.get(0));
          return new ArrayList<>(cmd.subList(1, cmd.indexOf("-jar")));
        }
      }
    }
    throw new AssertionError("no container " + container + " in " + file);
  }
}
