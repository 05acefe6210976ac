package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.controller.webhook.SecretStore;
import dev.registrypolicy.controller.webhook.WebhookCertificates;
import dev.registrypolicy.controller.webhook.WebhookConfigurations;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * {@code run --webhook} against the in-process API, end to end: the policy's admission section
 * becomes ValidatingAdmissionPolicies with bindings and webhook configurations whose caBundle
 * verifies the certificate the started webhook serves; a real HTTPS AdmissionReview gets the
 * verdict {@link AdmissionCheck} gives; a policy edit changes both planes, an invalid one neither;
 * a new certificate written into the TLS Secret is served and the caBundle follows; a namespace the
 * cache has not seen yet is read from the API; at steady state nothing is written, the TLS Secret
 * included; and every call made is one the manifests' RBAC grants.
 */
class RunAdmissionEndToEndTest {
  static final String NS = Policy.NAMESPACE;
  static final String SERVICE_HOST = "registry-policy-webhook." + NS + ".svc";
  static final Gson GSON = new Gson();

  static String policy(String extraSource) {
    return String.join(
        "\n",
        "apiVersion: registry-policy.dev/v1alpha1",
        "kind: RegistryPolicy",
        "credentials:",
        "  - {name: corp, secret: corp-source, registry: registry.corp.example}",
        "access:",
        "  - name: corp",
        "    credentials: corp",
        "    secretName: corp-pull",
        "    namespaces: {selector: {matchLabels: {pull: corp}}}",
        "    serviceAccounts: all",
        "admission:",
        "  mode: Deny",
        "  allowedSources:",
        "    - prefix: registry.corp.example",
        extraSource.isEmpty() ? "" : "    - prefix: " + extraSource,
        "  rules:",
        "    - {name: no-latest, blockLatestTag: true, mode: Warn}",
        "");
  }

  @TempDir Path tmp;
  FakeKubeApi fake;
  final ByteArrayOutputStream log = new ByteArrayOutputStream();
  final CountDownLatch stop = new CountDownLatch(1);
  final AtomicInteger exit = new AtomicInteger(-1);
  Thread running;
  int healthPort;
  int webhookPort;

  @AfterEach
  void tearDown() throws Exception {
    stop.countDown();
    if (running != null) {
      running.join(30_000);
    }
    if (fake != null) {
      fake.close();
    }
  }

