package dev.registrypolicy.agent;

import dev.registrypolicy.common.AuthChallenge;
import dev.registrypolicy.common.EitherTrust;
import dev.registrypolicy.common.TrustAll;
import java.io.IOException;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Finds out how a registry endpoint authenticates, without sending any credentials.
 *
 * <p>Why: containerd 1.x does not send hosts.toml headers on token requests, so an {@code
 * Authorization} header only works there against registries that take Basic auth directly on {@code
 * /v2/}; against a Bearer (token) registry it fails with 401. Knowing the scheme lets the agent
 * warn before a pull fails.
 *
 * <p>The probe is {@code GET <base>/v2/} (or {@code GET <base>/} when {@code override_path} is set,
 * because the URL then already holds the API root), like containerd builds it. TLS trusts the JVM's
 * default trust store plus the given CA certificates, optionally presents a client certificate, and
 * can skip verification for this probe only. Redirects are not followed. No proxy is used.
 */
public final class RegistryProbe {

  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
  private static final int MAX_ERROR = 160;

  private RegistryProbe() {}

  /**
   * The outcome of a probe.
   *
   * @param scheme what the endpoint asked for; {@code NONE} also covers answers that are neither
   *     2xx nor a recognised 401 challenge (then {@code error} says why)
   * @param status HTTP status, 0 when unreachable
   * @param realm for {@code BEARER}, the token endpoint URL without query (and without user info);
   *     for {@code BASIC}, the realm text; else null
   * @param error short human-readable problem, null on a clean answer; never holds credentials
   */
  public record Result(Scheme scheme, int status, String realm, String error) {

    /** How the endpoint authenticates. */
    public enum Scheme {
      NONE,
      BASIC,
      BEARER,
      UNREACHABLE
    }

    public Result {
      Objects.requireNonNull(scheme, "scheme");
    }

    /** Whether the endpoint answered at all. */
    public boolean reachable() {
      return scheme != Scheme.UNREACHABLE;
    }

    /**
     * Whether the registry uses token auth, where 1.x ignores hosts.toml headers on the token
     * request.
     */
    public boolean tokenAuth() {
      return scheme == Scheme.BEARER;
    }

    static Result unreachable(String error) {
      return new Result(Scheme.UNREACHABLE, 0, null, error);
    }
  }

  /**
   * Probes one endpoint.
   *
   * @param baseUrl host URL as written in hosts.toml ({@code https://host[:port][/path]}); user
   *     info, query and fragment are dropped
   * @param overridePath true when the URL already contains the API root
   * @param caPems extra trusted CA certificates, PEM (several certificates per entry allowed); may
   *     be null
   * @param clientCertPem client certificate chain, PEM; null for none
   * @param clientKeyPem client private key, PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), unencrypted
   *     (read by {@link Pem}; it must belong to the certificate)
   * @param skipVerify trust any server certificate and host name (this probe only)
   * @param timeout connect and request timeout; null means 5 s
   */
  public static Result probe(
      URI baseUrl,
      boolean overridePath,
      List<byte[]> caPems,
      byte[] clientCertPem,
      byte[] clientKeyPem,
      boolean skipVerify,
      Duration timeout) {
    Duration t =
        timeout == null || timeout.isZero() || timeout.isNegative() ? DEFAULT_TIMEOUT : timeout;
    URI target;
    try {
      target = target(baseUrl, overridePath);
    } catch (IllegalArgumentException e) {
      return Result.unreachable(e.getMessage());
    }
    // The JDK's HttpURLConnection rather than java.net.http: one GET and its headers is all a
    // probe needs, and java.net.http's HTTP/2 and selector machinery cost the agent about 11 MiB
    // of RSS (measured with the agent bench, 50 hosts), a sixth of its budget.
    SSLContext tls = null;
    if ("https".equals(target.getScheme())) {
      try {
        tls = sslContext(caPems, clientCertPem, clientKeyPem, skipVerify);
      } catch (Pem.BadPem | IllegalArgumentException e) {
        return Result.unreachable("tls setup failed: " + e.getMessage());
      } catch (GeneralSecurityException e) {
        return Result.unreachable("tls setup failed: " + safeMessage(e));
      }
    }
    Result r;
    HttpURLConnection c = null;
    try {
      // No proxy, as containerd on loopback-only test nodes and the previous client had none.
      c = (HttpURLConnection) target.toURL().openConnection(Proxy.NO_PROXY);
      if (c instanceof HttpsURLConnection https) {
        https.setSSLSocketFactory(tls.getSocketFactory());
        if (skipVerify) {
          https.setHostnameVerifier((host, session) -> true);
        }
      }
      int ms = (int) Math.min(Integer.MAX_VALUE, t.toMillis());
      c.setConnectTimeout(ms);
      c.setReadTimeout(ms);
      c.setInstanceFollowRedirects(false);
      c.setUseCaches(false);
      c.setRequestProperty("User-Agent", "registry-policy-agent/probe");
      c.setRequestProperty("Connection", "close");
      int status = c.getResponseCode();
      List<String> challenges = new ArrayList<>();
      for (Map.Entry<String, List<String>> h : c.getHeaderFields().entrySet()) {
        if (h.getKey() != null && h.getKey().equalsIgnoreCase("WWW-Authenticate")) {
          challenges.addAll(h.getValue());
        }
      }
      r = classify(status, challenges);
    } catch (IOException e) {
      r = Result.unreachable(describe(e, t));
    } catch (RuntimeException e) {
      r = Result.unreachable("probe failed: " + safeMessage(e));
    } finally {
      if (c != null) {
        c.disconnect();
      }
    }
    Log.debug(
        "probed registry",
        "scheme",
        target.getScheme(),
        "host",
        target.getHost(),
        "port",
        target.getPort(),
        "auth",
        r.scheme(),
        "status",
        r.status());
    return r;
  }

