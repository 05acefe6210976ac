package dev.registrypolicy.controller.admission;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.controller.Labels;
import dev.registrypolicy.policy.LogLine;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1ValidatingAdmissionPolicyBinding;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps the cluster-scoped admission objects (ValidatingAdmissionPolicies, their bindings, the
 * validating and mutating webhook configurations) equal to what the policy in force asks for, the
 * way the controller keeps pull Secrets:
 *
 * <ul>
 *   <li>only objects labelled {@code app.kubernetes.io/managed-by: registry-policy-controller} are
 *       the controller's; a foreign object under one of its names is never changed or deleted, and
 *       is listed in the status (and reported once in an Event);
 *   <li>missing objects are created, changed ones replaced (compared as {@link
 *       AdmissionObjectsCompare} says, so a server-defaulted object is never written again), and
 *       the controller's objects that are no longer wanted deleted (all of them when the admission
 *       section or the policy ConfigMap is removed);
 *   <li>an invalid policy changes nothing: the caller passes the last good policy;
 *   <li>order: every create and update before any delete (switching from the webhook to policies,
 *       or back, never leaves a gap), a policy before its binding, a binding deleted before its
 *       policy; no delete in a pass where a write failed.
 * </ul>
 *
 * Reads come from {@link AdmissionReconcilerView} (caches); a write this controller just made is
 * remembered until the cache shows it, so a pass on a stale cache never repeats it.
 */
public final class AdmissionReconciler {
  /** How long a write of ours may stay unseen by the cache before the cache is trusted again. */
  static final long PENDING_TTL_NANOS = 30_000_000_000L;

  private static final Logger LOG = Logger.getLogger(AdmissionReconciler.class.getName());
  private static final int MAX_MESSAGE = 300;

  /** What a pass asks of its caller. */
  public enum Result {
    DONE,
    /** A write failed or lost a race, or a cache is not ready: run the pass again later. */
    REQUEUE
  }

  /**
   * What the status ConfigMap shows.
   *
   * @param enforcement {@code policy}, {@code webhook}, {@code policy+webhook}, {@code none},
   *     {@code unknown} (discovery or the source failed before anything was decided), or empty
   *     before the first pass
   * @param problems what is not enforced as asked, and why
   * @param conflicts foreign objects under the controller's names, as {@code Kind/name}
   */
  public record Status(String enforcement, List<String> problems, List<String> conflicts) {
    public Status {
      problems = List.copyOf(problems);
      conflicts = List.copyOf(conflicts);
    }
  }

  /** A write of ours the cache may not show yet: {@code written} null for a delete. */
  private record Pending(KubernetesObject written, String resourceVersion, long at) {}

  private final AdmissionReconcilerView view;
  private final AdmissionReconcilerApi api;
  private final AdmissionObjectsSource source;
  private final EnforcementSettings settings;
  private final Runnable countWrite;
  private final LongSupplier nanoTime;
  private final long discoveryEveryNanos;

  private final Map<String, Pending> pending = new ConcurrentHashMap<>();

  /**
   * The last resourceVersions the informers delivered per object: an event can arrive before the
   * write that caused it has returned, and such a write needs no remembering.
   */
  private final Map<String, Set<String>> seen = new ConcurrentHashMap<>();

  private static final int SEEN_PER_OBJECT = 16;

  /** Kind/name → resourceVersion of the foreign object seen there. */
  private final Map<String, String> conflicts = new ConcurrentHashMap<>();

  private final Set<String> reported = ConcurrentHashMap.newKeySet();
  private final AtomicLong statusChanges = new AtomicLong();
  private volatile Status status = new Status("", List.of(), List.of());

  private Boolean policiesServed;
  private long discoveredAt;

  /** The policy (sha256) whose ValidatingAdmissionPolicy objects the API server rejected. */
  private String rejectedPolicy;

  private String rejectedMessage = "";

