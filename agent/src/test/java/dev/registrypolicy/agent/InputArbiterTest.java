package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.InputArbiter.Origin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Newest wins, never flip-flop: the ordering cases of API content against the mounted file. */
class InputArbiterTest {
  final InputArbiter<String> a = new InputArbiter<>("policy");

  @Test
  void withoutAnyApiAnswerTheFileIsUsed() {
    assertEquals(Origin.FILES, a.choose("f1").origin());
    assertEquals(Origin.FILES, a.choose(null).origin());
    assertFalse(a.unhealthy(), "nothing to lose before the first answer");
    assertEquals(Origin.FILES, a.choose("f1").origin());
  }

  @Test
  void healthyWatchIsAuthoritativeWhateverTheFileHolds() {
    a.fromApi("v1", "h1");
    a.fromApi("v2", "h2");
    assertEquals("v2", a.choose("h1").content(), "the file lags (kubelet)");
    assertEquals("v2", a.choose("never-seen").content(), "even a file the API never showed");
    assertEquals("v2", a.choose(null).content());
  }

  @Test
  void duringAnOutageOnlyAFileTheApiNeverShowedWins() {
    a.fromApi("v1", "h1");
    a.fromApi("v2", "h2");
    assertTrue(a.unhealthy());
    assertEquals("v2", a.choose("h1").content(), "an older version in the file is ignored");
    assertEquals("v2", a.choose("h2").content(), "the same");
    assertEquals("v2", a.choose(null).content(), "an unreadable file changes nothing");
    InputArbiter.Choice<String> c = a.choose("h3");
    assertEquals(Origin.FILES, c.origin(), "newer than anything the API showed");
    assertNull(c.content());
    // later the file goes back to a version the API showed (kubelet restarted with an old cache):
    // the newest the agent knows of stays
    assertEquals(Origin.API, a.choose("h1").origin());
  }

  @Test
  void recoveryWithTheFileContentDoesNotFlip() {
    a.fromApi("v1", "h1");
    a.unhealthy();
    assertEquals(Origin.FILES, a.choose("h2").origin());
    assertTrue(a.fromApi("v2", "h2"), "healthy again is a change worth a pass");
    InputArbiter.Choice<String> c = a.choose("h2");
    assertEquals(Origin.API, c.origin());
    assertEquals("h2", c.hash(), "the same content: the pass writes nothing");
    assertFalse(a.fromApi("v2", "h2"), "a repeated event is no change");
  }

  @Test
  void seenHashesAreBounded() {
    for (int i = 0; i < InputArbiter.MAX_SEEN + 10; i++) {
      a.fromApi("v" + i, "h" + i);
    }
    a.unhealthy();
    assertEquals(Origin.API, a.choose("h20").origin(), "recent versions are remembered");
    assertEquals(Origin.FILES, a.choose("h0").origin(), "the oldest were forgotten");
  }

  @Test
  void environment(@TempDir Path dir) throws Exception {
    assertNull(ApiConfig.fromEnvironment(Map.of(), dir).config());
    assertTrue(
        ApiConfig.fromEnvironment(Map.of(), dir).whyNot().contains("KUBERNETES_SERVICE_HOST"));
    Map<String, String> pod =
        Map.of(
            "KUBERNETES_SERVICE_HOST",
            "fd00::1",
            "KUBERNETES_SERVICE_PORT",
            "443",
            "NODE_NAME",
            "n1");
    assertTrue(ApiConfig.fromEnvironment(pod, dir).whyNot().contains("no ServiceAccount token"));
    Files.writeString(dir.resolve("token"), "t");
    ApiConfig c = ApiConfig.fromEnvironment(pod, dir).config();
    assertEquals("https://[fd00::1]:443", c.server().toString());
    assertEquals(dir.resolve("ca.crt"), c.caFile());
    assertEquals("n1", c.node());
    assertNull(
        ApiConfig.fromEnvironment(
                Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1", "KUBERNETES_SERVICE_PORT", "99999"),
                dir)
            .config());
    assertNull(
        ApiConfig.fromEnvironment(Map.of("REGISTRY_POLICY_API_SERVER", "ftp://x"), dir).config());
    assertEquals(
        "http://127.0.0.1:8080",
        ApiConfig.fromEnvironment(
                Map.of("REGISTRY_POLICY_API_SERVER", "http://127.0.0.1:8080"), dir)
            .config()
            .server()
            .toString());
  }
}
