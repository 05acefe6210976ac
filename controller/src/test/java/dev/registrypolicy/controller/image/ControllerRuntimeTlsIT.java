package dev.registrypolicy.controller.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.agent.image.BuiltArtifacts;
import dev.registrypolicy.agent.image.RuntimeTlsChecks;
import dev.registrypolicy.agent.image.Runtimes;
import dev.registrypolicy.agent.image.TlsEndpoints;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's jlinked runtime ({@code controller/target/jlink-runtime}) does TLS 1.3 and 1.2
 * with endpoints that offer only elliptic-curve key exchange, with an ECDSA and with an RSA
 * certificate (the inherited tests), and the same runtime jlinked without {@code jdk.crypto.ec}
 * fails every one of those handshakes: what left the controller hanging on a real 1.32 API server.
 */
class ControllerRuntimeTlsIT extends RuntimeTlsChecks {

  @Test
  void theSameRuntimeWithoutJdkCryptoEcFailsEveryHandshake(@TempDir Path tmp) throws IOException {
    assumeTrue(
        Runtimes.jmods().isPresent(),
        "the JDK running the tests ("
            + System.getProperty("java.home")
            + ") has no jmods, so no runtime without jdk.crypto.ec can be jlinked here");
    List<String> modules = Runtimes.modules(BuiltArtifacts.jlinkRuntime());
    long t0 = System.nanoTime();
    Path noEc = Runtimes.jlinkWithout(modules, "jdk.crypto.ec", tmp.resolve("no-ec"));
    System.out.printf(
        "[runtime] jlinked %s without jdk.crypto.ec in %d ms%n",
        noEc, (System.nanoTime() - t0) / 1_000_000);
    assertFalse(Runtimes.modules(noEc).contains("jdk.crypto.ec"));

    for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
      TlsEndpoints.ClientRun run =
          endpoints().runClient(noEc, protocol, List.of(TlsEndpoints.EC, TlsEndpoints.RSA));
      System.out.print("[runtime] without jdk.crypto.ec: " + run.output());
      assertTrue(run.output().contains(" SunEC=false"), run.output());
      assertEquals(1, run.exitCode(), run.output());
      List<String> outcomes = run.outcomes();
      assertEquals(2, outcomes.size(), run.output());
      for (String o : outcomes) {
        // handshake_failure or, for TLS 1.3, unexpected_message after the server's
        // HelloRetryRequest asks for an elliptic-curve key share the client cannot make
        assertTrue(o.startsWith("FAIL ") && o.contains(" javax.net.ssl.SSL"), o);
      }
    }
    endpoints()
        .log()
        .lines()
        .filter(l -> l.startsWith("HANDSHAKE-FAILED"))
        .forEach(l -> System.out.println("[runtime] server: " + l));
    assertFalse(
        endpoints().lines("HANDSHAKE-FAILED", TlsEndpoints.EC).isEmpty(), endpoints().log());
    assertFalse(
        endpoints().lines("HANDSHAKE-FAILED", TlsEndpoints.RSA).isEmpty(), endpoints().log());
  }
}
