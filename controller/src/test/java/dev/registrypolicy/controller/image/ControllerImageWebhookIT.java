package dev.registrypolicy.controller.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.image.BuiltArtifacts;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/**
 * The admission webhook as the image runs it: the shaded jar (with the parts the build leaves out
 * of it, such as BouncyCastle's post-quantum provider classes and jackson) on the jlinked runtime
 * makes its ECDSA CA and serving certificate, serves HTTPS, and answers reviews: one allowed, one
 * denied, to a client that trusts only that CA.
 */
class ControllerImageWebhookIT {

  @Test
  void theShadedJarOnTheJlinkedRuntimeMakesItsCertificatesAndServesReviews() throws Exception {
    Path javaBin = BuiltArtifacts.jlinkRuntime().resolve("bin/java");
    Path childClasses =
        Path.of(WebhookChild.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // The shaded jar first: every class the child uses comes from it, not from target/classes.
    Process child =
        new ProcessBuilder(
                javaBin.toString(),
                "-Xmx128m",
                "-cp",
                BuiltArtifacts.appJar() + java.io.File.pathSeparator + childClasses,
                WebhookChild.class.getName(),
                Integer.toString(port))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      String first = out.readLine();
      assertTrue(first != null && first.trim().equals(Integer.toString(port)), "port: " + first);
      StringBuilder ca = new StringBuilder();
      for (String l = out.readLine(); l != null && !l.equals("END"); l = out.readLine()) {
        ca.append(l).append('\n');
      }
      HttpClient client =
          HttpClient.newBuilder()
              .sslContext(trusting(ca.toString()))
              .connectTimeout(Duration.ofSeconds(10))
              .build();

      String allowed = post(client, port, "uid-1", "registry.corp.example/team-a/web:1.0");
      assertTrue(allowed.contains("\"uid\":\"uid-1\""), allowed);
      assertTrue(allowed.contains("\"allowed\":true"), allowed);

      String denied = post(client, port, "uid-2", "docker.io/library/nginx:1.27");
      assertTrue(denied.contains("\"uid\":\"uid-2\""), denied);
      assertTrue(denied.contains("\"allowed\":false"), denied);
      assertTrue(denied.contains("not from an allowed source"), denied);
    } finally {
      child.destroy();
      child.waitFor();
    }
  }

  private static String post(HttpClient client, int port, String uid, String image)
      throws Exception {
    String review =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
            + "\"uid\":\""
            + uid
            + "\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
            + "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
            + "\"name\":\"web\",\"namespace\":\"team-a\",\"operation\":\"CREATE\","
            + "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
            + "\"namespace\":\"team-a\"},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\""
            + image
            + "\"}]}}}}";
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/validate"))
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(review))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return r.body();
  }

  private static SSLContext trusting(String caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    List<? extends java.security.cert.Certificate> certs =
        List.copyOf(
            CertificateFactory.getInstance("X.509")
                .generateCertificates(
                    new ByteArrayInputStream(caPem.getBytes(StandardCharsets.UTF_8))));
    assertTrue(!certs.isEmpty(), "the child printed no CA certificate");
    int i = 0;
    for (var c : certs) {
      ks.setCertificateEntry("ca" + i++, (X509Certificate) c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
