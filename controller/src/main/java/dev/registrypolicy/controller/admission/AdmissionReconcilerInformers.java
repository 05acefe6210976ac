package dev.registrypolicy.controller.admission;

import dev.registrypolicy.controller.Labels;
import dev.registrypolicy.controller.LoggedInformers;
import dev.registrypolicy.policy.LogLine;
import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.AdmissionregistrationV1Api;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1MutatingWebhookConfigurationList;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicy;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBindingList;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyList;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfiguration;
import io.kubernetes.client.openapi.models.V1ValidatingWebhookConfigurationList;
import io.kubernetes.client.util.CallGenerator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Logger;

/**
 * Informer caches of the admission objects the controller manages, selected by its managed-by label
 * (others' objects are never cached, and the list and watch permissions are the only ones needed to
 * fill the caches). The webhook configuration kinds are watched from {@link #start};
 * ValidatingAdmissionPolicies and bindings only once {@link #ready} is first asked about them,
 * which the reconciler does only after API discovery showed them served: on a cluster before 1.30
 * an informer on them would fail forever.
 */
public final class AdmissionReconcilerInformers implements AdmissionReconcilerView {
  private static final Logger LOG = Logger.getLogger(AdmissionReconcilerInformers.class.getName());

  /** Receives every event on a managed admission object. */
  @FunctionalInterface
  public interface Listener {
    void event(AdmissionObjectsKind kind, String name, String resourceVersion, boolean deleted);
  }

  /** One factory holds one informer per type; the policy kinds get their own, started later. */
  private final SharedInformerFactory webhookFactory;

  private final SharedInformerFactory policyFactory;
  private final ApiClient client;
  private final Map<AdmissionObjectsKind, SharedIndexInformer<? extends KubernetesObject>>
      informers = new EnumMap<>(AdmissionObjectsKind.class);
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private boolean started;
  private boolean policyInformersStarted;
  private boolean stopped;

  public AdmissionReconcilerInformers(ApiClient client, long resyncMillis) {
    this.client = client;
    webhookFactory = new SharedInformerFactory(client);
    policyFactory = new SharedInformerFactory(client);
    AdmissionregistrationV1Api api = new AdmissionregistrationV1Api(client);
    String ours = Labels.MANAGED_BY_SELECTOR;
    add(
        webhookFactory,
        AdmissionObjectsKind.VALIDATING_WEBHOOK_CONFIGURATION,
        p ->
            api.listValidatingWebhookConfiguration()
                .labelSelector(ours)
                .resourceVersion(p.resourceVersion)
                .watch(p.watch)
                .timeoutSeconds(p.timeoutSeconds)
                .buildCall(null),
        V1ValidatingWebhookConfiguration.class,
        V1ValidatingWebhookConfigurationList.class,
        resyncMillis);
    add(
        webhookFactory,
        AdmissionObjectsKind.MUTATING_WEBHOOK_CONFIGURATION,
        p ->
            api.listMutatingWebhookConfiguration()
                .labelSelector(ours)
                .resourceVersion(p.resourceVersion)
                .watch(p.watch)
                .timeoutSeconds(p.timeoutSeconds)
                .buildCall(null),
        V1MutatingWebhookConfiguration.class,
        V1MutatingWebhookConfigurationList.class,
        resyncMillis);
    add(
        policyFactory,
        AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY,
        p ->
            api.listValidatingAdmissionPolicy()
                .labelSelector(ours)
                .resourceVersion(p.resourceVersion)
                .watch(p.watch)
                .timeoutSeconds(p.timeoutSeconds)
                .buildCall(null),
        V1ValidatingAdmissionPolicy.class,
        V1ValidatingAdmissionPolicyList.class,
        resyncMillis);
    add(
        policyFactory,
        AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY_BINDING,
        p ->
            api.listValidatingAdmissionPolicyBinding()
                .labelSelector(ours)
                .resourceVersion(p.resourceVersion)
                .watch(p.watch)
                .timeoutSeconds(p.timeoutSeconds)
                .buildCall(null),
        V1ValidatingAdmissionPolicyBinding.class,
        V1ValidatingAdmissionPolicyBindingList.class,
        resyncMillis);
  }

  private <T extends KubernetesObject, L extends KubernetesListObject> void add(
      SharedInformerFactory factory,
      AdmissionObjectsKind kind,
      CallGenerator calls,
      Class<T> type,
      Class<L> listType,
      long resyncMillis) {
    SharedIndexInformer<T> informer =
        LoggedInformers.create(
            client, factory, "managed " + kind.plural(), calls, type, listType, resyncMillis);
    informer.addEventHandler(
        new ResourceEventHandler<T>() {
          @Override
          public void onAdd(T obj) {
            fire(kind, obj, false);
          }

          @Override
          public void onUpdate(T oldObj, T newObj) {
            fire(kind, newObj, false);
          }

          @Override
          public void onDelete(T obj, boolean deletedFinalStateUnknown) {
            fire(kind, obj, true);
          }
        });
    informers.put(kind, informer);
  }

  private void fire(AdmissionObjectsKind kind, KubernetesObject o, boolean deleted) {
    // No lock here: stop() waits for the informers' handler threads, which must never wait on it.
    String name = o == null || o.getMetadata() == null ? null : o.getMetadata().getName();
    String rv = o == null || o.getMetadata() == null ? null : o.getMetadata().getResourceVersion();
    for (Listener l : listeners) {
      l.event(kind, name, rv, deleted);
    }
  }

  /** Adds a listener for events on every kind (in the order listeners were added). */
  public void onEvent(Listener listener) {
    listeners.add(listener);
  }

  /** Starts the webhook configuration informers. */
  public synchronized void start() {
    if (!started && !stopped) {
      started = true;
      webhookFactory.startAllRegisteredInformers();
    }
  }

  /** Stops the informers (waits for their handlers, so it takes no lock a handler could need). */
  public void stop() {
    boolean policies;
    synchronized (this) {
      stopped = true;
      policies = policyInformersStarted;
    }
    webhookFactory.stopAllRegisteredInformers(true);
    if (policies) {
      policyFactory.stopAllRegisteredInformers(true);
    }
  }

  /** The webhook configuration caches are filled (the policy kinds start later, on demand). */
  public boolean hasSynced() {
    return informers.get(AdmissionObjectsKind.VALIDATING_WEBHOOK_CONFIGURATION).hasSynced()
        && informers.get(AdmissionObjectsKind.MUTATING_WEBHOOK_CONFIGURATION).hasSynced();
  }

  @Override
  public boolean ready(AdmissionObjectsKind kind) {
    synchronized (this) {
      if (kind.needsPolicyApi() && !policyInformersStarted && started && !stopped) {
        policyInformersStarted = true;
        policyFactory.startAllRegisteredInformers();
        LOG.info(LogLine.format("watching managed ValidatingAdmissionPolicies and their bindings"));
      }
    }
    return informers.get(kind).hasSynced();
  }

  @Override
  public List<? extends KubernetesObject> managed(AdmissionObjectsKind kind) {
    return informers.get(kind).getIndexer().list();
  }
}
