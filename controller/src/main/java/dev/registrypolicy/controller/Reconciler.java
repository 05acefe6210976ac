package dev.registrypolicy.controller;

import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.controller.admission.AdmissionReconciler;
import dev.registrypolicy.controller.nodestatus.Target;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.Problem;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Level-triggered reconciliation from the current policy: one namespace at a time, plus the node
 * credentials bundle and the status ConfigMap. Reads come from {@link ClusterView} (caches), writes
 * go to {@link ClusterWrites}; nothing is written when the cluster already matches. An invalid
 * policy changes nothing: the last good one stays in force and the problems are reported.
 */
final class Reconciler {
  static final String STATUS_CONFIGMAP = "registry-policy-status";
  private static final Logger LOG = Logger.getLogger(Reconciler.class.getName());

  /** What a reconcile asks of its caller. */
  enum Result {
    DONE,
    /** A write lost a race (409/422) or failed transiently: try this key again. */
    REQUEUE
  }

  private final ClusterView view;
  private final ClusterWrites writes;
  private final Metrics metrics;
  private volatile State state =
      new State(null, null, new Desired.Keyed(Map.of(), List.of()), List.of(), null, false);

  /** The admission objects' pass, whose status is part of the status ConfigMap (null: none). */
  private final AdmissionReconciler admission;

  /** The node status (null: nodes not watched). */
  private final NodeStatusPass nodes;

  private final Supplier<String> revisions;

  /** Same-named Secrets the controller does not own: namespace/name → resourceVersion seen. */
  private final Map<String, String> conflicts = new ConcurrentHashMap<>();

  /** Bumped whenever the set of conflicts changes, so the status is written again. */
  private final java.util.concurrent.atomic.AtomicLong conflictChanges =
      new java.util.concurrent.atomic.AtomicLong();

  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  /**
   * Secrets this controller created and ServiceAccounts it patched, until the caches show them
   * (keys "Secret/namespace/name" and "ServiceAccount/namespace/name"). While a pass's cache still
   * shows the old state the namespace is retried later instead of writing again.
   */
  private final Expectations expectations = new Expectations(30_000_000_000L, System::nanoTime);

  /**
   * The policy in force and what was derived from it. {@code removed}: the policy ConfigMap does
   * not exist (pull Secrets keep the last good policy; admission objects are removed).
   */
  record State(
      Policy policy,
      String seenSha,
      Desired.Keyed grants,
      List<String> policyProblems,
      String invalidSha,
      boolean removed) {}

  /**
   * The cache has not caught up with this controller's own write yet: retry later, write nothing.
   */
  static final class CacheBehind extends ApiException {
    private static final long serialVersionUID = 1L;

    CacheBehind() {
      super("cache behind the controller's own write");
    }
  }

  Reconciler(ClusterView view, ClusterWrites writes, Metrics metrics) {
    this(view, writes, metrics, null);
  }

  Reconciler(
      ClusterView view, ClusterWrites writes, Metrics metrics, AdmissionReconciler admission) {
    this(view, writes, metrics, admission, null, Reconciler::newRevision);
  }

