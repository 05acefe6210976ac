package dev.registrypolicy.agent.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A TLS client that needs only {@code java.base}, run on the Java runtime under test: {@code
 * RUNTIME/bin/java -cp <test classes> dev.registrypolicy.agent.image.TlsClientMain CA-PEM PROTOCOL
 * URL...}. For each URL it connects with only PROTOCOL enabled, verifies the server against the
 * certificates in CA-PEM and its host name, sends {@code GET}, and prints {@code OK URL PROTOCOL
 * SUITE STATUS-LINE} or {@code FAIL URL PROTOCOL reason}. Exit code 0 only if every URL answered.
 * The first line names the runtime and whether it has the SunEC provider.
 */
public final class TlsClientMain {

  private TlsClientMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: TlsClientMain CA-PEM PROTOCOL URL...");
      System.exit(2);
    }
    System.out.println(
        "RUNTIME "
            + System.getProperty("java.home")
            + " "
            + System.getProperty("java.version")
            + " SunEC="
            + (Security.getProvider("SunEC") != null));
    SSLContext ctx = context(Path.of(args[0]));
    String protocol = args[1];
    int failed = 0;
    for (int i = 2; i < args.length; i++) {
      URI url = URI.create(args[i]);
      try {
        System.out.println("OK " + url + " " + protocol + " " + get(ctx, protocol, url));
      } catch (IOException | RuntimeException e) {
        failed++;
        System.out.println("FAIL " + url + " " + protocol + " " + e);
      }
    }
    System.exit(failed == 0 ? 0 : 1);
  }

  private static SSLContext context(Path caPem) throws IOException, GeneralSecurityException {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(caPem)) {
      int n = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca-" + n++, c);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  private static String get(SSLContext ctx, String protocol, URI url) throws IOException {
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
      s.connect(new InetSocketAddress(url.getHost(), url.getPort()), 10_000);
      s.setSoTimeout(10_000);
      SSLParameters p = s.getSSLParameters();
      p.setProtocols(new String[] {protocol});
      p.setEndpointIdentificationAlgorithm("HTTPS");
      s.setSSLParameters(p);
      s.startHandshake();
      OutputStream out = s.getOutputStream();
      String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
      out.write(
          ("GET "
                  + path
                  + " HTTP/1.1\r\nHost: "
                  + url.getHost()
                  + ":"
                  + url.getPort()
                  + "\r\nUser-Agent: tls-client-main\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      String status = in.readLine();
      return s.getSession().getProtocol() + " " + s.getSession().getCipherSuite() + " " + status;
    }
  }
}
