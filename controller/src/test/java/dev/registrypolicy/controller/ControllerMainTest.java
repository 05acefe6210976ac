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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's exit codes and messages (0 ok, 1 invalid policy or could not start, 2 usage). */
class ControllerMainTest {
  @TempDir
  Path tmp;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int main(String... args) {
    return ControllerMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void validate_exampleIsValid() {
    assertEquals(0, main("validate", "--policy", "../manifests/policy-configmap.yaml"), err());
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("valid"));
  }

  @Test
  void validate_listsEveryProblemWithItsPathAndNoSecret() throws Exception {
    Path bad = tmp.resolve("bad.yaml");
    Files.writeString(bad, String.join("\n",
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
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      assertEquals(2, main("run", "--workers", "0"));
      assertEquals(2, main("run", "--listen", "nocolon"));
      assertEquals(2, main("run", "--listen=127.0.0.1:abc"));
      assertEquals(2, main("run", "--listen", "127.0.0.1:70000"));
      assertEquals(2, main("run", "--resync", "soon"));
      assertEquals(2, main("run", "--bogus", "1"));
      assertEquals(2, main("run", "--workers"));
    });
  }

  @Test
  void run_portInUseExitsWith1AndSaysWhy() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int code = assertTimeoutPreemptively(Duration.ofSeconds(20),
          () -> main("run", "--listen", "127.0.0.1:" + taken.getLocalPort()));
      assertEquals(1, code, err());
      assertTrue(err().contains("msg=\"could not start\""), err());
    }
  }
}
