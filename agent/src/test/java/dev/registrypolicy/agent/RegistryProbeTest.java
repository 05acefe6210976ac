package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.registrypolicy.agent.RegistryProbe.Result;
import dev.registrypolicy.agent.RegistryProbe.Result.Scheme;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RegistryProbeTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final String BEARER = "Bearer realm=\"https://127.0.0.1:1/token\",service=\"x\"";

  @TempDir static Path tmp;

  private static HttpServer http;

  /** Authorization headers seen by the test servers, per path; must stay empty. */
  private static final List<String> authorizationSeen =
      Collections.synchronizedList(new ArrayList<>());

  private static final Map<String, String> pathsSeen = new ConcurrentHashMap<>();

  @BeforeAll
  static void startHttp() throws IOException {
    http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    registerRegistryPaths(http);
    http.start();
  }

  @AfterAll
  static void stopServers() {
    http.stop(0);
    if (https != null) {
      https.stop(0);
    }
    if (httpsWrongName != null) {
      httpsWrongName.stop(0);
    }
    if (mtls != null) {
      mtls.stop(0);
    }
  }

  private static void registerRegistryPaths(HttpServer s) {
    s.createContext("/bearer/", ex -> answer(ex, 401, "WWW-Authenticate", BEARER));
    s.createContext(
        "/basic/", ex -> answer(ex, 401, "WWW-Authenticate", "Basic realm=\"Registry Realm\""));
    s.createContext("/open/", ex -> answer(ex, 200, null, null));
    s.createContext("/plain401/", ex -> answer(ex, 401, null, null));
    s.createContext(
        "/both/",
        ex ->
            answer(
                ex,
                401,
                "Www-Authenticate",
                "Basic realm=\"r\", BEARER Realm=\"https://auth.example/token?service=reg&scope=x\""));
    s.createContext("/prefix/", ex -> answer(ex, 401, "WWW-Authenticate", BEARER));
    s.createContext("/notfound/", ex -> answer(ex, 404, null, null));
    s.createContext(
        "/redirect/", ex -> answer(ex, 301, "Location", "https://elsewhere.example/v2/"));
  }

  private static void answer(HttpExchange ex, int status, String header, String value)
      throws IOException {
    try (ex) {
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      if (auth != null) {
        authorizationSeen.add(auth);
      }
      pathsSeen.put(ex.getHttpContext().getPath(), ex.getRequestURI().getRawPath());
      if (header != null) {
        ex.getResponseHeaders().add(header, value);
      }
      if (ex instanceof HttpsExchange) {
        try {
          var peer = ((HttpsExchange) ex).getSSLSession().getPeerPrincipal();
          ex.getResponseHeaders().add("X-Peer", peer.getName());
        } catch (javax.net.ssl.SSLPeerUnverifiedException noClientCertificate) {
          // servers without client authentication
        }
      }
      ex.sendResponseHeaders(status, -1);
    }
  }

  private static URI url(String scheme, int port, String path) {
    return URI.create(scheme + "://127.0.0.1:" + port + path);
  }

  private static Result probe(URI u) {
    return RegistryProbe.probe(u, false, List.of(), null, null, false, TIMEOUT);
  }

  // ---------------------------------------------------------------------------------------------
  // plain HTTP

  @Test
  void bearerChallengeGivesRealmWithoutQuery() {
    Result r = probe(url("http", http.getAddress().getPort(), "/bearer"));
    assertEquals(Scheme.BEARER, r.scheme());
    assertEquals(401, r.status());
    assertEquals("https://127.0.0.1:1/token", r.realm());
    assertNull(r.error());
    assertTrue(r.tokenAuth());
    assertTrue(r.reachable());
    assertEquals("/bearer/v2/", pathsSeen.get("/bearer/"));
    assertTrue(authorizationSeen.isEmpty(), "no credentials are ever sent: " + authorizationSeen);
  }

  @Test
  void basicChallenge() {
    Result r = probe(url("http", http.getAddress().getPort(), "/basic/"));
    assertEquals(Scheme.BASIC, r.scheme());
    assertEquals(401, r.status());
    assertEquals("Registry Realm", r.realm());
    assertNull(r.error());
    assertFalse(r.tokenAuth());
  }

  @Test
  void openRegistry() {
    Result r = probe(url("http", http.getAddress().getPort(), "/open"));
    assertEquals(new Result(Scheme.NONE, 200, null, null), r);
  }

  @Test
  void bearerWinsOverBasicAndHeaderNameIsCaseInsensitive() {
    Result r = probe(url("http", http.getAddress().getPort(), "/both"));
    assertEquals(Scheme.BEARER, r.scheme());
    assertEquals("https://auth.example/token", r.realm());
  }

  @Test
  void unauthorizedWithoutChallenge() {
    Result r = probe(url("http", http.getAddress().getPort(), "/plain401"));
    assertEquals(Scheme.NONE, r.scheme());
    assertEquals(401, r.status());
    assertEquals("401 without a basic or bearer challenge", r.error());
  }

  @Test
  void otherStatusesAreReportedNotFollowed() {
    Result nf = probe(url("http", http.getAddress().getPort(), "/notfound"));
    assertEquals(new Result(Scheme.NONE, 404, null, "unexpected status 404"), nf);
    Result rd = probe(url("http", http.getAddress().getPort(), "/redirect"));
    assertEquals(301, rd.status());
    assertEquals("unexpected status 301", rd.error());
  }

  @Test
  void overridePathHitsTheUrlAsGiven() {
    Result r =
        RegistryProbe.probe(
            url("http", http.getAddress().getPort(), "/prefix/api/v2"),
            true,
            null,
            null,
            null,
            false,
            TIMEOUT);
    assertEquals(Scheme.BEARER, r.scheme());
    assertEquals("/prefix/api/v2/", pathsSeen.get("/prefix/"));
  }

  @Test
  void closedPortIsUnreachable() throws IOException {
    // bound but not listening: connect is refused at once and nobody else can take the port
    try (Socket guard = new Socket()) {
      guard.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      Result r = probe(url("http", guard.getLocalPort(), ""));
      assertEquals(Scheme.UNREACHABLE, r.scheme());
      assertEquals(0, r.status());
      assertNull(r.realm());
      assertEquals("connection refused", r.error());
      assertFalse(r.reachable());
    }
  }

  @Test
  void userInfoInTheUrlIsDroppedAndNeverReported() throws IOException {
    try (Socket guard = new Socket()) {
      guard.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      Result r = probe(URI.create("http://robot:S3cr3t@127.0.0.1:" + guard.getLocalPort() + "/"));
      assertEquals(Scheme.UNREACHABLE, r.scheme());
      assertFalse(r.toString().contains("S3cr3t"), r.toString());
    }
    Result r =
        probe(URI.create("http://robot:S3cr3t@127.0.0.1:" + http.getAddress().getPort() + "/open"));
    assertEquals(200, r.status());
    assertTrue(authorizationSeen.isEmpty(), "user info must not turn into an Authorization header");
  }

  @Test
  void silentServerTimesOut() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      List<Socket> accepted = Collections.synchronizedList(new ArrayList<>());
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    accepted.add(silent.accept()); // read nothing, answer nothing
                  }
                } catch (IOException closed) {
                  // test over
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      // The read timeout, not a wall clock, is what the message proves: the server never answers.
      Result r =
          RegistryProbe.probe(
              url("http", silent.getLocalPort(), ""),
              false,
              null,
              null,
              null,
              false,
              Duration.ofMillis(300));
      assertEquals(Scheme.UNREACHABLE, r.scheme());
      assertEquals("no answer within 300 ms", r.error());
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"ftp://127.0.0.1/", "registry.example:5000", "file:///etc/passwd", "https:opaque"})
  void unsupportedUrls(String u) {
    Result r = probe(URI.create(u));
    assertEquals(Scheme.UNREACHABLE, r.scheme());
    assertNotNull(r.error());
  }

  @Test
  void nullUrlIsUnreachable() {
    assertEquals(Scheme.UNREACHABLE, probe(null).scheme());
  }

  // ---------------------------------------------------------------------------------------------
  // pure helpers

  @Test
  void targetFollowsContainerdPathRules() {
    assertEquals(
        "https://r.example/v2/",
        RegistryProbe.target(URI.create("https://r.example"), false).toString());
    assertEquals(
        "https://r.example/v2/",
        RegistryProbe.target(URI.create("https://r.example/"), false).toString());
    assertEquals(
        "https://r.example:5000/v2/",
        RegistryProbe.target(URI.create("https://r.example:5000/v2"), false).toString());
    assertEquals(
        "https://r.example/mirror/v2/",
        RegistryProbe.target(URI.create("https://r.example/mirror//"), false).toString());
    assertEquals(
        "https://r.example/api/",
        RegistryProbe.target(URI.create("https://r.example/api"), true).toString());
    assertEquals(
        "https://r.example/",
        RegistryProbe.target(URI.create("HTTPS://u:p@r.example?x=1#f"), true).toString());
    assertThrows(
        IllegalArgumentException.class,
        () -> RegistryProbe.target(URI.create("https:opaque"), false));
  }

  @Test
  void parsesChallenges() {
    List<dev.registrypolicy.common.AuthChallenge> cs =
        dev.registrypolicy.common.AuthChallenge.parse(
            List.of(
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                    + "scope=\"repository:library/hello:pull\"",
                "Negotiate abc==, basic realm=\"with \\\"escaped\\\" quotes, and commas\", charset=UTF-8",
                "Digest realm=x , qop=\"auth,auth-int\", nonce=abc"));
    assertEquals(
        List.of("bearer", "negotiate", "basic", "digest"),
        cs.stream().map(dev.registrypolicy.common.AuthChallenge::scheme).toList());
    assertEquals("https://auth.docker.io/token", cs.get(0).params().get("realm"));
    assertEquals("registry.docker.io", cs.get(0).params().get("service"));
    assertEquals("repository:library/hello:pull", cs.get(0).params().get("scope"));
    assertEquals(Map.of(), cs.get(1).params());
    assertEquals("with \"escaped\" quotes, and commas", cs.get(2).params().get("realm"));
    assertEquals("UTF-8", cs.get(2).params().get("charset"));
    assertEquals("x", cs.get(3).params().get("realm"));
    assertEquals("auth,auth-int", cs.get(3).params().get("qop"));
    assertEquals(List.of(), dev.registrypolicy.common.AuthChallenge.parse(null));
    assertEquals(List.of(), dev.registrypolicy.common.AuthChallenge.parse(List.of("", " , ")));
  }

  @Test
  void classifyEdgeCases() {
    assertEquals(
        Scheme.BEARER,
        RegistryProbe.classify(401, List.of("bearer REALM=\"https://a/t\"")).scheme());
    Result noRealm = RegistryProbe.classify(401, List.of("Bearer service=\"x\""));
    assertEquals(Scheme.BEARER, noRealm.scheme());
    assertNull(noRealm.realm());
    assertEquals("bearer challenge without realm", noRealm.error());
    assertEquals(new Result(Scheme.NONE, 204, null, null), RegistryProbe.classify(204, List.of()));
    assertEquals(Scheme.NONE, RegistryProbe.classify(401, List.of("Negotiate")).scheme());
  }

  @Test
  void realmLosesQueryFragmentAndUserInfo() {
    assertEquals(
        "https://auth.example/token", RegistryProbe.stripQuery("https://auth.example/token?a=b#c"));
    assertEquals(
        "https://auth.example:8443/token",
        RegistryProbe.stripQuery("https://u:pw@auth.example:8443/token?scope=x"));
    assertEquals("not a url", RegistryProbe.stripQuery("not a url"));
  }

  @Test
  void trustManagerAddsExtraCasToTheSystemStore() throws Exception {
    assumeTrue(tlsReady(), "keytool could not create certificates");
    X509ExtendedTrustManager system = RegistryProbe.trustManager(List.of());
    X509ExtendedTrustManager both = RegistryProbe.trustManager(List.of(serverPem));
    assertEquals(system.getAcceptedIssuers().length + 1, both.getAcceptedIssuers().length);
    assertThrows(
        GeneralSecurityException.class,
        () ->
            RegistryProbe.trustManager(List.of("no pem here".getBytes(StandardCharsets.US_ASCII))));
  }

  // ---------------------------------------------------------------------------------------------
  // TLS, with certificates made by keytool (always shipped with the JDK)

  private static HttpsServer https;
  private static HttpsServer httpsWrongName;
  private static byte[] serverPem;
  private static byte[] wrongNamePem;
  private static Boolean tlsReady;

  private static synchronized boolean tlsReady() throws Exception {
    if (tlsReady != null) {
      return tlsReady;
    }
    tlsReady = false;
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    if (!Files.isExecutable(keytool)) {
      return false;
    }
    Path ks = tmp.resolve("server.p12");
    Path wrong = tmp.resolve("wrong.p12");
    if (!run(
            keytool.toString(),
            "-genkeypair",
            "-alias",
            "s",
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-dname",
            "CN=127.0.0.1",
            "-ext",
            "SAN=IP:127.0.0.1",
            "-validity",
            "2",
            "-keystore",
            ks.toString(),
            "-storetype",
            "PKCS12",
            "-storepass",
            "changeit",
            "-keypass",
            "changeit")
        || !run(
            keytool.toString(),
            "-genkeypair",
            "-alias",
            "s",
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-dname",
            "CN=registry.invalid",
            "-ext",
            "SAN=DNS:registry.invalid",
            "-validity",
            "2",
            "-keystore",
            wrong.toString(),
            "-storetype",
            "PKCS12",
            "-storepass",
            "changeit",
            "-keypass",
            "changeit")) {
      return false;
    }
    serverPem = certificatePem(ks);
    wrongNamePem = certificatePem(wrong);
    https = httpsServer(serverContext(ks, null), false);
    httpsWrongName = httpsServer(serverContext(wrong, null), false);
    tlsReady = true;
    return true;
  }

  /** The key store's certificate as PEM (what a hosts.toml {@code ca} file holds). */
  static byte[] certificatePem(Path keyStore) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      ks.load(in, "changeit".toCharArray());
    }
    String b64 =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(ks.getCertificate("s").getEncoded());
    return ("-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  static boolean run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out;
    try (InputStream in = p.getInputStream()) {
      out = in.readAllBytes();
    }
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return false;
    }
    if (p.exitValue() != 0) {
      System.err.println(
          String.join(" ", cmd) + " failed:\n" + new String(out, StandardCharsets.UTF_8));
      return false;
    }
    return true;
  }

  /**
   * Server TLS context from a PKCS12 key store; {@code trustedClients} turns on client-certificate
   * checks.
   */
  static SSLContext serverContext(Path keyStore, KeyStore trustedClients) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    TrustManagerFactory tmf = null;
    if (trustedClients != null) {
      tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trustedClients);
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
    return ctx;
  }

  static HttpsServer httpsServer(SSLContext ctx, boolean needClientAuth) throws IOException {
    HttpsServer s =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    s.setHttpsConfigurator(
        new HttpsConfigurator(ctx) {
          @Override
          public void configure(HttpsParameters params) {
            SSLParameters p = ctx.getDefaultSSLParameters();
            p.setNeedClientAuth(needClientAuth);
            params.setSSLParameters(p);
          }
        });
    registerRegistryPaths(s);
    s.start();
    return s;
  }

  @Test
  void tlsWithTheRightCa() throws Exception {
    assumeTrue(tlsReady(), "keytool could not create certificates");
    Result r =
        RegistryProbe.probe(
            url("https", https.getAddress().getPort(), "/bearer"),
            false,
            List.of(serverPem),
            null,
            null,
            false,
            TIMEOUT);
    assertEquals(new Result(Scheme.BEARER, 401, "https://127.0.0.1:1/token", null), r);
    Result basic =
        RegistryProbe.probe(
            url("https", https.getAddress().getPort(), "/basic"),
            false,
            List.of("junk before\n".getBytes(StandardCharsets.US_ASCII), serverPem),
            null,
            null,
            false,
            TIMEOUT);
    assertEquals(
        Scheme.UNREACHABLE, basic.scheme(), "a CA entry without a certificate is a setup error");
    assertTrue(basic.error().startsWith("tls setup failed"), basic.error());
  }

  @Test
  void tlsWithoutTheCaIsNotTrusted() throws Exception {
    assumeTrue(tlsReady(), "keytool could not create certificates");
    Result r =
        RegistryProbe.probe(
            url("https", https.getAddress().getPort(), "/bearer"),
            false,
            List.of(),
            null,
            null,
            false,
            TIMEOUT);
    assertEquals(Scheme.UNREACHABLE, r.scheme());
    assertEquals("tls: server certificate is not trusted (add its ca)", r.error());
    Result other =
        RegistryProbe.probe(
            url("https", https.getAddress().getPort(), "/bearer"),
            false,
            List.of(wrongNamePem),
            null,
            null,
            false,
            TIMEOUT);
    assertEquals(Scheme.UNREACHABLE, other.scheme(), "another CA does not help");
  }

  @Test
  void tlsSkipVerifyTrustsAnything() throws Exception {
    assumeTrue(tlsReady(), "keytool could not create certificates");
    Result r =
        RegistryProbe.probe(
            url("https", https.getAddress().getPort(), "/bearer"),
            false,
            null,
            null,
            null,
            true,
            TIMEOUT);
    assertEquals(Scheme.BEARER, r.scheme());
    Result wrongName =
        RegistryProbe.probe(
            url("https", httpsWrongName.getAddress().getPort(), "/basic"),
            false,
            null,
            null,
            null,
            true,
            TIMEOUT);
    assertEquals(Scheme.BASIC, wrongName.scheme(), "skip_verify also skips the host name check");
  }

  @Test
  void tlsHostNameIsStillCheckedWithExtraCa() throws Exception {
    assumeTrue(tlsReady(), "keytool could not create certificates");
    Result r =
        RegistryProbe.probe(
            url("https", httpsWrongName.getAddress().getPort(), "/basic"),
            false,
            List.of(wrongNamePem),
            null,
            null,
            false,
            TIMEOUT);
    assertEquals(Scheme.UNREACHABLE, r.scheme());
    assertEquals("tls: server certificate does not match the host name", r.error());
  }

  @Test
  void tlsToPlainHttpPortFails() throws Exception {
    Result r =
        RegistryProbe.probe(
            url("https", http.getAddress().getPort(), "/open"),
            false,
            null,
            null,
            null,
            true,
            Duration.ofSeconds(1));
    assertEquals(Scheme.UNREACHABLE, r.scheme());
    assertNotNull(r.error());
  }

  // ---------------------------------------------------------------------------------------------
  // client certificates (openssl makes the key formats containerd users have: PKCS#8, PKCS#1, SEC1)

  private static HttpsServer mtls;
  private static final String[] CLIENT_KINDS = {"rsa-pkcs8", "rsa-pkcs1", "ec-pkcs8", "ec-sec1"};
  private static Boolean mtlsReady;

  private static synchronized boolean mtlsReady() throws Exception {
    if (mtlsReady != null) {
      return mtlsReady;
    }
    mtlsReady = false;
    if (!tlsReady() || !run("openssl", "version")) {
      return false;
    }
    Path d = Files.createDirectories(tmp.resolve("clients"));
    String rsa = d.resolve("rsa").toString();
    String ec = d.resolve("ec").toString();
    boolean ok =
        run(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                rsa + "-pkcs8.key",
                "-out",
                rsa + ".crt",
                "-subj",
                "/CN=client-rsa",
                "-days",
                "2")
            && run(
                "openssl",
                "rsa",
                "-in",
                rsa + "-pkcs8.key",
                "-traditional",
                "-out",
                rsa + "-pkcs1.key")
            && run(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                ec + "-pkcs8.key",
                "-out",
                ec + ".crt",
                "-subj",
                "/CN=client-ec",
                "-days",
                "2")
            && run("openssl", "ec", "-in", ec + "-pkcs8.key", "-out", ec + "-sec1.key");
    if (!ok) {
      return false;
    }
    assertTrue(Files.readString(Path.of(rsa + "-pkcs1.key")).contains("BEGIN RSA PRIVATE KEY"));
    assertTrue(Files.readString(Path.of(ec + "-sec1.key")).contains("BEGIN EC PRIVATE KEY"));
    assertTrue(Files.readString(Path.of(ec + "-pkcs8.key")).contains("BEGIN PRIVATE KEY"));
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    int i = 0;
    for (String crt : List.of(rsa + ".crt", ec + ".crt")) {
      for (X509Certificate c : Pem.certificates(Files.readAllBytes(Path.of(crt)))) {
        trusted.setCertificateEntry("client-" + i++, c);
      }
    }
    mtls = httpsServer(serverContext(tmp.resolve("server.p12"), trusted), true);
    mtlsReady = true;
    return true;
  }

  private static byte[] clientFile(String name) throws IOException {
    return Files.readAllBytes(tmp.resolve("clients").resolve(name));
  }

  @Test
  void clientCertificatesInEveryKeyFormat() throws Exception {
    assumeTrue(mtlsReady(), "openssl is needed to make client keys");
    for (String kind : CLIENT_KINDS) {
      String family = kind.substring(0, kind.indexOf('-'));
      byte[] cert = clientFile(family + ".crt");
      byte[] key = clientFile(kind + ".key");
      Result r =
          RegistryProbe.probe(
              url("https", mtls.getAddress().getPort(), "/bearer"),
              false,
              List.of(serverPem),
              cert,
              key,
              false,
              TIMEOUT);
      assertEquals(Scheme.BEARER, r.scheme(), kind + ": " + r);
    }
  }

  @Test
  void clientCertificateIsRequiredByTheMtlsServer() throws Exception {
    assumeTrue(mtlsReady(), "openssl is needed to make client keys");
    Result r =
        RegistryProbe.probe(
            url("https", mtls.getAddress().getPort(), "/bearer"),
            false,
            List.of(serverPem),
            null,
            null,
            false,
            TIMEOUT);
    assertEquals(
        Scheme.UNREACHABLE, r.scheme(), "control: without a client certificate the server refuses");
  }

  @Test
  void badClientKeysFailWithoutQuotingTheKey() throws Exception {
    assumeTrue(mtlsReady(), "openssl is needed to make client keys");
    byte[] cert = clientFile("rsa.crt");
    String ecKey = Files.readString(tmp.resolve("clients").resolve("ec-pkcs8.key"));
    String body = ecKey.replaceAll("-----[A-Z ]+-----", "").strip();

    Result mismatched =
        RegistryProbe.probe(
            url("https", mtls.getAddress().getPort(), "/bearer"),
            false,
            List.of(serverPem),
            cert,
            ecKey.getBytes(StandardCharsets.US_ASCII),
            false,
            TIMEOUT);
    assertEquals(Scheme.UNREACHABLE, mismatched.scheme());
    assertEquals(
        "tls setup failed: the client key does not belong to the client certificate",
        mismatched.error());
    assertFalse(mismatched.toString().contains(body.substring(0, 20)), mismatched.toString());

    String encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
            + body
            + "\n-----END ENCRYPTED PRIVATE KEY-----\n";
    Result enc =
        RegistryProbe.probe(
            url("https", mtls.getAddress().getPort(), "/bearer"),
            false,
            List.of(serverPem),
            cert,
            encrypted.getBytes(StandardCharsets.US_ASCII),
            false,
            TIMEOUT);
    assertEquals(Scheme.UNREACHABLE, enc.scheme());
    assertTrue(enc.error().contains("the key is encrypted"), enc.error());
    assertFalse(enc.toString().contains(body.substring(0, 20)));

    String garbage =
        "-----BEGIN PRIVATE KEY-----\n" + body.substring(0, 40) + "\n-----END PRIVATE KEY-----\n";
    Result bad =
        RegistryProbe.probe(
            url("https", mtls.getAddress().getPort(), "/bearer"),
            false,
            List.of(serverPem),
            cert,
            garbage.getBytes(StandardCharsets.US_ASCII),
            false,
            TIMEOUT);
    assertEquals(Scheme.UNREACHABLE, bad.scheme());
    assertTrue(bad.error().startsWith("tls setup failed"), bad.error());
    assertFalse(bad.toString().contains(body.substring(0, 20)));

    Result half =
        RegistryProbe.probe(
            url("https", mtls.getAddress().getPort(), "/bearer"),
            false,
            List.of(serverPem),
            cert,
            null,
            false,
            TIMEOUT);
    assertEquals(
        "tls setup failed: client certificate and key must be given together", half.error());
  }

  @Test
  void sec1KeyCurveIsFound() throws Exception {
    assumeTrue(mtlsReady(), "openssl is needed to make client keys");
    var sec1 = (ECPrivateKey) Pem.privateKey(clientFile("ec-sec1.key"), null);
    var pkcs8 = (ECPrivateKey) Pem.privateKey(clientFile("ec-pkcs8.key"), null);
    assertEquals(
        pkcs8.getS(), sec1.getS(), "SEC1 and PKCS#8 forms of one key read as the same key");
    assertEquals(pkcs8.getParams().getCurve(), sec1.getParams().getCurve());
    var rsa1 = (RSAPrivateKey) Pem.privateKey(clientFile("rsa-pkcs1.key"), null);
    var rsa8 = (RSAPrivateKey) Pem.privateKey(clientFile("rsa-pkcs8.key"), null);
    assertEquals(rsa8.getModulus(), rsa1.getModulus());
    assertEquals(rsa8.getPrivateExponent(), rsa1.getPrivateExponent());
  }
}
