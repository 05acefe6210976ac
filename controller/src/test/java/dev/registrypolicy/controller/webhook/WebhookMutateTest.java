package dev.registrypolicy.controller.webhook;

import static dev.registrypolicy.controller.webhook.WebhookTesting.container;
import static dev.registrypolicy.controller.webhook.WebhookTesting.pod;
import static dev.registrypolicy.controller.webhook.WebhookTesting.post;
import static dev.registrypolicy.controller.webhook.WebhookTesting.response;
import static dev.registrypolicy.controller.webhook.WebhookTesting.review;
import static dev.registrypolicy.controller.webhook.WebhookTesting.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.NamespaceSelector;
import dev.registrypolicy.policy.PolicyDocument;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The mutating path over real HTTPS: pull Secrets added to new Pods, nothing else touched. */
class WebhookMutateTest {
  static final String POLICY =
      """
      apiVersion: registry-policy.dev/v1alpha1
      kind: RegistryPolicy
      credentials:
        - {name: corp, secret: corp-pull}
        - {name: other, secret: other-pull}
      access:
        - name: corp
          credentials: [corp]
          secretName: corp-registry
          namespaces: {names: [team-a, opted-out]}
          serviceAccounts: all
        - name: other
          credentials: [other]
          secretName: other-registry
          namespaces: {names: [team-a]}
          serviceAccounts: [builder]
      """;

  static final Map<String, NamespaceInfo> NAMESPACES =
      Map.of(
          "team-a",
          NamespaceInfo.named("team-a"),
          "team-b",
          NamespaceInfo.named("team-b"),
          "opted-out",
          new NamespaceInfo(
              "opted-out", Map.of(), Map.of(NamespaceSelector.OPT_OUT_ANNOTATION, "true")));

  static WebhookServer server;
  static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    TlsMaterial tls = WebhookTesting.localhostTls();
    PolicySource.Holder policies = new PolicySource.Holder();
    policies.set(PolicySnapshot.of(PolicyDocument.parse(POLICY), "registry-policy"));
    server =
        WebhookServer.start(
            "127.0.0.1",
            0,
            ServerLimits.DEFAULTS,
            name -> Optional.ofNullable(NAMESPACES.get(name)),
            policies,
            Evaluator.MODEL,
            WebhookMetrics.unregistered(),
            tls);
    client = WebhookTesting.client(tls);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static Map<String, Object> mutate(String ns, Map<String, Object> spec, String op)
      throws Exception {
    String body = review("m-" + ns, "", "Pod", null, op, ns, pod(ns, "p", spec), null);
    var r = post(client, server.port(), "/mutate", body);
    assertEquals(200, r.statusCode(), r.body());
    Map<String, Object> resp = response(r.body());
    assertEquals("m-" + ns, resp.get("uid"));
    assertEquals(true, resp.get("allowed"));
    return resp;
  }

  private static String patch(Map<String, Object> resp) {
    assertEquals("JSONPatch", resp.get("patchType"));
    return new String(
        Base64.getDecoder().decode((String) resp.get("patch")), StandardCharsets.UTF_8);
  }

  private static Map<String, Object> podSpec(String sa, String... pullSecrets) {
    Map<String, Object> s = spec(List.of(container("app", "registry.corp/app:1")));
    if (sa != null) {
      s.put("serviceAccountName", sa);
    }
    if (pullSecrets.length > 0) {
      List<Map<String, Object>> l = new ArrayList<>();
      for (String n : pullSecrets) {
        l.add(Map.of("name", n));
      }
      s.put("imagePullSecrets", l);
    }
    return s;
  }

  @Test
  void absentListIsAddedWhole() throws Exception {
    assertEquals(
        "[{\"op\":\"add\",\"path\":\"/spec/imagePullSecrets\",\"value\":[{\"name\":\"corp-registry\"}]}]",
        patch(mutate("team-a", podSpec(null), "CREATE")));
  }

  @Test
  void presentListGetsAppendsOnlyAndOthersAreKept() throws Exception {
    assertEquals(
        "[{\"op\":\"add\",\"path\":\"/spec/imagePullSecrets/-\",\"value\":{\"name\":\"corp-registry\"}},"
            + "{\"op\":\"add\",\"path\":\"/spec/imagePullSecrets/-\",\"value\":{\"name\":\"other-registry\"}}]",
        patch(mutate("team-a", podSpec("builder", "mine"), "CREATE")));
  }

  @Test
  void alreadyPresentGivesNoPatch() throws Exception {
    Map<String, Object> r = mutate("team-a", podSpec("default", "mine", "corp-registry"), "CREATE");
    assertNull(r.get("patch"));
    assertNull(r.get("patchType"));
    // builder also gets other-registry: only that one is added.
    assertEquals(
        "[{\"op\":\"add\",\"path\":\"/spec/imagePullSecrets/-\",\"value\":{\"name\":\"other-registry\"}}]",
        patch(mutate("team-a", podSpec("builder", "corp-registry"), "CREATE")));
  }

  @Test
  void noPatchWhereNothingIsGranted() throws Exception {
    assertNull(mutate("opted-out", podSpec(null), "CREATE").get("patch"));
    assertNull(mutate("team-b", podSpec(null), "CREATE").get("patch"));
    assertNull(mutate("unknown-ns", podSpec(null), "CREATE").get("patch"));
    assertNull(mutate("team-a", podSpec(null), "UPDATE").get("patch"));
  }

  @Test
  void aPatchAppliedToThePodMakesTheNextCallANoOp() throws Exception {
    // Idempotent: the Pod as patched reaches the webhook again with nothing left to add.
    assertNull(
        mutate("team-a", podSpec("builder", "corp-registry", "other-registry"), "CREATE")
            .get("patch"));
  }

  @Test
  void aMalformedPullSecretListFailsOpen() throws Exception {
    Map<String, Object> s = podSpec(null);
    s.put("imagePullSecrets", "not-a-list");
    assertNull(mutate("team-a", s, "CREATE").get("patch"));
  }
}
