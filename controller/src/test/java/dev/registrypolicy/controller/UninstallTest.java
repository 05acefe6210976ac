package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.registrypolicy.common.NodeReport;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.policy.Policy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code uninstall} on the in-process API, after the real controller ({@code run --webhook
 * --admission-enforcement both}) made its grants, admission objects, TLS Secret, bundle and status,
 * beside someone else's objects under the same names without the label and someone else's
 * ServiceAccount entries: only the controller's objects go, every foreign entry stays in its place,
 * a second run writes nothing, a failing write names the object and the cause and leaves the rest
 * listed, a running controller is refused, and every call is one the manifests grant.
 */
class UninstallTest {
  static final String NS = Policy.NAMESPACE;
  static final List<String> ADMISSION =
      List.of(
          "validatingadmissionpolicies",
          "validatingadmissionpolicybindings",
          "validatingwebhookconfigurations",
          "mutatingwebhookconfigurations");

  @TempDir Path tmp;
  FakeKubeApi fake;
  Path kubeconfig;
  final ByteArrayOutputStream runLog = new ByteArrayOutputStream();
  final AtomicInteger runExit = new AtomicInteger(-1);
  Thread running;
  CountDownLatch stopLatch = new CountDownLatch(0);

  @BeforeEach
  void installed() throws Exception {
    fake = new FakeKubeApi().start();
    NodeStatusControllerTest.serveNodes(fake); // the controller lists and watches Nodes
    kubeconfig = tmp.resolve("config");
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
    namespace("default", Map.of());
    namespace(NS, Map.of());
    namespace("team", Map.of("pull", "corp"));
    namespace("clash", Map.of("pull", "corp"));
    namespace("other", Map.of());
    JsonObject data = new JsonObject();
    data.addProperty(
        ".dockerconfigjson",
        b64("{\"auths\":{\"registry.corp.example\":{\"auth\":\"dXNlcjpwYXNz\"}}}"));
    fake.create(object("v1", "Secret", NS, "corp-source", null, data));
    JsonObject policy = new JsonObject();
    policy.addProperty(Policy.CONFIGMAP_KEY, RunAdmissionEndToEndTest.policy(""));
    fake.create(object("v1", "ConfigMap", NS, Policy.CONFIGMAP_NAME, null, policy));

    // Someone else's, under the controller's names or beside its entries, with no label.
    fake.create(serviceAccount("team", "default", Map.of("example.com/keep", "x"), "foreign-a"));
    fake.create(serviceAccount("team", "builder", Map.of()));
    fake.create(serviceAccount("clash", "default", Map.of()));
    fake.create(serviceAccount("other", "default", Map.of(), "corp-pull")); // added by hand
    fake.create(pullSecret("clash", "corp-pull")); // a granted namespace: a conflict
    fake.create(pullSecret("other", "corp-pull"));
    fake.create(
        object(
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy",
            null,
            "registry-policy-audit",
            null,
            null));
    fake.create(
        object(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            null,
            "registry-policy",
            Map.of("app.kubernetes.io/managed-by", "someone-else"),
            null));
    // The label, but not a name the controller writes: not the controller's either.
    fake.create(
        object(
            "v1",
            "ConfigMap",
            NS,
            "notes",
            Map.of(Labels.MANAGED_BY_LABEL, Labels.MANAGED_BY),
            new JsonObject()));

    startController();
    await(() -> fake.get("secrets", NS, WebhookSettings.DEFAULT_SECRET) != null, "TLS Secret");
    await(() -> ours("validatingadmissionpolicies").size() == 2, "deny and warn policies");
    await(() -> ours("validatingadmissionpolicybindings").size() == 2, "their bindings");
    await(() -> ours("validatingwebhookconfigurations").size() == 1, "validating webhook");
    await(() -> entries("team", "default").contains("corp-pull"), "team/default granted");
    await(() -> entries("team", "builder").contains("corp-pull"), "team/builder granted");
    await(() -> fake.get("secrets", NS, Desired.BUNDLE_SECRET) != null, "bundle");
    await(
        () -> status().getOrDefault("conflicts", "").contains("clash/corp-pull"),
        "the conflict in the status");
    await(
        () -> status().getOrDefault("admissionConflicts", "").contains("MutatingWebhook"),
        "the admission conflict in the status");
    // Someone adds an entry after the controller's.
    fake.mutate(
        "serviceaccounts",
        "team",
        "default",
        sa -> sa.getAsJsonArray("imagePullSecrets").add(ref("foreign-b")));
    stopController();
    expireLease();
    // An agent's report Lease (removed), and a Lease without the report label (kept).
    JsonObject report =
        object(
            "coordination.k8s.io/v1",
            "Lease",
            NS,
            NodeReport.leaseName("worker-1"),
            Map.of(NodeReport.COMPONENT_LABEL, NodeReport.COMPONENT),
            null);
    JsonObject spec = new JsonObject();
    spec.addProperty("holderIdentity", "worker-1");
    report.add("spec", spec);
    fake.create(report);
    fake.create(object("coordination.k8s.io/v1", "Lease", NS, "someone-elses", null, null));
  }

