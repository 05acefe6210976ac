package dev.registrypolicy.controller.webhook;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * A webhook server on loopback over HTTPS and a client for it, for tests outside this package (the
 * check/webhook agreement test).
 */
public final class ReviewHarness implements AutoCloseable {
  private final WebhookServer server;
  private final HttpClient client;

  private ReviewHarness(WebhookServer server, HttpClient client) {
    this.server = server;
    this.client = client;
  }

  /** A server with the real evaluator, the given policies and namespaces, and budget. */
  public static ReviewHarness start(
      PolicySource policies, NamespaceLookup namespaces, Duration metadataBudget) throws Exception {
    TlsMaterial tls = WebhookTesting.localhostTls();
    WebhookServer s =
        WebhookServer.start(
            "127.0.0.1",
            0,
            ServerLimits.DEFAULTS.withMetadataBudget(metadataBudget),
            namespaces,
            policies,
            Evaluator.MODEL,
            WebhookMetrics.unregistered(),
            tls);
    return new ReviewHarness(s, WebhookTesting.client(tls));
  }

  /** POSTs a CREATE review of {@code object} in {@code namespace}; the response object. */
  public Map<String, Object> create(
      String path, String group, String kind, String namespace, Map<String, Object> object)
      throws Exception {
    String body =
        WebhookTesting.review("uid", group, kind, null, "CREATE", namespace, object, null);
    HttpResponse<String> r = WebhookTesting.post(client, server.port(), path, body);
    if (r.statusCode() != 200) {
      throw new AssertionError("HTTP " + r.statusCode() + ": " + r.body());
    }
    return WebhookTesting.response(r.body());
  }

  @Override
  public void close() {
    server.close();
  }
}