  /**
   * @param countWrite called once per successful write (the controller's writes metric)
   * @param discoveryEveryNanos how long an answer of API discovery is used before asking again
   */
  public AdmissionReconciler(
      AdmissionReconcilerView view,
      AdmissionReconcilerApi api,
      AdmissionObjectsSource source,
      EnforcementSettings settings,
      Runnable countWrite,
      LongSupplier nanoTime,
      long discoveryEveryNanos) {
    this.view = Objects.requireNonNull(view, "view");
    this.api = Objects.requireNonNull(api, "api");
    this.source = Objects.requireNonNull(source, "source");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.countWrite = Objects.requireNonNull(countWrite, "countWrite");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.discoveryEveryNanos = discoveryEveryNanos;
  }

  public EnforcementSettings settings() {
    return settings;
  }

  public Status status() {
    return status;
  }

  /** Whether a pass has decided anything yet (before that, the status has nothing to say). */
  public boolean decided() {
    return !status.enforcement().isEmpty();
  }

  /** Changes whenever {@link #status()} does (the caller then rewrites the status ConfigMap). */
  public long statusChanges() {
    return statusChanges.get();
  }

  /**
   * An informer event on one of the controller's admission objects: the cache now holds that state,
   * so a pending write of ours that it shows (same resourceVersion, or the object's deletion) no
   * longer needs to be remembered.
   */
  public void observed(
      AdmissionObjectsKind kind, String name, String resourceVersion, boolean deleted) {
    if (resourceVersion != null && !deleted) {
      Set<String> versions =
          seen.computeIfAbsent(
              key(kind, name),
              k ->
                  java.util.Collections.newSetFromMap(
                      new LinkedHashMap<String, Boolean>() {
                        private static final long serialVersionUID = 1L;

                        @Override
                        protected boolean removeEldestEntry(Map.Entry<String, Boolean> e) {
                          return size() > SEEN_PER_OBJECT;
                        }
                      }));
      synchronized (versions) {
        versions.add(resourceVersion);
      }
    } else if (deleted) {
      seen.remove(key(kind, name));
    }
    pending.computeIfPresent(
        key(kind, name),
        (k, p) -> {
          if (deleted) {
            return null; // the cache no longer has it: whatever we wrote, it is gone now
          }
          return p.written() != null && Objects.equals(p.resourceVersion(), resourceVersion)
              ? null
              : p;
        });
  }

  /**
   * One pass.
   *
   * @param lastGood the policy in force (the last valid one), null if none was ever valid
   * @param policyRemoved the policy ConfigMap does not exist: everything of ours goes
   */
  public synchronized Result reconcile(Policy lastGood, boolean policyRemoved) {
    if (lastGood == null && !policyRemoved) {
      return Result.DONE; // never had a valid policy: touch nothing
    }
    // Pending writes before any cache read (see observed): a write seen by the cache after this
    // snapshot is still treated as pending, which at worst repeats a check, never a write.
    long now = nanoTime.getAsLong();
    Map<String, Pending> mine = new HashMap<>();
    pending.values().removeIf(p -> now - p.at() > PENDING_TTL_NANOS);
    mine.putAll(pending);
    List<String> problems = new ArrayList<>();
    Boolean served = discover(now);
    if (served == null) {
      problems.add(
          "cannot tell from API discovery whether admissionregistration.k8s.io/v1"
              + " validatingadmissionpolicies is served; admission objects are left as they are"
              + " until it answers");
      publish(status.enforcement().isEmpty() ? "unknown" : status.enforcement(), problems);
      return Result.REQUEUE;
    }
    AdmissionObjects desired;
    Policy policy = policyRemoved ? null : lastGood;
    try {
      desired = policy == null ? AdmissionObjects.empty() : source.desired(policy);
      if (desired == null) {
        throw new IllegalStateException("the admission objects source returned null");
      }
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, LogLine.format("admission objects could not be built"), e);
      problems.add(
          "admission objects could not be built ("
              + (e.getMessage() == null || e.getMessage().isBlank()
                  ? "an unexpected error without a message, logged by the controller"
                  : e.getMessage())
              + "); the admission objects in the cluster are left as they are until the policy"
              + " or what the objects are built from changes");
      publish(status.enforcement().isEmpty() ? "unknown" : status.enforcement(), problems);
      return Result.DONE; // the same policy gives the same failure: no retry until it changes
    }
    boolean rejected = policy != null && policy.sha256().equals(rejectedPolicy);
    EnforcementChoice choice =
        settings.choose(
            served,
            desired.policiesTooBig() || rejected,
            policy != null && !policy.access().isEmpty(),
            policy != null && policy.admission().hasImageContentRules());
    problems.addAll(desired.problems());
    boolean validating =
        !desired.policies().isEmpty()
            || !desired.bindings().isEmpty()
            || !desired.validatingWebhooks().isEmpty()
            || (policy != null && policy.admission().hasImageContentRules());
    if (validating) {
      problems.addAll(choice.problems());
    }
    if (rejected && !rejectedMessage.isEmpty()) {
      problems.add(rejectedMessage);
    }
    AdmissionObjects keep = choice.select(desired);
    String enforcement = validating ? choice.summary() : "none";