  /**
   * @param nodes the node status pass, null when nodes are not watched (then the status has no
   *     {@code nodes} key)
   * @param revisions makes a new bundle revision ({@link NodeCredentialsBundle#REVISION_KEY})
   */
  Reconciler(
      ClusterView view,
      ClusterWrites writes,
      Metrics metrics,
      AdmissionReconciler admission,
      NodeStatusPass nodes,
      Supplier<String> revisions) {
    this.view = view;
    this.writes = writes;
    this.metrics = metrics;
    this.admission = admission;
    this.nodes = nodes;
    this.revisions = revisions;
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * A new bundle revision: 16 random hex digits. Random rather than a counter, so a bundle deleted
   * and made again never repeats a revision an agent may still report; never a hash of the content,
   * which would let secret content be confirmed by guessing.
   */
  static String newRevision() {
    return String.format(Locale.ROOT, "%016x", RANDOM.nextLong());
  }

  Policy policy() {
    return state.policy();
  }

  /** Keeps the admission objects for the policy in force (none when its ConfigMap is gone). */
  Result reconcileAdmission() {
    if (admission == null) {
      return Result.DONE;
    }
    State s = state;
    return admission.reconcile(s.policy(), s.removed()) == AdmissionReconciler.Result.DONE
        ? Result.DONE
        : Result.REQUEUE;
  }

  /**
   * Re-reads the policy ConfigMap and the source Secrets. Returns true when what namespaces should
   * hold may have changed (every namespace then needs a pass).
   */
  synchronized boolean refreshPolicy() {
    Optional<V1ConfigMap> cm = view.policyConfigMap();
    State old = state;
    if (cm.isEmpty()) {
      // A deleted policy ConfigMap is treated like an invalid one: nothing is removed.
      state =
          new State(
              old.policy(),
              null,
              old.grants(),
              List.of(
                  "policy ConfigMap "
                      + Policy.NAMESPACE
                      + "/"
                      + Policy.CONFIGMAP_NAME
                      + " not found; keeping the last good policy for pull Secrets and node"
                      + " credentials, removing the admission objects"),
              old.invalidSha(),
              true);
      return false;
    }
    Map<String, String> data = cm.get().getData();
    String text = data == null ? null : data.get(Policy.CONFIGMAP_KEY);
    if (text == null) {
      state =
          new State(
              old.policy(),
              null,
              old.grants(),
              List.of("data." + Policy.CONFIGMAP_KEY + ": required; keeping the last good policy"),
              old.invalidSha(),
              false);
      return false;
    }
    try {
      Policy p = PolicyDocument.parse(text);
      Desired.Keyed grants = Desired.grants(p, view.sourceSecrets());
      boolean changed =
          old.policy() == null
              || !old.policy().sha256().equals(p.sha256())
              || !sameGrants(old.grants(), grants);
      if (old.policy() == null || !old.policy().sha256().equals(p.sha256())) {
        LOG.info(
            Log.kv(
                "policy loaded",
                "policy_sha256",
                p.sha256().substring(0, 12),
                "grants",
                p.access().size()));
      }
      state = new State(p, p.sha256(), grants, List.of(), null, false);
      return changed;
    } catch (PolicyException e) {
      List<String> problems = new ArrayList<>();
      for (Problem pr : e.problems()) {
        problems.add(pr.toString());
      }
      String sha = Integer.toHexString(text.hashCode());
      if (!sha.equals(old.invalidSha())) {
        LOG.warning(
            Log.kv("policy invalid, keeping the last good policy", "problems", problems.size()));
        writes.event(
            Policy.NAMESPACE,
            "ConfigMap",
            Policy.CONFIGMAP_NAME,
            "Warning",
            "InvalidPolicy",
            truncate(
                problems.size()
                    + " problems, keeping the last good policy: "
                    + String.join("; ", problems)));
        metrics.invalidPolicies.inc();
      }
      state = new State(old.policy(), null, old.grants(), problems, sha, false);
      return false;
    }
  }

  private static boolean sameGrants(Desired.Keyed a, Desired.Keyed b) {
    if (!a.values().keySet().equals(b.values().keySet()) || !a.problems().equals(b.problems())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : a.values().entrySet()) {
      if (!Arrays.equals(e.getValue(), b.values().get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Called for every informer event on a managed Secret or a ServiceAccount: the cache has now seen
   * that object, so a pending expectation about it is met (even if the object is already gone
   * again, as when a create and a delete arrive in one queued pass).
   */
  void observed(String kind, String namespace, String name, String resourceVersion) {
    expectations.observed(kind + "/" + namespace + "/" + name, resourceVersion);
  }

  /**
   * A same-named Secret this controller does not own: listed in the status, and reported once (log,
   * Events on the policy ConfigMap and on the Namespace, metric) until it is forgotten.
   */
  private void recordConflict(String ns, String secret, V1Secret foreign, String consequence) {
    String key = ns + "/" + secret;
    if (conflicts.put(key, Objects.toString(foreign.getMetadata().getResourceVersion(), ""))
        == null) {
      conflictChanges.incrementAndGet();
    }
    if (reported.add("conflict|" + key)) {
      String msg =
          "Secret " + key + " exists and is not managed by registry-policy; " + consequence;
      LOG.warning(Log.kv("conflict", "namespace", ns, "secret", secret));
      writes.event(
          Policy.NAMESPACE, "ConfigMap", Policy.CONFIGMAP_NAME, "Warning", "SecretConflict", msg);
      if (!Policy.NAMESPACE.equals(ns)) {
        writes.event(ns, "Namespace", ns, "Warning", "SecretConflict", msg);
      }
      metrics.conflicts.inc();
    }
  }

  private void forgetConflict(String key) {
    if (conflicts.remove(key) != null) {
      conflictChanges.incrementAndGet();
    }
    reported.remove("conflict|" + key);
  }

  /** Changes whenever the set of Secret name conflicts (shown in the status) changes. */
  long conflictChanges() {
    return conflictChanges.get();
  }

  /** Makes one namespace match the policy. */
  Result reconcileNamespace(String name) {
    long mark = expectations.mark(); // before any cache read
    State s = state;
    if (s.policy() == null || Policy.NAMESPACE.equals(name)) {
      // Never had a valid policy: touch nothing. The policy's own namespace holds the sources,
      // the bundle and the status, which have their own passes.
      return Result.DONE;
    }
    Optional<V1Namespace> nsObj = view.namespace(name);
    if (nsObj.isEmpty()
        || nsObj.get().getMetadata() == null
        || nsObj.get().getMetadata().getDeletionTimestamp() != null) {
      return Result.DONE; // gone or going: its objects go with it
    }
    V1ObjectMeta meta = nsObj.get().getMetadata();
    NamespaceInfo info =
        new NamespaceInfo(name, nullToEmpty(meta.getLabels()), nullToEmpty(meta.getAnnotations()));
    List<V1ServiceAccount> sas = view.serviceAccounts(name);
    Set<String> saNames = new LinkedHashSet<>();
    for (V1ServiceAccount sa : sas) {
      saNames.add(sa.getMetadata().getName());
    }
    Desired.Namespace want = Desired.forNamespace(s.policy(), s.grants(), info, saNames);
    for (String key : conflicts.keySet()) {
      if (key.startsWith(name + "/")
          && !want.secrets().containsKey(key.substring(name.length() + 1))) {
        forgetConflict(key); // no longer wanted here: nothing to report
      }
    }
    Map<String, V1Secret> have = new TreeMap<>();
    for (V1Secret sec : view.managedSecrets(name)) {
      have.put(sec.getMetadata().getName(), sec);
    }
    Result result = Result.DONE;
    Set<String> blocked = new LinkedHashSet<>();
    // Secrets whose write failed (e.g. our own create answered 409 before the cache has it), and
    // those of grants whose credentials are unavailable: ServiceAccounts keep their entry for them
    // as it is (listed stays listed, absent stays absent).
    Set<String> unsettled = new LinkedHashSet<>(want.held());
    for (Desired.PullSecret ps : want.secrets().values()) {
      try {
        if (!ensureSecret(name, ps, have.get(ps.name), mark)) {
          blocked.add(ps.name);
        }
      } catch (CacheBehind e) {
        result = Result.REQUEUE; // it exists (we just created it): ServiceAccounts may list it
      } catch (ApiException e) {
        result = Result.REQUEUE;
        unsettled.add(ps.name);
        if (e.getCode() == 409) {
          LOG.fine(
              Log.kv("secret write lost a race; will retry", "namespace", name, "secret", ps.name));
        } else {
          LOG.log(
              Level.WARNING,
              Log.kv(
                  "secret write failed; will retry with backoff",
                  "namespace",
                  name,
                  "secret",
                  ps.name),
              e);
        }
      }
    }
    for (V1ServiceAccount sa : sas) {
      Set<String> wanted =
          new LinkedHashSet<>(
              want.serviceAccounts().getOrDefault(sa.getMetadata().getName(), Set.of()));
      wanted.removeAll(blocked);
      for (String u : unsettled) {
        boolean listed =
            sa.getImagePullSecrets() != null
                && sa.getImagePullSecrets().stream()
                    .anyMatch(r -> r != null && u.equals(r.getName()));
        if (listed) {
          wanted.add(u);
        } else {
          wanted.remove(u);
        }
      }
      try {
        patchServiceAccount(name, sa, wanted, mark);
      } catch (CacheBehind e) {
        result = Result.REQUEUE;
      } catch (ApiException e) {
        result = Result.REQUEUE; // 409/422: someone else wrote first; recompute from fresh caches
        if (e.getCode() == 409 || e.getCode() == 422) {
          metrics.conflictsRetried.inc();
        } else {
          LOG.log(
              Level.WARNING,
              Log.kv(
                  "service account patch failed; will retry with backoff",
                  "namespace",
                  name,
                  "serviceaccount",
                  sa.getMetadata().getName()),
              e);
        }
      }
    }
    if (result == Result.DONE) {
      for (V1Secret sec : have.values()) {
        String n = sec.getMetadata().getName();
        if (!want.secrets().containsKey(n) && !want.held().contains(n)) {
          try {
            writes.deleteSecret(name, n, sec.getMetadata().getUid());
            metrics.writes.inc();
            LOG.info(
                Log.kv(
                    "deleted pull secret",
                    "namespace",
                    name,
                    "secret",
                    n,
                    "reason",
                    "no longer granted"));
          } catch (ApiException e) {
            if (e.getCode() != 404) {
              result = Result.REQUEUE;
              LOG.log(
                  Level.WARNING,
                  Log.kv(
                      "pull secret delete failed; will retry with backoff",
                      "namespace",
                      name,
                      "secret",
                      n),
                  e);
            }
          }
        }
      }
    }
    return result;
  }

  /** Returns false when a foreign Secret holds the name (the grant is then not served there). */
  private boolean ensureSecret(String ns, Desired.PullSecret ps, V1Secret existing, long mark)
      throws ApiException {
    String key = ns + "/" + ps.name;
    String expectationKey = "Secret/" + key;
    if (existing != null) {
      expectations.forget(expectationKey);
    }
    if (existing == null) {
      if (expectations.pending(expectationKey, mark, null)) {
        throw new CacheBehind(); // created by us a moment ago; the cache will show it
      }
      if (conflicts.containsKey(key)) {
        Optional<V1Secret> still = writes.readSecret(ns, ps.name);
        if (still.isPresent() && !managed(still.get())) {
          return false;
        }
        forgetConflict(key);
      }
      try {
        writes.createSecret(ns, pullSecret(ns, ps, null));
        expectations.created(expectationKey);
        metrics.writes.inc();
        LOG.info(
            Log.kv("created pull secret", "namespace", ns, "secret", ps.name, "grant", ps.grant));
        return true;
      } catch (ApiException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        Optional<V1Secret> other = writes.readSecret(ns, ps.name);
        if (other.isPresent() && !managed(other.get())) {
          recordConflict(
              ns,
              ps.name,
              other.get(),
              "access grant " + ps.grant + " is not applied in namespace " + ns);
          return false;
        }
        throw e; // ours but not yet in the cache: retry later
      }
    }
    byte[] have = existing.getData() == null ? null : existing.getData().get(".dockerconfigjson");
    boolean sameType = SourceSecret.DOCKERCONFIGJSON_TYPE.equals(existing.getType());
    boolean sameGrant = ps.grant.equals(label(existing, Desired.GRANT_LABEL));
    if (sameType && sameGrant && Arrays.equals(have, ps.dockerConfigJson())) {
      return true;
    }
    writes.replaceSecret(ns, pullSecret(ns, ps, existing));
    metrics.writes.inc();
    LOG.info(
        Log.kv(
            "updated pull secret",
            "namespace",
            ns,
            "secret",
            ps.name,
            "grant",
            ps.grant,
            "reason",
            "credentials changed"));
    return true;
  }

  private void patchServiceAccount(String ns, V1ServiceAccount sa, Set<String> wanted, long mark)
      throws ApiException {
    String saKey = "ServiceAccount/" + ns + "/" + sa.getMetadata().getName();
    String rv = sa.getMetadata().getResourceVersion();
    if (expectations.pending(saKey, mark, rv)) {
      throw new CacheBehind(); // our last patch is not in this pass's cache
    }
    Desired.SaChange change =
        Desired.serviceAccount(ServiceAccountPatch.names(sa), ServiceAccountPatch.ours(sa), wanted);
    String patch = ServiceAccountPatch.of(sa, change);
    if (patch == null) {
      return;
    }
    writes.patchServiceAccount(ns, sa.getMetadata().getName(), patch);
    if (rv != null) {
      expectations.patched(saKey, rv);
    }
    metrics.writes.inc();
    LOG.info(
        Log.kv(
            "patched service account",
            "namespace",
            ns,
            "serviceaccount",
            sa.getMetadata().getName(),
            "image_pull_secrets",
            change.imagePullSecrets().stream()
                .map(n -> n == null ? "<no name>" : n)
                .collect(java.util.stream.Collectors.joining(","))));
  }

  /**
   * Keeps the node credentials bundle the agent mounts; a missing source leaves the old bundle in
   * place.
   */
  Result reconcileBundle() {
    long mark = expectations.mark(); // before any cache read
    State s = state;
    if (s.policy() == null) {
      return Result.DONE;
    }
    Desired.Keyed b = Desired.bundle(s.policy(), view.sourceSecrets());
    if (!b.problems().isEmpty()) {
      return Result.DONE; // reported in status; the agent keeps its last good files
    }
    Optional<V1Secret> have = view.ownSecret(Desired.BUNDLE_SECRET);
    if (have.isEmpty()) {
      // The labelled-Secrets cache reports this controller's writes (expectations are met from its
      // events), and may show the bundle before this namespace's cache does.
      have =
          view.managedSecrets(Policy.NAMESPACE).stream()
              .filter(x -> Desired.BUNDLE_SECRET.equals(x.getMetadata().getName()))
              .findFirst();
    }
    String expectationKey = "Secret/" + Policy.NAMESPACE + "/" + Desired.BUNDLE_SECRET;
    if (have.isPresent()) {
      expectations.forget(expectationKey);
    } else if (expectations.pending(expectationKey, mark, null)) {
      return Result.REQUEUE; // created by this controller a moment ago; the cache will show it
    }
    String conflictKey = Policy.NAMESPACE + "/" + Desired.BUNDLE_SECRET;
    if (have.isPresent() && !managed(have.get())) {
      // Someone else's Secret under the bundle's name: never overwritten; reported.
      recordConflict(
          Policy.NAMESPACE,
          Desired.BUNDLE_SECRET,
          have.get(),
          "the node credentials bundle is not written");
      return Result.DONE;
    }
    forgetConflict(conflictKey);
    Map<String, byte[]> data = new TreeMap<>(b.values());
    String oldRevision = have.map(Reconciler::bundleRevision).orElse(null);
    if (have.isPresent()
        && oldRevision != null
        && sameData(withoutRevision(have.get().getData()), data)
        && managed(have.get())) {
      return Result.DONE; // same content, same revision: agents' reports stay current
    }
    // The content changed (or the bundle has no usable revision yet): a new revision.
    String revision = revisions.get();
    while (revision.equals(oldRevision)) {
      revision = revisions.get();
    }
    data.put(NodeCredentialsBundle.REVISION_KEY, revision.getBytes(StandardCharsets.UTF_8));
    V1Secret sec =
        new V1Secret()
            .apiVersion("v1")
            .kind("Secret")
            .type("Opaque")
            .metadata(
                new V1ObjectMeta()
                    .name(Desired.BUNDLE_SECRET)
                    .namespace(Policy.NAMESPACE)
                    .labels(managedLabels(null))
                    .annotations(
                        Map.of(
                            "registry-policy.dev/node-level",
                            "true: every pod on every node can use these credentials"))
                    .resourceVersion(
                        have.map(h -> h.getMetadata().getResourceVersion()).orElse(null)))
            .data(data);
    try {
      if (have.isPresent()) {
        writes.replaceSecret(Policy.NAMESPACE, sec);
      } else {
        writes.createSecret(Policy.NAMESPACE, sec);
        expectations.created(expectationKey);
      }
      metrics.writes.inc();
      LOG.info(
          Log.kv(
              "updated node credentials bundle",
              "keys",
              data.size() - 1,
              "revision",
              revision,
              "previous_revision",
              oldRevision == null ? "none" : oldRevision));
      return Result.DONE;
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        LOG.log(
            Level.WARNING,
            Log.kv("node credentials bundle write failed; will retry with backoff"),
            e);
      }
      return Result.REQUEUE;
    }
  }

  /** The bundle Secret's revision, or null when it has none or not one a report could carry. */
  static String bundleRevision(V1Secret bundle) {
    byte[] r =
        bundle.getData() == null ? null : bundle.getData().get(NodeCredentialsBundle.REVISION_KEY);
    if (r == null || r.length == 0 || r.length > 128) {
      return null;
    }
    String s = new String(r, StandardCharsets.UTF_8);
    return s.matches("[-._a-zA-Z0-9]+") ? s : null; // what NodeReport reads back
  }

  private static Map<String, byte[]> withoutRevision(Map<String, byte[]> data) {
    if (data == null) {
      return null;
    }
    Map<String, byte[]> out = new TreeMap<>(data);
    out.remove(NodeCredentialsBundle.REVISION_KEY);
    return out;
  }

  /**
   * What nodes are compared with: the policy in force (the last valid one; agents keep it too) and
   * the bundle's revision as the cache shows it.
   */
  Target nodeTarget() {
    State s = state;
    String note = null;
    if (s.policy() != null && s.removed()) {
      note =
          "the policy ConfigMap is missing; agents keep the last valid policy, so nodes are"
              + " compared with it";
    } else if (s.policy() != null && !s.policyProblems().isEmpty()) {
      note =
          "the policy ConfigMap holds no valid policy now (see problems); agents keep the last"
              + " valid policy, so nodes are compared with it";
    }
    String revision =
        view.ownSecret(Desired.BUNDLE_SECRET)
            .filter(Reconciler::managed)
            .map(Reconciler::bundleRevision)
            .orElse(null);
    return new Target(s.policy() == null ? null : s.policy().sha256(), note, revision);
  }

  /**
   * The leader's node pass (timer and Lease/Node events): removes report Leases of deleted nodes
   * after the grace; true when the status's {@code nodes} text would change.
   */
  boolean reconcileNodes() {
    return nodes != null && nodes.changed(nodeTarget());
  }

  /** The status this replica wrote last, until its informer shows that version. */
  private volatile StatusWrite lastStatusWrite;

  /** How long an own status write may be missing from the cache before it is written again. */
  static final long STATUS_CACHE_GRACE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);

  private record StatusWrite(Map<String, String> data, String resourceVersion, long atNanos) {
    boolean recent() {
      return resourceVersion != null && System.nanoTime() - atNanos < STATUS_CACHE_GRACE_NANOS;
    }
  }

  /** Writes the status ConfigMap when what it says changed. */
  Result reconcileStatus() {
    State s = state;
    if (admission != null && !admission.decided() && (s.policy() != null || s.removed())) {
      // A replica that just took over has not run its admission pass yet: writing the status now
      // would blank what the last leader wrote, and that pass queues the status when it is done.
      return Result.DONE;
    }
    Map<String, String> data = new LinkedHashMap<>();
    data.put("policySha256", s.policy() == null ? "" : s.policy().sha256());
    data.put("policyValid", String.valueOf(s.policyProblems().isEmpty() && s.policy() != null));
    List<String> problems = new ArrayList<>(s.policyProblems());
    problems.addAll(s.grants().problems());
    if (s.policy() != null) {
      problems.addAll(Desired.bundle(s.policy(), view.sourceSecrets()).problems());
      data.put("nodeLevelCredentials", String.join(",", Desired.nodeLevelCredentials(s.policy())));
      data.put(
          "nodeLevelCredentialsNote",
          "node-level credentials (in hosts.toml) are usable by every pod on every node,"
              + " bypassing namespace isolation");
      data.put("grants", String.valueOf(s.policy().access().size()));
      data.put("registries", String.valueOf(s.policy().registries().size()));
    }
    List<String> conflictList = new ArrayList<>(new java.util.TreeSet<>(conflicts.keySet()));
    data.put("conflicts", String.join(",", conflictList));
    if (admission != null) {
      AdmissionReconciler.Status a = admission.status();
      data.put("admissionEnforcement", a.enforcement());
      data.put("admissionEnforcementSetting", admission.settings().mode().flagValue());
      data.put("admissionConflicts", String.join(",", a.conflicts()));
      problems.addAll(a.problems());
    }
    data.put("problems", String.join("\n", problems));
    Optional<V1ConfigMap> have = view.ownConfigMap(STATUS_CONFIGMAP);
    if (nodes != null) {
      String text = nodes.text(nodeTarget());
      if (text == null) {
        // This replica's Node and Lease caches are not synced yet: keep what the status says.
        text =
            have.map(h -> h.getData() == null ? null : h.getData().get("nodes"))
                .orElse(NodeStatusPass.WAITING);
      }
      data.put("nodes", text);
    }
    if (have.isPresent() && data.equals(have.get().getData())) {
      return Result.DONE;
    }
    String cachedVersion = have.map(h -> h.getMetadata().getResourceVersion()).orElse(null);
    StatusWrite last = lastStatusWrite;
    if (last != null && last.recent() && !Objects.equals(cachedVersion, last.resourceVersion())) {
      // The cache has not caught up with our own last write: writing from it would answer 409.
      // Nothing to do when that write already says this; else wait for the cache.
      return data.equals(last.data()) ? Result.DONE : Result.REQUEUE;
    }
    V1ConfigMap cm =
        new V1ConfigMap()
            .apiVersion("v1")
            .kind("ConfigMap")
            .metadata(
                new V1ObjectMeta()
                    .name(STATUS_CONFIGMAP)
                    .namespace(Policy.NAMESPACE)
                    .labels(managedLabels(null))
                    .resourceVersion(
                        have.map(h -> h.getMetadata().getResourceVersion()).orElse(null)))
            .data(data);
    try {
      String version =
          have.isPresent()
              ? writes.replaceConfigMap(Policy.NAMESPACE, cm)
              : writes.createConfigMap(Policy.NAMESPACE, cm);
      lastStatusWrite = new StatusWrite(Map.copyOf(data), version, System.nanoTime());
      metrics.writes.inc();
      return Result.DONE;
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        LOG.log(Level.WARNING, Log.kv("status ConfigMap write failed; will retry with backoff"), e);
      }
      return Result.REQUEUE;
    }
  }

  /** Namespaces that exist now (for a full pass). */
  List<String> namespaceNames() {
    List<String> out = new ArrayList<>();
    for (V1Namespace ns : view.namespaces()) {
      out.add(ns.getMetadata().getName());
    }
    return out;
  }

  /**
   * The managed pull Secret; when it replaces {@code existing}, labels and annotations other tools
   * put on it are kept (only the controller's own labels are set).
   */
  static V1Secret pullSecret(String ns, Desired.PullSecret ps, V1Secret existing) {
    V1ObjectMeta old = existing == null ? null : existing.getMetadata();
    Map<String, String> labels =
        new TreeMap<>(old == null || old.getLabels() == null ? Map.of() : old.getLabels());
    labels.putAll(managedLabels(ps.grant));
    Map<String, String> annotations =
        old == null || old.getAnnotations() == null || old.getAnnotations().isEmpty()
            ? null
            : new TreeMap<>(old.getAnnotations());
    return new V1Secret()
        .apiVersion("v1")
        .kind("Secret")
        .type(SourceSecret.DOCKERCONFIGJSON_TYPE)
        .metadata(
            new V1ObjectMeta()
                .name(ps.name)
                .namespace(ns)
                .labels(labels)
                .annotations(annotations)
                .resourceVersion(old == null ? null : old.getResourceVersion()))
        .data(Map.of(".dockerconfigjson", ps.dockerConfigJson()));
  }

  static Map<String, String> managedLabels(String grant) {
    Map<String, String> l = new TreeMap<>();
    l.put(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY);
    if (grant != null) {
      l.put(Desired.GRANT_LABEL, grant);
    }
    return l;
  }

  static boolean managed(V1Secret s) {
    return Labels.MANAGED_BY.equals(label(s, Labels.MANAGED_BY_LABEL));
  }

  private static String label(V1Secret s, String key) {
    Map<String, String> l = s.getMetadata() == null ? null : s.getMetadata().getLabels();
    return l == null ? null : l.get(key);
  }

  private static boolean sameData(Map<String, byte[]> a, Map<String, byte[]> b) {
    if (a == null || !a.keySet().equals(b.keySet())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : b.entrySet()) {
      if (!Arrays.equals(a.get(e.getKey()), e.getValue())) {
        return false;
      }
    }
    return true;
  }

  private static Map<String, String> nullToEmpty(Map<String, String> m) {
    return m == null ? Map.of() : m;
  }

  private static String truncate(String s) {
    return s.length() > 1000 ? s.substring(0, 997) + "..." : s;
  }
}