  @Test
  void runEnforcesAdmissionEndToEnd() throws Exception {
    fake = new FakeKubeApi().start();
    NodeStatusControllerTest.serveNodes(fake); // the controller lists and watches Nodes
    namespace("default", Map.of());
    namespace(NS, Map.of());
    namespace("team", Map.of("pull", "corp"));
    JsonObject source = new JsonObject();
    source.addProperty("apiVersion", "v1");
    source.addProperty("kind", "Secret");
    source.add("metadata", meta(NS, "corp-source"));
    source.addProperty("type", "kubernetes.io/dockerconfigjson");
    JsonObject data = new JsonObject();
    data.addProperty(
        ".dockerconfigjson",
        Base64.getEncoder()
            .encodeToString(
                "{\"auths\":{\"registry.corp.example\":{\"auth\":\"dXNlcjpwYXNz\"}}}"
                    .getBytes(StandardCharsets.UTF_8)));
    source.add("data", data);
    fake.create(source);
    setPolicy(policy(""));
    start();

    // 1. Objects, the certificate and the server.
    await(() -> fake.get("secrets", NS, WebhookSettings.DEFAULT_SECRET) != null, "TLS Secret");
    await(() -> fake.list("validatingadmissionpolicies", null).size() == 2, "deny + warn VAPs");
    await(() -> fake.list("validatingadmissionpolicybindings", null).size() == 2, "bindings");
    await(() -> caBundle("validatingwebhookconfigurations") != null, "validating webhook");
    await(() -> caBundle("mutatingwebhookconfigurations") != null, "mutating webhook");
    await(() -> readyz() == 200, "/readyz once the webhook serves");
    String ca = caBundle("validatingwebhookconfigurations");
    assertEquals(ca, caBundle("mutatingwebhookconfigurations"));
    X509Certificate served = servedCertificate(ca); // verified against the caBundle, by name
    assertEquals(secretText("ca.crt"), ca);

    // 2. A real AdmissionReview gets AdmissionCheck's verdict.
    Policy first = PolicyDocument.parse(policy(""));
    Map<String, Object> hub = pod("team", "web", "nginx:1.27");
    Map<String, Object> corp = pod("team", "api", "registry.corp.example/api:latest");
    JsonObject r = review("team", hub);
    assertEquals(expected(first, "team", Map.of("pull", "corp"), hub), verdictOf(r));
    assertFalse(r.get("allowed").getAsBoolean());
    JsonObject w = review("team", corp);
    assertEquals(expected(first, "team", Map.of("pull", "corp"), corp), verdictOf(w));
    assertTrue(w.get("allowed").getAsBoolean());
    assertTrue(w.has("warnings"), w.toString());

    // 3. Policy edit: objects and the webhook's verdict follow.
    String denyBefore = resourceVersion("validatingadmissionpolicies", "registry-policy-deny");
    setPolicy(policy("docker.io/library"));
    await(
        () ->
            !denyBefore.equals(
                resourceVersion("validatingadmissionpolicies", "registry-policy-deny")),
        "the deny policy rewritten");
    await(() -> review("team", hub).get("allowed").getAsBoolean(), "webhook admits docker.io");
    Policy second = PolicyDocument.parse(policy("docker.io/library"));
    assertEquals(
        expected(second, "team", Map.of("pull", "corp"), hub), verdictOf(review("team", hub)));

    // 4. An invalid policy: the last good one stays in force in both planes.
    Map<String, String> versions = admissionVersions();
    setPolicy(policy("docker.io/library") + "bogus: 1\n");
    await(() -> "false".equals(status().get("policyValid")), "status says invalid");
    Thread.sleep(500); // a pass that would change something has had its chance
    assertEquals(versions, admissionVersions());
    assertTrue(review("team", hub).get("allowed").getAsBoolean());
    assertFalse(review("team", pod("team", "x", "quay.io/x:1")).get("allowed").getAsBoolean());

    // 5. A namespace the informer has not seen yet: read from the API (its labels count).
    FakeKubeApi.Registration blind =
        fake.failWhen(
            q -> "namespaces".equals(q.resource()) && q.name() == null && "GET".equals(q.method()),
            503);
    try {
      fake.closeWatches();
      namespace("fresh", Map.of("pull", "corp"));
      Map<String, Object> freshPod = pod("fresh", "p", "quay.io/x:1");
      JsonObject fr = review("fresh", freshPod);
      assertEquals(
          expected(second, "fresh", Map.of("pull", "corp"), freshPod),
          verdictOf(fr),
          fr.toString());
      assertTrue(
          fake.requests().stream()
              .anyMatch(
                  q ->
                      "GET".equals(q.method())
                          && "namespaces".equals(q.resource())
                          && "fresh".equals(q.name())),
          "the namespace was read by name");
      // Not in the cache and not found: undecided (503), the failurePolicy decides.
      assertEquals(
          503, post("/validate", reviewBody("nowhere", pod("nowhere", "p", "a:1"))).code());
    } finally {
      blind.close();
    }

    // 6. A new certificate written into the Secret: served, and the caBundle follows.
    Map<String, byte[]> next = newCertificate();
    JsonObject tls = fake.get("secrets", NS, WebhookSettings.DEFAULT_SECRET);
    JsonObject nextData = new JsonObject();
    next.forEach((k, v) -> nextData.addProperty(k, Base64.getEncoder().encodeToString(v)));
    tls.add("data", nextData);
    fake.put(tls);
    String nextCa = new String(next.get("ca.crt"), StandardCharsets.UTF_8);
    await(() -> nextCa.equals(caBundle("validatingwebhookconfigurations")), "caBundle follows");
    await(() -> nextCa.equals(caBundle("mutatingwebhookconfigurations")), "both configurations");
    AtomicReference<BigInteger> serial = new AtomicReference<>();
    await(
        () -> {
          try {
            serial.set(servedCertificate(nextCa).getSerialNumber());
            return true;
          } catch (Exception e) {
            return false;
          }
        },
        "the new certificate is served");
    assertNotEquals(served.getSerialNumber(), serial.get());
    assertEquals(nextCa, secretText("ca.crt"), "the leader left the valid new Secret as it is");

    // 7. Steady state: resyncs pass (the leader reads the TLS Secret on each), nothing is written.
    setPolicy(policy("docker.io/library"));
    await(() -> "true".equals(status().get("policyValid")), "valid again");
    // The namespace informer caught up with "fresh" (granted by its label): its pull Secret.
    await(() -> fake.get("secrets", "fresh", "corp-pull") != null, "fresh's pull Secret");
    Thread.sleep(1000);
    fake.resetCounters();
    await(
        () ->
            fake.requests().stream()
                    .filter(
                        q ->
                            "GET".equals(q.method())
                                && WebhookSettings.DEFAULT_SECRET.equals(q.name()))
                    .count()
                >= 3,
        "three certificate checks");
    List<String> writes =
        fake.requests().stream()
            .filter(Request::isWrite)
            .filter(q -> !"leases".equals(q.resource()))
            .map(Request::toString)
            .collect(Collectors.toList());
    assertEquals(List.of(), writes, "no write at steady state");
    assertEquals(-1, exit.get(), tail());
  }