  @AfterEach
  void tearDown() throws Exception {
    stopController();
    fake.close();
  }

  @Test
  void removesOnlyWhatTheControllerMade_keepsForeignEntries_andASecondRunWritesNothing()
      throws Exception {
    Map<String, String> foreignBefore = foreignVersions();
    JsonObject otherSa = fake.get("serviceaccounts", "other", "default");
    fake.resetCounters();

    Result first = uninstall();
    assertEquals(0, first.exit, first.log);

    // Nothing labelled is left but the ConfigMap the controller never writes.
    for (String kind : ADMISSION) {
      assertEquals(List.of(), ours(kind), kind);
    }
    assertEquals(
        List.of(),
        fake.list("secrets", null).stream()
            .filter(UninstallTest::labelled)
            .map(UninstallTest::key)
            .collect(Collectors.toList()));
    assertEquals(
        List.of(NS + "/notes"),
        fake.list("configmaps", null).stream()
            .filter(UninstallTest::labelled)
            .map(UninstallTest::key)
            .collect(Collectors.toList()));
    assertNull(fake.get("configmaps", NS, Reconciler.STATUS_CONFIGMAP));
    assertNull(fake.get("secrets", NS, WebhookSettings.DEFAULT_SECRET));
    assertNull(fake.get("secrets", NS, Desired.BUNDLE_SECRET));

    // Every foreign object is exactly as it was; the policy and its source Secret included.
    assertEquals(foreignBefore, foreignVersions());
    assertEquals(otherSa, fake.get("serviceaccounts", "other", "default"));

    // ServiceAccounts: the controller's entry and annotation gone, the rest in place.
    JsonObject teamDefault = fake.get("serviceaccounts", "team", "default");
    assertEquals(List.of("foreign-a", "foreign-b"), entries("team", "default"));
    JsonObject ann = teamDefault.getAsJsonObject("metadata").getAsJsonObject("annotations");
    assertFalse(ann.has(Desired.SA_ANNOTATION), ann.toString());
    assertEquals("x", ann.get("example.com/keep").getAsString());
    assertEquals(List.of(), entries("team", "builder"));
    assertFalse(
        fake.get("serviceaccounts", "team", "builder")
            .getAsJsonObject("metadata")
            .toString()
            .contains(Desired.SA_ANNOTATION));

    // One line per change, and what each write was.
    List<String> writes =
        fake.requests().stream()
            .filter(Request::isWrite)
            .map(
                r ->
                    r.method()
                        + " "
                        + r.resource()
                        + " "
                        + (r.namespace() == null ? "" : r.namespace() + "/")
                        + r.name())
            .collect(Collectors.toList());
    assertEquals(
        List.of(
            "DELETE validatingadmissionpolicybindings registry-policy-deny",
            "DELETE validatingadmissionpolicybindings registry-policy-warn",
            "DELETE validatingadmissionpolicies registry-policy-deny",
            "DELETE validatingadmissionpolicies registry-policy-warn",
            "DELETE validatingwebhookconfigurations registry-policy",
            "PATCH serviceaccounts team/builder",
            "PATCH serviceaccounts team/default",
            "DELETE secrets team/corp-pull",
            "DELETE secrets registry-policy/registry-policy-node-credentials",
            "DELETE secrets registry-policy/registry-policy-webhook-tls",
            "DELETE configmaps registry-policy/registry-policy-status",
            "DELETE leases registry-policy/registry-policy-node-worker-1"),
        writes);
    assertNull(fake.get("leases", NS, NodeReport.leaseName("worker-1")));
    assertNotNull(fake.get("leases", NS, "someone-elses"));
    assertNotNull(fake.get("leases", NS, Controller.LEASE_NAME));
    assertEquals(
        writes.size(), count(first.log, "msg=deleted ") + count(first.log, "msg=patched "));
    assertTrue(
        first.log.contains(
            "msg=patched kind=ServiceAccount namespace=team name=default removed=corp-pull"
                + " kept=foreign-a,foreign-b"),
        first.log);
    assertTrue(
        first.log.contains(
            "msg=deleted kind=Secret namespace=team name=corp-pull"
                + " what=\"pull Secret of access grant corp\""),
        first.log);
    assertTrue(
        first.log.contains(
            "admission_objects_deleted=5 service_accounts_patched=2 entries_removed=2"
                + " entries_kept=2 secrets_deleted=3 configmaps_deleted=1 report_leases_deleted=1"
                + " writes=12"),
        first.log);
    assertFalse(first.log.contains("dXNlcjpwYXNz"), "no credential in the log");
    assertGrantedByTheManifests(fake.requests());

    // Again: nothing to do, no write at all.
    fake.resetCounters();
    Result second = uninstall();
    assertEquals(0, second.exit, second.log);
    assertEquals(0, fake.requests().stream().filter(Request::isWrite).count(), second.log);
    assertTrue(second.log.contains("nothing of the controller's was left"), second.log);
    assertTrue(second.log.contains("writes=0"), second.log);
  }

