package dev.registrypolicy.controller;

import com.sun.net.httpserver.HttpServer;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.Config;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** {@code run}: the controller in a cluster. */
final class ControllerRun {
  private ControllerRun() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    Map<String, String> f = ControllerMain.flags("run", args, List.of(), List.of("--listen", "--workers", "--resync"), err);
    if (f == null) {
      return ControllerMain.USAGE;
    }
    String listen = f.getOrDefault("--listen", "0.0.0.0:9742");
    int workers;
    Duration resync;
    try {
      workers = Integer.parseInt(f.getOrDefault("--workers", "4"));
      resync = Duration.parse("PT" + f.getOrDefault("--resync", "10m").toUpperCase(java.util.Locale.ROOT));
    } catch (RuntimeException e) {
      err.println("run: --workers wants a whole number and --resync a duration such as 10m");
      return ControllerMain.USAGE;
    }
    if (workers < 1 || resync.isNegative() || resync.isZero() || address(listen) == null) {
      err.println("run: want --workers >= 1, --resync > 0 and --listen HOST:PORT (port 1-65535)");
      return ControllerMain.USAGE;
    }
    String identity = System.getenv().getOrDefault("POD_NAME", hostname());
    Controller controller = null;
    HttpServer server = null;
    try {
      ApiClient client = Config.defaultClient();
      client.setHttpClient(client.getHttpClient().newBuilder().readTimeout(0, TimeUnit.SECONDS).build());
      Metrics metrics = new Metrics();
      Controller.Settings s = Controller.Settings.defaults(identity);
      controller = new Controller(client, new Controller.Settings(identity, workers, resync,
          s.leaseDuration(), s.renewDeadline(), s.retryPeriod()), metrics);
      server = serve(listen, controller::ready, metrics::render);
      controller.start();
      CountDownLatch stop = new CountDownLatch(1);
      Controller running = controller;
      HttpServer serving = server;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        running.close();
        serving.stop(0);
        stop.countDown();
      }));
      stop.await();
      return ControllerMain.OK;
    } catch (IOException | RuntimeException e) {
      err.println(Log.kv("could not start", "error", e.getClass().getSimpleName(),
          "detail", e.getMessage() == null ? "" : e.getMessage()));
      if (server != null) {
        server.stop(0);
      }
      if (controller != null) {
        controller.close();
      }
      return ControllerMain.INVALID;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ControllerMain.OK;
    }
  }

  /** HOST:PORT as a socket address (not resolved), or null when it is not one. */
  static InetSocketAddress address(String listen) {
    int colon = listen.lastIndexOf(':');
    if (colon <= 0) {
      return null;
    }
    try {
      int port = Integer.parseInt(listen.substring(colon + 1));
      String host = listen.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return port < 1 || port > 65535 ? null : InetSocketAddress.createUnresolved(host, port);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** /healthz (always, every replica), /readyz (caches synced), /metrics. */
  static HttpServer serve(String listen, BooleanSupplier ready, Supplier<String> metrics) throws IOException {
    InetSocketAddress a = address(listen);
    if (a == null) {
      throw new IOException("not HOST:PORT: " + listen);
    }
    HttpServer server = HttpServer.create(new InetSocketAddress(a.getHostString(), a.getPort()), 16);
    Map<String, Supplier<Object[]>> routes = Map.of(
        "/healthz", () -> new Object[] {200, "ok\n"},
        "/readyz", () -> ready.getAsBoolean() ? new Object[] {200, "ok\n"} : new Object[] {503, "caches not synced\n"},
        "/metrics", () -> new Object[] {200, metrics.get()});
    server.createContext("/", ex -> {
      Supplier<Object[]> r = routes.get(ex.getRequestURI().getPath());
      Object[] res = r == null ? new Object[] {404, "not found\n"} : r.get();
      byte[] body = ((String) res[1]).getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      ex.sendResponseHeaders((Integer) res[0], body.length);
      try (OutputStream o = ex.getResponseBody()) {
        o.write(body);
      }
    });
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "health");
      t.setDaemon(true);
      return t;
    }));
    server.start();
    return server;
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "registry-policy-controller";
    }
  }
}
