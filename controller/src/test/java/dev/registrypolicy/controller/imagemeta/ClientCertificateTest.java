package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.agent.lab.LabEnvironment;
import dev.registrypolicy.agent.lab.Pki;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyParser;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/**
 * An endpoint that requires a client certificate (mutual TLS, the lab CA on both sides): the
 * policy's {@code clientCert} is presented, and without it the handshake fails with a reason.
 */
class ClientCertificateTest {
  @Test
  void clientCertificate_isPresented_andRequired() throws Exception {
    assumeTrue(LabEnvironment.detect().openssl().isPresent(), "openssl is needed for the lab PKI");
    Path dir = Files.createTempDirectory("rp-imagemeta-mtls-");
    Pki pki = Pki.create(dir, true);
    SSLContext server = mutualServerContext(pki);
    HttpsServer https =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
    https.setHttpsConfigurator(
        new HttpsConfigurator(server) {
          @Override
          public void configure(HttpsParameters params) {
            javax.net.ssl.SSLParameters p = server.getDefaultSSLParameters();
            p.setNeedClientAuth(true);
            params.setSSLParameters(p);
          }
        });
    https.createContext(
        "/",
        ex -> {
          if (ex.getRequestURI().getPath().contains("/manifests/")) {
            FakeRegistry.send(ex, 200, MediaTypes.OCI_MANIFEST, HostileRegistryTest.MANIFEST);
          } else {
            FakeRegistry.send(ex, 200, "application/octet-stream", HostileRegistryTest.CONFIG);
          }
          ex.close();
        });
    https.start();
    String host = "127.0.0.1:" + https.getAddress().getPort();
    try {
      SecretBytes secrets =
          SecretBytes.of(
              Map.of(
                  "lab-ca", Map.of("ca.crt", pki.caPem()),
                  "client",
                      Map.of(
                          "tls.crt", pki.clientCertPem().orElseThrow(),
                          "tls.key", pki.clientKeyPem().orElseThrow())));
      ImageRef image = ImageRef.parse(host + "/a/b:1");
      try (RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
        ImageMetadata md =
            rm.forPolicy(policy(host, "    clientCert: {secret: client}\n"), secrets)
                .fetch(image, Instant.now().plusSeconds(10));
        assertEquals("1000", md.user());
      }
      try (RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
        ImageMetadataException e =
            assertThrows(
                ImageMetadataException.class,
                () ->
                    rm.forPolicy(policy(host, ""), secrets)
                        .fetch(image, Instant.now().plusSeconds(10)));
        assertEquals(Kind.ERROR, e.kind());
        assertTrue(e.getMessage().contains("registry " + host), e.getMessage());
        assertTrue(e.getMessage().contains("clientCert"), e.getMessage());
      }
    } finally {
      https.stop(0);
    }
  }

  static Policy policy(String host, String clientCert) throws Exception {
    return PolicyParser.parse(
        "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nregistries:\n"
            + "  - host: "
            + host
            + "\n    ca: {secret: lab-ca}\n"
            + clientCert);
  }

  /** The lab server certificate, trusting the lab CA for client certificates. */
  static SSLContext mutualServerContext(Pki pki) throws Exception {
    char[] pass = "lab".toCharArray();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    List<X509Certificate> chain = new ArrayList<>(Pki.readCertificates(pki.serverCert()));
    ks.setKeyEntry(
        "server", Pki.readPrivateKey(pki.serverKey()), pass, chain.toArray(new Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, pass);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", Pki.readCertificates(pki.caCert()).get(0));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
    return ctx;
  }
}
