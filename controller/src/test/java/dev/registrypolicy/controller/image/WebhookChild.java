package dev.registrypolicy.controller.image;

import dev.registrypolicy.controller.webhook.MemorySecretStore;
import dev.registrypolicy.controller.webhook.PolicySnapshot;
import dev.registrypolicy.controller.webhook.PolicySource;
import dev.registrypolicy.controller.webhook.SecretStore;
import dev.registrypolicy.controller.webhook.TlsMaterial;
import dev.registrypolicy.controller.webhook.WebhookCertificates;
import dev.registrypolicy.controller.webhook.WebhookServer;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.PolicyDocument;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * Run by {@link ControllerImageWebhookIT} on the jlinked runtime with the shaded jar first on the
 * class path: makes the webhook's CA and serving certificate as the controller does (bcpkix on the
 * JDK's providers, an in-memory Secret), serves the webhook on a free port with a one-source
 * policy, prints the port, the CA in PEM and {@code END}, then serves until killed. Uses only
 * classes the shaded jar holds.
 */
public final class WebhookChild {
  static final String POLICY =
      """
      apiVersion: registry-policy.dev/v1alpha1
      kind: RegistryPolicy
      admission:
        mode: Deny
        allowedSources:
          - prefix: registry.corp.example/team-a
      """;

  private WebhookChild() {}

  public static void main(String[] args) throws Exception {
    SecretStore store = new MemorySecretStore();
    TlsMaterial tls = WebhookCertificates.ensure(store, List.of("localhost"), Instant.now());
    WebhookSettings settings =
        WebhookSettings.parse(Map.of("--webhook-port", args[0]), "registry-policy").settings();
    PolicySource.Holder policies = new PolicySource.Holder();
    policies.set(PolicySnapshot.of(PolicyDocument.parse(POLICY), "registry-policy"));
    NamespaceInfo teamA = new NamespaceInfo("team-a", Map.of(), Map.of());
    WebhookServer server =
        WebhookServer.start(
            settings,
            n -> n.equals("team-a") ? Optional.of(teamA) : Optional.empty(),
            policies,
            tls);
    System.out.println(server.port());
    System.out.print(tls.caBundlePem());
    System.out.println("END");
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
