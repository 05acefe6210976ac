package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.common.Health;
import dev.registrypolicy.common.HealthServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HealthServerTest {

  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final AtomicReference<Health> health = new AtomicReference<>(Health.ok());
  private Metrics metrics;
  private HealthServer server;

  @BeforeEach
  void start() throws IOException {
    metrics = new Metrics();
    metrics
        .counter("registry_policy_agent_reconciles_total", "Reconcile passes.", "outcome")
        .labels("ok")
        .inc();
    server =
        HealthServer.start(new InetSocketAddress("127.0.0.1", 0), health::get, metrics::render);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> request(String method, String path) throws Exception {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .timeout(Duration.ofSeconds(5))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build();
    return client.send(req, HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path) throws Exception {
    return request("GET", path);
  }

  private static JsonObject json(HttpResponse<String> r) {
    assertTrue(
        r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
        r.headers().map().toString());
    return JsonParser.parseString(r.body()).getAsJsonObject();
  }

  @Test
  void bindsAnEphemeralPort() {
    assertTrue(server.port() > 0);
    assertEquals("127.0.0.1", server.address().getAddress().getHostAddress());
  }

  @Test
  void healthyAndReadyAnswer200Ok() throws Exception {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("managedHosts", 3);
    details.put("lastSuccess", "2026-11-22T10:00:00Z");
    details.put("firstApplyDone", true);
    details.put("ratio", 0.5);
    details.put("warnings", List.of("a", "b"));
    details.put("containerd", Map.of("configVersion", 3, "pointsAtCertsDir", true));
    details.put("nothing", null);
    health.set(new Health(true, true, details));

    for (String path : List.of("/healthz", "/readyz")) {
      HttpResponse<String> r = get(path);
      assertEquals(200, r.statusCode(), path);
      JsonObject body = json(r);
      assertEquals("ok", body.get("status").getAsString());
      JsonObject d = body.getAsJsonObject("details");
      assertEquals(3, d.get("managedHosts").getAsInt());
      assertEquals("2026-11-22T10:00:00Z", d.get("lastSuccess").getAsString());
      assertTrue(d.get("firstApplyDone").getAsBoolean());
      assertEquals(0.5, d.get("ratio").getAsDouble());
      JsonArray w = d.getAsJsonArray("warnings");
      assertEquals(2, w.size());
      assertEquals("b", w.get(1).getAsString());
      assertEquals(3, d.getAsJsonObject("containerd").get("configVersion").getAsInt());
      assertTrue(d.get("nothing").isJsonNull());
      assertEquals(
          List.of(
              "managedHosts",
              "lastSuccess",
              "firstApplyDone",
              "ratio",
              "warnings",
              "containerd",
              "nothing"),
          List.copyOf(d.keySet()),
          "insertion order is kept");
    }
  }

  @Test
  void unhealthyIs503DegradedOnHealthzOnly() throws Exception {
    health.set(new Health(false, true, Map.of("lastError", "write failed: disk full")));
    HttpResponse<String> h = get("/healthz");
    assertEquals(503, h.statusCode());
    assertEquals("degraded", json(h).get("status").getAsString());
    assertEquals(
        "write failed: disk full",
        json(h).getAsJsonObject("details").get("lastError").getAsString());
    HttpResponse<String> r = get("/readyz");
    assertEquals(200, r.statusCode());
    assertEquals("ok", json(r).get("status").getAsString());
  }

  @Test
  void notReadyIs503NotReadyOnReadyzOnly() throws Exception {
    health.set(new Health(true, false, Map.of()));
    HttpResponse<String> r = get("/readyz");
    assertEquals(503, r.statusCode());
    JsonObject body = json(r);
    assertEquals("not-ready", body.get("status").getAsString());
    assertEquals(0, body.getAsJsonObject("details").size());
    assertEquals(200, get("/healthz").statusCode());
  }

  @Test
  void healthIsReadOnEveryRequest() throws Exception {
    assertEquals(200, get("/healthz").statusCode());
    health.set(new Health(false, false, null));
    assertEquals(503, get("/healthz").statusCode());
    health.set(Health.ok());
    assertEquals(200, get("/healthz").statusCode());
  }

  @Test
  void queryStringIsIgnored() throws Exception {
    assertEquals(200, get("/healthz?verbose=1").statusCode());
  }

  @Test
  void metricsServesTheTextFormat() throws Exception {
    HttpResponse<String> r = get("/metrics");
    assertEquals(200, r.statusCode());
    String ct = r.headers().firstValue("Content-Type").orElse("");
    assertTrue(ct.startsWith("text/plain; version=0.0.4"), ct);
    assertEquals(metrics.render(), r.body());
    assertTrue(r.body().contains("registry_policy_agent_reconciles_total{outcome=\"ok\"} 1\n"));
    metrics.gauge("later", "Added after start.").set(2);
    assertTrue(get("/metrics").body().contains("later 2\n"), "scrapes see new metrics");
  }

  @Test
  void unknownPathsAre404() throws Exception {
    for (String p : List.of("/", "/health", "/healthz/x", "/metricsx", "/readyz/")) {
      assertEquals(404, get(p).statusCode(), p);
    }
  }

  @Test
  void nonGetIs405WithAllowHeader() throws Exception {
    for (String m : List.of("POST", "PUT", "DELETE", "HEAD")) {
      HttpResponse<String> r = request(m, "/healthz");
      assertEquals(405, r.statusCode(), m);
      assertEquals("GET", r.headers().firstValue("Allow").orElse(""), m);
    }
    assertEquals(405, request("POST", "/metrics").statusCode());
  }

  /** Log records of the shared health server while {@code body} runs. */
  private static List<String> logged(ThrowingRunnable body) throws Exception {
    java.util.logging.Logger logger =
        java.util.logging.Logger.getLogger(HealthServer.class.getName());
    List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler h =
        new java.util.logging.Handler() {
          @Override
          public void publish(java.util.logging.LogRecord r) {
            lines.add(String.valueOf(r.getMessage()));
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    logger.addHandler(h);
    try {
      body.run();
    } finally {
      logger.removeHandler(h);
    }
    return lines;
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void aFailingSuppliersMessageNeverReachesTheLog() throws Exception {
    server.close();
    List<String> lines =
        logged(
            () -> {
              server =
                  HealthServer.start(
                      new InetSocketAddress("127.0.0.1", 0),
                      () -> {
                        throw new IllegalStateException("password=hunter2");
                      },
                      () -> {
                        throw new IllegalStateException("token=hunter2");
                      });
              get("/healthz");
              get("/metrics");
            });
    assertTrue(lines.size() >= 2, lines::toString);
    for (String l : lines) {
      assertFalse(l.contains("hunter2"), l);
      assertFalse(l.contains("java.lang."), l);
    }
  }

  @Test
  void failingHealthSupplierGives503WithoutItsMessage() throws Exception {
    server.close();
    server =
        HealthServer.start(
            new InetSocketAddress("127.0.0.1", 0),
            () -> {
              throw new IllegalStateException("password=hunter2");
            },
            metrics::render);
    HttpResponse<String> r = get("/healthz");
    assertEquals(503, r.statusCode());
    assertEquals("degraded", json(r).get("status").getAsString());
    assertFalse(r.body().contains("hunter2"), r.body());
    assertTrue(r.body().contains("the health check itself failed"), r.body());
    assertFalse(r.body().contains("Exception"), "no Java class name in the answer: " + r.body());
    assertEquals(503, get("/readyz").statusCode());
  }

  @Test
  void failingMetricsSupplierGives500AndTheServerGoesOn() throws Exception {
    server.close();
    server =
        HealthServer.start(
            new InetSocketAddress("127.0.0.1", 0),
            health::get,
            () -> {
              throw new IllegalStateException("token=hunter2");
            });
    HttpResponse<String> r = get("/metrics");
    assertEquals(500, r.statusCode());
    assertFalse(r.body().contains("hunter2"), r.body());
    assertEquals(200, get("/healthz").statusCode());
  }

  @Test
  void withoutMetricsRegistryMetricsIs404() throws Exception {
    server.close();
    server = HealthServer.start(new InetSocketAddress("127.0.0.1", 0), health::get, null);
    assertEquals(404, get("/metrics").statusCode());
    assertEquals(200, get("/healthz").statusCode());
  }

  @Test
  void servesFromOneDaemonThread() throws Exception {
    AtomicReference<Thread> seen = new AtomicReference<>();
    server.close();
    server =
        HealthServer.start(
            new InetSocketAddress("127.0.0.1", 0),
            () -> {
              seen.set(Thread.currentThread());
              return Health.ok();
            },
            metrics::render);
    get("/healthz");
    Thread first = seen.get();
    get("/readyz");
    assertEquals(first, seen.get());
    assertTrue(first.isDaemon());
    assertEquals("health-http", first.getName());
  }

  /**
   * The slow-client limit is a JVM-wide setting read when the JVM's first JDK HTTP server starts,
   * so this runs in a fresh JVM where HealthServer is sure to be first.
   */
  @Test
  void halfSentRequestDoesNotBlockProbesForever() throws Exception {
    String javaBin =
        java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                javaBin,
                "-cp",
                System.getProperty("java.class.path"),
                SlowClientCheck.class.getName())
            .redirectErrorStream(true)
            .start();
    String out;
    try (var in = p.getInputStream()) {
      out = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("status 200"), out);
  }

  /** Child-JVM half of {@link #halfSentRequestDoesNotBlockProbesForever()}. */
  static final class SlowClientCheck {
    public static void main(String[] args) throws Exception {
      try (HealthServer hs =
              HealthServer.start(new InetSocketAddress("127.0.0.1", 0), Health::ok, null);
          java.net.Socket slow = new java.net.Socket("127.0.0.1", hs.port())) {
        slow.getOutputStream()
            .write("GET /hea".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        slow.getOutputStream().flush();
        Thread.sleep(200); // the worker is now stuck reading this request
        // Bounded by the request's own 15 s timeout, not by a wall-clock assert.
        HttpResponse<String> r =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hs.port() + "/healthz"))
                        .timeout(Duration.ofSeconds(15))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        System.out.println("status " + r.statusCode());
        System.exit(r.statusCode() == 200 ? 0 : 1);
      }
    }
  }

  @Test
  void closeStopsListening() throws Exception {
    int port = server.port();
    server.close();
    HttpRequest req =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
            .timeout(Duration.ofSeconds(3))
            .build();
    assertThrows(IOException.class, () -> client.send(req, HttpResponse.BodyHandlers.ofString()));
    server.close(); // idempotent enough for an AfterEach
  }

  @Test
  void jsonHandlesNonFiniteNumbersAndOddValues() {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("nan", Double.NaN);
    d.put("long", 1L << 40);
    d.put("array", new Object[] {1, "x"});
    d.put("enum", Thread.State.NEW);
    d.put("nested", Map.of("list", List.of(Map.of("k", false))));
    JsonObject o = JsonParser.parseString(HealthServer.json("ok", d)).getAsJsonObject();
    assertEquals("NaN", o.getAsJsonObject("details").get("nan").getAsString());
    assertEquals(1L << 40, o.getAsJsonObject("details").get("long").getAsLong());
    assertEquals("x", o.getAsJsonObject("details").getAsJsonArray("array").get(1).getAsString());
    assertEquals("NEW", o.getAsJsonObject("details").get("enum").getAsString());
    assertFalse(
        o.getAsJsonObject("details")
            .getAsJsonObject("nested")
            .getAsJsonArray("list")
            .get(0)
            .getAsJsonObject()
            .get("k")
            .getAsBoolean());
  }

  @Test
  void healthCopiesItsDetails() {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("a", 1);
    Health h = new Health(true, true, d);
    d.put("b", 2);
    assertEquals(Map.of("a", 1), h.details());
    assertThrows(UnsupportedOperationException.class, () -> h.details().put("c", 3));
    assertEquals(Map.of(), new Health(true, true, null).details());
  }
}
