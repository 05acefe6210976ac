package dev.registrypolicy.controller;

import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.informer.cache.Lister;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ConfigMapList;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1NamespaceList;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1SecretList;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.openapi.models.V1ServiceAccountList;
import io.kubernetes.client.util.CallGenerator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The cluster as the controller's informers see it: the policy namespace's ConfigMaps and Secrets,
 * all Namespaces, all ServiceAccounts, and the Secrets the controller manages everywhere (by label,
 * so other Secrets are never cached), plus the webhook's TLS Secret when the webhook is served.
 * Every replica runs the informers; only the leader acts on them (the policy and the TLS Secret
 * also feed every replica's webhook).
 */
final class InformerCluster implements ClusterView {
  private final SharedInformerFactory factory;

  /**
   * A second factory: a factory holds one informer per type, and there are two Secret informers.
   */
  private final SharedInformerFactory managedFactory;

  /** A third: the webhook's TLS Secret (null when the webhook is not served). */
  private final SharedInformerFactory webhookFactory;

  private final SharedIndexInformer<V1Secret> webhookSecret;

  /** The webhook's TLS Secret, {@code namespace/name}, hidden from the pull Secret passes. */
  private final String webhookSecretKey;

  private final SharedIndexInformer<V1ConfigMap> configMaps;
  private final SharedIndexInformer<V1Secret> policySecrets;
  private final SharedIndexInformer<V1Namespace> namespaces;
  private final SharedIndexInformer<V1ServiceAccount> serviceAccounts;
  private final SharedIndexInformer<V1Secret> managedSecrets;
  private final Lister<V1ServiceAccount> saLister;
  private final Lister<V1Secret> managedLister;
  private final ApiClient client;
  private static final Logger LOG = Logger.getLogger(InformerCluster.class.getName());

  InformerCluster(ApiClient client, long resyncMillis) {
    this(client, resyncMillis, null, null);
  }

  /**
   * @param webhookNamespace the namespace of the webhook's TLS Secret, or null when no webhook is
   *     served
   * @param webhookSecretName its name: one more informer watches just that Secret (every replica
   *     serves the webhook), and the pull Secret and bundle passes never see it
   */
  InformerCluster(
      ApiClient client, long resyncMillis, String webhookNamespace, String webhookSecretName) {
    factory = new SharedInformerFactory(client);
    managedFactory = new SharedInformerFactory(client);
    CoreV1Api api = new CoreV1Api(client);
    String ns = Policy.NAMESPACE;
    this.client = client;
    String server = client.getBasePath();
    configMaps =
        informer(
            factory,
            "ConfigMaps in namespace " + ns,
            p ->
                api.listNamespacedConfigMap(ns)
                    .resourceVersion(p.resourceVersion)
                    .watch(p.watch)
                    .timeoutSeconds(p.timeoutSeconds)
                    .buildCall(null),
            V1ConfigMap.class,
            V1ConfigMapList.class,
            resyncMillis);
    policySecrets =
        informer(
            factory,
            "Secrets in namespace " + ns,
            p ->
                api.listNamespacedSecret(ns)
                    .resourceVersion(p.resourceVersion)
                    .watch(p.watch)
                    .timeoutSeconds(p.timeoutSeconds)
                    .buildCall(null),
            V1Secret.class,
            V1SecretList.class,
            resyncMillis);
    namespaces =
        informer(
            factory,
            "Namespaces",
            p ->
                api.listNamespace()
                    .resourceVersion(p.resourceVersion)
                    .watch(p.watch)
                    .timeoutSeconds(p.timeoutSeconds)
                    .buildCall(null),
            V1Namespace.class,
            V1NamespaceList.class,
            resyncMillis);
    serviceAccounts =
        informer(
            factory,
            "ServiceAccounts in all namespaces",
            p ->
                api.listServiceAccountForAllNamespaces()
                    .resourceVersion(p.resourceVersion)
                    .watch(p.watch)
                    .timeoutSeconds(p.timeoutSeconds)
                    .buildCall(null),
            V1ServiceAccount.class,
            V1ServiceAccountList.class,
            resyncMillis);
    managedSecrets =
        informer(
            managedFactory,
            "managed Secrets in all namespaces",
            p ->
                api.listSecretForAllNamespaces()
                    .labelSelector(Labels.MANAGED_BY_SELECTOR)
                    .resourceVersion(p.resourceVersion)
                    .watch(p.watch)
                    .timeoutSeconds(p.timeoutSeconds)
                    .buildCall(null),
            V1Secret.class,
            V1SecretList.class,
            resyncMillis);
    if (webhookSecretName != null) {
      webhookFactory = new SharedInformerFactory(client);
      webhookSecretKey = webhookNamespace + "/" + webhookSecretName;
      webhookSecret =
          informer(
              webhookFactory,
              "the webhook TLS Secret " + webhookSecretKey,
              p ->
                  api.listNamespacedSecret(webhookNamespace)
                      .fieldSelector("metadata.name=" + webhookSecretName)
                      .resourceVersion(p.resourceVersion)
                      .watch(p.watch)
                      .timeoutSeconds(p.timeoutSeconds)
                      .buildCall(null),
              V1Secret.class,
              V1SecretList.class,
              resyncMillis);
    } else {
      webhookFactory = null;
      webhookSecretKey = null;
      webhookSecret = null;
    }
    LOG.fine(Log.kv("informers created", "server", server));
    saLister = new Lister<>(serviceAccounts.getIndexer());
    managedLister = new Lister<>(managedSecrets.getIndexer());
  }

  private <T extends KubernetesObject, L extends KubernetesListObject>
      SharedIndexInformer<T> informer(
          SharedInformerFactory f,
          String what,
          CallGenerator calls,
          Class<T> type,
          Class<L> listType,
          long resyncMillis) {
    return LoggedInformers.create(client, f, what, calls, type, listType, resyncMillis);
  }

  /** Routes informer events to work-queue keys. */
  void onChange(Consumer<String> enqueue) {
    configMaps.addEventHandler(
        handler(
            cm -> {
              if (Policy.CONFIGMAP_NAME.equals(cm.getMetadata().getName())) {
                enqueue.accept(Controller.POLICY_KEY);
              }
            }));
    policySecrets.addEventHandler(
        handler(
            s -> {
              if (isWebhookSecret(s)) {
                return; // neither a credential source nor the bundle
              }
              if (!Desired.BUNDLE_SECRET.equals(s.getMetadata().getName())) {
                enqueue.accept(Controller.POLICY_KEY);
              } else {
                enqueue.accept(Controller.NODES_KEY); // its revision is what nodes should report
              }
              enqueue.accept(Controller.BUNDLE_KEY);
            }));
    namespaces.addEventHandler(
        handler(n -> enqueue.accept(Controller.NS_PREFIX + n.getMetadata().getName())));
    serviceAccounts.addEventHandler(
        handler(sa -> enqueue.accept(Controller.NS_PREFIX + sa.getMetadata().getNamespace())));
    managedSecrets.addEventHandler(
        handler(
            s -> {
              if (!Policy.NAMESPACE.equals(s.getMetadata().getNamespace()) && !isWebhookSecret(s)) {
                enqueue.accept(Controller.NS_PREFIX + s.getMetadata().getNamespace());
              }
            }));
  }

  /**
   * Every replica: the policy ConfigMap as each add or update shows it (deletes are not reported:
   * the last good policy stays in force).
   */
  void onPolicyConfigMap(Consumer<V1ConfigMap> listener) {
    configMaps.addEventHandler(
        new ResourceEventHandler<V1ConfigMap>() {
          @Override
          public void onAdd(V1ConfigMap cm) {
            report(cm);
          }

          @Override
          public void onUpdate(V1ConfigMap oldCm, V1ConfigMap cm) {
            report(cm);
          }

          @Override
          public void onDelete(V1ConfigMap cm, boolean deletedFinalStateUnknown) {}

          private void report(V1ConfigMap cm) {
            if (cm.getMetadata() != null
                && Policy.CONFIGMAP_NAME.equals(cm.getMetadata().getName())) {
              listener.accept(cm);
            }
          }
        });
  }

  /**
   * Every replica: the webhook's TLS Secret data on each add or update (resyncs included), null
   * when it was deleted. Nothing when no webhook is served.
   */
  void onWebhookSecret(Consumer<Map<String, byte[]>> listener) {
    if (webhookSecret == null) {
      return;
    }
    webhookSecret.addEventHandler(
        new ResourceEventHandler<V1Secret>() {
          @Override
          public void onAdd(V1Secret s) {
            listener.accept(s.getData() == null ? Map.of() : s.getData());
          }

          @Override
          public void onUpdate(V1Secret oldS, V1Secret s) {
            onAdd(s);
          }

          @Override
          public void onDelete(V1Secret s, boolean deletedFinalStateUnknown) {
            listener.accept(null);
          }
        });
  }

  private boolean isWebhookSecret(V1Secret s) {
    return webhookSecretKey != null
        && s.getMetadata() != null
        && webhookSecretKey.equals(
            s.getMetadata().getNamespace() + "/" + s.getMetadata().getName());
  }

  /**
   * Reports each managed Secret and ServiceAccount event (kind, namespace, name, resourceVersion).
   */
  void onObserved(ObservedListener listener) {
    managedSecrets.addEventHandler(
        handler(
            s ->
                listener.observed(
                    "Secret",
                    s.getMetadata().getNamespace(),
                    s.getMetadata().getName(),
                    s.getMetadata().getResourceVersion())));
    serviceAccounts.addEventHandler(
        handler(
            sa ->
                listener.observed(
                    "ServiceAccount",
                    sa.getMetadata().getNamespace(),
                    sa.getMetadata().getName(),
                    sa.getMetadata().getResourceVersion())));
  }

  /** Receives informer observations. */
  interface ObservedListener {
    void observed(String kind, String namespace, String name, String resourceVersion);
  }

  private static <T extends io.kubernetes.client.common.KubernetesObject>
      ResourceEventHandler<T> handler(Consumer<T> c) {
    return new ResourceEventHandler<T>() {
      @Override
      public void onAdd(T obj) {
        c.accept(obj);
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        c.accept(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        c.accept(obj);
      }
    };
  }

  void start() {
    factory.startAllRegisteredInformers();
    managedFactory.startAllRegisteredInformers();
    if (webhookFactory != null) {
      webhookFactory.startAllRegisteredInformers();
    }
  }

  void stop() {
    factory.stopAllRegisteredInformers(true);
    managedFactory.stopAllRegisteredInformers(true);
    if (webhookFactory != null) {
      webhookFactory.stopAllRegisteredInformers(true);
    }
  }

  boolean hasSynced() {
    return configMaps.hasSynced()
        && policySecrets.hasSynced()
        && namespaces.hasSynced()
        && serviceAccounts.hasSynced()
        && managedSecrets.hasSynced()
        && (webhookSecret == null || webhookSecret.hasSynced());
  }

  @Override
  public Optional<V1ConfigMap> policyConfigMap() {
    return ownConfigMap(Policy.CONFIGMAP_NAME);
  }

  /**
   * One key of a Secret in the policy's namespace, from the cache (a copy), or empty: what the
   * image-content rules' registry client reads the policy's Secret references from, without copying
   * every Secret as {@link #sourceSecrets} does.
   */
  Optional<byte[]> policySecretKey(String name, String key) {
    V1Secret s = policySecrets.getIndexer().getByKey(Policy.NAMESPACE + "/" + name);
    if (s == null || s.getData() == null || Desired.BUNDLE_SECRET.equals(name)) {
      return Optional.empty();
    }
    byte[] v = s.getData().get(key);
    return v == null ? Optional.empty() : Optional.of(v.clone());
  }

  @Override
  public Map<String, SourceSecret> sourceSecrets() {
    Map<String, SourceSecret> out = new HashMap<>();
    for (V1Secret s : policySecrets.getIndexer().list()) {
      String name = s.getMetadata().getName();
      if (!Desired.BUNDLE_SECRET.equals(name) && !isWebhookSecret(s)) {
        out.put(
            name,
            new SourceSecret(name, s.getType(), s.getData() == null ? Map.of() : s.getData()));
      }
    }
    return out;
  }

  @Override
  public List<V1Namespace> namespaces() {
    return namespaces.getIndexer().list();
  }

  @Override
  public Optional<V1Namespace> namespace(String name) {
    return Optional.ofNullable(namespaces.getIndexer().getByKey(name));
  }

  @Override
  public List<V1ServiceAccount> serviceAccounts(String namespace) {
    return saLister.namespace(namespace).list();
  }

  @Override
  public List<V1Secret> managedSecrets(String namespace) {
    List<V1Secret> all = managedLister.namespace(namespace).list();
    if (webhookSecretKey == null || !webhookSecretKey.startsWith(namespace + "/")) {
      return all;
    }
    return all.stream().filter(s -> !isWebhookSecret(s)).toList();
  }

  @Override
  public Optional<V1Secret> ownSecret(String name) {
    return Optional.ofNullable(policySecrets.getIndexer().getByKey(Policy.NAMESPACE + "/" + name));
  }

  @Override
  public Optional<V1ConfigMap> ownConfigMap(String name) {
    return Optional.ofNullable(configMaps.getIndexer().getByKey(Policy.NAMESPACE + "/" + name));
  }
}
