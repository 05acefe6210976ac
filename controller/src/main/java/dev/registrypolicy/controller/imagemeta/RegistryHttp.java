package dev.registrypolicy.controller.imagemeta;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.common.AuthChallenge;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;

/**
 * GETs against the registry HTTP API v2 with the auth flows containerd uses (docker's token
 * authentication spec): a request without credentials, or with what worked for the endpoint before;
 * on a 401, the {@code WWW-Authenticate} challenge decides: {@code Bearer} → a token from the realm
 * ({@code GET realm?service=…&scope=repository:<name>:pull}, with the policy's Basic credentials
 * when it has them), cached until it expires; {@code Basic} → the policy's credentials. What an
 * endpoint asked for is remembered, so later requests send it at once and a cold fetch costs no
 * extra 401 round trip once the endpoint is known.
 *
 * <p>Redirects (301, 302, 303, 307, 308) are followed by hand, at most {@code maxRedirects}, never
 * from https to http, and the {@code Authorization} header goes only to the origin (scheme, host,
 * port) it was meant for: a redirect to another origin (blob storage) gets none. Bodies are read
 * with {@link BoundedBody}. Each request is bounded by {@link HttpRequest#timeout} (until the
 * headers) and by waiting on the response future at most until the request's own deadline, after
 * which the body is cancelled: a registry that answers slowly, byte by byte, is dropped at the same
 * time as one that never answers.
 */
final class RegistryHttp {
  /** An answer: status, headers, body (bounded, never shared or changed), and its URL. */
  @SuppressWarnings("ArrayRecordComponent") // an internal value, read once
  record Response(int status, HttpHeaders headers, byte[] body, URI uri) {}

  /** Which requests are counted apart. */
  enum What {
    MANIFEST,
    BLOB,
    TOKEN
  }

  private final MetadataSettings settings;
  private final TokenCache tokens;
  private final ImageMetadataMetrics metrics;

  /** Most API roots whose challenge is remembered; past it the memory starts afresh. */
  static final int MAX_KNOWN = 1_000;

  /** What each API root asked for last (a Basic or Bearer challenge). */
  private final Map<String, AuthChallenge> known = new ConcurrentHashMap<>();

  RegistryHttp(MetadataSettings settings, TokenCache tokens, ImageMetadataMetrics metrics) {
    this.settings = settings;
    this.tokens = tokens;
    this.metrics = metrics;
  }

  /**
   * GET {@code uri} on {@code route} for {@code repository}, through the auth flow.
   *
   * @param deadline the fetch's own end; no request outlives it
   */
  Response get(
      Route route,
      Access access,
      URI uri,
      String accept,
      int limit,
      String repository,
      What what,
      Instant deadline)
      throws FetchFailure {
    String rootKey = route.apiRoot().toString();
    String scope = "repository:" + repository + ":pull";
    String auth = preemptive(access, known.get(rootKey), scope);
    Response r = send(access.client(), uri, accept, auth, limit, what, deadline);
    if (r.status() != 401) {
      return r;
    }
    List<AuthChallenge> challenges = AuthChallenge.parse(r.headers().allValues("WWW-Authenticate"));
    AuthChallenge bearer = first(challenges, "bearer");
    AuthChallenge basic = first(challenges, "basic");
    String retry = null;
    if (known.size() >= MAX_KNOWN) {
      known.clear(); // the catch-all reaches any host: bounded, at the cost of one 401 each
    }
    if (bearer != null && bearer.param("realm") != null) {
      known.put(rootKey, bearer);
      // a cached token the registry refused (expired, revoked) is replaced, not sent again
      boolean refused =
          auth != null && auth.startsWith("Bearer ") && !auth.equals(access.authorization());
      retry = "Bearer " + token(access, bearer, scope, deadline, !refused);
    } else if (basic != null
        && access.authorization() != null
        && access.authorization().startsWith("Basic ")) {
      known.put(rootKey, basic);
      retry = access.authorization();
    }
    if (retry == null || retry.equals(auth)) {
      throw new FetchFailure(
          Kind.UNAUTHORIZED,
          "HTTP 401: "
              + (access.authorization() == null
                  ? "the registry wants credentials and the policy gives this endpoint none"
                  : "the registry refused the policy's credentials"));
    }
    r = send(access.client(), uri, accept, retry, limit, what, deadline);
    if (r.status() == 401) {
      throw new FetchFailure(
          Kind.UNAUTHORIZED,
          "HTTP 401 with "
              + (retry.startsWith("Bearer ")
                  ? "a token from the registry's token service"
                  : "the policy's credentials"));
    }
    return r;
  }