  /** The URL containerd would hit first: base + /v2/ (or base + / with override_path). */
  static URI target(URI base, boolean overridePath) {
    if (base == null) {
      throw new IllegalArgumentException("no url given");
    }
    String scheme = base.getScheme() == null ? null : base.getScheme().toLowerCase(Locale.ROOT);
    if (!"https".equals(scheme) && !"http".equals(scheme)) {
      throw new IllegalArgumentException("url scheme must be http or https");
    }
    if (base.getHost() == null) {
      throw new IllegalArgumentException("url has no host");
    }
    String path = base.getPath() == null ? "" : base.getPath();
    if (overridePath) {
      if (!path.endsWith("/")) {
        path = path + "/";
      }
    } else {
      while (path.endsWith("/")) {
        path = path.substring(0, path.length() - 1);
      }
      path = path.endsWith("/v2") ? path + "/" : path + "/v2/";
    }
    try {
      return new URI(scheme, null, base.getHost(), base.getPort(), path, null, null);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("invalid url");
    }
  }

  /** Maps a status and WWW-Authenticate values to a result. */
  static Result classify(int status, List<String> wwwAuthenticate) {
    if (status >= 200 && status < 300) {
      return new Result(Result.Scheme.NONE, status, null, null);
    }
    if (status == 401) {
      AuthChallenge basic = null;
      for (AuthChallenge c : AuthChallenge.parse(wwwAuthenticate)) {
        if ("bearer".equals(c.scheme())) {
          String realm = c.params().get("realm");
          return new Result(
              Result.Scheme.BEARER,
              status,
              realm == null ? null : stripQuery(realm),
              realm == null ? "bearer challenge without realm" : null);
        }
        if ("basic".equals(c.scheme()) && basic == null) {
          basic = c;
        }
      }
      if (basic != null) {
        return new Result(Result.Scheme.BASIC, status, basic.params().get("realm"), null);
      }
      return new Result(
          Result.Scheme.NONE, status, null, "401 without a basic or bearer challenge");
    }
    return new Result(Result.Scheme.NONE, status, null, "unexpected status " + status);
  }

