package dev.registrypolicy.controller.webhook;

import static dev.registrypolicy.controller.webhook.WebhookTesting.container;
import static dev.registrypolicy.controller.webhook.WebhookTesting.pod;
import static dev.registrypolicy.controller.webhook.WebhookTesting.post;
import static dev.registrypolicy.controller.webhook.WebhookTesting.response;
import static dev.registrypolicy.controller.webhook.WebhookTesting.review;
import static dev.registrypolicy.controller.webhook.WebhookTesting.spec;
import static dev.registrypolicy.controller.webhook.WebhookTesting.workload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.PolicyDocument;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The validating path over real HTTPS with the model's verdict function. */
class WebhookServerTest {
  static final int MAX_BODY = 64 * 1024;

  /** Images under example.com/deny, /warn and /audit break a rule of that mode. */
  static final String POLICY =
      """
      apiVersion: registry-policy.dev/v1alpha1
      kind: RegistryPolicy
      admission:
        mode: Deny
        exemptNamespaces: [kube-system]
        rules:
          - name: blocked
            blockedImages: [{host: example.com, name: "deny/*"}]
          - name: warned
            mode: Warn
            blockedImages: [{host: example.com, name: "warn/*"}]
          - name: audited
            mode: Audit
            blockedImages: [{host: example.com, name: "audit/*"}]
      """;

  static TlsMaterial tls;
  static WebhookServer server;
  static HttpClient client;
  static final PolicySource.Holder POLICIES = new PolicySource.Holder();
  static final AtomicReference<RuntimeException> FAIL = new AtomicReference<>();
  static final WebhookMetrics METRICS = WebhookMetrics.unregistered();

