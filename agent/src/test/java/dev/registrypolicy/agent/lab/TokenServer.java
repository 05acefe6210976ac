package dev.registrypolicy.agent.lab;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A Docker-registry token server for the lab (the {@code auth.token.realm} of a registry run by
 * {@link RegistryLab}). HTTPS with the lab's server certificate, because containerd fetches the
 * realm with the TLS settings of the mirror host.
 *
 * <ul>
 *   <li>{@code GET /token?service=…&scope=…} needs {@code Authorization: Basic} of the lab user,
 *       otherwise 401;
 *   <li>{@code POST /token} takes the OAuth2 password grant form ({@code
 *       grant_type=password&username=…&password=…&service=…&scope=…});
 *   <li>answers {@code {"token": jwt, "access_token": jwt, "expires_in": …}}, where jwt is an RS256
 *       JWT whose header carries {@code x5c} = the self-signed signer certificate and whose claims
 *       are {@code iss}, {@code sub}, {@code aud} = service, {@code exp}/{@code nbf}/ {@code iat},
 *       {@code jti} and {@code access} built from the requested scopes.
 * </ul>
 *
 * Every request is recorded with the kind of Authorization header it carried ({@link #requests()}).
 */
public final class TokenServer implements AutoCloseable {

  /** One request the token server answered. */
  public record Request(
      String method,
      String authKind,
      String user,
      String service,
      List<String> scopes,
      int status) {}

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

  private final HttpsServer server;
  private final ExecutorService executor;
  private final String service;
  private final String issuer;
  private final String user;
  private final String password;
  private final PrivateKey signerKey;
  private final String x5c;
  private final List<Request> requests = new CopyOnWriteArrayList<>();

  private TokenServer(
      HttpsServer server,
      ExecutorService executor,
      String service,
      String issuer,
      String user,
      String password,
      PrivateKey signerKey,
      byte[] signerCertDer) {
    this.server = server;
    this.executor = executor;
    this.service = service;
    this.issuer = issuer;
    this.user = user;
    this.password = password;
    this.signerKey = signerKey;
    this.x5c = Base64.getEncoder().encodeToString(signerCertDer);
  }

  /**
   * Starts on 127.0.0.1:{@code port} ({@code 0} = any free port).
   *
   * @param service value the registry expects in {@code aud} ({@code auth.token.service})
   * @param issuer value the registry expects in {@code iss} ({@code auth.token.issuer})
   */
  public static TokenServer start(
      Pki pki, int port, String service, String issuer, String user, String password)
      throws IOException {
    Pki.Signer signer = pki.tokenSigner();
    PrivateKey key = Pki.readPrivateKey(signer.key());
    byte[] der = Pki.certificateDer(signer.certificate());
    HttpsServer server =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
    server.setHttpsConfigurator(new HttpsConfigurator(pki.serverSslContext()));
    ExecutorService executor =
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "lab-token-server");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    TokenServer ts = new TokenServer(server, executor, service, issuer, user, password, key, der);
    server.createContext("/token", ts::handle);
    server.start();
    return ts;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The realm URL to configure in the registry. */
  public String realm() {
    return "https://127.0.0.1:" + port() + "/token";
  }

  public String service() {
    return service;
  }

  public String issuer() {
    return issuer;
  }

  /** Requests seen so far, oldest first. */
  public List<Request> requests() {
    return Collections.unmodifiableList(new ArrayList<>(requests));
  }

  public void clearRequests() {
    requests.clear();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String authorization = ex.getRequestHeaders().getFirst("Authorization");
    String authKind = authorization == null ? "none" : authorization.strip().split("\\s+", 2)[0];
    Map<String, List<String>> params = new LinkedHashMap<>();
    parseForm(ex.getRequestURI().getRawQuery(), params);
    String who = null;
    boolean authenticated = false;
    try (InputStream body = ex.getRequestBody()) {
      byte[] bytes = body.readAllBytes();
      if ("POST".equals(method)) {
        parseForm(new String(bytes, StandardCharsets.UTF_8), params);
        String grant = first(params, "grant_type").orElse("");
        who = first(params, "username").orElse(null);
        authenticated =
            "password".equals(grant)
                && user.equals(who)
                && password.equals(first(params, "password").orElse(null));
      } else if ("GET".equals(method)) {
        Optional<String[]> basic = basicCredentials(authorization);
        if (basic.isPresent()) {
          who = basic.get()[0];
          authenticated = user.equals(who) && password.equals(basic.get()[1]);
        }
      } else {
        respond(
            ex, method, authKind, who, params, 405, "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}");
        return;
      }
    }
    if (!authenticated) {
      ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"registry-policy lab token\"");
      respond(ex, method, authKind, who, params, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
      return;
    }
    String requestedService = first(params, "service").orElse(service);
    List<String> scopes = scopes(params);
    long now = Instant.now().getEpochSecond();
    int lifetime = 300;
    String jwt;
    try {
      jwt = jwt(who, requestedService, scopes, now, lifetime);
    } catch (GeneralSecurityException e) {
      respond(ex, method, authKind, who, params, 500, "{\"errors\":[{\"code\":\"SIGNING\"}]}");
      return;
    }
    String body =
        "{\"token\":\""
            + jwt
            + "\",\"access_token\":\""
            + jwt
            + "\",\"expires_in\":"
            + lifetime
            + ",\"issued_at\":\""
            + Instant.ofEpochSecond(now)
            + "\"}";
    respond(ex, method, authKind, who, params, 200, body);
  }

  private void respond(
      HttpExchange ex,
      String method,
      String authKind,
      String who,
      Map<String, List<String>> params,
      int status,
      String json)
      throws IOException {
    requests.add(
        new Request(
            method, authKind, who, first(params, "service").orElse(null), scopes(params), status));
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private String jwt(String subject, String audience, List<String> scopes, long now, int lifetime)
      throws GeneralSecurityException {
    String header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5c\":[\"" + x5c + "\"]}";
    StringBuilder access = new StringBuilder("[");
    for (String scope : scopes) {
      // scope = type:name:actions, where name may itself contain ':' (host:port)
      int first = scope.indexOf(':');
      int last = scope.lastIndexOf(':');
      if (first < 0 || last <= first) {
        continue;
      }
      Set<String> actions = new LinkedHashSet<>(List.of(scope.substring(last + 1).split(",")));
      actions.removeIf(String::isEmpty);
      if (access.length() > 1) {
        access.append(',');
      }
      access
          .append("{\"type\":")
          .append(quote(scope.substring(0, first)))
          .append(",\"name\":")
          .append(quote(scope.substring(first + 1, last)))
          .append(",\"actions\":[");
      int i = 0;
      for (String a : actions) {
        access.append(i++ == 0 ? "" : ",").append(quote(a));
      }
      access.append("]}");
    }
    access.append(']');
    byte[] jti = new byte[12];
    RANDOM.nextBytes(jti);
    String claims =
        "{\"iss\":"
            + quote(issuer)
            + ",\"sub\":"
            + quote(subject)
            + ",\"aud\":"
            + quote(audience)
            + ",\"exp\":"
            + (now + lifetime)
            + ",\"nbf\":"
            + (now - 10)
            + ",\"iat\":"
            + now
            + ",\"jti\":"
            + quote(B64URL.encodeToString(jti))
            + ",\"access\":"
            + access
            + "}";
    String signingInput =
        B64URL.encodeToString(header.getBytes(StandardCharsets.UTF_8))
            + "."
            + B64URL.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    Signature rsa = Signature.getInstance("SHA256withRSA");
    rsa.initSign(signerKey);
    rsa.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    return signingInput + "." + B64URL.encodeToString(rsa.sign());
  }

  private static List<String> scopes(Map<String, List<String>> params) {
    List<String> out = new ArrayList<>();
    for (String s : params.getOrDefault("scope", List.of())) {
      for (String part : s.split(" ")) {
        if (!part.isBlank()) {
          out.add(part);
        }
      }
    }
    return out;
  }

  private static Optional<String[]> basicCredentials(String authorization) {
    if (authorization == null) {
      return Optional.empty();
    }
    String[] parts = authorization.strip().split("\\s+", 2);
    if (parts.length != 2 || !parts[0].equalsIgnoreCase("Basic")) {
      return Optional.empty();
    }
    try {
      String decoded = new String(Base64.getDecoder().decode(parts[1]), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return colon < 0
          ? Optional.empty()
          : Optional.of(new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)});
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static void parseForm(String raw, Map<String, List<String>> into) {
    if (raw == null || raw.isEmpty()) {
      return;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      into.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
    }
  }

  private static Optional<String> first(Map<String, List<String>> params, String key) {
    List<String> v = params.get(key);
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
  }

  static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
