package dev.registrypolicy.agent;

import com.google.gson.stream.JsonWriter;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The agent's probe and metrics endpoint, built on the JDK's {@code com.sun.net.httpserver} so the
 * agent stays small (no servlet container).
 *
 * <ul>
 *   <li>{@code GET /healthz}: 200 {@code {"status":"ok"}} when {@link Health#healthy()}, else 503
 *       {@code "degraded"}.</li>
 *   <li>{@code GET /readyz}: 200 {@code "ok"} when {@link Health#ready()}, else 503
 *       {@code "not-ready"}.</li>
 *   <li>{@code GET /metrics}: {@link Metrics#render()} as {@code text/plain; version=0.0.4}
 *       (404 when no registry was given).</li>
 * </ul>
 * Both health bodies are {@code {"status":…,"details":{…}}}. Other paths answer 404, other methods
 * 405. Requests are served one at a time by a single daemon thread.
 */
public final class HealthServer implements AutoCloseable {

    private static final String JSON = "application/json; charset=utf-8";
    private static final int MAX_DEPTH = 16;

    static {
        // The JDK server sends the response headers and the body as separate segments; with Nagle's
        // algorithm on, the body then waits for the client's delayed ACK (~40 ms on Linux) on every
        // request of a kept-alive connection, as Prometheus scrapes use. Read by the JDK when the
        // first server of the process is created.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }
    private static final int SLOW_CLIENT_SECONDS = 3;

    private final HttpServer server;
    private final ExecutorService executor;
    private final Supplier<Health> health;
    private final Metrics metrics;

    private HealthServer(HttpServer server, ExecutorService executor, Supplier<Health> health, Metrics metrics) {
        this.server = server;
        this.executor = executor;
        this.health = health;
        this.metrics = metrics;
    }

    /**
     * Binds {@code addr} (port 0 picks a free port) and starts serving.
     *
     * @param health called on every probe request on the server thread, so it must be fast
     * @param metrics registry for {@code /metrics}; null disables that path
     */
    public static HealthServer start(InetSocketAddress addr, Supplier<Health> health, Metrics metrics)
            throws IOException {
        Objects.requireNonNull(addr, "addr");
        Objects.requireNonNull(health, "health");
        limitSlowClients();
        HttpServer server = HttpServer.create(addr, 16);
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "health-http");
            t.setDaemon(true);
            return t;
        });
        HealthServer hs = new HealthServer(server, executor, health, metrics);
        server.createContext("/", hs::handle);
        server.setExecutor(executor);
        server.start();
        Log.debug("health server listening", "address", server.getAddress());
        return hs;
    }

    /**
     * With one worker thread, a client that sends half a request would block every probe behind it
     * (the JDK server reads the request on the worker thread). The JDK server can drop connections
     * whose request takes too long to arrive, but the limit is the JVM-wide property
     * {@code sun.net.httpserver.maxReqTime}, read once when the first server of the JVM is created.
     * It is set here unless someone already set it; it only affects how long a request may take to
     * be received, which is well under a second for any real client.
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

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            boolean known = "/healthz".equals(path) || "/readyz".equals(path)
                    || ("/metrics".equals(path) && metrics != null);
            if (!known) {
                send(ex, 404, "text/plain; charset=utf-8", "not found\n");
                return;
            }
            if (!"GET".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "GET");
                send(ex, 405, "text/plain; charset=utf-8", "method not allowed\n");
                return;
            }
            switch (path) {
                case "/metrics":
                    send(ex, 200, Metrics.CONTENT_TYPE, metrics.render());
                    break;
                case "/healthz":
                case "/readyz":
                    probe(ex, "/readyz".equals(path));
                    break;
                default:
                    send(ex, 404, "text/plain; charset=utf-8", "not found\n");
            }
        } catch (IOException | RuntimeException e) {
            // the client went away or a bug in rendering: never let it kill the server thread
            Log.debug("health request failed", "error", e.getClass().getName());
        }
    }

    private void probe(HttpExchange ex, boolean readiness) throws IOException {
        Health h;
        try {
            h = health.get();
        } catch (RuntimeException e) {
            // only the exception type: messages may carry data we must not expose
            h = new Health(false, false, Map.of("error", "health check failed: " + e.getClass().getSimpleName()));
        }
        if (h == null) {
            h = new Health(false, false, Map.of("error", "no health information"));
        }
        boolean good = readiness ? h.ready() : h.healthy();
        String status = good ? "ok" : (readiness ? "not-ready" : "degraded");
        String body = json(status, h.details());
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        send(ex, good ? 200 : 503, JSON, body);
    }

    /** The JSON body of a probe answer; package-private for tests. */
    static String json(String status, Map<String, Object> details) {
        StringWriter sw = new StringWriter();
        try (JsonWriter w = new JsonWriter(sw)) {
            w.setSerializeNulls(true);
            w.beginObject();
            w.name("status").value(status);
            w.name("details");
            writeValue(w, details == null ? Map.of() : details, 0);
            w.endObject();
        } catch (IOException e) {
            throw new IllegalStateException("cannot happen with a StringWriter", e);
        }
        return sw.toString();
    }

    private static void writeValue(JsonWriter w, Object v, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            w.value("…");
            return;
        }
        if (v == null) {
            w.nullValue();
        } else if (v instanceof String) {
            w.value((String) v);
        } else if (v instanceof Boolean) {
            w.value((Boolean) v);
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isFinite(d)) {
                w.value(d);
            } else {
                w.value(Double.toString(d)); // JSON has no NaN/Infinity
            }
        } else if (v instanceof Number) {
            w.value((Number) v);
        } else if (v instanceof Map) {
            w.beginObject();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                w.name(String.valueOf(e.getKey()));
                writeValue(w, e.getValue(), depth + 1);
            }
            w.endObject();
        } else if (v instanceof Iterable) {
            w.beginArray();
            for (Object o : (Iterable<?>) v) {
                writeValue(w, o, depth + 1);
            }
            w.endArray();
        } else if (v instanceof Object[]) {
            w.beginArray();
            for (Object o : (Object[]) v) {
                writeValue(w, o, depth + 1);
            }
            w.endArray();
        } else if (v instanceof Optional) {
            writeValue(w, ((Optional<?>) v).orElse(null), depth);
        } else if (v instanceof Enum) {
            w.value(((Enum<?>) v).name());
        } else {
            w.value(String.valueOf(v));
        }
    }

    private static void send(HttpExchange ex, int code, String contentType, String body) throws IOException {
        byte[] bytes = "HEAD".equals(ex.getRequestMethod()) ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(code, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(bytes);
            }
        }
    }
}
