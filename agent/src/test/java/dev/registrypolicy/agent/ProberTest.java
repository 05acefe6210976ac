package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.registrypolicy.policy.PolicyDocument;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The prober probes a credentialed mirror with the CA, client certificate and key that hosts.toml
 * gives containerd.
 */
class ProberTest {
  @TempDir Path tmp;

  @Test
  void targetsCarryTheHostsClientCertificateAndKey() throws Exception {
    Path bundle = Files.createDirectories(tmp.resolve("bundle"));
    Files.writeString(bundle.resolve("corp-ca_ca.crt"), DemoMaterial.CA_CERT);
    Files.writeString(bundle.resolve("client-tls_tls.crt"), DemoMaterial.CLIENT_CERT);
    Files.writeString(bundle.resolve("client-tls_tls.key"), DemoMaterial.CLIENT_KEY);
    Files.writeString(bundle.resolve("hub-basic_username"), "u");
    Files.writeString(bundle.resolve("hub-basic_password"), "p");
    String policy =
        String.join(
            "\n",
            "apiVersion: registry-policy.dev/v1alpha1",
            "kind: RegistryPolicy",
            "credentials: [{name: hub, secret: hub-basic}]",
            "registries:",
            "  - host: docker.io",
            "    mirrors:",
            "      - url: https://mtls-mirror.example",
            "        credentials: hub",
            "        ca: {secret: corp-ca}",
            "        clientCert: {secret: client-tls}",
            "      - url: https://plain-mirror.example",
            "");
    NodePlan.Plan plan =
        NodePlan.plan(
            PolicyDocument.parse(policy), SecretStore.directory(bundle), "/etc/containerd/certs.d");
    List<Prober.Target> targets = Prober.targets(plan);
    assertEquals(1, targets.size(), "only the endpoint with header credentials: " + targets);
    Prober.Target t = targets.get(0);
    assertEquals("https://mtls-mirror.example", t.url());
    assertArrayEquals(DemoMaterial.CLIENT_CERT.getBytes(StandardCharsets.US_ASCII), t.clientCert());
    assertArrayEquals(DemoMaterial.CLIENT_KEY.getBytes(StandardCharsets.US_ASCII), t.clientKey());
    assertEquals(1, t.caPems().size());
    assertArrayEquals(DemoMaterial.CA_CERT.getBytes(StandardCharsets.US_ASCII), t.caPems().get(0));
    assertFalse(t.skipVerify());
    // The material is usable for the TLS client the probe builds (the mTLS path).
    RegistryProbe.sslContext(t.caPems(), t.clientCert(), t.clientKey(), false);
  }
}
