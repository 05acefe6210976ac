package dev.registrypolicy.controller.imagemeta;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A plain-http registry on loopback whose answers a test scripts: a hostile or broken registry
 * (oversized, malformed, wrong digests, redirects, slow bodies). Records every request with its
 * Authorization header's presence.
 */
final class FakeRegistry implements AutoCloseable {
  /** A request seen: method, path and query, whether it carried Authorization. */
  record Seen(String method, String uri, String authorization) {}

  @FunctionalInterface
  interface Handler {
    void handle(HttpExchange ex) throws IOException;
  }

  private final HttpServer server;
  private final ExecutorService pool =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "fake-registry");
            t.setDaemon(true);
            return t;
          });
  final List<Seen> seen = new CopyOnWriteArrayList<>();

  FakeRegistry(Handler handler) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.setExecutor(pool);
    server.createContext(
        "/",
        ex -> {
          seen.add(
              new Seen(
                  ex.getRequestMethod(),
                  ex.getRequestURI().toString(),
                  ex.getRequestHeaders().getFirst("Authorization")));
          try {
            handler.handle(ex);
          } finally {
            ex.close();
          }
        });
    server.start();
  }

  String hostPort() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  static void send(HttpExchange ex, int status, String contentType, byte[] body)
      throws IOException {
    if (contentType != null) {
      ex.getResponseHeaders().set("Content-Type", contentType);
    }
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
