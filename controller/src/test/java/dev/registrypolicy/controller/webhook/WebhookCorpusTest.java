package dev.registrypolicy.controller.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.admission.corpus.AdmissionCorpus;
import dev.registrypolicy.admission.corpus.Case;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every case of the shared corpus sent as an AdmissionReview over real HTTPS: the webhook's answer
 * agrees with {@link AdmissionCheck} (allowed, the Deny message, the warnings, the audit
 * annotation) and with the corpus's expected action.
 */
class WebhookCorpusTest {
  static final PolicySource.Holder POLICIES = new PolicySource.Holder();
  static final AtomicReference<Case> CURRENT = new AtomicReference<>();
  static final ContentReview REVIEW = new ContentReview(ImageContentMetrics.unregistered());
  static final dev.registrypolicy.controller.imagemeta.ImageMetadataSource PASSING_SOURCE =
      (ref, deadline) ->
          new dev.registrypolicy.admission.ImageMetadata(
              "sha256:" + "0".repeat(64),
              null,
              "1000",
              java.util.Map.of(),
              "linux",
              "amd64",
              "",
              1);
  static TlsMaterial tls;
  static WebhookServer server;
  static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    tls = WebhookTesting.localhostTls();
    server =
        WebhookServer.start(
            "127.0.0.1",
            0,
            ServerLimits.DEFAULTS,
            name -> Optional.of(CURRENT.get().namespace()),
            POLICIES,
            Evaluator.MODEL,
            WebhookMetrics.unregistered(),
            tls);
    client = WebhookTesting.client(tls);
  }

  @AfterAll
  static void stop() {
    server.close();
    REVIEW.close();
  }

  @Test
  void everyCorpusCaseAgreesWithTheVerdictFunction() throws Exception {
    List<Case> cases = AdmissionCorpus.load();
    assertTrue(cases.size() >= 200, "corpus has " + cases.size() + " cases");
    List<String> mismatches = new ArrayList<>();
    for (Case c : cases) {
      CURRENT.set(c);
      // The corpus is the reference verdict function's; its image-content rules (07-empty.yaml)
      // meet an image that passes them (non-root, 1 byte), so the webhook must agree with it.
      POLICIES.set(PolicySnapshot.of(c.policy(), c.ownNamespace(), PASSING_SOURCE, REVIEW));
      String ns = c.namespace().name();
      AdmissionCheck check = AdmissionCheck.of(c.policy(), c.ownNamespace());
      Verdict v =
          check.check(
              c.namespace(),
              Workload.fromObject(c.object(), ns),
              c.oldObject() == null ? null : Workload.fromObject(c.oldObject(), ns));
      String kind = String.valueOf(c.object().get("kind"));
      WorkloadKind k = WorkloadKind.ofKind(kind);
      String body =
          WebhookTesting.review(
              "uid-" + c.id(),
              k == null ? "" : k.group(),
              kind,
              c.subResource(),
              c.isUpdate() ? "UPDATE" : "CREATE",
              ns,
              c.object(),
              c.oldObject());
      HttpResponse<String> r = WebhookTesting.post(client, server.port(), "/validate", body);
      if (r.statusCode() != 200) {
        mismatches.add(c.id() + ": HTTP " + r.statusCode() + " " + r.body());
        continue;
      }
      Map<String, Object> got = WebhookTesting.response(r.body());
      List<String> diffs = new ArrayList<>();
      if (!("uid-" + c.id()).equals(got.get("uid"))) {
        diffs.add("uid not echoed");
      }
      boolean allowed = v.action() != Action.DENY;
      if (!Boolean.valueOf(allowed).equals(got.get("allowed"))) {
        diffs.add("allowed: expected " + allowed + ", got " + got.get("allowed"));
      }
      if ((c.expected().action() != Action.DENY) != allowed) {
        diffs.add("corpus expects " + c.expected().action() + ", verdict " + v.action());
      }
      Object status = got.get("status");
      String message =
          status instanceof Map<?, ?> m && m.get("message") instanceof String s ? s : null;
      if (!java.util.Objects.equals(v.message(Action.DENY), message)) {
        diffs.add("deny message: expected <" + v.message(Action.DENY) + ">, got <" + message + ">");
      }
      List<String> warnings =
          ValidatingReview.warnings(v.firstFindings(Action.WARN)).stream().toList();
      Object gotWarnings = got.get("warnings") == null ? List.of() : got.get("warnings");
      if (!warnings.equals(gotWarnings)) {
        diffs.add("warnings: expected " + warnings + ", got " + gotWarnings);
      }
      String audit = v.message(Action.AUDIT);
      Object gotAudit = got.get("auditAnnotations");
      Object wantAudit = audit == null ? null : Map.of("audit", audit);
      if (!java.util.Objects.equals(wantAudit, gotAudit)) {
        diffs.add("audit: expected " + wantAudit + ", got " + gotAudit);
      }
      if (!diffs.isEmpty()) {
        mismatches.add(c.id() + ": " + String.join("; ", diffs));
      }
    }
    assertEquals(List.of(), mismatches, mismatches.size() + " of " + cases.size() + " cases");
    // Not a vacuous run: the corpus has every outcome.
    for (Action a : Action.values()) {
      assertTrue(
          cases.stream().anyMatch(c -> c.expected().action() == a), "no corpus case of " + a);
    }
    assertTrue(cases.stream().anyMatch(c -> c.subResource() != null));
    assertTrue(cases.stream().anyMatch(Case::isUpdate));
  }
}