  /**
   * Agents still run while the command does (they are stopped after it): a report Lease they write
   * again does not keep the command from finishing.
   */
  @Test
  void reportLeasesWrittenAgainByRunningAgents_doNotHoldTheCommand() throws Exception {
    JsonObject report = fake.get("leases", NS, NodeReport.leaseName("worker-1"));
    report.getAsJsonObject("metadata").remove("resourceVersion");
    report.getAsJsonObject("metadata").remove("uid");
    report.getAsJsonObject("metadata").remove("creationTimestamp");
    FakeKubeApi.Registration agent =
        fake.onRequest(
            r -> "GET".equals(r.method()) && "leases".equals(r.resource()) && r.name() == null,
            r -> {
              if (fake.get("leases", NS, NodeReport.leaseName("worker-1")) == null) {
                fake.create(report.deepCopy()); // the agent's next renewal
              }
            });
    Result r = uninstall();
    agent.close();
    assertEquals(0, r.exit, r.log);
    assertTrue(r.log.contains("running agents wrote their report Leases again"), r.log);
    assertEquals(2, fake.requests("DELETE", "leases").size(), r.log);
    assertNull(fake.get("secrets", NS, Desired.BUNDLE_SECRET));
  }

  @Test
  void dryRun_printsThePlan_andWritesNothing() throws Exception {
    fake.resetCounters();
    Result r = uninstall("--dry-run");
    assertEquals(0, r.exit, r.log);
    assertEquals(0, fake.requests().stream().filter(Request::isWrite).count(), r.log);
    assertEquals(12, count(r.log, "msg=\"would be "), r.log);
    assertTrue(r.log.contains("planned_writes=12"), r.log);
    assertNotNull(fake.get("secrets", "team", "corp-pull"));
  }

