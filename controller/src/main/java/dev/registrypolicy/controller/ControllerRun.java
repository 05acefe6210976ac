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
    String listen = "0.0.0.0:9742";
    int workers = 4;
    Duration resync = Duration.ofMinutes(10);
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (i + 1 >= args.size()) {
        err.println("run: unexpected argument \"" + a + "\"");
        return ControllerMain.USAGE;
      }
      String v = args.get(++i);
      try {
        switch (a) {
          case "--listen": listen = v; break;
          case "--workers": workers = Integer.parseInt(v); break;
          case "--resync": resync = Duration.parse("PT" + v.toUpperCase(java.util.Locale.ROOT)); break;
          default:
            err.println("run: unknown flag \"" + a + "\"");
            return ControllerMain.USAGE;
        }
      } catch (RuntimeException e) {
        err.println("run: bad value for " + a + ": \"" + v + "\"");
        return ControllerMain.USAGE;
      }
    }
    String identity = System.getenv().getOrDefault("POD_NAME", hostname());
    try {
      ApiClient client = Config.defaultClient();
      client.setHttpClient(client.getHttpClient().newBuilder().readTimeout(0, TimeUnit.SECONDS).build());
      Metrics metrics = new Metrics();
      Controller.Settings s = Controller.Settings.defaults(identity);
      Controller controller = new Controller(client, new Controller.Settings(identity, workers, resync,
          s.leaseDuration(), s.renewDeadline(), s.retryPeriod()), metrics);
      HttpServer server = serve(listen, controller::ready, metrics::render);
      controller.start();
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        controller.close();
        server.stop(0);
        stop.countDown();
      }));
      stop.await();
      return ControllerMain.OK;
    } catch (IOException e) {
      err.println("run: " + e.getMessage());
      return ControllerMain.INVALID;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ControllerMain.OK;
    }
  }

  /** /healthz (always, every replica), /readyz (caches synced), /metrics. */
  static HttpServer serve(String listen, BooleanSupplier ready, Supplier<String> metrics) throws IOException {
    int colon = listen.lastIndexOf(':');
    HttpServer server = HttpServer.create(new InetSocketAddress(listen.substring(0, colon),
        Integer.parseInt(listen.substring(colon + 1))), 16);
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
