package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where run finds the API server, and what it says when it cannot. */
class ClusterConfigTest {
  @TempDir Path tmp;

  private ClusterConfig.ConfigException failure(Map<String, String> env) {
    return assertThrows(ClusterConfig.ConfigException.class, () -> ClusterConfig.load(env));
  }

  @Test
  void aKubeconfigThatIsADirectoryOrOneOfSeveralMissing_isAUsageErrorNamingIt() throws Exception {
    ClusterConfig.ConfigException dir = failure(Map.of("KUBECONFIG", tmp.toString()));
    assertEquals(ControllerMain.USAGE, dir.exitCode);
    assertTrue(
        dir.getMessage().contains(tmp + ", which cannot be read (a directory)"), dir.getMessage());
    Path ok = tmp.resolve("ok");
    Files.writeString(ok, "apiVersion: v1\n");
    ClusterConfig.ConfigException second =
        failure(Map.of("KUBECONFIG", ok + File.pathSeparator + tmp.resolve("gone")));
    assertEquals(ControllerMain.USAGE, second.exitCode);
    assertTrue(
        second.getMessage().contains(tmp.resolve("gone") + ", which does not exist"),
        second.getMessage());
  }

  @Test
  void aKubeconfigWithoutAServer_isAProblemNamingTheFile() throws Exception {
    Path f = tmp.resolve("config");
    Files.writeString(
        f, "apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts: []\nclusters: []\n");
    ClusterConfig.ConfigException e = failure(Map.of("KUBECONFIG", f.toString()));
    assertEquals(ControllerMain.INVALID, e.exitCode);
    assertTrue(
        e.getMessage().startsWith("kubeconfig " + f + " has no server")
            || e.getMessage().startsWith("cannot use kubeconfig " + f),
        e.getMessage());
    assertFalse(e.getMessage().matches(".*\\b[A-Z][A-Za-z]+Exception\\b.*"), e.getMessage());
  }

  @Test
  void brokenKubeconfigs_sayWhatIsWrongWithoutQuotingTheFileOrTheJvm() throws Exception {
    Map<String, String> cases =
        Map.of(
            "",
            "is empty",
            "token: s3cr3t-t0ken: [",
            "is not valid YAML at line 1, column ",
            "apiVersion: v1\nkind: Config\n",
            "names no current-context",
            "- just\n- a list\n",
            "is not a kubeconfig");
    int i = 0;
    for (Map.Entry<String, String> c : cases.entrySet()) {
      Path f = tmp.resolve("config" + i++);
      Files.writeString(f, c.getKey());
      ClusterConfig.ConfigException e = failure(Map.of("KUBECONFIG", f.toString()));
      assertEquals(ControllerMain.INVALID, e.exitCode);
      assertTrue(e.getMessage().contains(c.getValue()), e.getMessage());
      assertFalse(e.getMessage().contains("s3cr3t"), e.getMessage());
      assertFalse(e.getMessage().contains("null"), e.getMessage());
      assertFalse(e.getMessage().matches(".*\\b[A-Z][A-Za-z]+Exception\\b.*"), e.getMessage());
    }
  }

  @Test
  void homeKubeconfigIsUsedWhenNothingElseIs() throws Exception {
    Path kube = Files.createDirectories(tmp.resolve(".kube"));
    Files.writeString(
        kube.resolve("config"),
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters: [{name: c, cluster: {server: \"https://127.0.0.1:6443\"}}]",
            "users: [{name: u, user: {token: t}}]",
            "contexts: [{name: x, context: {cluster: c, user: u}}]",
            "current-context: x",
            ""));
    ClusterConfig.Loaded l = ClusterConfig.load(Map.of("HOME", tmp.toString()));
    assertEquals("https://127.0.0.1:6443", l.server());
    assertTrue(l.source().startsWith("$HOME/.kube/config"), l.source());
  }
}