  @Test
  void aFailingWrite_namesTheObjectAndCause_listsWhatIsLeft_andARerunFinishes() throws Exception {
    fake.resetCounters();
    FakeKubeApi.Registration denied =
        fake.failNext("DELETE", "/namespaces/" + NS + "/secrets/" + Desired.BUNDLE_SECRET, 403);
    Result r = uninstall();
    denied.close();
    assertEquals(1, r.exit, r.log);
    assertTrue(
        r.log.contains(
            "msg=\"cannot delete\" kind=Secret namespace=registry-policy"
                + " name=registry-policy-node-credentials what=\"node credentials bundle\""),
        r.log);
    assertTrue(r.log.contains("error=\"HTTP 403 Forbidden: injected failure"), r.log);
    assertEquals(4, count(r.log, "msg=left "), r.log);
    assertTrue(
        r.log.contains(
            "msg=left kind=Secret namespace=registry-policy name=registry-policy-webhook-tls"),
        r.log);
    assertTrue(
        r.log.contains(
            "msg=left kind=ConfigMap namespace=registry-policy name=registry-policy-status"),
        r.log);
    assertTrue(r.log.contains("msg=\"uninstall incomplete\""), r.log);
    assertTrue(r.log.contains("left=4"), r.log);
    // What came before it is done; what follows it is not touched.
    assertNull(fake.get("secrets", "team", "corp-pull"));
    assertNotNull(fake.get("secrets", NS, WebhookSettings.DEFAULT_SECRET));
    assertNotNull(fake.get("configmaps", NS, Reconciler.STATUS_CONFIGMAP));

    Result again = uninstall();
    assertEquals(0, again.exit, again.log);
    assertTrue(
        again.log.contains(
            "secrets_deleted=2 configmaps_deleted=1 report_leases_deleted=1 writes=4"),
        again.log);
    assertNull(fake.get("secrets", NS, Desired.BUNDLE_SECRET));
  }

  @Test
  void aServiceAccountChangedMeanwhile_isPlannedAgainFromAFreshRead() throws Exception {
    fake.resetCounters();
    // Just before the patch of team/default arrives, someone else appends an entry: the patch's
    // resourceVersion test fails (422), the round ends, and the next read plans it again.
    fake.onNextRequest(
        q ->
            "PATCH".equals(q.method())
                && "serviceaccounts".equals(q.resource())
                && "default".equals(q.name()),
        q ->
            fake.mutate(
                "serviceaccounts",
                "team",
                "default",
                sa -> sa.getAsJsonArray("imagePullSecrets").add(ref("late"))));
    Result r = uninstall();
    assertEquals(0, r.exit, r.log);
    assertTrue(r.log.contains("changed since it was read"), r.log);
    assertEquals(List.of("foreign-a", "foreign-b", "late"), entries("team", "default"));
  }

  @Test
  void aRunningController_isRefused_andNothingIsWritten() throws Exception {
    startController();
    await(
        () -> {
          JsonObject l = fake.get("leases", NS, Controller.LEASE_NAME);
          return l != null
              && Instant.parse(l.getAsJsonObject("spec").get("renewTime").getAsString())
                  .isAfter(Instant.now().minusSeconds(5));
        },
        "the running controller renews its Lease");
    fake.resetCounters();
    Result r = uninstall();
    assertEquals(1, r.exit, r.log);
    assertTrue(r.log.contains("a controller still runs; nothing was changed"), r.log);
    assertTrue(r.log.contains("delete deployment registry-policy-controller"), r.log);
    // The running controller may write (its Lease, Events); uninstall's deletes and patches none.
    List<String> writes =
        fake.requests().stream()
            .filter(
                q ->
                    "DELETE".equals(q.method())
                        || ("PATCH".equals(q.method()) && "serviceaccounts".equals(q.resource())))
            .map(Request::toString)
            .collect(Collectors.toList());
    assertEquals(List.of(), writes);
    assertNotNull(fake.get("secrets", "team", "corp-pull"));
  }

