package dev.registrypolicy.common;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.registrypolicy.policy.LogLine;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The probe and metrics endpoint of the project's processes, on the JDK's {@code
 * com.sun.net.httpserver} (no servlet container, nothing to reflect on in a native image).
 *
 * <ul>
 *   <li>{@code GET /healthz}: 200 {@code {"status":"ok"}} when {@link Health#healthy()}, else 503
 *       {@code "degraded"}.
 *   <li>{@code GET /readyz}: 200 {@code "ok"} when {@link Health#ready()}, else 503 {@code
 *       "not-ready"}.
 *   <li>{@code GET /metrics}: the metrics supplier's text as {@link #METRICS_CONTENT_TYPE} (404
 *       when there is no supplier).
 * </ul>
 *
 * Both health bodies are {@code {"status":…,"details":{…}}}. Other paths answer 404, other methods
 * 405. Requests are served one at a time by a single daemon thread, so both suppliers must be fast
 * and must not wait on locks held by slow work: hand them an immutable snapshot that the work
 * publishes (a volatile reference), not a view that is computed under the work's lock.
 *
 * <p>Limits: a request must arrive within {@value #SLOW_CLIENT_SECONDS} s (see {@link
 * #limitSlowClients()}), at most {@value #BACKLOG} connections wait to be accepted, and JSON
 * details are rendered at most {@value #MAX_DEPTH} levels deep.
 */
public final class HealthServer implements AutoCloseable {
  /** The content type of {@code /metrics}: the Prometheus text exposition format 0.0.4. */
  public static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final Logger LOG = Logger.getLogger(HealthServer.class.getName());
  private static final String JSON = "application/json; charset=utf-8";
  private static final String TEXT = "text/plain; charset=utf-8";
  private static final int MAX_DEPTH = 16;
  private static final int BACKLOG = 16;
  private static final int SLOW_CLIENT_SECONDS = 3;

  static {
    // The JDK server sends the response headers and the body as separate segments; with Nagle's
    // algorithm on, the body then waits for the client's delayed ACK (~40 ms on Linux) on every
    // request of a kept-alive connection, as Prometheus scrapes use. Read by the JDK when the
    // first server of the process is created.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;
  private final Supplier<Health> health;
  private final Supplier<String> metrics;

  private HealthServer(
      HttpServer server,
      ExecutorService executor,
      Supplier<Health> health,
      Supplier<String> metrics) {
    this.server = server;
    this.executor = executor;
    this.health = health;
    this.metrics = metrics;
  }

  /**
   * Binds {@code addr} (port 0 picks a free port) and starts serving.
   *
   * @param health called on every probe request on the server thread: must be fast and lock-free
   * @param metrics the {@code /metrics} body in the Prometheus text format 0.0.4, rendered on every
   *     scrape; null disables that path
   * @throws IOException when the address cannot be bound (in use, not an address of this host)
   */
  public static HealthServer start(
      InetSocketAddress addr, Supplier<Health> health, Supplier<String> metrics)
      throws IOException {
    Objects.requireNonNull(addr, "addr");
    Objects.requireNonNull(health, "health");
    limitSlowClients();
    HttpServer server = HttpServer.create(addr, BACKLOG);
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "health-http");
              t.setDaemon(true);
              return t;
            });
    HealthServer hs = new HealthServer(server, executor, health, metrics);
    server.createContext("/", hs::handle);
    server.setExecutor(executor);
    server.start();
    LOG.fine(() -> LogLine.format("health server listening", "address", server.getAddress()));
    return hs;
  }

  /**
   * With one worker thread, a client that sends half a request would block every probe behind it
   * (the JDK server reads the request on the worker thread). The JDK server drops connections whose
   * request takes too long to arrive, but the limit is the JVM-wide property {@code
   * sun.net.httpserver.maxReqTime}, read once when the first server of the JVM is created. It is
   * set here unless someone already set it; it only affects how long a request may take to be
   * received, which is well under a second for any real client.
   */
  private static void limitSlowClients() {
    String p = "sun.net.httpserver.maxReqTime";
    if (System.getProperty(p) == null) {
      System.setProperty(p, String.valueOf(SLOW_CLIENT_SECONDS));
    }
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** The bound address. */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** Stops the listener at once and shuts the worker thread down. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void handle(HttpExchange ex) {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      boolean known =
          "/healthz".equals(path)
              || "/readyz".equals(path)
              || ("/metrics".equals(path) && metrics != null);
      if (!known) {
        send(ex, 404, TEXT, "not found\n");
        return;
      }
      if (!"GET".equals(ex.getRequestMethod())) {
        ex.getResponseHeaders().set("Allow", "GET");
        send(ex, 405, TEXT, "method not allowed\n");
        return;
      }
      if ("/metrics".equals(path)) {
        String text;
        try {
          text = metrics.get();
        } catch (RuntimeException e) {
          LOG.log(
              Level.WARNING,
              LogLine.format(
                  "metrics rendering failed",
                  "error",
                  Causes.kind(e),
                  "action",
                  "answered 500; the next scrape tries again"));
          send(ex, 500, TEXT, "metrics rendering failed\n");
          return;
        }
        send(ex, 200, METRICS_CONTENT_TYPE, text);
      } else {
        probe(ex, "/readyz".equals(path));
      }
    } catch (IOException | RuntimeException e) {
      // The client went away, or rendering failed: never let it kill the server thread. Only the
      // kind of failure: a supplier's message may carry data that must not be exposed.
      LOG.fine(() -> LogLine.format("health request failed", "error", Causes.kind(e)));
    }
  }

  private void probe(HttpExchange ex, boolean readiness) throws IOException {
    Health h;
    try {
      h = health.get();
    } catch (RuntimeException e) {
      // Nothing of the exception in the answer: its message may carry data we must not expose.
      // The log names its type for whoever fixes the bug.
      h =
          new Health(
              false,
              false,
              Map.of("error", "the health check itself failed (a bug; see the process log)"));
      LOG.log(
          Level.WARNING,
          LogLine.format(
              "health check failed",
              "error",
              Causes.kind(e),
              "action",
              "answered 503 for this probe"));
    }
    if (h == null) {
      h = new Health(false, false, Map.of("error", "no health information"));
    }
    boolean good = readiness ? h.ready() : h.healthy();
    String status = good ? "ok" : (readiness ? "not-ready" : "degraded");
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    send(ex, good ? 200 : 503, JSON, json(status, h.details()));
  }

  /** The JSON body of a probe answer: {@code {"status":…,"details":{…}}}. */
  public static String json(String status, Map<String, Object> details) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"status\":");
    string(sb, status);
    sb.append(",\"details\":");
    value(sb, details == null ? Map.of() : details, 0);
    return sb.append('}').toString();
  }

  private static void value(StringBuilder sb, Object v, int depth) {
    if (depth > MAX_DEPTH) {
      string(sb, "…");
    } else if (v == null) {
      sb.append("null");
    } else if (v instanceof String s) {
      string(sb, s);
    } else if (v instanceof Boolean) {
      sb.append(v);
    } else if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (Double.isFinite(d)) {
        sb.append(d);
      } else {
        string(sb, Double.toString(d)); // JSON has no NaN/Infinity
      }
    } else if (v instanceof Number) {
      sb.append(v);
    } else if (v instanceof Map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        sb.append(first ? "" : ",");
        first = false;
        string(sb, String.valueOf(e.getKey()));
        sb.append(':');
        value(sb, e.getValue(), depth + 1);
      }
      sb.append('}');
    } else if (v instanceof Iterable) {
      array(sb, (Iterable<?>) v, depth);
    } else if (v instanceof Object[] a) {
      array(sb, java.util.Arrays.asList(a), depth);
    } else if (v instanceof Optional) {
      value(sb, ((Optional<?>) v).orElse(null), depth);
    } else if (v instanceof Enum) {
      string(sb, ((Enum<?>) v).name());
    } else {
      string(sb, String.valueOf(v));
    }
  }

  private static void array(StringBuilder sb, Iterable<?> items, int depth) {
    sb.append('[');
    boolean first = true;
    for (Object o : items) {
      sb.append(first ? "" : ",");
      first = false;
      value(sb, o, depth + 1);
    }
    sb.append(']');
  }

  /**
   * A JSON string (RFC 8259): quotes, backslashes and control characters escaped, the rest as is.
   */
  private static void string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c == '\n') {
        sb.append("\\n");
      } else if (c < 0x20 || c == 0x2028 || c == 0x2029) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    sb.append('"');
  }

  private static void send(HttpExchange ex, int code, String contentType, String body)
      throws IOException {
    // A HEAD answer has headers only (the JDK server refuses a body length for it).
    byte[] bytes =
        "HEAD".equals(ex.getRequestMethod()) ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", contentType);
    ex.sendResponseHeaders(code, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream os = ex.getResponseBody()) {
        os.write(bytes);
      }
    }
  }
}