  /** What to send before any challenge: a cached token, known Basic, or a registry token. */
  private String preemptive(Access access, AuthChallenge known, String scope) {
    String a = access.authorization();
    if (a != null && a.startsWith("Bearer ")) {
      return a; // a dockerconfigjson registrytoken: sent as it is, as containerd does
    }
    if (known == null) {
      return null;
    }
    if ("bearer".equals(known.scheme())) {
      String t = tokens.get(tokenKey(access, known, scope));
      return t == null ? null : "Bearer " + t;
    }
    return "basic".equals(known.scheme()) ? a : null;
  }

  private static String tokenKey(Access access, AuthChallenge c, String scope) {
    return TokenCache.key(
        c.param("realm"),
        String.valueOf(c.param("service")),
        scope,
        String.valueOf(access.credentialId()));
  }

  private static AuthChallenge first(List<AuthChallenge> cs, String scheme) {
    for (AuthChallenge c : cs) {
      if (c.scheme().equals(scheme)) {
        return c;
      }
    }
    return null;
  }

  /** A token for {@code scope} from the realm of {@code challenge}; cached. */
  private String token(
      Access access, AuthChallenge challenge, String scope, Instant deadline, boolean useCache)
      throws FetchFailure {
    String key = tokenKey(access, challenge, scope);
    if (useCache) {
      String cached = tokens.get(key);
      if (cached != null) {
        return cached;
      }
    }
    String realm = challenge.param("realm");
    URI realmUri;
    try {
      realmUri = URI.create(realm);
    } catch (IllegalArgumentException e) {
      throw new FetchFailure(
          Kind.ERROR, "the token realm in the registry's challenge is not a URL");
    }
    String scheme =
        realmUri.getScheme() == null ? "" : realmUri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("https") || scheme.equals("http"))
        || realmUri.getHost() == null
        || realmUri.getRawUserInfo() != null) {
      throw new FetchFailure(
          Kind.ERROR, "the token realm in the registry's challenge is not an http(s) URL");
    }
    String basic =
        access.authorization() != null && access.authorization().startsWith("Basic ")
            ? access.authorization()
            : null;
    if (basic != null && scheme.equals("http") && !isLoopback(realmUri.getHost())) {
      // Credentials never go over plain http to another machine.
      throw new FetchFailure(
          Kind.ERROR,
          "the token realm "
              + realmUri.getHost()
              + " is plain http: the policy's credentials are not sent there");
    }
    StringBuilder q = new StringBuilder();
    if (challenge.param("service") != null) {
      q.append("service=")
          .append(URLEncoder.encode(challenge.param("service"), StandardCharsets.UTF_8));
    }
    q.append(q.length() == 0 ? "" : "&")
        .append("scope=")
        .append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
    String base = realmUri.toString();
    URI uri = URI.create(base + (realmUri.getRawQuery() == null ? "?" : "&") + q);
    Response r =
        send(
            access.client(),
            uri,
            "application/json",
            basic,
            settings.maxTokenBytes(),
            What.TOKEN,
            deadline);
    if (r.status() == 401 || r.status() == 403) {
      throw new FetchFailure(
          Kind.UNAUTHORIZED,
          "the token service "
              + hostOf(uri)
              + " answered HTTP "
              + r.status()
              + (basic == null
                  ? " (the policy gives this endpoint no credentials)"
                  : " to the policy's credentials"));
    }
    if (r.status() != 200) {
      throw new FetchFailure(
          Kind.ERROR, "the token service " + hostOf(uri) + " answered HTTP " + r.status());
    }
    String token;
    long expiresIn = 60; // the token spec's default when expires_in is absent
    try {
      JsonElement root = JsonParser.parseString(new String(r.body(), StandardCharsets.UTF_8));
      JsonObject o = root.getAsJsonObject();
      JsonElement t = o.has("token") ? o.get("token") : o.get("access_token");
      token = t == null || !t.isJsonPrimitive() ? null : t.getAsString();
      JsonElement e = o.get("expires_in");
      if (e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
        expiresIn = Math.max(0, Math.min(e.getAsLong(), 24 * 3600));
      }
    } catch (RuntimeException e) {
      throw new FetchFailure(
          Kind.ERROR,
          "the token service " + hostOf(uri) + " answered something that is not a token response");
    }
    if (token == null || token.isEmpty() || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new FetchFailure(
          Kind.ERROR, "the token service " + hostOf(uri) + " answered no usable token");
    }
    tokens.put(key, token, expiresIn);
    return token;
  }

  /** One GET with redirects followed by hand. */
  Response send(
      HttpClient client,
      URI uri,
      String accept,
      String authorization,
      int limit,
      What what,
      Instant deadline)
      throws FetchFailure {
    URI current = uri;
    String auth = authorization;
    for (int hop = 0; ; hop++) {
      Response r = exchange(client, current, accept, auth, limit, what, deadline);
      int s = r.status();
      if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) {
        return r;
      }
      if (hop >= settings.maxRedirects()) {
        throw new FetchFailure(Kind.ERROR, "more than " + settings.maxRedirects() + " redirects");
      }
      String location = r.headers().firstValue("Location").orElse(null);
      if (location == null) {
        throw new FetchFailure(Kind.ERROR, "HTTP " + s + " without a Location");
      }
      URI next;
      try {
        next = current.resolve(location.strip());
      } catch (IllegalArgumentException e) {
        throw new FetchFailure(Kind.ERROR, "a redirect to something that is not a URL");
      }
      String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("https") || scheme.equals("http")) || next.getHost() == null) {
        throw new FetchFailure(Kind.ERROR, "a redirect to something that is not an http(s) URL");
      }
      if ("https".equalsIgnoreCase(current.getScheme()) && scheme.equals("http")) {
        throw new FetchFailure(
            Kind.ERROR, "a redirect from https to plain http (" + hostOf(next) + ")");
      }
      if (!sameOrigin(current, next)) {
        auth = null; // credentials and tokens stay with the origin they were given for
      }
      current = next;
    }
  }

  private Response exchange(
      HttpClient client,
      URI uri,
      String accept,
      String authorization,
      int limit,
      What what,
      Instant deadline)
      throws FetchFailure {
    Duration left = Duration.between(Instant.now(), deadline);
    Duration timeout =
        left.compareTo(settings.requestTimeout()) < 0 ? left : settings.requestTimeout();
    if (timeout.isNegative() || timeout.isZero()) {
      throw new FetchFailure(
          Kind.TIMEOUT, "the fetch's time (" + settings.fetchTimeout().toMillis() + " ms) ran out");
    }
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", accept).GET();
    b.header("User-Agent", "registry-policy-controller/imagemeta");
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    metrics.request(what);
    AtomicReference<BoundedBody> body = new AtomicReference<>();
    CompletableFuture<HttpResponse<byte[]>> f;
    try {
      f = client.sendAsync(b.build(), BoundedBody.handler(limit(limit), body::set));
    } catch (IllegalArgumentException e) {
      throw new FetchFailure(Kind.ERROR, "cannot send a request to " + hostOf(uri));
    }
    try {
      HttpResponse<byte[]> r = f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      int status = r.statusCode();
      byte[] bytes = r.body();
      if (status != 200 && bytes.length > MetadataSettings.MAX_ERROR_BYTES) {
        bytes = java.util.Arrays.copyOf(bytes, MetadataSettings.MAX_ERROR_BYTES);
      }
      return new Response(status, r.headers(), bytes, uri);
    } catch (TimeoutException e) {
      BoundedBody bb = body.get();
      if (bb != null) {
        bb.cancel();
      }
      f.cancel(true);
      throw new FetchFailure(
          Kind.TIMEOUT, "no complete answer within " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      f.cancel(true);
      throw new FetchFailure(Kind.TIMEOUT, "interrupted while waiting for the registry");
    } catch (ExecutionException | CancellationException e) {
      throw describe(e.getCause() == null ? e : e.getCause(), timeout);
    }
  }

  /** Error bodies are read too, but never more than the error limit... or the caller's limit. */
  private static int limit(int limit) {
    return Math.max(limit, MetadataSettings.MAX_ERROR_BYTES);
  }

  static FetchFailure describe(Throwable t, Duration timeout) {
    if (t instanceof BoundedBody.TooLargeException) {
      return new FetchFailure(Kind.ERROR, "the response is " + t.getMessage() + " bytes");
    }
    if (t instanceof HttpConnectTimeoutException) {
      return new FetchFailure(Kind.TIMEOUT, "connect timed out");
    }
    if (t instanceof HttpTimeoutException) {
      return new FetchFailure(Kind.TIMEOUT, "no answer within " + timeout.toMillis() + " ms");
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof UnknownHostException) {
        return new FetchFailure(Kind.ERROR, "unknown host");
      }
      if (c instanceof CertificateException) {
        String m = String.valueOf(c.getMessage());
        if (m.contains("PKIX") || m.contains("certification path")) {
          return new FetchFailure(
              Kind.ERROR,
              "TLS: the server certificate is not trusted (add its CA to the endpoint's ca)");
        }
        if (m.contains("subject alternative") || m.contains("No name matching")) {
          return new FetchFailure(
              Kind.ERROR, "TLS: the server certificate does not name this host");
        }
        return new FetchFailure(Kind.ERROR, "TLS: the server certificate was refused");
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException) {
        return new FetchFailure(Kind.ERROR, "connection refused or unreachable");
      }
      if (c instanceof SSLException) {
        return new FetchFailure(Kind.ERROR, "TLS handshake failed (" + firstLine(c) + ")");
      }
    }
    if (t instanceof IOException && String.valueOf(t.getMessage()).contains("received no bytes")) {
      // TLS 1.3 servers refuse a missing client certificate after the handshake: the client sees
      // the connection closed before any answer.
      return new FetchFailure(
          Kind.ERROR,
          "the server closed the connection without answering (as one that requires a client"
              + " certificate does; check the endpoint's clientCert)");
    }
    if (t instanceof IOException) {
      return new FetchFailure(Kind.ERROR, "connection failed (" + firstLine(t) + ")");
    }
    return new FetchFailure(Kind.ERROR, "request failed (" + firstLine(t) + ")");
  }

  private static String firstLine(Throwable t) {
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      return t.getClass()
          .getSimpleName()
          .replaceAll("([a-z])([A-Z])", "$1 $2")
          .toLowerCase(Locale.ROOT);
    }
    String s = m.lines().findFirst().orElse("").strip();
    return s.length() > 160 ? s.substring(0, 160) + "…" : s;
  }

  static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    if (u.getPort() >= 0) {
      return u.getPort();
    }
    return "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  static String hostOf(URI u) {
    return u.getPort() < 0 ? u.getHost() : u.getHost() + ":" + u.getPort();
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost")
        || host.startsWith("127.")
        || host.equals("[::1]")
        || host.equals("::1");
  }
}