  /** The realm URL without query, fragment or user info. */
  static String stripQuery(String realm) {
    String r = realm.strip();
    int cut = r.length();
    for (char c : new char[] {'?', '#'}) {
      int i = r.indexOf(c);
      if (i >= 0 && i < cut) {
        cut = i;
      }
    }
    r = r.substring(0, cut);
    try {
      URI u = new URI(r);
      if (u.getRawUserInfo() != null && u.getHost() != null) {
        return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null)
            .toString();
      }
    } catch (URISyntaxException e) {
      // not a URL: return the text as it is
    }
    return r;
  }

  private static String describe(IOException e, Duration timeout) {
    if (e instanceof SocketTimeoutException) {
      String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
      return m.contains("connect")
          ? "connect timed out after " + timeout.toMillis() + " ms"
          : "no answer within " + timeout.toMillis() + " ms";
    }
    Throwable root = e;
    for (Throwable c = e; c != null; c = c.getCause()) {
      root = c;
      if (c instanceof UnknownHostException || c instanceof UnresolvedAddressException) {
        return "unknown host";
      }
      if (c instanceof CertificateException) {
        String m = String.valueOf(c.getMessage());
        if (m.contains("PKIX") || m.contains("unable to find valid certification path")) {
          return "tls: server certificate is not trusted (add its ca)";
        }
        if (m.contains("No subject alternative") || m.contains("No name matching")) {
          return "tls: server certificate does not match the host name";
        }
        return "tls: " + safeMessage(c);
      }
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof ConnectException) {
        String m = c.getMessage();
        return m == null || m.isBlank() || m.toLowerCase(Locale.ROOT).contains("refused")
            ? "connection refused"
            : "connect failed: " + safeMessage(c);
      }
    }
    if (e instanceof SSLHandshakeException || e instanceof SSLException) {
      return "tls handshake failed: " + safeMessage(root);
    }
    return safeMessage(root);
  }

  /**
   * A short message for logs and status: the first line of the message, truncated; never a class
   * name.
   */
  static String safeMessage(Throwable t) {
    String m = t.getMessage();
    String s =
        m == null || m.isBlank() ? "no detail given" : m.lines().findFirst().orElse("").strip();
    return s.length() > MAX_ERROR ? s.substring(0, MAX_ERROR) + "…" : s;
  }

  // ==============================================================================================
  // TLS

  static SSLContext sslContext(
      List<byte[]> caPems, byte[] clientCertPem, byte[] clientKeyPem, boolean skipVerify)
      throws GeneralSecurityException {
    X509ExtendedTrustManager tm = skipVerify ? new TrustAll() : trustManager(caPems);
    KeyManager[] kms = null;
    if (clientCertPem != null || clientKeyPem != null) {
      if (clientCertPem == null || clientKeyPem == null) {
        throw new IllegalArgumentException("client certificate and key must be given together");
      }
      kms = keyManagers(clientCertPem, clientKeyPem);
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kms, new TrustManager[] {tm}, new SecureRandom());
    return ctx;
  }

  /** The default trust store, plus the given CAs when there are any. */
  static X509ExtendedTrustManager trustManager(List<byte[]> caPems)
      throws GeneralSecurityException {
    X509ExtendedTrustManager system = x509(null);
    List<X509Certificate> extra = new ArrayList<>();
    if (caPems != null) {
      for (byte[] pem : caPems) {
        if (pem != null) {
          try {
            extra.addAll(Pem.certificates(pem));
          } catch (Pem.BadPem e) {
            throw new Pem.BadPem("ca: " + e.getMessage());
          }
        }
      }
    }
    if (extra.isEmpty()) {
      return system;
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException("cannot create key store", e);
    }
    for (int i = 0; i < extra.size(); i++) {
      ks.setCertificateEntry("ca-" + i, extra.get(i));
    }
    return new EitherTrust(system, x509(ks));
  }

  private static X509ExtendedTrustManager x509(KeyStore ks) throws GeneralSecurityException {
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x509) {
        return x509;
      }
    }
    throw new GeneralSecurityException("no X509 trust manager available");
  }

  static KeyManager[] keyManagers(byte[] certPem, byte[] keyPem) throws GeneralSecurityException {
    List<X509Certificate> chain;
    PrivateKey key;
    try {
      chain = Pem.certificates(certPem);
    } catch (Pem.BadPem e) {
      throw new Pem.BadPem("client certificate: " + e.getMessage());
    }
    try {
      key = Pem.privateKey(keyPem, chain.get(0).getPublicKey().getAlgorithm());
    } catch (Pem.BadPem e) {
      throw new Pem.BadPem("client key: " + e.getMessage());
    }
    if (!Pem.matches(chain.get(0).getPublicKey(), key)) {
      throw new Pem.BadPem("the client key does not belong to the client certificate");
    }
    char[] password = new char[16];
    SecureRandom rnd = new SecureRandom();
    for (int i = 0; i < password.length; i++) {
      password[i] = (char) ('a' + rnd.nextInt(26));
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException("cannot create key store", e);
    }
    ks.setKeyEntry("client", key, password, chain.toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    return kmf.getKeyManagers();
  }
}
