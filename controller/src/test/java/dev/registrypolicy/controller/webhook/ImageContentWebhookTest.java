package dev.registrypolicy.controller.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.ImageContentCheck.Decision;
import dev.registrypolicy.admission.MetadataFailure;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import dev.registrypolicy.controller.webhook.FakeMetadataSource.Answer;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.PolicyDocument;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The image-content rules through the webhook over real HTTPS, with an in-memory source. */
class ImageContentWebhookTest {
  static final String HEAD = "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";
  static final Duration BUDGET = Duration.ofMillis(400);
  static final String ROOT = "registry.corp.example/app:1";
  static final String USER = "registry.corp.example/user:1";
  static final String BIG = "registry.corp.example/big:1";
  static final String SLOW = "registry.corp.example/slow:1";
  static final String HANG = "registry.corp.example/hang:1";
  static final String DENIED = "registry.corp.example/denied:1";

  static final PolicySource.Holder POLICIES = new PolicySource.Holder();
  static ContentReview review;
  static WebhookServer server;
  static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    TlsMaterial tls = WebhookTesting.localhostTls();
    review = new ContentReview(ImageContentMetrics.unregistered());
    server =
        WebhookServer.start(
            "127.0.0.1",
            0,
            ServerLimits.DEFAULTS.withMetadataBudget(BUDGET),
            name -> Optional.of(new NamespaceInfo(name, Map.of(), Map.of())),
            POLICIES,
            Evaluator.MODEL,
            WebhookMetrics.unregistered(),
            tls);
    client = WebhookTesting.client(tls);
  }

  @AfterAll
  static void stop() {
    server.close();
    review.close();
  }

  static FakeMetadataSource source() {
    return new FakeMetadataSource()
        .put(ROOT, Answer.of(FakeMetadataSource.md("", 10, Map.of())))
        .put(USER, Answer.of(FakeMetadataSource.md("1000:1000", 10, Map.of("team", "shop"))))
        .put(BIG, Answer.of(FakeMetadataSource.md("1000", 3L << 30, Map.of())))
        .put(
            SLOW,
            Answer.of(FakeMetadataSource.md("1000", 10, Map.of())).after(Duration.ofMillis(150)))
        .put(HANG, Answer.hanging())
        .put(DENIED, Answer.failing(Kind.UNAUTHORIZED));
  }

  static void policy(String yaml, FakeMetadataSource source) throws Exception {
    POLICIES.set(
        PolicySnapshot.of(PolicyDocument.parse(HEAD + yaml), "registry-policy", source, review));
  }

  static Map<String, Object> post(String path, Map<String, Object> podSecurity, String... images)
      throws Exception {
    List<Map<String, Object>> cs = new ArrayList<>();
    for (int i = 0; i < images.length; i++) {
      cs.add(WebhookTesting.container("c" + i, images[i]));
    }
    Map<String, Object> spec = WebhookTesting.spec(cs);
    if (podSecurity != null) {
      spec.put("securityContext", podSecurity);
    }
    Map<String, Object> pod = WebhookTesting.pod("app", "p", new LinkedHashMap<>(spec));
    String body = WebhookTesting.review("u1", "", "Pod", null, "CREATE", "app", pod, null);
    HttpResponse<String> r = WebhookTesting.post(client, server.port(), path, body);
    assertEquals(200, r.statusCode(), r.body());
    return WebhookTesting.response(r.body());
  }

  static String denial(Map<String, Object> resp) {
    return resp.get("status") instanceof Map<?, ?> m ? (String) m.get("message") : null;
  }

  static final String NO_ROOT =
      "admission:\n  rules:\n    - {name: no-root, imageMetadata: {denyRunAsRoot: true}}\n";

  @Test
  void rootImageIsDeniedWithWhatWasFound() throws Exception {
    policy(NO_ROOT, source());
    Map<String, Object> r = post("/validate", null, ROOT, USER);
    assertEquals(false, r.get("allowed"));
    assertEquals(
        "container \"c0\": image \"registry.corp.example/app:1\" runs as root (config user \"\")"
            + " (rule no-root)",
        denial(r));
    assertEquals(true, post("/validate", Map.of("runAsNonRoot", true), ROOT).get("allowed"));
    assertEquals(true, post("/validate", null, USER).get("allowed"));
  }

  @Test
  void warnAndAuditModes() throws Exception {
    policy(
        "admission:\n  rules:\n"
            + "    - {name: size, mode: Warn, imageMetadata: {maxSize: 1Gi}}\n"
            + "    - {name: label, mode: Audit, imageMetadata: {requiredLabels: [{key: team}]}}\n",
        source());
    Map<String, Object> r = post("/validate", null, BIG);
    assertEquals(true, r.get("allowed"));
    assertEquals(
        List.of(
            "container \"c0\": image \"registry.corp.example/big:1\" is 3.0 GiB (3221225472 bytes"
                + " of layers), over the maxSize of 1.0 GiB (1073741824 bytes) (rule size)"),
        r.get("warnings"));
    assertEquals(
        Map.of(
            "audit",
            "container \"c0\": image \"registry.corp.example/big:1\" lacks the required label"
                + " \"team\" (rule label)"),
        r.get("auditAnnotations"));
  }

  @Test
  void oneResponseCarriesReferenceAndContentReasons() throws Exception {
    policy(
        "admission:\n  rules:\n    - {name: pin, mode: Warn, requireDigest: true}\n"
            + "    - {name: no-root, imageMetadata: {denyRunAsRoot: true}}\n",
        source());
    Map<String, Object> r = post("/validate", null, ROOT);
    assertEquals(false, r.get("allowed"));
    assertTrue(denial(r).contains("runs as root"), denial(r));
    assertEquals(
        List.of(
            "container \"c0\": image \"registry.corp.example/app:1\" is not pinned by digest"
                + " (rule pin)"),
        r.get("warnings"));
    // The content path (policy objects enforce the rest): only the content rules' reasons.
    Map<String, Object> c = post(WebhookServer.VALIDATE_CONTENT_PATH, null, ROOT);
    assertEquals(false, c.get("allowed"));
    assertNull(c.get("warnings"));
    Map<String, Object> ok = post(WebhookServer.VALIDATE_CONTENT_PATH, null, USER);
    assertEquals(true, ok.get("allowed"));
    assertNull(ok.get("warnings"), "the pin rule is the policy objects' business there");
  }

  @Test
  void cacheHitsAreAnsweredOnTheReviewThreadWithoutAFetch() throws Exception {
    FakeMetadataSource s = source().inCache(ROOT, USER);
    policy(NO_ROOT, s);
    Map<String, Object> r = post("/validate", null, ROOT, USER, SLOW);
    assertEquals(false, r.get("allowed"));
    assertEquals(
        "container \"c0\": image \"registry.corp.example/app:1\" runs as root (config user \"\")"
            + " (rule no-root)",
        denial(r));
    assertEquals(0, s.calls(ROOT), "a cache hit was fetched");
    assertEquals(0, s.calls(USER), "a cache hit was fetched");
    assertEquals(1, s.calls(SLOW), "the miss goes to the fetch");
    assertEquals(3, s.cacheThreads().size(), s.cacheThreads().toString());
    for (String t : s.cacheThreads()) {
      assertFalse(t.startsWith("image-metadata-"), "cache asked on the lookup pool: " + t);
    }
  }

  @Test
  void aFailingCacheFallsBackToTheFetch() throws Exception {
    FakeMetadataSource s = source().inCache(ROOT).cacheFails();
    policy(NO_ROOT, s);
    Map<String, Object> r = post("/validate", null, ROOT);
    assertEquals(false, r.get("allowed"));
    assertTrue(denial(r).contains("runs as root"), denial(r));
    assertEquals(1, s.calls(ROOT));
  }

  @Test
  void distinctImagesAreFetchedConcurrentlyAndOnce() throws Exception {
    FakeMetadataSource s =
        source()
            .put(
                "registry.corp.example/slow2:1",
                Answer.of(FakeMetadataSource.md("1000", 10, Map.of()))
                    .after(Duration.ofMillis(150)))
            .put(
                "registry.corp.example/slow3:1",
                Answer.of(FakeMetadataSource.md("1000", 10, Map.of()))
                    .after(Duration.ofMillis(150)));
    policy(NO_ROOT, s);
    long t0 = System.nanoTime();
    Map<String, Object> r =
        post(
            "/validate",
            null,
            SLOW,
            "registry.corp.example/slow2:1",
            "registry.corp.example/slow3:1",
            SLOW);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(true, r.get("allowed"));
    assertTrue(ms < 400, "three 150 ms lookups took " + ms + " ms: not concurrent");
    assertEquals(1, s.calls(SLOW), "the same image twice in a Pod is fetched once");
    assertEquals(3, s.calls());
  }

  @Test
  void aHangingSourceMeetsTheDeadlineAndOnErrorDecides() throws Exception {
    long before = review.metrics().lookups(MetadataFailure.TIMEOUT);
    long deniedBefore = review.metrics().decisions(Decision.ERROR_DENIED, Action.DENY);
    policy(NO_ROOT, source());
    long t0 = System.nanoTime();
    Map<String, Object> r = post("/validate", null, HANG);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < BUDGET.toMillis() + 1_000, "answered after " + ms + " ms");
    assertTrue(ms >= BUDGET.toMillis() - 50, "answered before the budget: " + ms + " ms");
    assertEquals(false, r.get("allowed"));
    assertEquals(
        "container \"c0\": image \"registry.corp.example/hang:1\" could not be checked (timeout:"
            + " the metadata of registry.corp.example/hang:1 was not had within the review's"
            + " deadline; onError Deny) (rule no-root)",
        denial(r));
    assertEquals(before + 1, review.metrics().lookups(MetadataFailure.TIMEOUT));
    assertEquals(deniedBefore + 1, review.metrics().decisions(Decision.ERROR_DENIED, Action.DENY));

    policy(
        "admission:\n  rules:\n    - {name: lenient, imageMetadata: {denyRunAsRoot: true,"
            + " onError: Allow}}\n",
        source());
    long allowedBefore = review.metrics().decisions(Decision.ERROR_ALLOWED, Action.DENY);
    Map<String, Object> a = post("/validate", null, HANG);
    assertEquals(true, a.get("allowed"));
    assertEquals(
        allowedBefore + 1, review.metrics().decisions(Decision.ERROR_ALLOWED, Action.DENY));
  }

  @Test
  void eachFailureKindFollowsOnError() throws Exception {
    for (Kind k : Kind.values()) {
      FakeMetadataSource s = source().put(ROOT, Answer.failing(k));
      policy(NO_ROOT, s);
      Map<String, Object> r = post("/validate", null, ROOT);
      assertEquals(false, r.get("allowed"), k.name());
      assertTrue(
          denial(r).contains("could not be checked (" + ContentReview.kind(k).words() + ":"),
          denial(r));
      policy(
          "admission:\n  rules:\n    - {name: r, imageMetadata: {denyRunAsRoot: true, onError:"
              + " Allow}}\n",
          s);
      assertEquals(true, post("/validate", null, ROOT).get("allowed"), k.name());
    }
  }

  @Test
  void requireKnownDigestDeniesAMissingTagWhateverOnError() throws Exception {
    policy(
        "admission:\n  rules:\n    - {name: known, imageMetadata: {requireKnownDigest: true,"
            + " onError: Allow}}\n",
        source());
    Map<String, Object> r = post("/validate", null, "registry.corp.example/gone:2");
    assertEquals(
        "container \"c0\": image \"registry.corp.example/gone:2\" is not in its registry (tag"
            + " \"2\" not found) (rule known)",
        denial(r));
    assertEquals(true, post("/validate", null, DENIED).get("allowed"), "unauthorized: onError");
  }

  @Test
  void imagesThePolicyRefusesAnywayAreNotFetched() throws Exception {
    FakeMetadataSource s = source();
    policy(
        "admission:\n  allowedSources: [{prefix: registry.corp.example/user}]\n"
            + NO_ROOT.substring("admission:\n".length()),
        s);
    Map<String, Object> r = post("/validate", null, ROOT);
    assertEquals(false, r.get("allowed"));
    assertTrue(denial(r).contains("is not from an allowed source"), denial(r));
    assertEquals(0, s.calls(), "no registry is contacted for a refused image");
  }

  @Test
  void withoutRegistryAccessOnErrorDecides() throws Exception {
    POLICIES.set(PolicySnapshot.of(PolicyDocument.parse(HEAD + NO_ROOT), "registry-policy"));
    Map<String, Object> r = post("/validate", null, ROOT);
    assertEquals(false, r.get("allowed"));
    assertTrue(denial(r).contains("no registry access configured"), denial(r));
    assertFalse(denial(r).contains("Exception"), denial(r));
  }

  @Test
  void theRuntimeBuildsEachPolicysSourceFromItsMetadataSources() throws Exception {
    FakeMetadataSource s = source();
    List<dev.registrypolicy.policy.Policy> seen = new ArrayList<>();
    WebhookSettings ws = WebhookSettings.parse(Map.of(), "registry-policy").settings();
    try (WebhookRuntime rt =
        new WebhookRuntime(
            ws,
            new MemorySecretStore(),
            name -> Optional.empty(),
            (settings, namespaces, policies, tls) -> {
              throw new java.io.IOException("not started in this test");
            },
            p -> {
              seen.add(p);
              return s;
            },
            ImageContentMetrics.unregistered())) {
      dev.registrypolicy.policy.Policy p = PolicyDocument.parse(HEAD + NO_ROOT);
      rt.policy(p);
      PolicySnapshot snap = rt.policies().current().orElseThrow();
      assertTrue(snap.source() == s, "the policy's source is the one MetadataSources made");
      assertEquals(List.of(p), seen);
      assertFalse(snap.content().isEmpty());
    }
  }

  @Test
  void manyHangingImagesStayWithinTheBudgetAndTheThreadLimit() throws Exception {
    FakeMetadataSource s = source();
    String[] images = new String[150];
    for (int i = 0; i < images.length; i++) {
      images[i] = "registry.corp.example/h" + i + ":1";
      s.put(images[i], Answer.hanging());
    }
    policy(NO_ROOT, s);
    long rejectedBefore = review.metrics().lookups(MetadataFailure.ERROR);
    long t0 = System.nanoTime();
    Map<String, Object> r = post("/validate", null, images);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < BUDGET.toMillis() + 2_000, "answered after " + ms + " ms");
    assertEquals(false, r.get("allowed"));
    assertTrue(s.calls() <= ContentReview.MAX_THREADS, s.calls() + " lookups ran at once");
    assertTrue(
        review.metrics().lookups(MetadataFailure.ERROR) - rejectedBefore
            >= images.length - ContentReview.MAX_THREADS,
        "lookups beyond the thread limit fail at once as errors");
  }
}
