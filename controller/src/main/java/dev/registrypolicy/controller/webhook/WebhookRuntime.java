package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.controller.admission.AdmissionObjects;
import dev.registrypolicy.controller.admission.AdmissionObjectsSource;
import dev.registrypolicy.controller.admission.ValidatingPolicies;
import dev.registrypolicy.policy.LogLine;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The webhook in a running controller, on every replica: the policy the server reads (set on each
 * valid policy, the last good one kept on an invalid one), the server itself (started once TLS
 * material exists, reloaded when the TLS Secret changes), and, on the leader in self mode, the
 * certificate Secret kept current ({@link WebhookCertificates#ensure}). Thread-safe.
 */
public final class WebhookRuntime implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(WebhookRuntime.class.getName());

  /** Starts a server (tests bind loopback ports with it). */
  @FunctionalInterface
  public interface Starter {
    WebhookServer start(
        WebhookSettings settings,
        NamespaceLookup namespaces,
        PolicySource policies,
        TlsMaterial tls)
        throws IOException;
  }

  private final WebhookSettings settings;
  private final SecretStore store;
  private final NamespaceLookup namespaces;
  private final Starter starter;
  private final MetadataSources sources;
  private final ContentReview review;
  private final PolicySource.Holder policies = new PolicySource.Holder();
  private volatile Runnable caBundleChanged = () -> {};
  private WebhookServer server; // guarded by this
  private volatile TlsMaterial tls;
  private volatile String waiting;
  private String lastProblem = ""; // guarded by this: each distinct problem is logged once
  private boolean closed; // guarded by this

  /**
   * @param store the TLS Secret over the API (self mode writes it; secret mode never does)
   * @param namespaces the reviews' namespaces
   */
  public WebhookRuntime(WebhookSettings settings, SecretStore store, NamespaceLookup namespaces) {
    this(settings, store, namespaces, WebhookServer::start);
  }

  public WebhookRuntime(
      WebhookSettings settings, SecretStore store, NamespaceLookup namespaces, Starter starter) {
    this(
        settings,
        store,
        namespaces,
        starter,
        MetadataSources.UNAVAILABLE,
        ImageContentMetrics.unregistered());
  }

  /**
   * @param sources how each valid policy's image metadata source is made (image-content rules)
   * @param metrics where the image-content rules are counted
   */
  public WebhookRuntime(
      WebhookSettings settings,
      SecretStore store,
      NamespaceLookup namespaces,
      Starter starter,
      MetadataSources sources,
      ImageContentMetrics metrics) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.store = Objects.requireNonNull(store, "store");
    this.namespaces = Objects.requireNonNull(namespaces, "namespaces");
    this.starter = Objects.requireNonNull(starter, "starter");
    this.sources = Objects.requireNonNull(sources, "sources");
    this.review = new ContentReview(Objects.requireNonNull(metrics, "metrics"));
    this.waiting = "webhook TLS Secret " + secretDescription() + " not read yet";
  }

  public WebhookSettings settings() {
    return settings;
  }

  /** Called whenever the CA bundle served changes (the webhook configurations carry it). */
  public void onCaBundleChange(Runnable r) {
    caBundleChanged = Objects.requireNonNull(r, "r");
  }

  /** A valid policy was read: reviews use it from now on. */
  public void policy(Policy policy) {
    policies.set(
        PolicySnapshot.of(policy, settings.serviceNamespace(), sources.forPolicy(policy), review));
  }

  /** The policy reviews use (empty before the first valid one). */
  public PolicySource policies() {
    return policies;
  }

  /** The CA bundle (PEM) of the material served, or null before any. */
  public String caBundle() {
    TlsMaterial t = tls;
    return t == null ? null : t.caBundlePem();
  }

  /** The material served, or null before any. */
  public TlsMaterial tls() {
    return tls;
  }

  /** Why the webhook does not serve yet, or null when it does. */
  public String waiting() {
    return waiting;
  }

  /** {@code namespace/name} of the TLS Secret. */
  public String secretDescription() {
    return settings.serviceNamespace() + "/" + settings.secretName();
  }

  /**
   * The TLS Secret as the informer shows it now (every replica): its material is served (the server
   * starts with the first usable one). Null data: the Secret does not exist (what is served stays).
   */
  public void secretObserved(Map<String, byte[]> data) {
    if (data == null) {
      problem(
          "webhook TLS Secret "
              + secretDescription()
              + " does not exist"
              + (settings.certificates() == WebhookSettings.CertificateMode.SELF
                  ? "; the leader creates it"
                  : "; it is expected from cert-manager (--webhook-certificates secret)")
              + (tls == null ? "" : "; the certificate already loaded is still served"));
      return;
    }
    try {
      apply(WebhookCertificates.material(data));
    } catch (TlsMaterial.InvalidTlsMaterialException e) {
      problem(
          "webhook TLS Secret "
              + secretDescription()
              + " is not usable: "
              + e.getMessage()
              + (settings.certificates() == WebhookSettings.CertificateMode.SELF
                  ? "; the leader replaces it"
                  : "; fix the Secret or its Certificate")
              + (tls == null ? "" : "; the certificate already loaded is still served"));
    }
  }

  /**
   * Leader, self mode: makes the Secret current (created, renewed or rolled over as due; no write
   * when nothing is due) and serves what it holds. Secret mode: nothing to do. Returns false when
   * it failed (the caller retries with backoff).
   */
  public boolean ensureCertificate() {
    if (settings.certificates() != WebhookSettings.CertificateMode.SELF) {
      return true;
    }
    try {
      apply(
          WebhookCertificates.ensure(store, WebhookCertificates.dnsNames(settings), Instant.now()));
      return true;
    } catch (IOException | GeneralSecurityException e) {
      problem(
          "webhook TLS Secret "
              + secretDescription()
              + " could not be made current: "
              + e.getMessage()
              + "; retrying with backoff"
              + (tls == null ? "" : "; the certificate already loaded is still served"));
      return false;
    }
  }

  private synchronized void apply(TlsMaterial next) {
    if (closed) {
      return;
    }
    TlsMaterial before = tls;
    if (server == null) {
      try {
        server = starter.start(settings, namespaces, policies, next);
      } catch (IOException e) {
        problem(e.getMessage() + "; retried when the TLS Secret is next read");
        return;
      }
    } else {
      try {
        server.reload(next);
      } catch (GeneralSecurityException e) {
        problem(
            "webhook certificate from Secret "
                + secretDescription()
                + " could not be loaded: "
                + e.getMessage()
                + "; the previous certificate is still served");
        return;
      }
    }
    tls = next;
    waiting = null;
    lastProblem = "";
    if (before == null || !before.caBundlePem().equals(next.caBundlePem())) {
      caBundleChanged.run();
    }
  }

  private synchronized void problem(String message) {
    if (tls == null) {
      waiting = message;
    }
    if (!message.equals(lastProblem)) {
      lastProblem = message;
      LOG.warning(LogLine.format("webhook not serving as configured", "reason", message));
    }
  }

  /** The port the server listens on, or -1 when it does not run. */
  public synchronized int port() {
    return server == null ? -1 : server.port();
  }

  @Override
  public synchronized void close() {
    closed = true;
    review.close();
    if (server != null) {
      try {
        server.close();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, LogLine.format("webhook server did not stop cleanly"), e);
      }
      server = null;
    }
    waiting = "stopped";
  }

  /**
   * The admission objects for a policy: the ValidatingAdmissionPolicies with their bindings, and,
   * when the webhook is enabled, the validating configuration (if the admission section enforces
   * something or has image-content rules) in two forms, the full one on {@link
   * WebhookServer#VALIDATE_PATH} and the one for the image-content rules alone on {@link
   * WebhookServer#VALIDATE_CONTENT_PATH} ({@link
   * dev.registrypolicy.controller.admission.EnforcementChoice} keeps at most one), and the mutating
   * one (if a grant needs it), carrying the CA bundle served. Without a CA bundle yet it throws,
   * which leaves the cluster's admission objects as they are (the reconciler's rule for a failing
   * source) until the certificate is read.
   *
   * @param caBundle the CA bundle now served (null: none yet)
   */
  public static AdmissionObjectsSource admissionObjects(
      WebhookSettings ws, Supplier<String> caBundle) {
    return policy -> {
      ValidatingPolicies.Result v = ValidatingPolicies.build(policy, ws.serviceNamespace());
      boolean enforces = policy.admission().enforcesSomething();
      boolean content = policy.admission().hasImageContentRules();
      boolean tooBig = enforces && v.policies().isEmpty() && !v.problems().isEmpty();
      if (!ws.enabled()) {
        return new AdmissionObjects(
            v.policies(), v.bindings(), List.of(), List.of(), v.problems(), tooBig, List.of());
      }
      String ca = caBundle.get();
      if (ca == null) {
        throw new IllegalStateException(
            "the webhook's serving certificate (Secret "
                + ws.serviceNamespace()
                + "/"
                + ws.secretName()
                + ") is not read yet, so the webhook configurations would have no caBundle");
      }
      V1MutatingWebhookConfiguration m = WebhookConfigurations.mutating(ws, policy, ca);
      java.util.Set<String> exempt =
          policy.admission().effectiveExemptNamespaces(ws.serviceNamespace());
      return new AdmissionObjects(
          v.policies(),
          v.bindings(),
          enforces || content
              ? List.of(
                  WebhookConfigurations.validating(ws, exempt, ca, WebhookServer.VALIDATE_PATH))
              : List.of(),
          m == null ? List.of() : List.of(m),
          v.problems(),
          tooBig,
          content
              ? List.of(
                  WebhookConfigurations.validating(
                      ws, exempt, ca, WebhookServer.VALIDATE_CONTENT_PATH))
              : List.of());
    };
  }
}
