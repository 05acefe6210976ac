package dev.registrypolicy.controller;

import dev.registrypolicy.controller.admission.AdmissionObjectsSource;
import dev.registrypolicy.controller.admission.AdmissionReconciler;
import dev.registrypolicy.controller.admission.AdmissionReconcilerClient;
import dev.registrypolicy.controller.admission.AdmissionReconcilerInformers;
import dev.registrypolicy.controller.admission.Enforcement;
import dev.registrypolicy.controller.admission.EnforcementSettings;
import dev.registrypolicy.controller.imagemeta.MetadataSettings;
import dev.registrypolicy.controller.imagemeta.Platform;
import dev.registrypolicy.controller.imagemeta.RegistryMetadata;
import dev.registrypolicy.controller.imagemeta.SecretBytes;
import dev.registrypolicy.controller.webhook.ApiNamespaceLookup;
import dev.registrypolicy.controller.webhook.ApiSecretStore;
import dev.registrypolicy.controller.webhook.WebhookRuntime;
import dev.registrypolicy.controller.webhook.WebhookServer;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import io.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import io.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.kubernetes.client.extended.workqueue.DefaultRateLimitingQueue;
import io.kubernetes.client.extended.workqueue.RateLimitingQueue;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Informers on every replica; the work queue is drained only by the replica holding the Lease.
 * Keys: the policy, the node credentials bundle, the status, the admission objects, and one per
 * namespace.
 */
final class Controller implements AutoCloseable {
  static final String POLICY_KEY = "policy";
  static final String BUNDLE_KEY = "bundle";
  static final String STATUS_KEY = "status";
  static final String ADMISSION_KEY = "admission";

  /** The node status: report Leases and Nodes changed, or the timer ticked. */
  static final String NODES_KEY = "nodes";

  /** The webhook's certificate Secret (self mode: the leader keeps it current). */
  static final String TLS_KEY = "webhook-tls";

  /** How often the leader checks the certificate Secret even when nothing changed it. */
  static final Duration TLS_CHECK_EVERY = Duration.ofHours(1);

  static final String NS_PREFIX = "ns/";
  static final String LEASE_NAME = "registry-policy-controller";
  private static final Logger LOG = Logger.getLogger(Controller.class.getName());

  /** Settings of a running controller. */
  record Settings(
      String identity,
      int workers,
      Duration resync,
      Duration leaseDuration,
      Duration renewDeadline,
      Duration retryPeriod) {
    static Settings defaults(String identity) {
      return new Settings(
          identity,
          4,
          Duration.ofMinutes(10),
          Duration.ofSeconds(15),
          Duration.ofSeconds(10),
          Duration.ofSeconds(2));
    }
  }