    List<AdmissionObjectsKind> kinds = new ArrayList<>();
    for (AdmissionObjectsKind k : AdmissionObjectsKind.values()) {
      if (!k.needsPolicyApi() || served) {
        kinds.add(k);
      }
    }
    for (AdmissionObjectsKind k : kinds) {
      if (!view.ready(k)) {
        publish(enforcement, problems);
        return Result.REQUEUE; // deciding on an unfilled cache would delete what exists
      }
    }

    Pass pass = new Pass(mine, problems, policy);
    for (AdmissionObjectsKind k : kinds) {
      pass.ensureAll(k, k.of(keep));
    }
    if (pass.failed) {
      publish(enforcement, problems);
      return Result.REQUEUE; // no deletes while something wanted is not in place
    }
    for (AdmissionObjectsKind k :
        List.of(
            AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY_BINDING,
            AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY,
            AdmissionObjectsKind.VALIDATING_WEBHOOK_CONFIGURATION,
            AdmissionObjectsKind.MUTATING_WEBHOOK_CONFIGURATION)) {
      if (kinds.contains(k)) {
        pass.deleteUnwanted(k, pass.wanted(k));
      }
    }
    for (String c : List.copyOf(conflicts.keySet())) {
      if (!pass.wantedKeys.contains(c)) {
        forgetConflict(c); // no longer wanted: nothing to report
      }
    }
    publish(enforcement, problems);
    return pass.failed ? Result.REQUEUE : Result.DONE;
  }

  /** One pass's writes; {@code failed} once any write failed. */
  private final class Pass {
    final Map<String, Pending> mine;
    final List<String> problems;
    final Policy policy;
    final Set<String> wantedKeys = new HashSet<>();
    final Map<AdmissionObjectsKind, Set<String>> wantedNames = new HashMap<>();
    final Set<String> failedPolicies = new HashSet<>();
    boolean failed;

    Pass(Map<String, Pending> mine, List<String> problems, Policy policy) {
      this.mine = mine;
      this.problems = problems;
      this.policy = policy;
    }

    Set<String> wanted(AdmissionObjectsKind kind) {
      return wantedNames.getOrDefault(kind, Set.of());
    }

    void ensureAll(AdmissionObjectsKind kind, List<? extends KubernetesObject> want) {
      Map<String, KubernetesObject> have = new HashMap<>();
      for (KubernetesObject o : view.managed(kind)) {
        if (o.getMetadata() != null && o.getMetadata().getName() != null) {
          have.put(o.getMetadata().getName(), o);
        }
      }
      Set<String> names = new HashSet<>();
      wantedNames.put(kind, names);
      int i = 0;
      for (KubernetesObject w : want) {
        i++;
        String name = w == null || w.getMetadata() == null ? null : w.getMetadata().getName();
        if (name == null || name.isBlank()) {
          problems.add(kind.kind() + " #" + i + " has no metadata.name; it is not written");
          continue;
        }
        if (!names.add(name)) {
          problems.add(
              kind.kind() + " " + name + " is asked for twice; only the first one is written");
          continue;
        }
        wantedKeys.add(key(kind, name));
        if (w instanceof V1ValidatingAdmissionPolicyBinding b
            && b.getSpec() != null
            && failedPolicies.contains(b.getSpec().getPolicyName())) {
          failed = true; // its policy is not in place yet: the binding waits for the next pass
          continue;
        }
        try {
          ensure(kind, name, w, effective(kind, name, have.get(name)));
        } catch (ApiException e) {
          failed = true;
          if (kind == AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY) {
            failedPolicies.add(name);
          }
          writeFailed(kind, name, e);
        }
      }
    }

    /** What the cluster has under this name, counting our own writes the cache may lack. */
    private KubernetesObject effective(
        AdmissionObjectsKind kind, String name, KubernetesObject cached) {
      Pending p = mine.get(key(kind, name));
      if (p == null) {
        return cached;
      }
      return p.written(); // null: we deleted it
    }

    private void ensure(
        AdmissionObjectsKind kind, String name, KubernetesObject want, KubernetesObject have)
        throws ApiException {
      String key = key(kind, name);
      JsonObject desired = desiredJson(kind, want);
      if (have == null) {
        if (conflicts.containsKey(key)) {
          Optional<KubernetesObject> still = api.read(kind, name);
          if (still.isPresent() && !managed(still.get())) {
            problems.add(conflictProblem(kind, name));
            return; // still someone else's
          }
          forgetConflict(key);
        }
        KubernetesObject created;
        try {
          created = api.create(kind, typed(kind, withMetadata(desired, null)));
        } catch (ApiException e) {
          if (e.getCode() != 409) {
            throw e;
          }
          Optional<KubernetesObject> other = api.read(kind, name);
          if (other.isPresent() && !managed(other.get())) {
            recordConflict(kind, name, other.get());
            problems.add(conflictProblem(kind, name));
            return;
          }
          throw e; // ours, not yet in the cache: the next pass sees it
        }
        remember(kind, name, created);
        countWrite.run();
        LOG.info(LogLine.format("created admission object", "kind", kind.kind(), "name", name));
        return;
      }
      if (AdmissionObjectsCompare.same(kind, AdmissionObjectsCompare.json(have), desired)) {
        return;
      }
      KubernetesObject replaced;
      try {
        replaced = api.replace(kind, typed(kind, withMetadata(desired, have)));
      } catch (ApiException e) {
        if (e.getCode() == 409) {
          pending.remove(key); // what we last wrote is not current: trust the cache next time
        }
        throw e;
      }
      remember(kind, name, replaced);
      countWrite.run();
      LOG.info(
          LogLine.format(
              "updated admission object",
              "kind",
              kind.kind(),
              "name",
              name,
              "reason",
              "differs from the policy"));
    }

    void deleteUnwanted(AdmissionObjectsKind kind, Set<String> wanted) {
      for (KubernetesObject o : view.managed(kind)) {
        V1ObjectMeta m = o.getMetadata();
        if (m == null || m.getName() == null || wanted.contains(m.getName())) {
          continue;
        }
        String name = m.getName();
        Pending p = mine.get(key(kind, name));
        if (p != null && p.written() == null) {
          continue; // deleted by us a moment ago; the cache will drop it
        }
        try {
          api.delete(kind, name, m.getUid());
          pending.put(key(kind, name), new Pending(null, null, nanoTime.getAsLong()));
          countWrite.run();
          LOG.info(
              LogLine.format(
                  "deleted admission object",
                  "kind",
                  kind.kind(),
                  "name",
                  name,
                  "reason",
                  "no longer asked for by the policy"));
        } catch (ApiException e) {
          if (e.getCode() != 404) {
            failed = true;
            writeFailed(kind, name, e);
          }
        }
      }
    }

    private void writeFailed(AdmissionObjectsKind kind, String name, ApiException e) {
      int code = e.getCode();
      if (code == 409) {
        LOG.fine(
            LogLine.format(
                "admission object write lost a race; will retry",
                "kind",
                kind.kind(),
                "name",
                name));
        return;
      }
      String reason = apiMessage(e);
      if (code == 403) {
        problems.add(
            "the API server refused to write "
                + kind.kind()
                + " "
                + name
                + " (403): "
                + reason
                + "; the controller's RBAC (manifests/controller.yaml) allows updates and deletes"
                + " only under the names registry-policy-deny, -warn, -audit and"
                + " registry-policy");
      }
      if (code == 422 || code == 400) {
        String msg =
            "the API server rejected " + kind.kind() + " " + name + " (" + code + "): " + reason;
        problems.add(msg);
        if (kind.needsPolicyApi()
            && policy != null
            && settings.mode() == Enforcement.AUTO
            && settings.webhookServed()) {
          rejectedPolicy = policy.sha256();
          rejectedMessage = msg + "; the validating webhook enforces this policy instead";
        }
      }
      LOG.log(
          Level.WARNING,
          LogLine.format(
              "admission object write failed; will retry with backoff",
              "kind",
              kind.kind(),
              "name",
              name,
              "code",
              code,
              "reason",
              reason),
          e);
    }
  }

  private void remember(AdmissionObjectsKind kind, String name, KubernetesObject written) {
    String rv =
        written == null || written.getMetadata() == null
            ? null
            : written.getMetadata().getResourceVersion();
    if (rv == null) {
      return;
    }
    String key = key(kind, name);
    pending.put(key, new Pending(written, rv, nanoTime.getAsLong()));
    Set<String> versions = seen.get(key);
    if (versions != null) {
      synchronized (versions) {
        if (versions.contains(rv)) {
          pending.remove(key); // the cache saw it before the write returned
        }
      }
    }
  }

  /** The desired object as JSON, with apiVersion, kind and the managed-by label. */
  private static JsonObject desiredJson(AdmissionObjectsKind kind, KubernetesObject want) {
    JsonObject o = AdmissionObjectsCompare.json(want);
    o.addProperty("apiVersion", AdmissionObjectsKind.API_VERSION);
    o.addProperty("kind", kind.kind());
    JsonObject meta = object(o, "metadata");
    JsonObject clean = new JsonObject();
    clean.add("name", meta.get("name"));
    JsonObject labels = object(meta, "labels").deepCopy();
    labels.addProperty(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY);
    clean.add("labels", labels);
    JsonObject annotations = object(meta, "annotations");
    if (!annotations.isEmpty()) {
      clean.add("annotations", annotations.deepCopy());
    }
    o.add("metadata", clean);
    o.remove("status");
    return o;
  }

  /**
   * What is written: the desired object; when it replaces {@code have}, with have's metadata
   * (others' labels, annotations, finalizers and owner references are kept) and resourceVersion.
   */
  private static JsonObject withMetadata(JsonObject desired, KubernetesObject have) {
    JsonObject o = desired.deepCopy();
    if (have == null) {
      return o;
    }
    JsonObject want = object(o, "metadata");
    JsonObject meta = object(AdmissionObjectsCompare.json(have), "metadata").deepCopy();
    meta.remove("managedFields");
    for (String f : List.of("labels", "annotations")) {
      JsonObject merged = object(meta, f).deepCopy();
      for (Map.Entry<String, JsonElement> e : object(want, f).entrySet()) {
        merged.add(e.getKey(), e.getValue());
      }
      if (merged.isEmpty()) {
        meta.remove(f);
      } else {
        meta.add(f, merged);
      }
    }
    o.add("metadata", meta);
    return o;
  }

  private static KubernetesObject typed(AdmissionObjectsKind kind, JsonObject o) {
    return JSON.deserialize(o.toString(), kind.type());
  }

  private static JsonObject object(JsonObject o, String field) {
    JsonElement e = o.get(field);
    return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
  }

  static boolean managed(KubernetesObject o) {
    Map<String, String> labels = o.getMetadata() == null ? null : o.getMetadata().getLabels();
    return labels != null && Labels.MANAGED_BY.equals(labels.get(Labels.MANAGED_BY_LABEL));
  }

  private static String key(AdmissionObjectsKind kind, String name) {
    return kind.kind() + "/" + name;
  }

  private static String conflictProblem(AdmissionObjectsKind kind, String name) {
    return kind.kind()
        + " "
        + name
        + " exists and is not managed by registry-policy; it is left as it is and not enforced"
        + " by this controller (delete or rename it to let the controller create its own)";
  }

  private void recordConflict(AdmissionObjectsKind kind, String name, KubernetesObject foreign) {
    String key = key(kind, name);
    String rv = foreign.getMetadata() == null ? "" : foreign.getMetadata().getResourceVersion();
    conflicts.put(key, Objects.toString(rv, ""));
    if (reported.add(key)) {
      LOG.warning(LogLine.format("conflict", "kind", kind.kind(), "name", name));
      api.warn("AdmissionObjectConflict", conflictProblem(kind, name));
    }
  }

  private void forgetConflict(String key) {
    conflicts.remove(key);
    reported.remove(key);
  }

  /** API discovery, asked again after {@code discoveryEveryNanos}; null while it never answered. */
  private Boolean discover(long now) {
    if (policiesServed != null && now - discoveredAt < discoveryEveryNanos) {
      return policiesServed;
    }
    try {
      boolean served = api.policiesServed();
      if (!Objects.equals(policiesServed, served)) {
        LOG.info(
            LogLine.format(
                "API discovery",
                "validatingadmissionpolicies",
                served ? "served" : "not served (Kubernetes < 1.30)"));
      }
      policiesServed = served;
      discoveredAt = now;
    } catch (ApiException e) {
      LOG.log(
          Level.WARNING,
          LogLine.format(
              "API discovery of admissionregistration.k8s.io/v1 failed; will retry",
              "code",
              e.getCode()),
          e);
    }
    return policiesServed;
  }

  private void publish(String enforcement, List<String> problems) {
    Status s =
        new Status(
            enforcement,
            List.copyOf(dedupe(problems).keySet()),
            List.copyOf(new TreeSet<>(conflicts.keySet())));
    if (!s.equals(status)) {
      status = s;
      statusChanges.incrementAndGet();
    }
  }

  private static Map<String, Boolean> dedupe(List<String> problems) {
    Map<String, Boolean> m = new LinkedHashMap<>();
    problems.forEach(p -> m.put(p, Boolean.TRUE));
    return m;
  }

  /** The Status message of an API error, shortened; never the request body. */
  static String apiMessage(ApiException e) {
    String body = e.getResponseBody();
    String msg = null;
    if (body != null) {
      try {
        JsonElement j = JsonParser.parseString(body);
        if (j.isJsonObject() && j.getAsJsonObject().has("message")) {
          msg = j.getAsJsonObject().get("message").getAsString();
        }
      } catch (RuntimeException ignored) {
        // not a Status: fall back to the code
      }
    }
    if (msg == null || msg.isBlank()) {
      msg = e.getCode() == 0 ? "no answer from the API server" : "HTTP " + e.getCode();
    }
    msg = msg.replaceAll("\\p{Cntrl}", " ");
    return msg.length() > MAX_MESSAGE ? msg.substring(0, MAX_MESSAGE - 3) + "..." : msg;
  }
}