  @Test
  void usageErrors_andHelp() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    Map<String, String> env = Map.of("KUBECONFIG", kubeconfig.toString());
    assertEquals(2, ControllerMain.run(new String[] {"uninstall", "--force"}, o, e, env, null));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown flag --force"));
    assertEquals(0, ControllerMain.run(new String[] {"uninstall", "--help"}, o, e, env, null));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("--dry-run"));
    assertEquals(
        2,
        ControllerMain.run(
            new String[] {"uninstall"},
            o,
            e,
            Map.of("KUBECONFIG", tmp.resolve("missing").toString()),
            null));
    out.reset();
    assertEquals(0, ControllerMain.run(new String[] {"--help"}, o, e, env, null));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("uninstall [--dry-run]"));
  }

  // ---- the manifests' RBAC -------------------------------------------------------------------

  /**
   * Every call is granted to the controller's ServiceAccount by controller.yaml's ClusterRole and
   * Role plus uninstall-controller.yaml's Role (the Job runs with that ServiceAccount).
   */
  @SuppressWarnings("unchecked")
  static void assertGrantedByTheManifests(List<Request> requests) throws Exception {
    List<RunAdmissionEndToEndTest.Rbac> rules =
        RunAdmissionEndToEndTest.Rbac.fromManifests("controller.yaml", "uninstall-controller.yaml");
    List<String> denied = new ArrayList<>();
    for (Request q : requests) {
      if (q.resource() != null && rules.stream().noneMatch(rule -> rule.allows(q))) {
        denied.add(q.toString());
      }
    }
    assertEquals(List.of(), denied, "calls the manifests do not grant");
    assertTrue(
        requests.stream()
            .anyMatch(q -> "DELETE".equals(q.method()) && "configmaps".equals(q.resource())),
        "the status ConfigMap's delete was among them");
  }

  // ---- running the commands ------------------------------------------------------------------

  record Result(int exit, String log) {}

  Result uninstall(String... flags) {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream p = new PrintStream(buf, true, StandardCharsets.UTF_8);
    String[] args = new String[flags.length + 1];
    args[0] = "uninstall";
    System.arraycopy(flags, 0, args, 1, flags.length);
    int exit = ControllerMain.run(args, p, p, Map.of("KUBECONFIG", kubeconfig.toString()), null);
    return new Result(exit, buf.toString(StandardCharsets.UTF_8));
  }

  void startController() throws Exception {
    PrintStream p = new PrintStream(runLog, true, StandardCharsets.UTF_8);
    String[] args = {
      "run",
      "--listen",
      "127.0.0.1:" + freePort(),
      "--resync",
      "1s",
      "--admission-enforcement",
      "both",
      "--webhook",
      "--webhook-port",
      String.valueOf(freePort())
    };
    Map<String, String> env =
        Map.of(
            "KUBECONFIG", kubeconfig.toString(), "POD_NAME", "controller-0", "POD_NAMESPACE", NS);
    CountDownLatch latch = new CountDownLatch(1);
    stopLatch = latch;
    running = new Thread(() -> runExit.set(ControllerMain.run(args, p, p, env, latch)));
    running.start();
  }

  void stopController() throws InterruptedException {
    stopLatch.countDown();
    if (running != null) {
      running.join(30_000);
      assertFalse(running.isAlive(), "the controller stopped");
      running = null;
    }
  }

  /** As after the controller's pods are gone: its Lease was last renewed an hour ago. */
  void expireLease() {
    fake.mutate(
        "leases",
        NS,
        Controller.LEASE_NAME,
        l ->
            l.getAsJsonObject("spec")
                .addProperty(
                    "renewTime",
                    Instant.now()
                        .minus(1, ChronoUnit.HOURS)
                        .truncatedTo(ChronoUnit.MICROS)
                        .toString()));
  }

  void await(BooleanSupplier c, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!c.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        String s = runLog.toString(StandardCharsets.UTF_8);
        throw new AssertionError(
            "timed out waiting for "
                + what
                + ":\n"
                + (s.length() > 6000 ? s.substring(s.length() - 6000) : s));
      }
      Thread.sleep(25);
    }
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static int count(String log, String needle) {
    int n = 0;
    for (String line : log.split("\n")) {
      if (line.contains(needle)) {
        n++;
      }
    }
    return n;
  }

  // ---- cluster state -------------------------------------------------------------------------

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static JsonObject object(
      String apiVersion,
      String kind,
      String ns,
      String name,
      Map<String, String> labels,
      JsonObject data) {
    JsonObject o = new JsonObject();
    o.addProperty("apiVersion", apiVersion);
    o.addProperty("kind", kind);
    JsonObject m = new JsonObject();
    m.addProperty("name", name);
    if (ns != null) {
      m.addProperty("namespace", ns);
    }
    if (labels != null) {
      JsonObject l = new JsonObject();
      labels.forEach(l::addProperty);
      m.add("labels", l);
    }
    o.add("metadata", m);
    if (data != null) {
      o.add("data", data);
    }
    if ("Secret".equals(kind)) {
      o.addProperty("type", "kubernetes.io/dockerconfigjson");
    }
    return o;
  }

  void namespace(String name, Map<String, String> labels) {
    fake.create(object("v1", "Namespace", null, name, labels, null));
  }

  static JsonObject pullSecret(String ns, String name) {
    JsonObject data = new JsonObject();
    data.addProperty(".dockerconfigjson", b64("{\"auths\":{\"theirs.example\":{}}}"));
    return object("v1", "Secret", ns, name, null, data);
  }

  static JsonObject ref(String name) {
    JsonObject r = new JsonObject();
    r.addProperty("name", name);
    return r;
  }

  static JsonObject serviceAccount(
      String ns, String name, Map<String, String> annotations, String... entries) {
    JsonObject sa = object("v1", "ServiceAccount", ns, name, null, null);
    if (!annotations.isEmpty()) {
      JsonObject a = new JsonObject();
      annotations.forEach(a::addProperty);
      sa.getAsJsonObject("metadata").add("annotations", a);
    }
    JsonArray list = new JsonArray();
    for (String e : entries) {
      list.add(ref(e));
    }
    sa.add("imagePullSecrets", list);
    return sa;
  }

  List<String> entries(String ns, String sa) {
    JsonObject o = fake.get("serviceaccounts", ns, sa);
    List<String> out = new ArrayList<>();
    if (o != null && o.has("imagePullSecrets")) {
      o.getAsJsonArray("imagePullSecrets")
          .forEach(e -> out.add(e.getAsJsonObject().get("name").getAsString()));
    }
    return out;
  }

  static boolean labelled(JsonObject o) {
    JsonObject m = o.getAsJsonObject("metadata");
    return m.has("labels")
        && Labels.MANAGED_BY.equals(
            m.getAsJsonObject("labels").has(Labels.MANAGED_BY_LABEL)
                ? m.getAsJsonObject("labels").get(Labels.MANAGED_BY_LABEL).getAsString()
                : null);
  }

  static String key(JsonObject o) {
    JsonObject m = o.getAsJsonObject("metadata");
    return (m.has("namespace") ? m.get("namespace").getAsString() + "/" : "")
        + m.get("name").getAsString();
  }

  List<String> ours(String resource) {
    return fake.list(resource, null).stream()
        .filter(UninstallTest::labelled)
        .map(UninstallTest::key)
        .collect(Collectors.toList());
  }

  /** resourceVersion of every object without the label (and the ServiceAccounts not granted). */
  Map<String, String> foreignVersions() {
    Map<String, String> out = new TreeMap<>();
    for (String r : List.of("secrets", "configmaps", "namespaces")) {
      for (JsonObject o : fake.list(r, null)) {
        if (!labelled(o) || key(o).equals(NS + "/notes")) {
          out.put(
              r + " " + key(o), o.getAsJsonObject("metadata").get("resourceVersion").getAsString());
        }
      }
    }
    for (String r : ADMISSION) {
      for (JsonObject o : fake.list(r, null)) {
        if (!labelled(o)) {
          out.put(
              r + " " + key(o), o.getAsJsonObject("metadata").get("resourceVersion").getAsString());
        }
      }
    }
    assertTrue(out.containsKey("secrets clash/corp-pull"), out.toString());
    assertTrue(out.containsKey("secrets other/corp-pull"), out.toString());
    assertTrue(out.containsKey("secrets " + NS + "/corp-source"), out.toString());
    assertTrue(out.containsKey("configmaps " + NS + "/" + Policy.CONFIGMAP_NAME), out.toString());
    assertTrue(
        out.containsKey("validatingadmissionpolicies registry-policy-audit"), out.toString());
    assertTrue(out.containsKey("mutatingwebhookconfigurations registry-policy"), out.toString());
    return out;
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
}
