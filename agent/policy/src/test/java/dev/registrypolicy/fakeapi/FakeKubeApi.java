package dev.registrypolicy.fakeapi;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * An in-process stand-in for kube-apiserver, good enough for client-java's typed APIs, generic
 * APIs, informers and lease-based leader election (the controller's tests, through the typed layer
 * {@code dev.registrypolicy.controller.fakeapi.FakeKubeApi}) and for the agent's own small API
 * client. This core uses no Kubernetes client library. It serves plain HTTP/1.1 on 127.0.0.1 and
 * keeps every object as a gson {@link JsonObject} in one store guarded by one lock.
 *
 * <p>Reproduced on purpose, because the controller depends on it: 201 on create; 409 AlreadyExists,
 * and 409 Conflict for a stale resourceVersion on PUT or in a patched object; 422 for a failed JSON
 * Patch {@code test} or an op on a missing path; 415 for a PATCH whose Content-Type is not a patch
 * type (what a typed client call made without PatchUtils sends); strategic merge patch replacing
 * {@code ServiceAccount.imagePullSecrets} whole (no merge key upstream); no-op updates keeping
 * their resourceVersion; watches as newline-delimited JSON over a chunked response, with objects
 * moving in or out of a selector seen as ADDED / DELETED; a watch from a compacted resourceVersion
 * answered 200 with one ERROR event (410 Expired); no automatic "default" ServiceAccount; namespace
 * DELETE answering the Namespace (phase Terminating) and cascading at once; ServiceAccount DELETE
 * answering the object, other DELETEs a Status; Secret {@code stringData} folded into {@code data};
 * namespace label {@code kubernetes.io/metadata.name}; the admissionregistration.k8s.io/v1 defaults
 * of webhook configurations, ValidatingAdmissionPolicies and their bindings (see
 * admissionDefaults); discovery of every served group version, with {@link #setServed} to hide a
 * resource as an older API server would (ValidatingAdmissionPolicy is GA since 1.30).
 *
 * <p>Approximated or absent: no authentication, admission (ValidatingAdmissionPolicies are stored,
 * never enforced), validation beyond names, defaulting beyond the above, finalizers, graceful
 * deletion, owner-reference garbage collection, managedFields. Server-side apply accepts JSON only
 * and behaves as a strategic merge that may create the object (no field ownership, no conflicts,
 * fields dropped from the applied configuration are kept). Strategic merge knows merge keys only
 * for metadata.ownerReferences, metadata.finalizers and ServiceAccount.secrets; every other list is
 * replaced. List {@code resourceVersion}/{@code resourceVersionMatch} are ignored (always the
 * latest state); {@code sendInitialEvents} is not supported. Watch bookmarks are sent to watches
 * that asked for them ({@code allowWatchBookmarks=true}) when a test calls {@link #sendBookmarks}.
 * Core and events.k8s.io Events are stored separately.
 *
 * <p>Authentication and RBAC are off unless {@link #enableRbac} is called; then every request needs
 * an {@code Authorization: Bearer} token issued with {@link #issueToken} (401 otherwise) and is
 * authorized against the rules bound to the token's subject with {@link #bind} (403 otherwise),
 * with RBAC's {@code resourceNames} semantics (see {@link #authorized}).
 */
public class FakeKubeApi implements AutoCloseable {
  static {
    // The JDK server otherwise waits on Nagle's algorithm (~40 ms per small response); the real
    // API server does not, and the delay would hide races between informer caches and writes.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  public static final int DEFAULT_HISTORY_LIMIT = 1000;

  static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private static final String NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

  // ------------------------------------------------------------------------ state

  /** Guards everything below up to the HTTP section. */
  private final Object lock = new Object();

  private final Map<String, ResourceType> types = new LinkedHashMap<>();

  /** Registered but not served (see setServed). */
  private final Set<ResourceType> unserved = new HashSet<>();

  private final Map<ResourceType, TreeMap<String, JsonObject>> objects = new HashMap<>();
  private long revision;
  private final ArrayDeque<WatchEvent> history = new ArrayDeque<>();
  private int historyLimit = DEFAULT_HISTORY_LIMIT;

  /** A watch may start from any resourceVersion >= this; older ones are answered with 410. */
  private long historyStart;

  private final List<WatchStream> watchers = new ArrayList<>();
  private long expiredWatches;

  private final ResourceType namespaces;
  private final SecureRandom random = new SecureRandom();

  private HttpServer server;
  private ExecutorService pool;
  private volatile boolean closed;
  private int port;

  private final List<Request> requestLog = Collections.synchronizedList(new ArrayList<>());

  private volatile boolean rbac;
  private final Map<String, String> tokens = new java.util.concurrent.ConcurrentHashMap<>();
  private final List<Binding> bindings = new CopyOnWriteArrayList<>();
  private final List<Rule> failures = new CopyOnWriteArrayList<>();
  private final List<Rule> interceptors = new CopyOnWriteArrayList<>();

  public FakeKubeApi() {
    namespaces =
        registerResource(
            ResourceType.cluster("", "v1", "namespaces", "Namespace")
                .withStatusSubresource()
                .withFieldLabels("status.phase"));
    registerResource(
        ResourceType.namespaced("", "v1", "serviceaccounts", "ServiceAccount")
            .returningDeletedObject());
    registerResource(
        ResourceType.namespaced("", "v1", "secrets", "Secret").withFieldLabels("type"));
    registerResource(ResourceType.namespaced("", "v1", "configmaps", "ConfigMap"));
    registerResource(
        ResourceType.namespaced("", "v1", "events", "Event")
            .withFieldLabels(
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "type"));
    registerResource(ResourceType.namespaced("coordination.k8s.io", "v1", "leases", "Lease"));
    registerResource(
        ResourceType.namespaced("events.k8s.io", "v1", "events", "Event")
            .withFieldLabels(
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "regarding.apiVersion",
                "regarding.resourceVersion",
                "regarding.fieldPath",
                "reason",
                "reportingController",
                "type"));
    registerResource(
        ResourceType.cluster(
                "admissionregistration.k8s.io",
                "v1",
                "validatingadmissionpolicies",
                "ValidatingAdmissionPolicy")
            .withStatusSubresource());
    registerResource(
        ResourceType.cluster(
            "admissionregistration.k8s.io",
            "v1",
            "validatingadmissionpolicybindings",
            "ValidatingAdmissionPolicyBinding"));
    registerResource(
        ResourceType.cluster(
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration"));
    registerResource(
        ResourceType.cluster(
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration"));
  }

  /**
   * Stops (or resumes) serving a resource, as an older API server that lacks it: discovery no
   * longer lists it and every request to it answers 404. Stored objects stay reachable through this
   * object's direct methods.
   */
  public void setServed(String resource, boolean served) {
    ResourceType t = resource(resource);
    synchronized (lock) {
      if (served) {
        unserved.remove(t);
      } else {
        unserved.add(t);
      }
    }
  }

  /**
   * Serves no ValidatingAdmissionPolicies or bindings, like a Kubernetes API server before 1.30
   * (where admissionregistration.k8s.io/v1 has only the webhook configurations).
   */
  public FakeKubeApi withoutValidatingAdmissionPolicies() {
    setServed("validatingadmissionpolicies", false);
    setServed("validatingadmissionpolicybindings", false);
    return this;
  }

  // ------------------------------------------------------------------- lifecycle

  /** Binds an ephemeral port on 127.0.0.1 and starts serving. */
  public FakeKubeApi start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 64);
    AtomicInteger n = new AtomicInteger();
    pool =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "fake-kube-api-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(pool);
    server.createContext("/", this::handle);
    server.start();
    port = server.getAddress().getPort();
    return this;
  }

  public int port() {
    return port;
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  /** Ends every watch stream, stops the server and its threads. */
  @Override
  public void close() {
    closed = true;
    closeWatches();
    if (server != null) {
      server.stop(0);
    }
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  // ------------------------------------------------------------ resource registry

  /** Serves one more resource (no status subresource); returns its descriptor. */
  public ResourceType registerResource(
      String group,
      String version,
      String plural,
      String kind,
      boolean namespaced,
      String... extraFieldLabels) {
    return registerResource(
        new ResourceType(
            group, version, plural, kind, namespaced, false, Set.of(extraFieldLabels), false));
  }

  public ResourceType registerResource(ResourceType t) {
    synchronized (lock) {
      types.put(t.apiVersion() + " " + t.plural(), t);
      objects.putIfAbsent(t, new TreeMap<>());
      return t;
    }
  }

  public List<ResourceType> resources() {
    synchronized (lock) {
      return List.copyOf(types.values());
    }
  }

  /**
   * Finds a resource by plural name ("serviceaccounts"), preferring the core group, or by
   * plural.group ("events.events.k8s.io", "leases.coordination.k8s.io").
   */
  public ResourceType resource(String name) {
    synchronized (lock) {
      ResourceType byPlural = null;
      int count = 0;
      for (ResourceType t : types.values()) {
        if (t.qualifiedPlural().equals(name)) {
          return t;
        }
        if (t.plural().equals(name)) {
          count++;
          if (byPlural == null || t.group().isEmpty()) {
            byPlural = t;
          }
        }
      }
      if (byPlural == null || (count > 1 && !byPlural.group().isEmpty())) {
        throw new IllegalArgumentException("unknown or ambiguous resource " + name);
      }
      return byPlural;
    }
  }

  private ResourceType typeFor(String group, String version, String plural) {
    synchronized (lock) {
      ResourceType t =
          types.get((group.isEmpty() ? version : group + "/" + version) + " " + plural);
      return t == null || unserved.contains(t) ? null : t;
    }
  }

  /** What discovery lists: the registered resources minus those not served. */
  private List<ResourceType> servedResources() {
    synchronized (lock) {
      List<ResourceType> out = new ArrayList<>();
      for (ResourceType t : types.values()) {
        if (!unserved.contains(t)) {
          out.add(t);
        }
      }
      return out;
    }
  }

  private ResourceType typeOf(JsonObject obj) {
    String apiVersion = str(obj, "apiVersion");
    String kind = str(obj, "kind");
    synchronized (lock) {
      for (ResourceType t : types.values()) {
        if (t.kind().equals(kind)
            && (apiVersion == null || t.apiVersion().equals(apiVersion))
            && (apiVersion != null || t.group().isEmpty())) {
          return t;
        }
      }
    }
    throw new IllegalArgumentException(
        "no served resource for apiVersion=" + apiVersion + " kind=" + kind);
  }

  // ---------------------------------------------------- direct store access (JSON)

  /** Creates as a POST would (201 semantics, events, defaults); throws StatusException. */
  public JsonObject create(JsonObject obj) {
    ResourceType t = typeOf(obj);
    synchronized (lock) {
      return doCreate(t, namespaceOf(t, obj), obj, false);
    }
  }

  /** Creates, or replaces unconditionally (any resourceVersion in {@code obj} is ignored). */
  public JsonObject put(JsonObject obj) {
    ResourceType t = typeOf(obj);
    JsonObject copy = obj.deepCopy();
    metadata(copy).remove("resourceVersion");
    synchronized (lock) {
      String ns = namespaceOf(t, copy);
      String name = str(metadata(copy), "name");
      if (name != null && bucket(t).containsKey(key(t, ns, name))) {
        return doReplace(t, ns, name, copy, null, false);
      }
      return doCreate(t, ns, copy, false);
    }
  }

  /** The stored object (a copy), or null. {@code namespace} is ignored for cluster scope. */
  public JsonObject get(String resource, String namespace, String name) {
    ResourceType t = resource(resource);
    synchronized (lock) {
      JsonObject o = bucket(t).get(key(t, namespace, name));
      return o == null ? null : o.deepCopy();
    }
  }

  /** Stored objects of a resource, in one namespace or (null) all, sorted by namespace/name. */
  public List<JsonObject> list(String resource, String namespace) {
    ResourceType t = resource(resource);
    List<JsonObject> out = new ArrayList<>();
    synchronized (lock) {
      for (JsonObject o : bucket(t).values()) {
        if (namespace == null || !t.namespaced() || namespace.equals(nsOf(o))) {
          out.add(o.deepCopy());
        }
      }
    }
    return out;
  }

  /** Deletes as a DELETE would (namespace deletion cascades); false if it was not there. */
  public boolean delete(String resource, String namespace, String name) {
    ResourceType t = resource(resource);
    synchronized (lock) {
      if (!bucket(t).containsKey(key(t, namespace, name))) {
        return false;
      }
      doDelete(t, namespace, name, null, false);
      return true;
    }
  }

  /**
   * Atomically reads, changes and writes back one object (new resourceVersion, MODIFIED event), the
   * way a concurrent writer would. Throws a 404 StatusException if it does not exist.
   */
  public JsonObject mutate(
      String resource, String namespace, String name, Consumer<JsonObject> change) {
    ResourceType t = resource(resource);
    synchronized (lock) {
      JsonObject cur = bucket(t).get(key(t, namespace, name));
      if (cur == null) {
        throw StatusException.notFound(t, name);
      }
      JsonObject copy = cur.deepCopy();
      change.accept(copy);
      metadata(copy).remove("resourceVersion");
      return doReplace(t, t.namespaced() ? namespace : null, name, copy, null, false);
    }
  }

  /** The newest resourceVersion handed out. */
  public long resourceVersion() {
    synchronized (lock) {
      return revision;
    }
  }

  // ----------------------------------------------------------- watch history controls

  /** Keep only the last {@code n} events for watches to resume from. */
  public void setHistoryLimit(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("negative history limit");
    }
    synchronized (lock) {
      historyLimit = n;
      trimHistory();
    }
  }

  /**
   * Forgets all watch history, like an etcd compaction: every resourceVersion handed out so far
   * becomes too old to watch from (410). Consumes one resourceVersion so a list made afterwards
   * returns a version that can be watched from.
   */
  public void compactHistory() {
    synchronized (lock) {
      revision++;
      history.clear();
      historyStart = revision;
    }
  }

  /** Ends every open watch stream cleanly, as the server does when a watch times out. */
  public void closeWatches() {
    List<WatchStream> open;
    synchronized (lock) {
      open = new ArrayList<>(watchers);
    }
    for (WatchStream w : open) {
      w.end();
    }
  }

  public int activeWatches() {
    synchronized (lock) {
      return watchers.size();
    }
  }

  /** Open watches on a resource (plural or plural.group). */
  public int activeWatches(String resource) {
    ResourceType t = resource(resource);
    synchronized (lock) {
      return (int) watchers.stream().filter(w -> w.type.equals(t)).count();
    }
  }

  /** How many watch requests were answered with the expired-resourceVersion ERROR event. */
  public long expiredWatchCount() {
    synchronized (lock) {
      return expiredWatches;
    }
  }

  // ------------------------------------------------------------ request log / counters

  public List<Request> requests() {
    synchronized (requestLog) {
      return List.copyOf(requestLog);
    }
  }

  /** Logged requests with this method (or any, if null) on this resource plural. */
  public List<Request> requests(String method, String resource) {
    List<Request> out = new ArrayList<>();
    for (Request r : requests()) {
      if ((method == null || method.equalsIgnoreCase(r.method()))
          && (resource == null || resource.equals(r.resource()))) {
        out.add(r);
      }
    }
    return out;
  }

  /** Non-GET requests served since the last reset (failed ones included). */
  public long writes() {
    return requests().stream().filter(Request::isWrite).count();
  }

  /** Non-GET requests on one resource plural (e.g. "serviceaccounts"). */
  public long writes(String resource) {
    return requests().stream().filter(r -> r.isWrite() && resource.equals(r.resource())).count();
  }

  public void resetCounters() {
    requestLog.clear();
  }

  // ------------------------------------------------------- authentication and RBAC

  /**
   * One rule of a Role or ClusterRole (rbac.authorization.k8s.io/v1 PolicyRule); "*" matches any
   * group, resource or verb, and empty {@code resourceNames} any name.
   */
  public record PolicyRule(
      List<String> apiGroups,
      List<String> resources,
      List<String> verbs,
      List<String> resourceNames) {
    public PolicyRule {
      apiGroups = List.copyOf(apiGroups);
      resources = List.copyOf(resources);
      verbs = List.copyOf(verbs);
      resourceNames = resourceNames == null ? List.of() : List.copyOf(resourceNames);
    }
  }

  /** A RoleBinding (namespace set) or ClusterRoleBinding (null) of rules to one subject. */
  private record Binding(String subject, String namespace, List<PolicyRule> rules) {}

  /** From now on, every request must carry an issued bearer token and be authorized (RBAC). */
  public FakeKubeApi enableRbac() {
    rbac = true;
    return this;
  }

  /** Accepts {@code token} as {@code subject} (e.g. system:serviceaccount:ns:name). */
  public void issueToken(String token, String subject) {
    tokens.put(token, subject);
  }

  /** Stops accepting {@code token} (it expired): requests carrying it are answered 401. */
  public void revokeToken(String token) {
    tokens.remove(token);
  }

  /**
   * Grants {@code rules} to {@code subject} in {@code namespace}, as a RoleBinding to a Role there,
   * or everywhere when {@code namespace} is null (a ClusterRoleBinding).
   */
  public Registration bind(String subject, String namespace, List<PolicyRule> rules) {
    Binding b = new Binding(subject, namespace, List.copyOf(rules));
    bindings.add(b);
    return () -> bindings.remove(b);
  }

  /**
   * Authenticates and authorizes one request; null when allowed, else the error to answer.
   *
   * <p>The verb is derived as the API server does (get, list, watch, create, update, patch, delete,
   * deletecollection). For {@code resourceNames}: the name is the object named in the path, and for
   * list and watch the value of a {@code metadata.name} field selector (Kubernetes 1.11+,
   * kubernetes/kubernetes#63469; RBAC documentation, "Referring to resources": "If you restrict
   * list or watch by resourceName, clients must include a metadata.name field selector in their
   * list or watch request that matches the specified resourceName in order to be authorized"). A
   * rule with {@code resourceNames} never authorizes create or deletecollection (same
   * documentation: they cannot be restricted by name). Discovery is allowed to every authenticated
   * subject.
   */
  private StatusException authorized(
      String method, Route route, Map<String, String> params, String authorization) {
    if (!rbac) {
      return null;
    }
    String token =
        authorization != null && authorization.startsWith("Bearer ")
            ? authorization.substring("Bearer ".length()).trim()
            : null;
    String subject = token == null ? null : tokens.get(token);
    if (subject == null) {
      return new StatusException(401, "Unauthorized", "Unauthorized");
    }
    if (route == null) {
      return null;
    }
    ResourceType t = route.type();
    boolean watch =
        route.watchPath()
            || "true".equalsIgnoreCase(params.get("watch"))
            || "1".equals(params.get("watch"));
    String name = route.name();
    String verb;
    switch (method) {
      case "GET":
        verb = watch ? "watch" : name == null ? "list" : "get";
        if (name == null) {
          name = Selectors.nameTerm(params.get("fieldSelector"));
        }
        break;
      case "POST":
        verb = "create";
        break;
      case "PUT":
        verb = "update";
        break;
      case "PATCH":
        verb = "patch";
        break;
      case "DELETE":
        verb = name == null ? "deletecollection" : "delete";
        break;
      default:
        verb = method.toLowerCase(Locale.ROOT);
    }
    String resource =
        route.subresource() == null ? t.plural() : t.plural() + "/" + route.subresource();
    for (Binding b : bindings) {
      if (!b.subject().equals(subject)) {
        continue;
      }
      if (b.namespace() != null && !b.namespace().equals(route.namespace())) {
        continue;
      }
      for (PolicyRule r : b.rules()) {
        if (matches(r.apiGroups(), t.group())
            && matches(r.resources(), resource)
            && matches(r.verbs(), verb)
            && (r.resourceNames().isEmpty()
                || (name != null
                    && !verb.equals("create")
                    && !verb.equals("deletecollection")
                    && r.resourceNames().contains(name)))) {
          return null;
        }
      }
    }
    String scope =
        route.namespace() == null
            ? "at the cluster scope"
            : "in the namespace \"" + route.namespace() + "\"";
    return new StatusException(
        403,
        "Forbidden",
        t.plural()
            + (name == null ? "" : " \"" + name + "\"")
            + " is forbidden: User \""
            + subject
            + "\" cannot "
            + verb
            + " resource \""
            + resource
            + "\" in API group \""
            + t.group()
            + "\" "
            + scope);
  }

  private static boolean matches(List<String> allowed, String value) {
    return allowed.contains("*") || allowed.contains(value);
  }

  // ------------------------------------------------------------------ watch bookmarks

  /**
   * Sends every open watch that asked for bookmarks ({@code allowWatchBookmarks=true}) a BOOKMARK
   * event: an object of the watched kind carrying only {@code metadata.resourceVersion}, the newest
   * resourceVersion (Kubernetes API concepts, "Watch bookmarks"). A client may resume from it; the
   * server sends them at its own pace, so a client must not rely on when.
   */
  public void sendBookmarks() {
    synchronized (lock) {
      for (WatchStream w : watchers) {
        if (w.bookmarks) {
          JsonObject o = new JsonObject();
          o.addProperty("kind", w.type.kind());
          o.addProperty("apiVersion", w.type.apiVersion());
          JsonObject meta = new JsonObject();
          meta.addProperty("resourceVersion", Long.toString(revision));
          o.add("metadata", meta);
          w.queue.offer(eventLine("BOOKMARK", o));
        }
      }
    }
  }

  // ----------------------------------------------------------------- fault injection

  /** A registered hook or failure rule; close it to remove it. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Answers the next request whose method matches ({@code null} or "*" for any) and whose path
   * contains a match for {@code pathRegex} with an error Status of {@code code}.
   */
  public Registration failNext(String method, String pathRegex, int code) {
    return failNext(method, pathRegex, code, 1);
  }

  public Registration failNext(String method, String pathRegex, int code, int times) {
    Pattern p = Pattern.compile(pathRegex);
    return addRule(
        failures,
        r ->
            (method == null || method.equals("*") || method.equalsIgnoreCase(r.method()))
                && p.matcher(r.path()).find(),
        null,
        code,
        times);
  }

  /** Fails every matching request with {@code code} until the registration is closed. */
  public Registration failWhen(Predicate<Request> when, int code) {
    return addRule(failures, when, null, code, -1);
  }

  /**
   * Runs {@code action} on the server thread just before each matching request is served (after its
   * body was read). The action may change the store through this object's direct methods, which is
   * how a test simulates a concurrent writer racing the controller.
   */
  public Registration onRequest(Predicate<Request> when, Consumer<Request> action) {
    return addRule(interceptors, when, action, 0, -1);
  }

  /** Like {@link #onRequest} but fires once. */
  public Registration onNextRequest(Predicate<Request> when, Consumer<Request> action) {
    return addRule(interceptors, when, action, 0, 1);
  }

  private Registration addRule(
      List<Rule> list, Predicate<Request> when, Consumer<Request> action, int code, int times) {
    Rule rule = new Rule(when, action, code, times);
    list.add(rule);
    return () -> list.remove(rule);
  }

  private static final class Rule {
    final Predicate<Request> when;
    final Consumer<Request> action;
    final int code;
    int remaining;

    Rule(Predicate<Request> when, Consumer<Request> action, int code, int remaining) {
      this.when = when;
      this.action = action;
      this.code = code;
      this.remaining = remaining;
    }

    /** Claims one use of the rule if it matches. */
    synchronized boolean claim(Request r) {
      if (remaining == 0 || !when.test(r)) {
        return false;
      }
      if (remaining > 0) {
        remaining--;
      }
      return true;
    }
  }

  // ======================================================================= HTTP

  private record Route(
      ResourceType type, String namespace, String name, String subresource, boolean watchPath) {}

  private void handle(HttpExchange ex) {
    Request req = null;
    try {
      String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
      String path = ex.getRequestURI().getRawPath();
      String rawQuery = ex.getRequestURI().getRawQuery();
      Map<String, String> params = parseQuery(rawQuery);
      byte[] bodyBytes = ex.getRequestBody().readAllBytes();
      String body = new String(bodyBytes, UTF_8);
      String ct = ex.getRequestHeaders().getFirst("Content-Type");
      if (ct != null) {
        ct = ct.split(";")[0].trim().toLowerCase(Locale.ROOT);
      }
      List<String> seg = segments(path);
      Route route = null;
      JsonElement discovery = null;
      StatusException routeError = null;
      try {
        discovery = discovery(seg);
        if (discovery == null) {
          route = route(seg);
        }
      } catch (StatusException e) {
        routeError = e;
      }
      String query = rawQuery == null ? "" : URLDecoder.decode(rawQuery, UTF_8);
      req =
          new Request(
              method,
              path,
              query,
              params,
              ct,
              route == null ? null : route.type().plural(),
              route == null ? null : route.namespace(),
              route == null ? null : route.name(),
              route == null ? null : route.subresource(),
              body,
              0);

      for (Rule r : interceptors) {
        if (r.claim(req)) {
          r.action.accept(req);
        }
      }
      StatusException denied =
          authorized(method, route, params, ex.getRequestHeaders().getFirst("Authorization"));
      if (denied != null) {
        reply(ex, req, denied.code(), denied.status());
        return;
      }
      for (Rule r : failures) {
        if (r.claim(req)) {
          if (r.code == 429) {
            ex.getResponseHeaders().set("Retry-After", "1");
          }
          reply(
              ex,
              req,
              r.code,
              StatusException.of(r.code, "injected failure (" + method + " " + path + ")")
                  .status());
          return;
        }
      }
      if (routeError != null) {
        throw routeError;
      }
      if (discovery != null) {
        reply(ex, req, 200, discovery);
        return;
      }
      boolean watch =
          "GET".equals(method)
              && (route.watchPath()
                  || "true".equalsIgnoreCase(params.get("watch"))
                  || "1".equals(params.get("watch")));
      if (watch) {
        serveWatch(ex, req, route, params);
        return;
      }
      JsonElement answer = serve(method, route, params, ct, body);
      reply(ex, req, "POST".equals(method) ? 201 : 200, answer);
    } catch (StatusException e) {
      reply(ex, req, e.code(), e.status());
    } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
      reply(
          ex,
          req,
          400,
          StatusException.badRequest("malformed request body: " + e.getMessage()).status());
    } catch (RuntimeException | IOException e) {
      reply(ex, req, 500, StatusException.of(500, String.valueOf(e)).status());
    } finally {
      ex.close();
    }
  }

  /** Logs the request, then answers it: a client that got the answer finds it in the log. */
  private void reply(HttpExchange ex, Request req, int code, JsonElement body) {
    if (req != null) {
      requestLog.add(req.withCode(code));
    }
    respondQuietly(ex, code, body);
  }

  private JsonElement serve(String method, Route r, Map<String, String> q, String ct, String body) {
    ResourceType t = r.type();
    boolean dryRun = q.containsKey("dryRun");
    switch (method) {
      case "GET":
        if (r.name() == null) {
          return list(t, r.namespace(), q);
        }
        synchronized (lock) {
          JsonObject o = bucket(t).get(key(t, r.namespace(), r.name()));
          if (o == null) {
            throw StatusException.notFound(t, r.name());
          }
          return o.deepCopy();
        }
      case "POST":
        if (r.name() != null) {
          throw methodNotAllowed(method);
        }
        synchronized (lock) {
          return doCreate(t, r.namespace(), parseObject(body), dryRun);
        }
      case "PUT":
        if (r.name() == null) {
          throw methodNotAllowed(method);
        }
        synchronized (lock) {
          return doReplace(t, r.namespace(), r.name(), parseObject(body), r.subresource(), dryRun);
        }
      case "PATCH":
        if (r.name() == null) {
          throw methodNotAllowed(method);
        }
        synchronized (lock) {
          return doPatch(t, r, q, ct, body, dryRun);
        }
      case "DELETE":
        JsonObject options = body.isBlank() ? null : parseObject(body);
        synchronized (lock) {
          if (r.name() == null) {
            return doDeleteCollection(t, r.namespace(), q, dryRun);
          }
          return doDelete(t, r.namespace(), r.name(), options, dryRun);
        }
      default:
        throw methodNotAllowed(method);
    }
  }

  private static StatusException methodNotAllowed(String method) {
    return new StatusException(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource (" + method + ")");
  }

  private static void respond(HttpExchange ex, int code, JsonElement body) throws IOException {
    byte[] b = GSON.toJson(body).getBytes(UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }

  private static void respondQuietly(HttpExchange ex, int code, JsonElement body) {
    try {
      respond(ex, code, body);
    } catch (IOException | RuntimeException ignored) {
      // the client went away or headers were already sent; nothing more to tell it
    }
  }

  private static Map<String, String> parseQuery(String raw) {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String part : raw.split("&")) {
      if (part.isEmpty()) {
        continue;
      }
      int i = part.indexOf('=');
      String k = URLDecoder.decode(i < 0 ? part : part.substring(0, i), UTF_8);
      String v = i < 0 ? "" : URLDecoder.decode(part.substring(i + 1), UTF_8);
      out.putIfAbsent(k, v);
    }
    return out;
  }

  private static List<String> segments(String path) {
    List<String> out = new ArrayList<>();
    for (String s : path.split("/")) {
      if (!s.isEmpty()) {
        out.add(URLDecoder.decode(s.replace("+", "%2B"), UTF_8));
      }
    }
    return out;
  }

  private static StatusException noSuchPath() {
    return new StatusException(404, "NotFound", "the server could not find the requested resource");
  }

  private Route route(List<String> seg) {
    String group;
    String version;
    List<String> rest;
    if (seg.size() >= 3 && seg.get(0).equals("api")) {
      group = "";
      version = seg.get(1);
      rest = seg.subList(2, seg.size());
    } else if (seg.size() >= 4 && seg.get(0).equals("apis")) {
      group = seg.get(1);
      version = seg.get(2);
      rest = seg.subList(3, seg.size());
    } else {
      throw noSuchPath();
    }
    boolean watchPath = false;
    if (rest.get(0).equals("watch") && rest.size() > 1) {
      watchPath = true;
      rest = rest.subList(1, rest.size());
    }
    ResourceType t;
    String ns = null;
    String name;
    String sub;
    ResourceType nsType =
        rest.size() >= 3 && rest.get(0).equals("namespaces")
            ? typeFor(group, version, rest.get(2))
            : null;
    if (nsType != null && nsType.namespaced()) {
      if (rest.size() > 5) {
        throw noSuchPath();
      }
      t = nsType;
      ns = rest.get(1);
      name = rest.size() > 3 ? rest.get(3) : null;
      sub = rest.size() > 4 ? rest.get(4) : null;
    } else {
      t = typeFor(group, version, rest.get(0));
      if (t == null || rest.size() > 3) {
        throw noSuchPath();
      }
      name = rest.size() > 1 ? rest.get(1) : null;
      sub = rest.size() > 2 ? rest.get(2) : null;
      if (t.namespaced() && name != null) {
        throw noSuchPath();
      }
    }
    if (sub != null && !(sub.equals("status") && t.statusSubresource())) {
      throw noSuchPath();
    }
    return new Route(t, ns, name, sub, watchPath);
  }

  // ------------------------------------------------------------------ discovery

  private JsonElement discovery(List<String> seg) {
    int n = seg.size();
    if (n == 0) {
      JsonObject o = new JsonObject();
      JsonArray paths = new JsonArray();
      for (String p : List.of("/api", "/api/v1", "/apis", "/version")) {
        paths.add(p);
      }
      for (String gv : groupVersions()) {
        paths.add("/apis/" + gv);
      }
      o.add("paths", paths);
      return o;
    }
    String first = seg.get(0);
    if (n == 1 && first.equals("version")) {
      JsonObject v = new JsonObject();
      v.addProperty("major", "1");
      v.addProperty("minor", "33");
      v.addProperty("gitVersion", "v1.33.0-registry-policy-fake");
      v.addProperty("gitCommit", "0000000000000000000000000000000000000000");
      v.addProperty("gitTreeState", "clean");
      v.addProperty("buildDate", "2026-01-01T00:00:00Z");
      v.addProperty("goVersion", "go1.24.0");
      v.addProperty("compiler", "gc");
      v.addProperty("platform", "linux/amd64");
      return v;
    }
    if (n == 1 && first.equals("api")) {
      JsonObject o = new JsonObject();
      o.addProperty("kind", "APIVersions");
      JsonArray versions = new JsonArray();
      versions.add("v1");
      o.add("versions", versions);
      JsonArray addrs = new JsonArray();
      JsonObject a = new JsonObject();
      a.addProperty("clientCIDR", "0.0.0.0/0");
      a.addProperty("serverAddress", "127.0.0.1:" + port);
      addrs.add(a);
      o.add("serverAddressByClientCIDRs", addrs);
      return o;
    }
    if (n == 1 && first.equals("apis")) {
      JsonObject o = new JsonObject();
      o.addProperty("kind", "APIGroupList");
      o.addProperty("apiVersion", "v1");
      JsonArray groups = new JsonArray();
      Set<String> seen = new java.util.LinkedHashSet<>();
      for (ResourceType t : servedResources()) {
        if (!t.group().isEmpty() && seen.add(t.group())) {
          groups.add(apiGroup(t.group()));
        }
      }
      o.add("groups", groups);
      return o;
    }
    if (n == 2 && first.equals("api")) {
      return resourceList("", seg.get(1));
    }
    if (n == 2 && first.equals("apis")) {
      boolean known = servedResources().stream().anyMatch(t -> t.group().equals(seg.get(1)));
      if (!known) {
        throw noSuchPath();
      }
      return apiGroup(seg.get(1));
    }
    if (n == 3 && first.equals("apis")) {
      return resourceList(seg.get(1), seg.get(2));
    }
    if (n == 1 && (first.equals("healthz") || first.equals("livez") || first.equals("readyz"))) {
      JsonObject o = new JsonObject();
      o.addProperty("status", "ok");
      return o;
    }
    return null;
  }

  private List<String> groupVersions() {
    List<String> out = new ArrayList<>();
    for (ResourceType t : servedResources()) {
      if (!t.group().isEmpty() && !out.contains(t.apiVersion())) {
        out.add(t.apiVersion());
      }
    }
    return out;
  }

  private JsonObject apiGroup(String group) {
    JsonObject g = new JsonObject();
    g.addProperty("kind", "APIGroup");
    g.addProperty("apiVersion", "v1");
    g.addProperty("name", group);
    JsonArray versions = new JsonArray();
    for (ResourceType t : servedResources()) {
      if (t.group().equals(group)) {
        boolean dup = false;
        for (JsonElement v : versions) {
          dup |= v.getAsJsonObject().get("version").getAsString().equals(t.version());
        }
        if (!dup) {
          JsonObject v = new JsonObject();
          v.addProperty("groupVersion", t.apiVersion());
          v.addProperty("version", t.version());
          versions.add(v);
        }
      }
    }
    g.add("versions", versions);
    g.add("preferredVersion", versions.get(0).deepCopy());
    return g;
  }

  private JsonObject resourceList(String group, String version) {
    JsonArray list = new JsonArray();
    for (ResourceType t : servedResources()) {
      if (!t.group().equals(group) || !t.version().equals(version)) {
        continue;
      }
      JsonObject r = new JsonObject();
      r.addProperty("name", t.plural());
      r.addProperty("singularName", t.singular());
      r.addProperty("namespaced", t.namespaced());
      r.addProperty("kind", t.kind());
      JsonArray verbs = new JsonArray();
      for (String v :
          List.of(
              "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")) {
        verbs.add(v);
      }
      r.add("verbs", verbs);
      list.add(r);
      if (t.statusSubresource()) {
        JsonObject s = new JsonObject();
        s.addProperty("name", t.plural() + "/status");
        s.addProperty("singularName", "");
        s.addProperty("namespaced", t.namespaced());
        s.addProperty("kind", t.kind());
        JsonArray sv = new JsonArray();
        for (String v : List.of("get", "patch", "update")) {
          sv.add(v);
        }
        s.add("verbs", sv);
        list.add(s);
      }
    }
    if (list.size() == 0) {
      throw noSuchPath();
    }
    JsonObject o = new JsonObject();
    o.addProperty("kind", "APIResourceList");
    o.addProperty("apiVersion", "v1");
    o.addProperty("groupVersion", group.isEmpty() ? version : group + "/" + version);
    o.add("resources", list);
    return o;
  }

  // ======================================================================= verbs
  // All do* methods run with `lock` held.

  private TreeMap<String, JsonObject> bucket(ResourceType t) {
    return objects.computeIfAbsent(t, k -> new TreeMap<>());
  }

  private static String key(ResourceType t, String ns, String name) {
    return t.namespaced() ? ns + "/" + name : name;
  }

  private JsonObject list(ResourceType t, String ns, Map<String, String> q) {
    Selectors.Selector labels = Selectors.labels(q.get("labelSelector"));
    Selectors.Selector fields = Selectors.fields(q.get("fieldSelector"), t);
    long limit = parseLong(q.get("limit"), "limit");
    String cont = q.get("continue");
    JsonArray items = new JsonArray();
    String nextKey = null;
    long rv;
    synchronized (lock) {
      rv = revision;
      SortedMap<String, JsonObject> view = bucket(t);
      if (cont != null && !cont.isEmpty()) {
        String after;
        try {
          after = new String(Base64.getUrlDecoder().decode(cont), UTF_8);
        } catch (IllegalArgumentException e) {
          throw StatusException.badRequest("invalid continue token");
        }
        view = bucket(t).tailMap(after + "\0");
      }
      String lastKey = null;
      for (Map.Entry<String, JsonObject> e : view.entrySet()) {
        JsonObject o = e.getValue();
        if (ns != null && !ns.equals(nsOf(o))) {
          continue;
        }
        if (!labels.test(o) || !fields.test(o)) {
          continue;
        }
        if (limit > 0 && items.size() >= limit) {
          nextKey = lastKey;
          break;
        }
        items.add(o.deepCopy());
        lastKey = e.getKey();
      }
    }
    JsonObject out = new JsonObject();
    out.addProperty("kind", t.listKind());
    out.addProperty("apiVersion", t.apiVersion());
    JsonObject meta = new JsonObject();
    meta.addProperty("resourceVersion", Long.toString(rv));
    if (nextKey != null) {
      meta.addProperty(
          "continue",
          Base64.getUrlEncoder().withoutPadding().encodeToString(nextKey.getBytes(UTF_8)));
    }
    out.add("metadata", meta);
    out.add("items", items);
    return out;
  }

  private JsonObject doCreate(ResourceType t, String ns, JsonObject body, boolean dryRun) {
    JsonObject obj = body.deepCopy();
    checkTypeMeta(t, obj);
    JsonObject meta = metadata(obj);
    String name = str(meta, "name");
    if (name == null || name.isEmpty()) {
      String gen = str(meta, "generateName");
      if (gen == null || gen.isEmpty()) {
        throw StatusException.invalid(
            t.kind()
                + " \"\" is invalid: metadata.name: Required"
                + " value: name or generateName is required");
      }
      do {
        StringBuilder sb = new StringBuilder(gen);
        for (int i = 0; i < 5; i++) {
          sb.append(NAME_CHARS.charAt(random.nextInt(NAME_CHARS.length())));
        }
        name = sb.toString();
      } while (bucket(t).containsKey(key(t, ns, name)));
      meta.addProperty("name", name);
    }
    validateName(t, name);
    if (t.group().isEmpty() && "events".equals(t.plural())) {
      validateCoreEvent(ns, obj);
    }
    if (t.namespaced()) {
      String bodyNs = str(meta, "namespace");
      if (bodyNs != null && !bodyNs.isEmpty() && !bodyNs.equals(ns)) {
        throw StatusException.badRequest(
            "the namespace of the provided object does not match"
                + " the namespace sent on the request");
      }
      if (ns == null || ns.isEmpty()) {
        throw StatusException.badRequest("a namespace is required for " + t.qualifiedPlural());
      }
      meta.addProperty("namespace", ns);
      if (!bucket(namespaces).containsKey(ns)) {
        throw StatusException.notFound(namespaces, ns);
      }
    } else {
      meta.remove("namespace");
    }
    String rv = str(meta, "resourceVersion");
    if (rv != null && !rv.isEmpty() && !rv.equals("0")) {
      throw new StatusException(
          500, "InternalError", "resourceVersion should not be set on objects to be created");
    }
    if (bucket(t).containsKey(key(t, ns, name))) {
      throw StatusException.alreadyExists(t, name);
    }
    meta.remove("deletionTimestamp");
    meta.addProperty("uid", UUID.randomUUID().toString());
    meta.addProperty("creationTimestamp", now());
    meta.addProperty("generation", 1);
    applyDefaults(t, obj);
    validateSecret(t, obj); // after stringData is folded into data
    if (dryRun) {
      meta.remove("resourceVersion");
      return obj;
    }
    return stored(t, key(t, ns, name), obj, "ADDED", null);
  }

  /**
   * Stores {@code obj} under {@code key} with the next resourceVersion, tells the watchers ({@code
   * type} ADDED or MODIFIED, {@code previous} the object it replaces) and returns a copy.
   */
  private JsonObject stored(
      ResourceType t, String key, JsonObject obj, String type, JsonObject previous) {
    metadata(obj).addProperty("resourceVersion", Long.toString(++revision));
    bucket(t).put(key, obj);
    emit(t, type, obj, previous);
    return obj.deepCopy();
  }

  private JsonObject doReplace(
      ResourceType t, String ns, String name, JsonObject body, String subresource, boolean dryRun) {
    JsonObject existing = bucket(t).get(key(t, ns, name));
    if (existing == null) {
      throw StatusException.notFound(t, name);
    }
    JsonObject obj = body.deepCopy();
    checkTypeMeta(t, obj);
    JsonObject meta = metadata(obj);
    String bodyName = str(meta, "name");
    if (bodyName != null && !bodyName.isEmpty() && !bodyName.equals(name)) {
      throw StatusException.badRequest(
          "the name of the object ("
              + bodyName
              + ") does not match the name on the URL ("
              + name
              + ")");
    }
    meta.addProperty("name", name);
    if (t.namespaced()) {
      String bodyNs = str(meta, "namespace");
      if (bodyNs != null && !bodyNs.isEmpty() && !bodyNs.equals(ns)) {
        throw StatusException.badRequest(
            "the namespace of the provided object does not match"
                + " the namespace sent on the request");
      }
      meta.addProperty("namespace", ns);
    } else {
      meta.remove("namespace");
    }
    JsonObject oldMeta = metadata(existing);
    String currentRv = str(oldMeta, "resourceVersion");
    String rv = str(meta, "resourceVersion");
    if (rv != null && !rv.isEmpty()) {
      parseLong(rv, "metadata.resourceVersion");
      if (!rv.equals(currentRv)) {
        throw StatusException.conflict(t, name);
      }
    }
    String uid = str(meta, "uid");
    if (uid != null && !uid.isEmpty() && !uid.equals(str(oldMeta, "uid"))) {
      throw StatusException.conflict(
          t,
          name,
          "Precondition failed: UID in precondition: "
              + uid
              + ", UID in object meta: "
              + str(oldMeta, "uid"));
    }
    for (String f : List.of("uid", "creationTimestamp", "generation", "deletionTimestamp")) {
      if (oldMeta.has(f)) {
        meta.add(f, oldMeta.get(f).deepCopy());
      } else {
        meta.remove(f);
      }
    }
    if (t.statusSubresource()) {
      if ("status".equals(subresource)) {
        JsonObject onlyStatus = existing.deepCopy();
        if (obj.has("status")) {
          onlyStatus.add("status", obj.get("status").deepCopy());
        } else {
          onlyStatus.remove("status");
        }
        obj = onlyStatus;
        meta = metadata(obj);
      } else if (existing.has("status")) {
        obj.add("status", existing.get("status").deepCopy());
      } else {
        obj.remove("status");
      }
    }
    applyDefaults(t, obj);
    validateSecret(t, obj); // after stringData is folded into data
    meta.addProperty("resourceVersion", currentRv);
    if (Patches.sameJson(obj, existing)) {
      return existing.deepCopy(); // no-op writes keep their resourceVersion, as upstream
    }
    if (!Patches.sameJson(specOf(obj), specOf(existing))) {
      long gen = oldMeta.has("generation") ? oldMeta.get("generation").getAsLong() : 1;
      meta.addProperty("generation", gen + 1);
    }
    if (dryRun) {
      return obj;
    }
    return stored(t, key(t, ns, name), obj, "MODIFIED", existing);
  }

  private JsonObject doPatch(
      ResourceType t, Route r, Map<String, String> q, String ct, String body, boolean dryRun) {
    String ns = r.namespace();
    String name = r.name();
    JsonObject existing = bucket(t).get(key(t, ns, name));
    boolean apply =
        "application/apply-patch+yaml".equals(ct) || "application/apply-patch+json".equals(ct);
    if (apply) {
      String manager = q.get("fieldManager");
      if (manager == null || manager.isEmpty()) {
        throw StatusException.invalid(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager:"
                + " Required value: is required for apply patch");
      }
    } else if (ct == null
        || !Set.of(
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json")
            .contains(ct)) {
      throw new StatusException(
          415,
          "UnsupportedMediaType",
          "the body of the request was in an"
              + " unknown format - accepted media types include: application/json-patch+json,"
              + " application/merge-patch+json, application/apply-patch+yaml");
    }
    JsonElement patch;
    try {
      patch = JsonParser.parseString(body);
    } catch (JsonParseException e) {
      if (apply) {
        throw new StatusException(
            415,
            "UnsupportedMediaType",
            "this fake API server accepts apply patches only as JSON (YAML flow style)");
      }
      throw StatusException.badRequest("error decoding patch: " + e.getMessage());
    }
    if (existing == null) {
      if (!apply || r.subresource() != null) {
        throw StatusException.notFound(t, name);
      }
      if (!patch.isJsonObject()) {
        throw StatusException.badRequest("apply patch must be a JSON object");
      }
      JsonObject created = patch.getAsJsonObject().deepCopy();
      JsonObject meta = metadata(created);
      String bodyName = str(meta, "name");
      if (bodyName != null && !bodyName.equals(name)) {
        throw StatusException.badRequest(
            "the name of the object ("
                + bodyName
                + ") does not match the name on the URL ("
                + name
                + ")");
      }
      meta.addProperty("name", name);
      return doCreate(t, ns, created, dryRun);
    }
    JsonElement patched;
    switch (apply ? "apply" : ct) {
      case "application/json-patch+json":
        patched = Patches.jsonPatch(existing, patch);
        break;
      case "application/merge-patch+json":
        patched = Patches.mergePatch(existing, patch);
        break;
      default:
        if (!patch.isJsonObject()) {
          throw StatusException.badRequest("strategic merge and apply patches must be objects");
        }
        patched = Patches.strategicMergePatch(existing, patch, t.kind());
        break;
    }
    if (!patched.isJsonObject()) {
      throw StatusException.invalid("patch result is not an object");
    }
    JsonObject result = patched.getAsJsonObject();
    String rv = str(metadata(result), "resourceVersion");
    if (rv != null && !rv.isEmpty() && !rv.equals(str(metadata(existing), "resourceVersion"))) {
      throw StatusException.conflict(t, name);
    }
    return doReplace(t, ns, name, result, r.subresource(), dryRun);
  }

  private JsonObject doDelete(
      ResourceType t, String ns, String name, JsonObject options, boolean dryRun) {
    JsonObject existing = bucket(t).get(key(t, ns, name));
    if (existing == null) {
      throw StatusException.notFound(t, name);
    }
    JsonObject meta = metadata(existing);
    if (options != null
        && options.has("preconditions")
        && options.get("preconditions").isJsonObject()) {
      JsonObject pre = options.getAsJsonObject("preconditions");
      String uid = str(pre, "uid");
      if (uid != null && !uid.equals(str(meta, "uid"))) {
        throw StatusException.conflict(
            t,
            name,
            "Precondition failed: UID in precondition: "
                + uid
                + ", UID in object meta: "
                + str(meta, "uid"));
      }
      String rv = str(pre, "resourceVersion");
      if (rv != null && !rv.equals(str(meta, "resourceVersion"))) {
        throw StatusException.conflict(
            t,
            name,
            "Precondition failed: ResourceVersion in"
                + " precondition: "
                + rv
                + ", ResourceVersion in object meta: "
                + str(meta, "resourceVersion"));
      }
    }
    if (t.equals(namespaces)) {
      JsonObject terminating = existing.deepCopy();
      metadata(terminating).addProperty("deletionTimestamp", now());
      JsonObject status = new JsonObject();
      status.addProperty("phase", "Terminating");
      terminating.add("status", status);
      if (dryRun) {
        return terminating;
      }
      metadata(terminating).addProperty("resourceVersion", Long.toString(++revision));
      bucket(t).put(name, terminating);
      emit(t, "MODIFIED", terminating, existing);
      for (ResourceType rt : List.copyOf(types.values())) {
        if (!rt.namespaced()) {
          continue;
        }
        for (String k : new ArrayList<>(bucket(rt).subMap(name + "/", name + "/\uffff").keySet())) {
          remove(rt, k);
        }
      }
      remove(t, name);
      return terminating.deepCopy();
    }
    JsonObject last = dryRun ? existing.deepCopy() : remove(t, key(t, ns, name));
    if (t.deleteReturnsObject()) {
      return last;
    }
    JsonObject s = new JsonObject();
    s.addProperty("kind", "Status");
    s.addProperty("apiVersion", "v1");
    s.add("metadata", new JsonObject());
    s.addProperty("status", "Success");
    JsonObject d = new JsonObject();
    d.addProperty("name", name);
    if (!t.group().isEmpty()) {
      d.addProperty("group", t.group());
    }
    d.addProperty("kind", t.plural());
    d.addProperty("uid", str(meta, "uid"));
    s.add("details", d);
    return s;
  }

  private JsonObject doDeleteCollection(
      ResourceType t, String ns, Map<String, String> q, boolean dryRun) {
    JsonObject listed =
        list(
            t,
            ns,
            Map.of(
                "labelSelector", q.getOrDefault("labelSelector", ""),
                "fieldSelector", q.getOrDefault("fieldSelector", "")));
    if (!dryRun) {
      for (JsonElement e : listed.getAsJsonArray("items")) {
        JsonObject m = metadata(e.getAsJsonObject());
        String name = str(m, "name");
        if (t.equals(namespaces)) {
          doDelete(t, null, name, null, false);
        } else {
          remove(t, key(t, str(m, "namespace"), name));
        }
      }
    }
    return listed;
  }

  /** Removes one stored object and emits DELETED carrying a fresh resourceVersion. */
  private JsonObject remove(ResourceType t, String key) {
    JsonObject gone = bucket(t).remove(key);
    if (gone == null) {
      return null;
    }
    JsonObject last = gone.deepCopy();
    metadata(last).addProperty("resourceVersion", Long.toString(++revision));
    emit(t, "DELETED", last, gone);
    return last;
  }

  private void checkTypeMeta(ResourceType t, JsonObject obj) {
    String apiVersion = str(obj, "apiVersion");
    if (apiVersion != null && !apiVersion.isEmpty() && !apiVersion.equals(t.apiVersion())) {
      throw StatusException.badRequest(
          "the API version in the data ("
              + apiVersion
              + ") does not match the expected API version ("
              + t.apiVersion()
              + ")");
    }
    String kind = str(obj, "kind");
    if (kind != null && !kind.isEmpty() && !kind.equals(t.kind())) {
      throw StatusException.badRequest(
          "the kind in the data ("
              + kind
              + ") does not match the expected kind ("
              + t.kind()
              + ")");
    }
    obj.addProperty("apiVersion", t.apiVersion());
    obj.addProperty("kind", t.kind());
  }

  /**
   * The API server's check of a core/v1 Event's namespace: an Event about a namespaced object lives
   * in that object's namespace; one about a cluster-scoped object (Namespace, Node…) names no
   * namespace and is accepted only in "default" (or without one).
   */
  private void validateCoreEvent(String ns, JsonObject event) {
    JsonObject involved =
        event.has("involvedObject") && event.get("involvedObject").isJsonObject()
            ? event.getAsJsonObject("involvedObject")
            : new JsonObject();
    String kind = str(involved, "kind");
    String involvedNs = str(involved, "namespace");
    boolean empty = involvedNs == null || involvedNs.isEmpty();
    ResourceType known = null;
    for (ResourceType rt : types.values()) {
      if (rt.kind().equals(kind) && rt.group().isEmpty()) {
        known = rt;
      }
    }
    if (known != null && known.namespaced() && empty) {
      throw StatusException.invalid(
          "Event \""
              + str(metadata(event), "name")
              + "\" is invalid:"
              + " involvedObject.namespace: Required value: required for kind "
              + kind);
    }
    if (known != null && !known.namespaced() && !empty) {
      throw StatusException.invalid(
          "Event \""
              + str(metadata(event), "name")
              + "\" is invalid:"
              + " involvedObject.namespace: Invalid value: \""
              + involvedNs
              + "\": not allowed for kind "
              + kind);
    }
    String eventNs = ns == null ? "" : ns;
    boolean ok =
        empty ? (eventNs.isEmpty() || "default".equals(eventNs)) : eventNs.equals(involvedNs);
    if (!ok) {
      throw StatusException.invalid(
          "Event \""
              + str(metadata(event), "name")
              + "\" is invalid:"
              + " involvedObject.namespace: Invalid value: \""
              + (empty ? "" : involvedNs)
              + "\": does not match event.namespace");
    }
  }

  /**
   * The API server's check of a {@code kubernetes.io/dockerconfigjson} Secret: the key {@code
   * .dockerconfigjson} must be present and hold JSON (422 otherwise).
   */
  private static void validateSecret(ResourceType t, JsonObject secret) {
    if (!t.group().isEmpty()
        || !"secrets".equals(t.plural())
        || !"kubernetes.io/dockerconfigjson".equals(str(secret, "type"))) {
      return;
    }
    JsonObject data =
        secret.has("data") && secret.get("data").isJsonObject()
            ? secret.getAsJsonObject("data")
            : new JsonObject();
    String name = str(metadata(secret), "name");
    if (!data.has(".dockerconfigjson")) {
      throw StatusException.invalid(
          "Secret \"" + name + "\" is invalid: data[.dockerconfigjson]: Required value");
    }
    try {
      byte[] raw =
          java.util.Base64.getDecoder().decode(data.get(".dockerconfigjson").getAsString());
      com.google.gson.JsonParser.parseString(new String(raw, UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw StatusException.invalid(
          "Secret \""
              + name
              + "\" is invalid: data[.dockerconfigjson]: Invalid value:"
              + " \"<secret contents redacted>\": invalid character in JSON");
    }
  }

  private static void validateName(ResourceType t, String name) {
    boolean ok =
        t.plural().equals("namespaces")
            ? name.length() <= 63 && DNS_LABEL.matcher(name).matches()
            : name.length() <= 253 && DNS_SUBDOMAIN.matcher(name).matches();
    if (!ok) {
      throw StatusException.invalid(
          t.kind()
              + " \""
              + name
              + "\" is invalid: metadata.name:"
              + " Invalid value: \""
              + name
              + "\": a lowercase RFC 1123 "
              + (t.plural().equals("namespaces") ? "label" : "subdomain")
              + " is required");
    }
  }

  /** Server-side defaults and normalisation the real API applies on every write. */
  private void applyDefaults(ResourceType t, JsonObject obj) {
    JsonObject meta = metadata(obj);
    if (t.equals(namespaces)) {
      JsonObject labels =
          meta.has("labels") && meta.get("labels").isJsonObject()
              ? meta.getAsJsonObject("labels")
              : new JsonObject();
      labels.addProperty("kubernetes.io/metadata.name", str(meta, "name"));
      meta.add("labels", labels);
      if (!obj.has("spec")) {
        JsonObject spec = new JsonObject();
        JsonArray fin = new JsonArray();
        fin.add("kubernetes");
        spec.add("finalizers", fin);
        obj.add("spec", spec);
      }
      if (!obj.has("status")
          || !obj.get("status").isJsonObject()
          || !obj.getAsJsonObject("status").has("phase")) {
        JsonObject status = new JsonObject();
        status.addProperty("phase", "Active");
        obj.add("status", status);
      }
    } else if (t.group().equals("admissionregistration.k8s.io")) {
      admissionDefaults(t, obj);
    } else if (t.group().isEmpty() && t.plural().equals("secrets")) {
      if (!obj.has("type")) {
        obj.addProperty("type", "Opaque");
      }
      if (obj.has("stringData") && obj.get("stringData").isJsonObject()) {
        JsonObject data =
            obj.has("data") && obj.get("data").isJsonObject()
                ? obj.getAsJsonObject("data")
                : new JsonObject();
        for (Map.Entry<String, JsonElement> e : obj.getAsJsonObject("stringData").entrySet()) {
          data.addProperty(
              e.getKey(),
              Base64.getEncoder().encodeToString(e.getValue().getAsString().getBytes(UTF_8)));
        }
        obj.add("data", data);
        obj.remove("stringData");
      }
    }
  }

  /**
   * The API server's defaults for admissionregistration.k8s.io/v1, from kubernetes/kubernetes
   * pkg/apis/admissionregistration/v1/defaults.go and zz_generated.defaults.go (checked with its
   * defaults_test.go): each webhook gets failurePolicy Fail, matchPolicy Equivalent, empty
   * namespaceSelector and objectSelector, timeoutSeconds 10 (mutating ones also reinvocationPolicy
   * Never), each rule scope "*", a service reference port 443. A ValidatingAdmissionPolicy's spec
   * gets failurePolicy Fail; its matchConstraints and a binding's matchResources get matchPolicy
   * Equivalent and empty selectors (SetDefaults_MatchResources), and their rules scope "*". Only
   * absent fields are filled.
   */
  private static void admissionDefaults(ResourceType t, JsonObject obj) {
    switch (t.plural()) {
      case "validatingwebhookconfigurations", "mutatingwebhookconfigurations" -> {
        JsonElement hooks = obj.get("webhooks");
        if (hooks == null || !hooks.isJsonArray()) {
          return;
        }
        for (JsonElement h : hooks.getAsJsonArray()) {
          if (!h.isJsonObject()) {
            continue;
          }
          JsonObject w = h.getAsJsonObject();
          defaultTo(w, "failurePolicy", new JsonPrimitive("Fail"));
          defaultTo(w, "matchPolicy", new JsonPrimitive("Equivalent"));
          defaultTo(w, "namespaceSelector", new JsonObject());
          defaultTo(w, "objectSelector", new JsonObject());
          defaultTo(w, "timeoutSeconds", new JsonPrimitive(10));
          if (t.plural().startsWith("mutating")) {
            defaultTo(w, "reinvocationPolicy", new JsonPrimitive("Never"));
          }
          JsonElement cc = w.get("clientConfig");
          if (cc != null && cc.isJsonObject()) {
            JsonElement svc = cc.getAsJsonObject().get("service");
            if (svc != null && svc.isJsonObject()) {
              defaultTo(svc.getAsJsonObject(), "port", new JsonPrimitive(443));
            }
          }
          defaultRuleScopes(w.get("rules"));
        }
      }
      case "validatingadmissionpolicies" -> {
        JsonElement spec = obj.get("spec");
        if (spec != null && spec.isJsonObject()) {
          defaultTo(spec.getAsJsonObject(), "failurePolicy", new JsonPrimitive("Fail"));
          matchResourcesDefaults(spec.getAsJsonObject().get("matchConstraints"));
        }
      }
      case "validatingadmissionpolicybindings" -> {
        JsonElement spec = obj.get("spec");
        if (spec != null && spec.isJsonObject()) {
          matchResourcesDefaults(spec.getAsJsonObject().get("matchResources"));
        }
      }
      default -> {
        // no defaults known for other resources of the group
      }
    }
  }

  private static void matchResourcesDefaults(JsonElement m) {
    if (m == null || !m.isJsonObject()) {
      return;
    }
    JsonObject o = m.getAsJsonObject();
    defaultTo(o, "matchPolicy", new JsonPrimitive("Equivalent"));
    defaultTo(o, "namespaceSelector", new JsonObject());
    defaultTo(o, "objectSelector", new JsonObject());
    defaultRuleScopes(o.get("resourceRules"));
    defaultRuleScopes(o.get("excludeResourceRules"));
  }

  private static void defaultRuleScopes(JsonElement rules) {
    if (rules == null || !rules.isJsonArray()) {
      return;
    }
    for (JsonElement r : rules.getAsJsonArray()) {
      if (r.isJsonObject()) {
        defaultTo(r.getAsJsonObject(), "scope", new JsonPrimitive("*"));
      }
    }
  }

  private static void defaultTo(JsonObject o, String field, JsonElement value) {
    if (!o.has(field) || o.get(field).isJsonNull()) {
      o.add(field, value);
    }
  }

  private static JsonObject specOf(JsonObject o) {
    JsonObject c = o.deepCopy();
    c.remove("metadata");
    c.remove("status");
    return c;
  }

  // ======================================================================= watch

  private record WatchEvent(
      long rv,
      ResourceType type,
      String namespace,
      String kind,
      JsonObject object,
      JsonObject previous) {}

  private final class WatchStream {
    static final String END = "\u0000end";
    final ResourceType type;
    final String namespace;
    final String name;
    final Selectors.Selector labels;
    final Selectors.Selector fields;
    final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    boolean bookmarks;

    WatchStream(
        ResourceType type,
        String namespace,
        String name,
        Selectors.Selector labels,
        Selectors.Selector fields) {
      this.type = type;
      this.namespace = namespace;
      this.name = name;
      this.labels = labels;
      this.fields = fields;
    }

    boolean matches(JsonObject o) {
      return (namespace == null || namespace.equals(nsOf(o)))
          && (name == null || name.equals(str(metadata(o), "name")))
          && labels.test(o)
          && fields.test(o);
    }

    /**
     * The event this watcher sees, or null; objects moving in or out of its selection become ADDED
     * / DELETED, as upstream.
     */
    String translate(WatchEvent ev) {
      if (!ev.type().equals(type)) {
        return null;
      }
      boolean now = matches(ev.object());
      boolean before = ev.previous() != null && matches(ev.previous());
      String kind;
      switch (ev.kind()) {
        case "ADDED":
          kind = now ? "ADDED" : null;
          break;
        case "DELETED":
          kind = now || before ? "DELETED" : null;
          break;
        default:
          kind = now && before ? "MODIFIED" : now ? "ADDED" : before ? "DELETED" : null;
      }
      return kind == null ? null : eventLine(kind, ev.object());
    }

    void end() {
      queue.offer(END);
    }
  }

  private static String eventLine(String type, JsonObject obj) {
    JsonObject e = new JsonObject();
    e.addProperty("type", type);
    e.add("object", obj);
    return GSON.toJson(e);
  }

  private void emit(ResourceType t, String kind, JsonObject obj, JsonObject previous) {
    WatchEvent ev =
        new WatchEvent(
            revision,
            t,
            t.namespaced() ? nsOf(obj) : null,
            kind,
            obj.deepCopy(),
            previous == null ? null : previous.deepCopy());
    history.addLast(ev);
    trimHistory();
    for (WatchStream w : watchers) {
      String line = w.translate(ev);
      if (line != null) {
        w.queue.offer(line);
      }
    }
  }

  private void trimHistory() {
    while (history.size() > historyLimit) {
      historyStart = history.removeFirst().rv();
    }
    if (historyLimit == 0) {
      historyStart = revision;
    }
  }

  private void serveWatch(HttpExchange ex, Request req, Route r, Map<String, String> q)
      throws IOException {
    Selectors.Selector labels = Selectors.labels(q.get("labelSelector"));
    Selectors.Selector fields = Selectors.fields(q.get("fieldSelector"), r.type());
    long timeout = parseLong(q.get("timeoutSeconds"), "timeoutSeconds");
    String rv = q.get("resourceVersion");
    WatchStream w = new WatchStream(r.type(), r.namespace(), r.name(), labels, fields);
    w.bookmarks = "true".equalsIgnoreCase(q.get("allowWatchBookmarks"));
    List<String> first = new ArrayList<>();
    String error = null;
    synchronized (lock) {
      if (rv == null || rv.isEmpty() || rv.equals("0")) {
        for (JsonObject o : bucket(r.type()).values()) {
          if (w.matches(o)) {
            first.add(eventLine("ADDED", o));
          }
        }
      } else {
        long from = parseLong(rv, "resourceVersion");
        if (from < historyStart) {
          expiredWatches++;
          JsonObject status =
              new StatusException(
                      410,
                      "Expired",
                      "too old resource version: " + from + " (" + historyStart + ")")
                  .status();
          error = eventLine("ERROR", status);
        } else {
          for (WatchEvent ev : history) {
            if (ev.rv() > from) {
              String line = w.translate(ev);
              if (line != null) {
                first.add(line);
              }
            }
          }
        }
      }
      if (error == null) {
        watchers.add(w);
      }
    }
    requestLog.add(req.withCode(200));
    OutputStream os = null;
    try {
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, 0);
      os = ex.getResponseBody();
      if (error != null) {
        writeLine(os, error);
        return;
      }
      for (String line : first) {
        writeLine(os, line);
      }
      os.flush();
      long deadline =
          timeout > 0 ? System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout) : Long.MAX_VALUE;
      while (!closed) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        String line =
            w.queue.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
        if (line == WatchStream.END) {
          break;
        }
        if (line != null) {
          writeLine(os, line);
          os.flush();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // the client closed the watch
    } finally {
      synchronized (lock) {
        watchers.remove(w);
      }
      if (os != null) {
        try {
          os.close();
        } catch (IOException ignored) {
          // connection already gone
        }
      }
    }
  }

  private static void writeLine(OutputStream os, String line) throws IOException {
    os.write((line + "\n").getBytes(UTF_8));
  }

  // ===================================================================== helpers

  private static JsonObject parseObject(String body) {
    JsonElement e = JsonParser.parseString(body);
    if (!e.isJsonObject()) {
      throw StatusException.badRequest("request body must be a JSON object");
    }
    return e.getAsJsonObject();
  }

  static JsonObject metadata(JsonObject obj) {
    JsonElement m = obj.get("metadata");
    if (m == null || !m.isJsonObject()) {
      JsonObject fresh = new JsonObject();
      obj.add("metadata", fresh);
      return fresh;
    }
    return m.getAsJsonObject();
  }

  static String str(JsonObject o, String field) {
    JsonElement e = o == null ? null : o.get(field);
    return e == null || e.isJsonNull() || !e.isJsonPrimitive() ? null : e.getAsString();
  }

  private static String nsOf(JsonObject o) {
    return str(metadata(o), "namespace");
  }

  private String namespaceOf(ResourceType t, JsonObject obj) {
    if (!t.namespaced()) {
      return null;
    }
    String ns = str(metadata(obj), "namespace");
    if (ns == null || ns.isEmpty()) {
      throw new IllegalArgumentException(t.qualifiedPlural() + " needs metadata.namespace");
    }
    return ns;
  }

  private static long parseLong(String v, String what) {
    if (v == null || v.isEmpty()) {
      return 0;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw StatusException.badRequest("invalid " + what + ": " + v);
    }
  }

  private static String now() {
    return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
  }

  @Override
  public String toString() {
    return "FakeKubeApi["
        + (server == null ? "not started" : baseUrl())
        + ", "
        + Arrays.toString(resources().stream().map(ResourceType::toString).toArray())
        + "]";
  }
}