  private final ApiClient client;
  private final Settings settings;
  private final InformerCluster cluster;
  private final Reconciler reconciler;
  private final AdmissionReconciler admission;
  private final AdmissionReconcilerInformers admissionCaches;
  private final Metrics metrics;
  private final RateLimitingQueue<String> queue =
      new DefaultRateLimitingQueue<>(
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "work-queue-delays");
                t.setDaemon(true); // never keeps the JVM alive on its own (a failed start exits)
                return t;
              }));
  private final ExecutorService workers;
  private final ExecutorService electorThread = Executors.newSingleThreadExecutor();

  /** The webhook on this replica, or null when it is not served. */
  private final WebhookRuntime webhook;

  /** The image-content rules' registry client, or null when the webhook is not served. */
  private final RegistryMetadata registries;

  private final ScheduledExecutorService tlsTicker;

  private final NodeReportInformers nodeCaches;
  private final NodeStatusSettings nodeSettings;
  private final ScheduledExecutorService nodeTicker =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "node-status-tick");
            t.setDaemon(true);
            return t;
          });

  /** The policy text the webhook last got (every replica parses each new text once). */
  private String webhookPolicyText;

  private volatile LeaderElector elector;
  private volatile boolean closed;

  /** Counts terms of leadership; a worker serves only the term it was started for. */
  private final AtomicInteger term = new AtomicInteger();

  Controller(ApiClient client, Settings settings, Metrics metrics) {
    this(client, settings, metrics, EnforcementSettings.defaults(), AdmissionObjectsSource.none());
  }

  /**
   * @param enforcement which admission plane is used (and whether the webhook is served)
   * @param admissionObjects builds the desired admission objects from the policy in force
   */
  Controller(
      ApiClient client,
      Settings settings,
      Metrics metrics,
      EnforcementSettings enforcement,
      AdmissionObjectsSource admissionObjects) {
    this(
        client,
        settings,
        metrics,
        enforcement,
        admissionObjects,
        null,
        NodeStatusSettings.defaults(),
        Platform.LINUX_AMD64);
  }

  /**
   * The controller {@code run} starts: the admission objects come from the policy's producers
   * ({@link WebhookRuntime#admissionObjects}), and when {@code webhook.enabled()} every replica
   * serves the webhook.
   */
  Controller(
      ApiClient client,
      Settings settings,
      Metrics metrics,
      Enforcement mode,
      WebhookSettings webhook) {
    this(client, settings, metrics, mode, webhook, Platform.LINUX_AMD64);
  }

  /**
   * As above, with the platform whose image the image-content rules read from an image index
   * ({@code --image-platform}).
   */
  Controller(
      ApiClient client,
      Settings settings,
      Metrics metrics,
      Enforcement mode,
      WebhookSettings webhook,
      Platform imagePlatform) {
    this(
        client,
        settings,
        metrics,
        new EnforcementSettings(mode, webhook.enabled()),
        null,
        webhook,
        NodeStatusSettings.defaults(),
        imagePlatform);
  }

  /** A controller with its own node status timing (tests). */
  Controller(
      ApiClient client,
      Settings settings,
      Metrics metrics,
      EnforcementSettings enforcement,
      AdmissionObjectsSource admissionObjects,
      NodeStatusSettings nodeSettings) {
    this(
        client,
        settings,
        metrics,
        enforcement,
        admissionObjects,
        null,
        nodeSettings,
        Platform.LINUX_AMD64);
  }

  /**
   * @param admissionObjects null: the producers for {@code webhookSettings}
   * @param webhookSettings null or disabled: no webhook on this replica
   */
  private Controller(
      ApiClient client,
      Settings settings,
      Metrics metrics,
      EnforcementSettings enforcement,
      AdmissionObjectsSource admissionObjects,
      WebhookSettings webhookSettings,
      NodeStatusSettings nodeSettings,
      Platform imagePlatform) {
    this.client = client;
    this.nodeSettings = nodeSettings;
    this.settings = settings;
    this.metrics = metrics;
    boolean serving = webhookSettings != null && webhookSettings.enabled();
    this.cluster =
        serving
            ? new InformerCluster(
                client,
                settings.resync().toMillis(),
                webhookSettings.serviceNamespace(),
                webhookSettings.secretName())
            : new InformerCluster(client, settings.resync().toMillis());
    // The image-content rules' registry client: one per process, so its caches outlive policy
    // changes; each policy's Secret references are read from the policy namespace's Secrets cache.
    this.registries =
        serving
            ? new RegistryMetadata(
                MetadataSettings.defaults().withPlatform(imagePlatform), metrics.imageMetadata)
            : null;
    InformerCluster secretsCache = cluster;
    SecretBytes policySecrets = ref -> secretsCache.policySecretKey(ref.secret(), ref.key());
    RegistryMetadata metadataClient = registries;
    this.webhook =
        serving
            ? new WebhookRuntime(
                webhookSettings,
                new ApiSecretStore(
                    client, webhookSettings.serviceNamespace(), webhookSettings.secretName()),
                new ApiNamespaceLookup(
                    cluster::namespace,
                    client,
                    ApiNamespaceLookup.timeoutFor(webhookSettings),
                    LOOKUPS_IN_FLIGHT),
                (ws, lookup, served, tls) ->
                    WebhookServer.start(ws, lookup, served, tls, metrics.webhook),
                policy -> metadataClient.forPolicy(policy, policySecrets),
                metrics.imageContent)
            : null;
    AdmissionObjectsSource source = admissionObjects;
    if (source == null) {
      WebhookRuntime w = webhook;
      source =
          WebhookRuntime.admissionObjects(
              java.util.Objects.requireNonNull(webhookSettings, "webhookSettings"),
              w == null ? () -> null : w::caBundle);
    }
    ApiWrites writes = new ApiWrites(client, LEASE_NAME);
    this.admissionCaches = new AdmissionReconcilerInformers(client, settings.resync().toMillis());
    this.admission =
        new AdmissionReconciler(
            admissionCaches,
            new AdmissionReconcilerClient(
                client,
                (reason, message) ->
                    writes.event(
                        Policy.NAMESPACE,
                        "ConfigMap",
                        Policy.CONFIGMAP_NAME,
                        "Warning",
                        reason,
                        message)),
            source,
            enforcement,
            metrics.writes::inc,
            System::nanoTime,
            settings.resync().toNanos());
    this.nodeCaches = new NodeReportInformers(client, settings.resync().toMillis());
    this.reconciler =
        new Reconciler(
            cluster,
            writes,
            metrics,
            admission,
            new NodeStatusPass(
                nodeCaches, writes, metrics, nodeSettings, Instant::now, System::nanoTime),
            Reconciler::newRevision);
    nodeCaches.onChange(() -> queue.add(NODES_KEY));
    this.workers = Executors.newFixedThreadPool(settings.workers());
    // Expectations are met by observation; a pass that runs first only requeues until then.
    cluster.onObserved(reconciler::observed);
    cluster.onChange(queue::add);
    admissionCaches.onEvent(
        (kind, name, resourceVersion, deleted) -> {
          admission.observed(kind, name, resourceVersion, deleted);
          queue.add(ADMISSION_KEY);
        });
    if (webhook != null) {
      webhook.onCaBundleChange(() -> queue.add(ADMISSION_KEY));
      cluster.onPolicyConfigMap(this::webhookPolicy);
      cluster.onWebhookSecret(
          data -> {
            webhook.secretObserved(data);
            queue.add(TLS_KEY); // the leader checks what changed (only it drains the queue)
          });
      tlsTicker =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "webhook-tls-check");
                t.setDaemon(true);
                return t;
              });
    } else {
      tlsTicker = null;
    }
  }

  /**
   * The webhook's fallback GETs of namespaces missing from the cache, at most this many at once.
   */
  static final int LOOKUPS_IN_FLIGHT = 4;

  /**
   * Every replica: a new policy text is parsed and, when valid, handed to the webhook; an invalid
   * one leaves the last good policy in force (the leader reports it).
   */
  private void webhookPolicy(V1ConfigMap cm) {
    String text = cm.getData() == null ? null : cm.getData().get(Policy.CONFIGMAP_KEY);
    synchronized (this) {
      if (text == null || text.equals(webhookPolicyText)) {
        return;
      }
      webhookPolicyText = text;
    }
    try {
      webhook.policy(PolicyDocument.parse(text));
    } catch (PolicyException e) {
      LOG.fine(Log.kv("webhook keeps the last good policy", "problems", e.problems().size()));
    }
  }

  /** The webhook on this replica, or null. */
  WebhookRuntime webhook() {
    return webhook;
  }

  Reconciler reconciler() {
    return reconciler;
  }

  /** Keys this replica has reconciled so far (tests wait on it rather than on the clock). */
  double keysProcessed() {
    return metrics.reconciles.get();
  }

  boolean isLeader() {
    return metrics.leader;
  }

  boolean ready() {
    return waiting() == null;
  }

  /** Why this replica is not ready, or null when it is: caches synced and the webhook serving. */
  String waiting() {
    if (!cluster.hasSynced() || !admissionCaches.hasSynced()) {
      return "informer caches not synced yet";
    }
    return webhook == null ? null : webhook.waiting();
  }

  /**
   * Starts informers and the election; returns at once. A replica that loses the Lease stops
   * reconciling and campaigns again, so some replica always leads once the API is reachable.
   */
  void start() {
    cluster.start();
    admissionCaches.start();
    nodeCaches.start();
    long tick = nodeSettings.tick().toMillis();
    // As for the TLS check: the future reports only cancellation, and an enqueue cannot fail.
    java.util.concurrent.Future<?> unusedNodeTick =
        nodeTicker.scheduleAtFixedRate(
            () -> {
              if (metrics.leader) {
                queue.add(NODES_KEY);
              }
            },
            tick,
            tick,
            TimeUnit.MILLISECONDS);
    if (tlsTicker != null) {
      long every = TLS_CHECK_EVERY.toMillis();
      // The future only reports cancellation at close; the task (an enqueue) cannot fail.
      java.util.concurrent.Future<?> unused =
          tlsTicker.scheduleAtFixedRate(
              () -> queue.add(TLS_KEY), every, every, TimeUnit.MILLISECONDS);
    }
    electorThread.execute(
        () -> {
          while (!closed) {
            ReportingLock lock =
                new ReportingLock(
                    new LeaseLock(Policy.NAMESPACE, LEASE_NAME, settings.identity(), client));
            LeaderElector e =
                new LeaderElector(
                    new LeaderElectionConfig(
                        lock,
                        settings.leaseDuration(),
                        settings.renewDeadline(),
                        settings.retryPeriod()));
            elector = e;
            if (closed) {
              e.close();
              return;
            }
            try {
              e.run(this::lead, this::stopLeading); // returns when leadership is lost or on close
            } catch (RuntimeException ex) {
              LOG.log(Level.WARNING, Log.kv("leader election failed; campaigning again"), ex);
            }
            e.close();
            if (metrics.leader) {
              stopLeading(); // run() ended without calling the hook
            }
            if (!closed) {
              sleep(settings.retryPeriod().toMillis());
            }
          }
        });
  }

  private void stopLeading() {
    if (metrics.leader) {
      metrics.leader = false;
      term.incrementAndGet(); // this term's workers stop after the key they hold
      LOG.info(Log.kv("lost leadership", "identity", settings.identity()));
    }
  }

  private void lead() {
    int myTerm = term.incrementAndGet();
    metrics.leader = true;
    LOG.info(Log.kv("leading", "identity", settings.identity(), "term", myTerm));
    while (!cluster.hasSynced() && !closed) {
      sleep(50);
    }
    // The policy as the caches show it now, before any pass acts on it; then a full pass over
    // whatever happened while another replica led, or while none did.
    reconciler.refreshPolicy();
    for (String ns : reconciler.namespaceNames()) {
      queue.add(NS_PREFIX + ns);
    }
    if (webhook != null) {
      queue.add(TLS_KEY);
    }
    queue.add(BUNDLE_KEY);
    queue.add(ADMISSION_KEY);
    queue.add(STATUS_KEY);
    queue.add(NODES_KEY);
    for (int i = 0; i < settings.workers(); i++) {
      workers.execute(new Worker(queue, this::process, () -> serving(myTerm)));
    }
  }

  private boolean serving(int myTerm) {
    return !closed && metrics.leader && term.get() == myTerm;
  }

  Reconciler.Result process(String key) {
    metrics.reconciles.inc();
    long conflicts = reconciler.conflictChanges();
    long admissionStatus = admission.statusChanges();
    Reconciler.Result r = dispatch(key);
    if (!STATUS_KEY.equals(key)
        && (reconciler.conflictChanges() != conflicts
            || admission.statusChanges() != admissionStatus)) {
      queue.add(STATUS_KEY); // the status lists the conflicts and admission problems
    }
    return r;
  }

  private Reconciler.Result dispatch(String key) {
    return switch (key) {
      case POLICY_KEY -> {
        if (reconciler.refreshPolicy()) {
          for (String ns : reconciler.namespaceNames()) {
            queue.add(NS_PREFIX + ns);
          }
        }
        queue.add(BUNDLE_KEY);
        queue.add(ADMISSION_KEY);
        queue.add(STATUS_KEY);
        yield Reconciler.Result.DONE;
      }
      case BUNDLE_KEY -> reconciler.reconcileBundle();
      case ADMISSION_KEY -> reconciler.reconcileAdmission();
      case TLS_KEY ->
          webhook == null || webhook.ensureCertificate()
              ? Reconciler.Result.DONE
              : Reconciler.Result.REQUEUE;
      case STATUS_KEY -> reconciler.reconcileStatus();
      case NODES_KEY -> {
        if (reconciler.reconcileNodes()) {
          queue.add(STATUS_KEY);
        }
        yield Reconciler.Result.DONE;
      }
      default -> reconciler.reconcileNamespace(key.substring(NS_PREFIX.length()));
    };
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closed = true;
    metrics.leader = false;
    if (elector != null) {
      elector.close();
    }
    queue.shutDown();
    workers.shutdownNow();
    electorThread.shutdownNow();
    if (tlsTicker != null) {
      tlsTicker.shutdownNow();
    }
    nodeTicker.shutdownNow();
    nodeCaches.stop();
    if (webhook != null) {
      webhook.close();
    }
    if (registries != null) {
      registries.close();
    }
    cluster.stop();
    admissionCaches.stop();
    try {
      workers.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
