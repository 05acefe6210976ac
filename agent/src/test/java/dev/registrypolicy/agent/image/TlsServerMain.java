package dev.registrypolicy.agent.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * An HTTPS endpoint that offers only elliptic-curve key exchange, like a Kubernetes API server or a
 * registry written in Go: run in its own JVM (by {@link TlsEndpoints}) with {@code
 * -Djdk.tls.namedGroups=secp256r1,x25519}, TLS 1.3 and 1.2 only, and for TLS 1.2 only ECDHE cipher
 * suites (no RSA or finite-field DH key exchange).
 *
 * <p>Arguments: pairs of {@code NAME PKCS12-FILE}, then the key store password last. One listener
 * on 127.0.0.1 per pair. Prints {@code READY NAME=PORT ...}, then one line per connection: {@code
 * HANDSHAKE NAME PROTOCOL SUITE} or {@code HANDSHAKE-FAILED NAME reason}, and {@code REQUEST NAME
 * METHOD PATH user-agent=…} for each request. Answers {@code /version} as a Kubernetes API server
 * does, {@code /} with 200 "ok", and anything else with a 403 Status (so a client keeps retrying
 * without ever getting data).
 */
public final class TlsServerMain {

  private static final PrintStream OUT = System.out;

  private TlsServerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3 || args.length % 2 == 0) {
      System.err.println("usage: TlsServerMain NAME PKCS12 [NAME PKCS12]... PASSWORD");
      System.exit(2);
    }
    char[] password = args[args.length - 1].toCharArray();
    List<String> ready = new ArrayList<>();
    for (int i = 0; i + 1 < args.length - 1; i += 2) {
      String name = args[i];
      SSLServerSocket s = listen(Path.of(args[i + 1]), password);
      ready.add(name + "=" + s.getLocalPort());
      Thread t = new Thread(() -> accept(name, s), "accept-" + name);
      t.start();
    }
    synchronized (OUT) {
      OUT.println("READY " + String.join(" ", ready));
      OUT.flush();
    }
  }

  private static SSLServerSocket listen(Path p12, char[] password)
      throws IOException, GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      ks.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    SSLServerSocket s = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket();
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    s.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    List<String> suites = new ArrayList<>();
    for (String suite : s.getSupportedCipherSuites()) {
      if (suite.startsWith("TLS_AES_")
          || suite.startsWith("TLS_CHACHA20_")
          || suite.startsWith("TLS_ECDHE_")) {
        suites.add(suite);
      }
    }
    s.setEnabledCipherSuites(suites.toArray(new String[0]));
    return s;
  }

  private static void accept(String name, ServerSocket s) {
    while (true) {
      try {
        Socket c = s.accept();
        Thread t = new Thread(() -> serve(name, (SSLSocket) c), "conn-" + name);
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        log("ACCEPT-FAILED " + name + " " + e);
        return;
      }
    }
  }

  private static void serve(String name, SSLSocket c) {
    try (c) {
      c.setSoTimeout(20_000);
      try {
        c.startHandshake();
      } catch (IOException e) {
        log("HANDSHAKE-FAILED " + name + " " + e);
        return;
      }
      log(
          "HANDSHAKE "
              + name
              + " "
              + c.getSession().getProtocol()
              + " "
              + c.getSession().getCipherSuite());
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(c.getInputStream(), StandardCharsets.ISO_8859_1));
      OutputStream out = c.getOutputStream();
      while (true) {
        String requestLine = in.readLine();
        if (requestLine == null || requestLine.isEmpty()) {
          return;
        }
        String userAgent = "";
        long contentLength = 0;
        String line;
        while ((line = in.readLine()) != null && !line.isEmpty()) {
          String lower = line.toLowerCase(Locale.ROOT);
          if (lower.startsWith("user-agent:")) {
            userAgent = line.substring(11).strip();
          } else if (lower.startsWith("content-length:")) {
            contentLength = Long.parseLong(line.substring(15).strip());
          }
        }
        in.skip(contentLength);
        String[] parts = requestLine.split(" ");
        String path = parts.length > 1 ? parts[1] : "";
        log("REQUEST " + name + " " + parts[0] + " " + path + " user-agent=" + userAgent);
        respond(out, path);
      }
    } catch (IOException | RuntimeException e) {
      log("CONNECTION-ENDED " + name + " " + e);
    }
  }

  private static void respond(OutputStream out, String path) throws IOException {
    int status;
    String body;
    if (path.equals("/version") || path.startsWith("/version?")) {
      status = 200;
      body =
          "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0\",\"platform\":\"linux/amd64\"}";
    } else if (path.equals("/")) {
      status = 200;
      body = "ok";
    } else {
      status = 403;
      body =
          "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
              + "\"message\":\"forbidden by the test endpoint\",\"reason\":\"Forbidden\",\"code\":403}";
    }
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    String head =
        "HTTP/1.1 "
            + status
            + (status == 200 ? " OK" : " Forbidden")
            + "\r\nContent-Type: "
            + (body.startsWith("{") ? "application/json" : "text/plain")
            + "\r\nContent-Length: "
            + b.length
            + "\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    out.write(b);
    out.flush();
  }

  private static void log(String line) {
    synchronized (OUT) {
      OUT.println(line);
      OUT.flush();
    }
  }
}