  @BeforeAll
  static void start() throws Exception {
    tls = WebhookTesting.localhostTls();
    POLICIES.set(PolicySnapshot.of(PolicyDocument.parse(POLICY), "registry-policy"));
    Evaluator failing =
        new Evaluator() {
          @Override
          public boolean exempt(PolicySnapshot p, String ns) {
            return Evaluator.MODEL.exempt(p, ns);
          }

          @Override
          public dev.registrypolicy.admission.Workload read(Map<String, Object> o, String ns)
              throws dev.registrypolicy.admission.InvalidWorkloadException {
            return Evaluator.MODEL.read(o, ns);
          }

          @Override
          public dev.registrypolicy.admission.Verdict check(
              PolicySnapshot p,
              NamespaceInfo ns,
              dev.registrypolicy.admission.Workload w,
              dev.registrypolicy.admission.Workload old) {
            RuntimeException e = FAIL.get();
            if (e != null) {
              throw e;
            }
            return Evaluator.MODEL.check(p, ns, w, old);
          }
        };
    server =
        WebhookServer.start(
            "127.0.0.1",
            0,
            new ServerLimits(MAX_BODY, Duration.ofMillis(1500), Duration.ofMillis(1500), 8),
            name ->
                name.equals("unknown") ? Optional.empty() : Optional.of(NamespaceInfo.named(name)),
            POLICIES,
            failing,
            METRICS,
            tls);
    client = WebhookTesting.client(tls);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static Map<String, Object> validate(String body) throws Exception {
    HttpResponse<String> r = post(client, server.port(), "/validate", body);
    assertEquals(200, r.statusCode(), r.body());
    return response(r.body());
  }

  private static String podReview(String uid, String op, String ns, String... images) {
    List<Map<String, Object>> cs = new java.util.ArrayList<>();
    for (int i = 0; i < images.length; i++) {
      cs.add(container("c" + i, images[i]));
    }
    return review(uid, "", "Pod", null, op, ns, pod(ns, "p", spec(cs)), null);
  }

  @Test
  void everyReviewIsTimedByPath_badOnesToo() throws Exception {
    long validate = total(WebhookServer.VALIDATE_PATH);
    long mutate = total(WebhookServer.MUTATE_PATH);
    validate(podReview("uid-timed-1", "CREATE", "team", "registry/app:1"));
    assertEquals(
        400, post(client, server.port(), "/validate", "{\"kind\":\"nonsense\"}").statusCode());
    post(client, server.port(), "/mutate", podReview("uid-timed-2", "CREATE", "team", "a/b:1"));
    // An answer with its length is sent as soon as it is written, so the client can have it a
    // moment before the handler returns and the time is counted.
    long until = System.nanoTime() + 2_000_000_000L;
    while ((total(WebhookServer.VALIDATE_PATH) < validate + 2
            || total(WebhookServer.MUTATE_PATH) < mutate + 1)
        && System.nanoTime() < until) {
      Thread.sleep(5);
    }
    assertEquals(validate + 2, total(WebhookServer.VALIDATE_PATH));
    assertEquals(mutate + 1, total(WebhookServer.MUTATE_PATH));
    long[] c = METRICS.counts(WebhookServer.VALIDATE_PATH);
    assertEquals(WebhookMetrics.bounds().length + 1, c.length);
    assertEquals(0, c[c.length - 1], "a review over 10 s: " + java.util.Arrays.toString(c));
  }

  private static long total(String path) {
    return java.util.Arrays.stream(METRICS.counts(path)).sum();
  }

  @Test
  void allowedPodEchoesUidAndCarriesNoStatus() throws Exception {
    Map<String, Object> r = validate(podReview("uid-allow-1", "CREATE", "team", "registry/app:1"));
    assertEquals("uid-allow-1", r.get("uid"));
    assertEquals(true, r.get("allowed"));
    assertNull(r.get("status"));
    assertNull(r.get("warnings"));
    assertNull(r.get("auditAnnotations"));
  }

  @Test
  void denyGives403WithTheDenyMessagesOnly() throws Exception {
    Map<String, Object> r =
        validate(
            podReview(
                "u-d",
                "CREATE",
                "team",
                "example.com/deny/app:1",
                "example.com/warn/app:1",
                "example.com/deny/app:2"));
    assertEquals("u-d", r.get("uid"));
    assertEquals(false, r.get("allowed"));
    @SuppressWarnings("unchecked")
    Map<String, Object> status = (Map<String, Object>) r.get("status");
    assertEquals(403.0, status.get("code"));
    assertEquals(
        "container \"c0\": image \"example.com/deny/app:1\" is blocked (rule blocked); "
            + "container \"c2\": image \"example.com/deny/app:2\" is blocked (rule blocked)",
        status.get("message"));
    assertEquals(
        List.of("container \"c1\": image \"example.com/warn/app:1\" is blocked (rule warned)"),
        r.get("warnings"));
  }

  @Test
  void warnAndAuditAreAllowedWithWarningsAndAnAuditAnnotation() throws Exception {
    Map<String, Object> r =
        validate(
            podReview(
                "u-w",
                "CREATE",
                "team",
                "example.com/warn/app:1",
                "example.com/audit/app:1",
                "example.com/audit/app:2"));
    assertEquals(true, r.get("allowed"));
    assertEquals(
        List.of("container \"c0\": image \"example.com/warn/app:1\" is blocked (rule warned)"),
        r.get("warnings"));
    assertEquals(
        Map.of(
            "audit",
            "container \"c1\": image \"example.com/audit/app:1\" is blocked (rule audited); "
                + "container \"c2\": image \"example.com/audit/app:2\" is blocked (rule audited)"),
        r.get("auditAnnotations"));
  }

  @Test
  void manyLongWarningsAreCutToTheApiServersLimits() throws Exception {
    List<Map<String, Object>> cs = new java.util.ArrayList<>();
    for (int i = 0; i < 40; i++) {
      cs.add(container("c" + i + "-" + "n".repeat(250), "example.com/warn/app:" + i));
    }
    Map<String, Object> r =
        validate(
            review("u-many", "", "Pod", null, "CREATE", "team", pod("team", "p", spec(cs)), null));
    @SuppressWarnings("unchecked")
    List<String> w = (List<String>) r.get("warnings");
    int total = w.stream().mapToInt(String::length).sum();
    assertTrue(total <= ValidatingReview.MAX_WARNINGS_TOTAL_CHARS, "total " + total);
    assertTrue(w.stream().allMatch(s -> s.length() <= ValidatingReview.MAX_WARNING_CHARS));
    assertTrue(w.get(w.size() - 1).matches("\\d+ more warnings from registry-policy not shown"));
  }

  @ParameterizedTest
  @EnumSource(WorkloadKind.class)
  void everyWorkloadKindIsChecked(WorkloadKind k) throws Exception {
    Map<String, Object> obj =
        workload(
            k, "team", spec(List.of(container("app", "example.com/deny/app:" + k.resource()))));
    Map<String, Object> r =
        validate(review("u-" + k, k.group(), k.kind(), null, "CREATE", "team", obj, null));
    assertEquals(false, r.get("allowed"), k.kind());
    Map<String, Object> ok =
        workload(
            k, "team", spec(List.of(container("app", "example.com/fine/app:" + k.resource()))));
    assertEquals(
        true,
        validate(review("u-ok-" + k, k.group(), k.kind(), null, "CREATE", "team", ok, null))
            .get("allowed"));
  }

  @Test
  void kindsAndSubresourcesAdmissionDoesNotCheckAreAllowed() throws Exception {
    Map<String, Object> cm = Map.of("apiVersion", "v1", "kind", "ConfigMap");
    assertEquals(
        true,
        validate(review("u-cm", "", "ConfigMap", null, "CREATE", "team", cm, null)).get("allowed"));
    // A Deployment named in a foreign group is not ours.
    Map<String, Object> foreign =
        workload(
            WorkloadKind.DEPLOYMENT,
            "team",
            spec(List.of(container("a", "example.com/deny/app:1"))));
    assertEquals(
        true,
        validate(review("u-f", "example.com", "Deployment", null, "CREATE", "team", foreign, null))
            .get("allowed"));
    Map<String, Object> p =
        pod("team", "p", spec(List.of(container("a", "example.com/deny/app:1"))));
    assertEquals(
        true, validate(review("u-st", "", "Pod", "status", "UPDATE", "team", p, p)).get("allowed"));
    assertEquals(
        true, validate(review("u-del", "", "Pod", null, "DELETE", "team", null, p)).get("allowed"));
  }

  @Test
  void exemptNamespaceIsAllowed() throws Exception {
    assertEquals(
        true,
        validate(podReview("u-ex", "CREATE", "kube-system", "example.com/deny/app:1"))
            .get("allowed"));
  }

  @Test
  void updateChecksOnlyWhatItIntroduces() throws Exception {
    Map<String, Object> old =
        pod("team", "p", spec(List.of(container("a", "example.com/deny/app:1"))));
    Map<String, Object> same =
        pod("team", "p", spec(List.of(container("a", "example.com/deny/app:1"))));
    assertEquals(
        true,
        validate(review("u-up1", "", "Pod", null, "UPDATE", "team", same, old)).get("allowed"));
    Map<String, Object> changed =
        pod("team", "p", spec(List.of(container("a", "example.com/deny/app:2"))));
    assertEquals(
        false,
        validate(review("u-up2", "", "Pod", null, "UPDATE", "team", changed, old)).get("allowed"));
  }

  @Test
  void ephemeralContainersSubresourceChecksTheNewDebugContainer() throws Exception {
    Map<String, Object> oldSpec = spec(List.of(container("app", "example.com/deny/app:old")));
    Map<String, Object> old = pod("team", "p", oldSpec);
    Map<String, Object> newSpec = spec(List.of(container("app", "example.com/deny/app:old")));
    newSpec.put(
        "ephemeralContainers", List.of(container("debugger", "example.com/deny/app:busybox")));
    Map<String, Object> r =
        validate(
            review(
                "u-eph",
                "",
                "Pod",
                "ephemeralcontainers",
                "UPDATE",
                "team",
                pod("team", "p", newSpec),
                old));
    assertEquals(false, r.get("allowed"));
    @SuppressWarnings("unchecked")
    String msg = (String) ((Map<String, Object>) r.get("status")).get("message");
    assertEquals(
        "ephemeral container \"debugger\": image \"example.com/deny/app:busybox\" is blocked (rule blocked)",
        msg);
    newSpec.put("ephemeralContainers", List.of(container("debugger", "example.com/fine/app:1")));
    assertEquals(
        true,
        validate(
                review(
                    "u-eph2",
                    "",
                    "Pod",
                    "ephemeralcontainers",
                    "UPDATE",
                    "team",
                    pod("team", "p", newSpec),
                    old))
            .get("allowed"));
  }

  @Test
  void undecidableReviewsAnswerAnErrorStatusSoFailurePolicyDecides() throws Exception {
    HttpResponse<String> r =
        post(client, server.port(), "/validate", podReview("u-ns", "CREATE", "unknown", "a:1"));
    assertEquals(503, r.statusCode());
    Map<?, ?> status = WebhookTesting.GSON.fromJson(r.body(), Map.class);
    assertEquals("Status", status.get("kind"));
    assertEquals(
        "namespace \"unknown\" is not in the controller's cache yet", status.get("message"));
    FAIL.set(new IllegalStateException("boom"));
    try {
      r = post(client, server.port(), "/validate", podReview("u-int", "CREATE", "team", "a:1"));
      assertEquals(500, r.statusCode());
      status = WebhookTesting.GSON.fromJson(r.body(), Map.class);
      assertEquals("InternalError", status.get("reason"));
      String message = (String) status.get("message");
      assertTrue(message.contains("unexpected error in the webhook (boom;"), message);
      assertTrue(message.contains("failurePolicy decides"), message);
      assertFalse(message.contains("Exception"), message);
    } finally {
      FAIL.set(null);
    }
    assertEquals(true, validate(podReview("u-after", "CREATE", "team", "a:1")).get("allowed"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "not json",
        "{\"apiVersion\":\"admission.k8s.io/v1\"",
        "{} {}",
        "[]",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\",\"request\":{}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"\",\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"kind\":\"AdmissionReview\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"object\":[]}}",
        "{'apiVersion':'admission.k8s.io/v1'}",
        "{\"a\":01}",
        "{\"a\":NaN}",
      })
  void malformedBodiesGet400AndTheServerKeepsServing(String body) throws Exception {
    HttpResponse<String> r = post(client, server.port(), "/validate", body);
    assertEquals(400, r.statusCode(), r.body());
    assertFalse(r.body().contains("Exception"), r.body());
    HttpResponse<String> m = post(client, server.port(), "/mutate", body);
    assertEquals(400, m.statusCode(), m.body());
    assertEquals(true, validate(podReview("u-ok", "CREATE", "team", "a:1")).get("allowed"));
  }

  @Test
  void deepNestingAndBadUtf8Get400() throws Exception {
    String deep = "[".repeat(10_000) + "]".repeat(10_000);
    assertEquals(400, post(client, server.port(), "/validate", deep).statusCode());
    byte[] bad = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
    HttpResponse<String> r =
        client.send(
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("https://localhost:" + server.port() + "/validate"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(bad))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(400, r.statusCode());
    assertEquals("body is not UTF-8\n", r.body());
  }

  @Test
  void oversizedBodiesGet400WithOrWithoutContentLength() throws Exception {
    String big = podReview("u-big", "CREATE", "team", "a/" + "x".repeat(MAX_BODY) + ":1");
    HttpResponse<String> r = post(client, server.port(), "/validate", big);
    assertEquals(400, r.statusCode());
    assertEquals("body is larger than " + MAX_BODY + " bytes\n", r.body());
    // Chunked: no Content-Length, the limit is found while reading.
    byte[] bytes = big.getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> chunked =
        client.send(
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("https://localhost:" + server.port() + "/validate"))
                .POST(
                    java.net.http.HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(bytes)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(400, chunked.statusCode());
    assertEquals(true, validate(podReview("u-ok2", "CREATE", "team", "a:1")).get("allowed"));
  }

  @Test
  void aStalledBodyIsCutOffAndTheServerKeepsServing() throws Exception {
    long start = System.nanoTime();
    try (SSLSocket s =
        (SSLSocket)
            WebhookTesting.trusting(tls.caCertificates())
                .getSocketFactory()
                .createSocket("localhost", server.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  + "Content-Length: 1000\r\n\r\n{\"apiVersion\":")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      int n;
      StringBuilder got = new StringBuilder();
      try {
        while ((n = in.read(buf)) > 0) {
          got.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
        }
      } catch (java.io.IOException closed) {
        // a reset is as good as an answer: the server gave up on the body
      }
      String answer = got.toString();
      assertTrue(
          answer.isEmpty() || answer.startsWith("HTTP/1.1 400"), "stalled body got: " + answer);
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    assertTrue(ms < 8_000, "cut off after " + ms + " ms");
    assertEquals(true, validate(podReview("u-ok3", "CREATE", "team", "a:1")).get("allowed"));
  }

  @Test
  void aTricklingBodyIsCutOffAtTheDeadline() throws Exception {
    long start = System.nanoTime();
    String answer;
    try (SSLSocket s =
        (SSLSocket)
            WebhookTesting.trusting(tls.caCertificates())
                .getSocketFactory()
                .createSocket("localhost", server.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(
          "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      // One byte every 300 ms: never idle for the idle timeout, but past the body deadline.
      Thread trickle =
          new Thread(
              () -> {
                try {
                  for (int i = 0; i < 60; i++) {
                    out.write(' ');
                    out.flush();
                    Thread.sleep(300);
                  }
                } catch (Exception stopped) {
                  // the server closed the connection
                }
              });
      trickle.setDaemon(true);
      trickle.start();
      byte[] buf = new byte[4096];
      StringBuilder got = new StringBuilder();
      try {
        int n;
        while ((n = in.read(buf)) > 0) {
          got.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
          if (got.indexOf("\r\n\r\n") > 0) {
            break;
          }
        }
      } catch (java.io.IOException closed) {
        // reset after the answer
      }
      answer = got.toString();
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    assertTrue(ms < 6_000, "cut off after " + ms + " ms");
  }

  @Test
  void onlyHttpsIsServed() throws Exception {
    assertEquals(List.of("ssl,http/1.1"), server.connectors());
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.port())) {
      s.setSoTimeout(5_000);
      s.getOutputStream()
          .write("POST /validate HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] buf = new byte[64];
      int n;
      try {
        n = s.getInputStream().read(buf);
      } catch (java.io.IOException reset) {
        n = -1;
      }
      String got = n > 0 ? new String(buf, 0, n, StandardCharsets.ISO_8859_1) : "";
      assertFalse(got.startsWith("HTTP/1.1 200"), got);
    }
  }
}
