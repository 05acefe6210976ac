package dev.registrypolicy.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A built jlinked runtime completes TLS 1.3 and TLS 1.2 handshakes with endpoints that offer only
 * elliptic-curve key exchange (secp256r1, x25519), one with an ECDSA P-256 certificate and one with
 * an RSA certificate ({@link TlsEndpoints}), verifying the certificate and host name; shared by the
 * agent's and the controller's runtime tests.
 *
 * <p>Why: a runtime without {@code jdk.crypto.ec} offers only finite-field groups and such a server
 * refuses it (handshake_failure), which on a real cluster left the controller hanging with no cause
 * in its log.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class RuntimeTlsChecks {

  private TlsEndpoints endpoints;

  @BeforeAll
  void startEndpoints() throws IOException {
    endpoints = TlsEndpoints.start();
  }

  @AfterAll
  void stopEndpoints() {
    if (endpoints != null) {
      endpoints.close();
    }
  }

  protected TlsEndpoints endpoints() {
    return endpoints;
  }

  @Test
  public void runtimeHoldsTheEllipticCurveProvider() throws IOException {
    Path runtime = BuiltArtifacts.jlinkRuntime();
    List<String> modules = Runtimes.modules(runtime);
    System.out.println("[runtime] " + runtime + " modules: " + modules);
    assertTrue(
        modules.contains("jdk.crypto.ec"),
        runtime + " lacks jdk.crypto.ec: without it TLS offers no elliptic-curve group");
  }

  @Test
  public void runtimeCompletesTls13WithEcAndRsaCertificates() throws IOException {
    handshakes("TLSv1.3");
  }

  @Test
  public void runtimeCompletesTls12WithEcAndRsaCertificates() throws IOException {
    handshakes("TLSv1.2");
  }

  private void handshakes(String protocol) throws IOException {
    Path runtime = BuiltArtifacts.jlinkRuntime();
    TlsEndpoints.ClientRun run =
        endpoints.runClient(runtime, protocol, List.of(TlsEndpoints.EC, TlsEndpoints.RSA));
    System.out.print("[runtime] " + run.output());
    assertEquals(0, run.exitCode(), "TLS client on " + runtime + ":\n" + run.output());
    List<String> outcomes = run.outcomes();
    assertEquals(2, outcomes.size(), run.output());
    for (String o : outcomes) {
      assertTrue(o.startsWith("OK ") && o.contains(" " + protocol + " "), o);
      assertTrue(o.endsWith("HTTP/1.1 200 OK"), o);
    }
  }
}