  @Test
  void everyCallOfRunIsGrantedByTheManifests() throws Exception {
    fake = new FakeKubeApi().start();
    NodeStatusControllerTest.serveNodes(fake); // the controller lists and watches Nodes
    namespace("default", Map.of());
    namespace(NS, Map.of());
    setPolicy(policy(""));
    start();
    await(() -> readyz() == 200, "ready");
    await(() -> caBundle("validatingwebhookconfigurations") != null, "validating webhook");
    // A namespace missing from the cache: the GET fallback (404 here, so undecided).
    Answer late = post("/validate", reviewBody("late", pod("late", "p", "a:1")));
    assertEquals(503, late.code(), late.body());
    List<Rbac> rules = Rbac.fromManifests();
    List<String> denied = new ArrayList<>();
    for (Request q : fake.requests()) {
      if (q.resource() == null) {
        continue; // discovery: granted to every authenticated client (system:discovery)
      }
      if (rules.stream().noneMatch(rule -> rule.allows(q))) {
        denied.add(q.toString());
      }
    }
    assertEquals(List.of(), denied, "calls the manifests do not grant");
    assertTrue(
        fake.requests().stream()
            .anyMatch(
                q ->
                    "GET".equals(q.method())
                        && "namespaces".equals(q.resource())
                        && "late".equals(q.name())),
        "the namespace fallback was exercised");
    assertTrue(
        fake.requests().stream()
            .anyMatch(q -> "POST".equals(q.method()) && "secrets".equals(q.resource())),
        "the TLS Secret was created");
  }

