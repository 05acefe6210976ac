package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.common.Redact;
import dev.registrypolicy.policy.LogLine;
import dev.registrypolicy.policy.NamespaceInfo;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.CharArrayReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The admission webhook: HTTPS only, {@code POST /validate} (the policy's verdict) and {@code POST
 * /mutate} (pull Secrets for new Pods), each taking and answering an {@code admission.k8s.io/v1}
 * AdmissionReview.
 *
 * <p>A body that is not a well-formed AdmissionReview, or larger than the limit, or too slow, gets
 * HTTP 400 with a short reason; a review the webhook cannot decide (no policy yet, unknown
 * namespace, an internal error) gets HTTP 503/500 with a {@code Status} body. Both make the API
 * server treat the call as failed, so the configuration's {@code failurePolicy} decides (k8s.io/
 * apiserver pkg/admission/plugin/webhook/{validating,mutating}/dispatcher.go: an error from the
 * call becomes {@code ErrCallingWebhook}, which failurePolicy Ignore admits; an AdmissionReview
 * with {@code allowed: false} is a refusal whatever the failurePolicy). The mutating path fails
 * open: any problem there answers allowed without a patch.
 *
 * <p>The serving certificate is replaced without a restart by {@link #reload}.
 */
public final class WebhookServer implements AutoCloseable {
  public static final String VALIDATE_PATH = "/validate";
  public static final String MUTATE_PATH = "/mutate";

  /**
   * The validating path for the image-content rules alone: where the webhook is registered when
   * ValidatingAdmissionPolicies enforce everything else (they cannot read image content).
   */
  public static final String VALIDATE_CONTENT_PATH = "/validate-image-content";

  private static final Logger LOG = Logger.getLogger(WebhookServer.class.getName());
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final com.google.gson.Gson GSON =
      new com.google.gson.GsonBuilder().disableHtmlEscaping().create();

  private final Javalin app;
  private final SslContextFactory.Server ssl;
  private final ServerLimits limits;
  private final PolicySource policies;
  private final NamespaceLookup namespaces;
  private final Evaluator evaluator;
  private final WebhookMetrics metrics;
  private volatile TlsMaterial tls;

  private WebhookServer(
      SslContextFactory.Server ssl,
      ServerLimits limits,
      PolicySource policies,
      NamespaceLookup namespaces,
      Evaluator evaluator,
      WebhookMetrics metrics,
      TlsMaterial tls,
      String host,
      int port) {
    this.ssl = ssl;
    this.metrics = metrics;
    this.limits = limits;
    this.policies = policies;
    this.namespaces = namespaces;
    this.evaluator = evaluator;
    this.tls = tls;
    this.app = Javalin.create(config -> configure(config, host, port));
  }

  /**
   * Starts serving on all interfaces at {@code settings.port()} with {@code tls}.
   *
   * @throws IOException when the port cannot be bound (the message names it)
   */
  public static WebhookServer start(
      WebhookSettings settings, NamespaceLookup namespaces, PolicySource policies, TlsMaterial tls)
      throws IOException {
    return start(settings, namespaces, policies, tls, WebhookMetrics.unregistered());
  }

  /**
   * {@link #start(WebhookSettings, NamespaceLookup, PolicySource, TlsMaterial)}, timed in {@code
   * metrics}.
   */
  public static WebhookServer start(
      WebhookSettings settings,
      NamespaceLookup namespaces,
      PolicySource policies,
      TlsMaterial tls,
      WebhookMetrics metrics)
      throws IOException {
    return start(
        "0.0.0.0",
        settings.port(),
        ServerLimits.DEFAULTS.withMetadataBudget(settings.metadataBudget()),
        namespaces,
        policies,
        Evaluator.MODEL,
        metrics,
        tls);
  }

  static WebhookServer start(
      String host,
      int port,
      ServerLimits limits,
      NamespaceLookup namespaces,
      PolicySource policies,
      Evaluator evaluator,
      WebhookMetrics metrics,
      TlsMaterial tls)
      throws IOException {
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
    setKeyStore(ssl, tls);
    WebhookServer s =
        new WebhookServer(ssl, limits, policies, namespaces, evaluator, metrics, tls, host, port);
    try {
      s.app.start();
    } catch (RuntimeException e) {
      s.app.stop();
      throw new IOException(
          "webhook server could not listen on " + host + ":" + port + ": " + rootMessage(e), e);
    }
    LOG.info(
        LogLine.format(
            "webhook serving",
            "port",
            s.port(),
            "certificate",
            tls.certificate().getSerialNumber()));
    return s;
  }

  /** The port it listens on (the bound one when started with port 0). */
  public int port() {
    return app.port();
  }

  /** The Jetty connectors' descriptions (one HTTPS connector, no plain HTTP one). */
  java.util.List<String> connectors() {
    return java.util.Arrays.stream(app.jettyServer().server().getConnectors())
        .map(c -> String.join(",", c.getProtocols()))
        .toList();
  }

  /** The serving material now in use. */
  public TlsMaterial tls() {
    return tls;
  }

  /**
   * Serves {@code next} from the next TLS handshake on; connections already open keep theirs.
   * Nothing happens when it is the same certificate.
   */
  public synchronized void reload(TlsMaterial next) throws GeneralSecurityException {
    if (next.certificate().equals(tls.certificate())) {
      return;
    }
    try {
      ssl.reload(f -> setKeyStore((SslContextFactory.Server) f, next));
    } catch (Exception e) {
      throw new GeneralSecurityException("serving certificate could not be loaded", e);
    }
    tls = next;
    LOG.info(
        LogLine.format(
            "webhook certificate reloaded",
            "certificate",
            next.certificate().getSerialNumber(),
            "notAfter",
            next.notAfter()));
  }

  @Override
  public void close() {
    app.stop();
  }

  private static void setKeyStore(SslContextFactory.Server f, TlsMaterial tls) {
    // A fresh random password per load: the key store never leaves memory.
    char[] password = new char[24];
    for (int i = 0; i < password.length; i++) {
      password[i] = (char) ('a' + RANDOM.nextInt(26));
    }
    try {
      f.setKeyStore(tls.keyStore(password));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("serving key could not be put in a key store", e);
    }
    f.setKeyStorePassword(new String(password));
    f.setKeyManagerPassword(new String(password));
    Arrays.fill(password, '\0');
  }

  private void configure(io.javalin.config.JavalinConfig config, String host, int port) {
    config.startup.showJavalinBanner = false;
    config.startup.showOldJavalinVersionWarning = false;
    config.http.maxRequestSize = limits.maxBodyBytes();
    // Per-request work the webhook has no use for, measured as a share of its CPU under load
    // (controller/README.md "Webhook load"): reviews and their answers are a few KiB on a
    // connection the API server keeps open, so compressing them costs more than it saves (and the
    // API server does not ask for it).
    config.http.compressionStrategy = io.javalin.compression.CompressionStrategy.NONE;
    config.http.generateEtags = false;
    QueuedThreadPool pool =
        new QueuedThreadPool(limits.maxThreads(), Math.min(4, limits.maxThreads()));
    pool.setName("webhook");
    config.jetty.threadPool = pool;
    config.jetty.addConnector(
        (server, httpConfig) -> {
          HttpConfiguration https = new HttpConfiguration(httpConfig);
          https.setSendServerVersion(false);
          https.setSendXPoweredBy(false);
          https.addCustomizer(new SecureRequestCustomizer());
          ServerConnector c =
              new ServerConnector(
                  server,
                  new SslConnectionFactory(ssl, "http/1.1"),
                  new HttpConnectionFactory(https));
          c.setHost(host);
          c.setPort(port);
          c.setIdleTimeout(limits.idleTimeout().toMillis());
          return c;
        });
    config.routes.post(VALIDATE_PATH, ctx -> timed(VALIDATE_PATH, () -> validate(ctx, false)));
    config.routes.post(
        VALIDATE_CONTENT_PATH, ctx -> timed(VALIDATE_CONTENT_PATH, () -> validate(ctx, true)));
    config.routes.post(MUTATE_PATH, ctx -> timed(MUTATE_PATH, () -> mutate(ctx)));
  }

  private void timed(String path, Runnable review) {
    long t0 = System.nanoTime();
    try {
      review.run();
    } finally {
      metrics.observe(path, System.nanoTime() - t0);
    }
  }

  private void validate(Context ctx, boolean contentOnly) {
    java.time.Instant deadline = java.time.Instant.now().plus(limits.metadataBudget());
    ReviewRequest req;
    try {
      req = read(ctx);
    } catch (InvalidReviewException e) {
      badRequest(ctx, e);
      return;
    }
    try {
      ReviewResponse r =
          ValidatingReview.answer(req, policies, namespaces, evaluator, deadline, contentOnly);
      if (!r.allowed()) {
        LOG.fine(LogLine.format("review denied", "uid", req.uid(), "namespace", req.namespace()));
      }
      json(ctx, 200, r.toJson());
    } catch (InvalidReviewException e) {
      badRequest(ctx, e);
    } catch (ReviewUndecidedException e) {
      LOG.warning(
          LogLine.format(
              "review not decided; the webhook's failurePolicy applies",
              "uid",
              req.uid(),
              "kind",
              req.kind(),
              "namespace",
              req.namespace(),
              "reason",
              e.getMessage()));
      status(ctx, 503, "ServiceUnavailable", e.getMessage());
    } catch (RuntimeException e) {
      LOG.log(
          Level.SEVERE,
          LogLine.format(
              "review failed with an internal error; the webhook's failurePolicy applies",
              "uid",
              req.uid(),
              "kind",
              req.kind(),
              "namespace",
              req.namespace()),
          e);
      status(ctx, 500, "InternalError", internalError(e));
    }
  }

  /**
   * What the API server shows the requester for an unexpected failure: the cause in words (the
   * exception's message, redacted and cut, never just its class) and what happens next.
   */
  static String internalError(RuntimeException e) {
    String detail = e.getMessage();
    return "registry-policy webhook could not decide this request because of an unexpected error"
        + " in the webhook ("
        + (detail == null || detail.isBlank() ? "no detail given" : Redact.value(detail))
        + "; the controller logged it with its cause); the webhook's failurePolicy decides:"
        + " Fail refuses the request, Ignore admits it unchecked";
  }

  private void mutate(Context ctx) {
    ReviewRequest req;
    try {
      req = read(ctx);
    } catch (InvalidReviewException e) {
      badRequest(ctx, e);
      return;
    }
    ReviewResponse r;
    try {
      r = mutation(req);
    } catch (RuntimeException e) {
      LOG.log(
          Level.WARNING,
          LogLine.format(
              "pull Secret mutation failed; Pod admitted unchanged",
              "uid",
              req.uid(),
              "namespace",
              req.namespace()),
          e);
      r = ReviewResponse.allow(req.uid());
    }
    json(ctx, 200, r.toJson());
  }

  private ReviewResponse mutation(ReviewRequest req) {
    Optional<PolicySnapshot> policy = policies.current();
    if (policy.isEmpty() || req.namespace().isEmpty()) {
      return ReviewResponse.allow(req.uid());
    }
    Optional<NamespaceInfo> ns = namespaces.find(req.namespace());
    if (ns.isEmpty()) {
      LOG.info(
          LogLine.format(
              "namespace not in the cache yet; Pod admitted without pull Secrets added",
              "namespace",
              req.namespace()));
      return ReviewResponse.allow(req.uid());
    }
    ReviewResponse r = PullSecretPatch.answer(req, policy.get(), ns.get());
    if (r.jsonPatch() != null) {
      LOG.fine(LogLine.format("pull Secrets added to a new Pod", "namespace", req.namespace()));
    }
    return r;
  }

  /** Reads, bounds and parses the body. */
  private ReviewRequest read(Context ctx) throws InvalidReviewException {
    long declared = ctx.req().getContentLengthLong();
    int max = limits.maxBodyBytes();
    if (declared > max) {
      throw new InvalidReviewException(tooLarge(max));
    }
    byte[] body = declared >= 0 ? readExactly(ctx, (int) declared) : readBody(ctx, max);
    if (body.length > max) {
      throw new InvalidReviewException(tooLarge(max));
    }
    java.nio.CharBuffer text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(body));
    } catch (CharacterCodingException e) {
      throw new InvalidReviewException("body is not UTF-8");
    }
    // Parsed straight from the decoder's buffer: no String copy of the body. The decoder's
    // result is always array-backed.
    return ReviewRequest.of(
        StrictJson.parse(new CharArrayReader(text.array(), text.position(), text.remaining())));
  }

  /**
   * A body with a Content-Length (the API server always sends one): exactly that many bytes, or
   * fewer when the stream ends early (then the JSON is cut and refused), within the body deadline.
   * One array of the body's size: the webhook's main allocation per review.
   */
  private byte[] readExactly(Context ctx, int length) throws InvalidReviewException {
    long deadline = System.nanoTime() + limits.bodyDeadline().toNanos();
    byte[] body = new byte[length];
    int n = 0;
    try (InputStream in = ctx.req().getInputStream()) {
      while (n < length) {
        int r = in.read(body, n, length - n);
        if (r < 0) {
          return Arrays.copyOf(body, n);
        }
        n += r;
        if (System.nanoTime() - deadline > 0) {
          throw new InvalidReviewException(slow());
        }
      }
    } catch (IOException e) {
      throw new InvalidReviewException(slow());
    }
    return body;
  }

  /**
   * A body without a Content-Length (chunked): at most {@code max + 1} bytes, within the body
   * deadline.
   */
  private byte[] readBody(Context ctx, int max) throws InvalidReviewException {
    long deadline = System.nanoTime() + limits.bodyDeadline().toNanos();
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(4096);
    byte[] buf = new byte[4096];
    try (InputStream in = ctx.req().getInputStream()) {
      while (out.size() <= max) {
        int n = in.read(buf, 0, Math.min(buf.length, max + 1 - out.size()));
        if (n < 0) {
          break;
        }
        out.write(buf, 0, n);
        if (System.nanoTime() - deadline > 0) {
          throw new InvalidReviewException(slow());
        }
      }
    } catch (IOException e) {
      throw new InvalidReviewException(slow());
    }
    return out.toByteArray();
  }

  private String slow() {
    return "request body not received completely within "
        + limits.bodyDeadline().toMillis()
        + " ms (or the connection was idle for "
        + limits.idleTimeout().toMillis()
        + " ms)";
  }

  private static String tooLarge(int max) {
    return "body is larger than " + max + " bytes";
  }

  private static void badRequest(Context ctx, InvalidReviewException e) {
    LOG.info(LogLine.format("review refused as malformed", "reason", e.getMessage()));
    ctx.status(400);
    ctx.contentType("text/plain; charset=utf-8");
    ctx.result(e.getMessage() + "\n");
  }

  /** A {@code meta/v1 Status} error body, which the API server reports as the call's failure. */
  private static void status(Context ctx, int code, String reason, String message) {
    StringBuilder sb = new StringBuilder(128);
    sb.append("{\"apiVersion\":\"v1\",\"kind\":\"Status\",\"status\":\"Failure\",\"message\":");
    sb.append(GSON.toJson(message));
    sb.append(",\"reason\":\"").append(reason).append("\",\"code\":").append(code).append('}');
    json(ctx, code, sb.toString());
  }

  private static void json(Context ctx, int code, String body) {
    ctx.status(code);
    ctx.contentType("application/json");
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    // Written to the response stream here, not handed to ctx.result(): Javalin copies a result
    // through a fresh 8 KiB buffer per response, which was 28 % of the webhook's allocation under
    // load (controller/README.md "Webhook load"). With a known length Jetty sends one response
    // with Content-Length, as before.
    ctx.res().setContentLength(bytes.length);
    try {
      ctx.res().getOutputStream().write(bytes);
    } catch (IOException e) {
      // The API server closed the connection mid-answer; it retries or applies the failurePolicy.
      LOG.fine(LogLine.format("review answer not sent", "status", code, "reason", e.getMessage()));
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
  }
}
