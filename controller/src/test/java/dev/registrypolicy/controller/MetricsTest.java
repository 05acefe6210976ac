package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.common.HealthServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The metric names the README and dashboards use, served on /metrics beside the health probes. */
class MetricsTest {
  @Test
  void namesTypesAndValuesAreKept() {
    Metrics m = new Metrics();
    m.writes.inc();
    m.writes.inc();
    m.conflicts.inc();
    m.leader = true;
    String text = m.scrape();
    for (String counter :
        List.of("writes", "secret_conflicts", "write_races", "invalid_policies", "reconciles")) {
      assertTrue(
          text.contains("# TYPE registry_policy_controller_" + counter + "_total counter\n"), text);
    }
    assertTrue(text.contains("# TYPE registry_policy_controller_leader gauge\n"), text);
    assertTrue(text.contains("\nregistry_policy_controller_writes_total 2.0\n"), text);
    assertTrue(text.contains("\nregistry_policy_controller_secret_conflicts_total 1.0\n"), text);
    assertTrue(text.contains("\nregistry_policy_controller_leader 1.0\n"), text);
    m.leader = false;
    assertTrue(m.scrape().contains("\nregistry_policy_controller_leader 0.0\n"));
  }

  @Test
  void healthAndMetricsAreServed() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Metrics m = new Metrics();
    m.reconciles.inc();
    HealthServer server = ControllerRun.serve("127.0.0.1:" + port, () -> false, m::scrape);
    try {
      HttpClient c = HttpClient.newHttpClient();
      HttpResponse<String> metrics =
          c.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode());
      assertTrue(
          metrics.body().contains("registry_policy_controller_reconciles_total 1.0"),
          metrics.body());
      assertEquals(Metrics.CONTENT_TYPE, metrics.headers().firstValue("Content-Type").orElse(""));
      assertEquals(
          200,
          c.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .statusCode());
      assertEquals(
          503,
          c.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .statusCode());
    } finally {
      server.close();
    }
  }
}