  /** One rule of the ClusterRole (namespace null) or of the Role (its namespace). */
  record Rbac(
      String namespace,
      List<String> groups,
      List<String> resources,
      List<String> verbs,
      List<String> names) {
    boolean allows(Request q) {
      return (namespace == null || namespace.equals(q.namespace()))
          && groups.contains(group(q))
          && resources.contains(q.resource())
          && verbs.contains(verb(q))
          && (names.isEmpty() || (q.name() != null && names.contains(q.name())));
    }

    static String group(Request q) {
      String p = q.path();
      return p.startsWith("/api/") ? "" : p.split("/", -1)[2];
    }

    static String verb(Request r) {
      return switch (r.method()) {
        case "GET" -> r.name() != null ? "get" : r.isWatch() ? "watch" : "list";
        case "POST" -> "create";
        case "PUT" -> "update";
        case "PATCH" -> "patch";
        case "DELETE" -> r.name() != null ? "delete" : "deletecollection";
        default -> r.method();
      };
    }

    static List<Rbac> fromManifests() throws Exception {
      return fromManifests("controller.yaml");
    }

    /** Every Role and ClusterRole rule in the given files under manifests/. */
    static List<Rbac> fromManifests(String... files) throws Exception {
      List<Rbac> out = new ArrayList<>();
      for (String file : files) {
        out.addAll(fromManifest(file));
      }
      return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Rbac> fromManifest(String file) throws Exception {
      String text = Files.readString(Path.of("..", "manifests", file), StandardCharsets.UTF_8);
      List<Rbac> out = new ArrayList<>();
      for (Object o : new Load(LoadSettings.builder().build()).loadAllFromString(text)) {
        Map<String, Object> d = (Map<String, Object>) o;
        if (!"ClusterRole".equals(d.get("kind")) && !"Role".equals(d.get("kind"))) {
          continue;
        }
        String ns =
            "Role".equals(d.get("kind"))
                ? (String) ((Map<String, Object>) d.get("metadata")).get("namespace")
                : null;
        for (Object x : (List<Object>) d.get("rules")) {
          Map<String, Object> rule = (Map<String, Object>) x;
          out.add(
              new Rbac(
                  ns,
                  (List<String>) rule.get("apiGroups"),
                  (List<String>) rule.get("resources"),
                  (List<String>) rule.get("verbs"),
                  (List<String>) rule.getOrDefault("resourceNames", List.of())));
        }
      }
      return out;
    }
  }

  // ---- the run ---------------------------------------------------------------------------------

  void start() throws Exception {
    healthPort = freePort();
    webhookPort = freePort();
    Path kubeconfig = tmp.resolve("config");
    Files.writeString(
        kubeconfig,
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters: [{name: c, cluster: {server: \"" + fake.baseUrl() + "\"}}]",
            "users: [{name: u, user: {token: t}}]",
            "contexts: [{name: x, context: {cluster: c, user: u}}]",
            "current-context: x",
            ""));
    PrintStream p = new PrintStream(log, true, StandardCharsets.UTF_8);
    String[] args = {
      "run",
      "--listen",
      "127.0.0.1:" + healthPort,
      "--resync",
      "1s",
      "--admission-enforcement",
      "both",
      "--webhook",
      "--webhook-port",
      String.valueOf(webhookPort)
    };
    Map<String, String> env =
        Map.of("KUBECONFIG", kubeconfig.toString(), "POD_NAME", "e2e", "POD_NAMESPACE", NS);
    running = new Thread(() -> exit.set(ControllerMain.run(args, p, p, env, stop)));
    running.start();
  }

  void await(BooleanSupplier c, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!c.getAsBoolean()) {
      if (System.nanoTime() > deadline || exit.get() >= 0) {
        throw new AssertionError(
            "timed out waiting for " + what + " (exit " + exit.get() + "):\n" + tail());
      }
      Thread.sleep(25);
    }
  }

  String tail() {
    String s = log.toString(StandardCharsets.UTF_8);
    return s.length() > 8000 ? s.substring(s.length() - 8000) : s;
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  int readyz() {
    try {
      HttpURLConnection c =
          (HttpURLConnection)
              URI.create("http://127.0.0.1:" + healthPort + "/readyz").toURL().openConnection();
      c.setConnectTimeout(2000);
      c.setReadTimeout(2000);
      int code = c.getResponseCode();
      c.disconnect();
      return code;
    } catch (Exception e) {
      return -1;
    }
  }

  // ---- cluster state ---------------------------------------------------------------------------

  static JsonObject meta(String ns, String name) {
    JsonObject m = new JsonObject();
    m.addProperty("name", name);
    if (ns != null) {
      m.addProperty("namespace", ns);
    }
    return m;
  }

  void namespace(String name, Map<String, String> labels) {
    JsonObject n = new JsonObject();
    n.addProperty("apiVersion", "v1");
    n.addProperty("kind", "Namespace");
    JsonObject m = meta(null, name);
    JsonObject l = new JsonObject();
    labels.forEach(l::addProperty);
    m.add("labels", l);
    n.add("metadata", m);
    fake.create(n);
  }

  void setPolicy(String text) {
    JsonObject cm = new JsonObject();
    cm.addProperty("apiVersion", "v1");
    cm.addProperty("kind", "ConfigMap");
    cm.add("metadata", meta(NS, Policy.CONFIGMAP_NAME));
    JsonObject d = new JsonObject();
    d.addProperty(Policy.CONFIGMAP_KEY, text);
    cm.add("data", d);
    fake.put(cm);
  }

  Map<String, String> status() {
    JsonObject cm = fake.get("configmaps", NS, Reconciler.STATUS_CONFIGMAP);
    Map<String, String> out = new LinkedHashMap<>();
    if (cm != null && cm.has("data")) {
      cm.getAsJsonObject("data")
          .entrySet()
          .forEach(e -> out.put(e.getKey(), e.getValue().getAsString()));
    }
    return out;
  }

  String resourceVersion(String resource, String name) {
    JsonObject o = fake.get(resource, null, name);
    return o == null ? "" : o.getAsJsonObject("metadata").get("resourceVersion").getAsString();
  }

  Map<String, String> admissionVersions() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String k :
        List.of(
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations")) {
      for (JsonObject o : fake.list(k, null)) {
        JsonObject m = o.getAsJsonObject("metadata");
        out.put(k + "/" + m.get("name").getAsString(), m.get("resourceVersion").getAsString());
      }
    }
    return out;
  }

  /** The first webhook's caBundle as PEM text, or null. */
  String caBundle(String resource) {
    JsonObject o = fake.get(resource, null, "registry-policy");
    if (o == null) {
      return null;
    }
    String b64 =
        o.getAsJsonArray("webhooks")
            .get(0)
            .getAsJsonObject()
            .getAsJsonObject("clientConfig")
            .get("caBundle")
            .getAsString();
    return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
  }

  String secretText(String key) {
    JsonObject s = fake.get("secrets", NS, WebhookSettings.DEFAULT_SECRET);
    return new String(
        Base64.getDecoder().decode(s.getAsJsonObject("data").get(key).getAsString()),
        StandardCharsets.UTF_8);
  }

  /** A fresh CA and serving certificate for the Service, as self mode makes them. */
  static Map<String, byte[]> newCertificate() throws Exception {
    AtomicReference<Map<String, byte[]>> made = new AtomicReference<>();
    SecretStore memory =
        new SecretStore() {
          @Override
          public Optional<Stored> read() {
            return Optional.empty();
          }

          @Override
          public void create(Map<String, byte[]> data) {
            made.set(data);
          }

          @Override
          public void replace(Map<String, byte[]> data, String resourceVersion) {
            made.set(data);
          }
        };
    WebhookCertificates.ensure(
        memory, List.of(SERVICE_HOST, SERVICE_HOST + ".cluster.local"), Instant.now());
    return made.get();
  }

  // ---- HTTPS to the webhook
  // ----------------------------------------------------------------------

  static SSLContext trusting(String caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    int i = 0;
    for (var c :
        CertificateFactory.getInstance("X.509")
            .generateCertificates(
                new ByteArrayInputStream(caPem.getBytes(StandardCharsets.UTF_8)))) {
      ks.setCertificateEntry("ca" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  record Answer(int code, String body, X509Certificate peer) {}

  /**
   * POST over HTTPS to the webhook as the API server makes it: TCP to loopback, but TLS with SNI
   * and hostname verification for the Service's name and that name as the Host header, trusting
   * only {@code caPem}.
   */
  Answer post(String path, String body, String caPem) throws Exception {
    byte[] payload = body.getBytes(StandardCharsets.UTF_8);
    try (Socket tcp = new Socket(InetAddress.getLoopbackAddress(), webhookPort);
        SSLSocket tls =
            (SSLSocket)
                trusting(caPem)
                    .getSocketFactory()
                    .createSocket(tcp, SERVICE_HOST, WebhookConfigurations.SERVICE_PORT, true)) {
      tls.setSoTimeout(10_000);
      SSLParameters params = tls.getSSLParameters();
      params.setEndpointIdentificationAlgorithm("HTTPS"); // the name must be in the certificate
      tls.setSSLParameters(params);
      tls.startHandshake();
      X509Certificate peer = (X509Certificate) tls.getSession().getPeerCertificates()[0];
      OutputStream o = tls.getOutputStream();
      o.write(
          ("POST "
                  + path
                  + " HTTP/1.1\r\nHost: "
                  + SERVICE_HOST
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + payload.length
                  + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      o.write(payload);
      o.flush();
      String response = new String(tls.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int code = Integer.parseInt(response.substring(9, 12));
      int headersEnd = response.indexOf("\r\n\r\n");
      String head = response.substring(0, headersEnd);
      String rest = response.substring(headersEnd + 4);
      if (head.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
        StringBuilder b = new StringBuilder();
        int at = 0;
        while (true) {
          int eol = rest.indexOf("\r\n", at);
          int size = Integer.parseInt(rest.substring(at, eol).trim(), 16);
          if (size == 0) {
            break;
          }
          b.append(rest, eol + 2, eol + 2 + size);
          at = eol + 2 + size + 2;
        }
        rest = b.toString();
      }
      return new Answer(code, rest, peer);
    }
  }

  Answer post(String path, String body) throws Exception {
    return post(path, body, caBundle("validatingwebhookconfigurations"));
  }

  X509Certificate servedCertificate(String caPem) throws Exception {
    return post(
            "/validate",
            reviewBody("team", pod("team", "probe", "registry.corp.example/a:1")),
            caPem)
        .peer();
  }

  static Map<String, Object> pod(String ns, String name, String image) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("apiVersion", "v1");
    o.put("kind", "Pod");
    o.put("metadata", Map.of("name", name, "namespace", ns));
    o.put("spec", Map.of("containers", List.of(Map.of("name", name, "image", image))));
    return o;
  }

  static String reviewBody(String ns, Map<String, Object> object) {
    Map<String, Object> req = new LinkedHashMap<>();
    req.put("uid", "uid-" + ns);
    req.put("kind", Map.of("group", "", "version", "v1", "kind", "Pod"));
    req.put("resource", Map.of("group", "", "version", "v1", "resource", "pods"));
    req.put("operation", "CREATE");
    req.put("namespace", ns);
    req.put("object", object);
    return GSON.toJson(
        Map.of("apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview", "request", req));
  }

  /** The review's {@code response}, or null when the webhook did not answer 200. */
  JsonObject review(String ns, Map<String, Object> pod) {
    try {
      Answer a = post("/validate", reviewBody(ns, pod));
      return a.code() == 200
          ? JsonParser.parseString(a.body()).getAsJsonObject().getAsJsonObject("response")
          : null;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** allowed, and the deny message or the warnings: what a review answer says. */
  static String verdictOf(JsonObject response) {
    boolean allowed = response.get("allowed").getAsBoolean();
    if (!allowed) {
      return "deny: " + response.getAsJsonObject("status").get("message").getAsString();
    }
    List<String> warnings = new ArrayList<>();
    if (response.has("warnings")) {
      response.getAsJsonArray("warnings").forEach(x -> warnings.add(x.getAsString()));
    }
    return "allow: " + String.join("; ", warnings);
  }

  /** The same from the model's verdict function. */
  static String expected(
      Policy policy, String ns, Map<String, String> labels, Map<String, Object> pod)
      throws Exception {
    Verdict v =
        AdmissionCheck.of(policy, NS)
            .check(new NamespaceInfo(ns, labels, Map.of()), Workload.fromObject(pod, ns), null);
    if (v.action() == Action.DENY) {
      return "deny: " + v.message(Action.DENY);
    }
    return "allow: "
        + v.firstFindings(Action.WARN).stream()
            .map(f -> f.message())
            .collect(Collectors.joining("; "));
  }
}
