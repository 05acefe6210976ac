package dev.registrypolicy.controller;

import static dev.registrypolicy.controller.webhook.WebhookTesting.client;
import static dev.registrypolicy.controller.webhook.WebhookTesting.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.agent.lab.FreePorts;
import dev.registrypolicy.agent.lab.LabEnvironment;
import dev.registrypolicy.agent.lab.Pki;
import dev.registrypolicy.agent.lab.RegistryLab;
import dev.registrypolicy.controller.imagemeta.HangingRegistry;
import dev.registrypolicy.controller.imagemeta.LabImages;
import dev.registrypolicy.controller.imagemeta.MetadataSettings;
import dev.registrypolicy.controller.imagemeta.Platform;
import dev.registrypolicy.controller.imagemeta.RegistryMetadata;
import dev.registrypolicy.controller.imagemeta.SecretBytes;
import dev.registrypolicy.controller.webhook.ImageContentMetrics;
import dev.registrypolicy.controller.webhook.MemorySecretStore;
import dev.registrypolicy.controller.webhook.MetadataSources;
import dev.registrypolicy.controller.webhook.WebhookCertificates;
import dev.registrypolicy.controller.webhook.WebhookRuntime;
import dev.registrypolicy.controller.webhook.WebhookServer;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 8's last test sentence on the real registries: the webhook's verdicts on the lab images
 * agree with the offline {@code check}. The images (root, non-root with labels, over a size limit,
 * an OCI index and a Docker manifest list whose platforms run as different users, an arm64-only
 * image, a missing tag, an image on an endpoint that accepts and never answers) are built and
 * pushed here to docker-registry with TLS from a lab CA and bcrypt htpasswd (and read through its
 * token-auth twin too). The policy names the lab CA and the credentials as Secret references.
 *
 * <p>(a) The webhook as the controller runs it: {@link WebhookRuntime} with {@link
 * WebhookServer#start} on a port of its own over HTTPS, its TLS material from a Secret (the {@code
 * --webhook-certificates secret} path), and {@code MetadataSources} built as Controller.java builds
 * them ({@code policy -> registries.forPolicy(policy, secretsOfThePolicy Namespace)}). (b) {@code
 * check --registry-access} through the command line entry point with its real registry client
 * ({@code CheckCommand.sources} null), reading the same Secrets from the objects file as {@code
 * kubectl get secrets -n registry-policy -o yaml} prints them. (c) Each Pod (one container each)
 * gets the same verdict and message from both, and the expected one.
 */
class ImageContentLabTest {
  static final String NS = Policy.NAMESPACE;

  /** The webhook's budget and check's per-object timeout: equal, so both give up alike. */
  static final int BUDGET_MS = 2000;

  static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  static Path work;
  static RegistryLab lab;
  static HangingRegistry hanging;
  static String hangHost;
  static MetadataSources checkSourcesBefore;

  /** Secret name → key → bytes: what the objects file and the webhook's Secrets cache hold. */
  static final Map<String, Map<String, byte[]>> secrets = new TreeMap<>();

  static final List<Case> cases = new ArrayList<>();

  /** A Pod with one container {@code c} running {@code image}, and what admission should say. */
  record Case(
      String namespace,
      String name,
      String image,
      boolean runAsNonRoot,
      String verdict,
      String rule,
      Pattern message,
      Map<String, Object> custom) {
    Case(
        String namespace,
        String name,
        String image,
        boolean runAsNonRoot,
        String verdict,
        String rule,
        Pattern message) {
      this(namespace, name, image, runAsNonRoot, verdict, rule, message, null);
    }

    String key() {
      return namespace + "/" + name;
    }

    /** The object reviewed and checked: {@link #custom}, or the one-container Pod. */
    Map<String, Object> object() {
      return custom != null ? custom : pod();
    }

    Map<String, Object> pod() {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("name", "c");
      c.put("image", image);
      Map<String, Object> spec = new LinkedHashMap<>();
      if (runAsNonRoot) {
        spec.put("securityContext", Map.of("runAsNonRoot", true));
      }
      spec.put("containers", List.of(c));
      Map<String, Object> pod = new LinkedHashMap<>();
      pod.put("apiVersion", "v1");
      pod.put("kind", "Pod");
      pod.put("metadata", new LinkedHashMap<>(Map.of("name", name, "namespace", namespace)));
      pod.put("spec", spec);
      return pod;
    }
  }

  /** What one side said about one Pod: verdict (allow, audit, warn, deny) and message. */
  record Said(String verdict, String message) {}

  @BeforeAll
  static void start() throws Exception {
    LabEnvironment env = LabEnvironment.detect();
    assumeTrue(
        env.dockerRegistry().isPresent() && env.htpasswd().isPresent() && env.openssl().isPresent(),
        "docker-registry, htpasswd and openssl are needed (Debian packages docker-registry,"
            + " apache2-utils, openssl; .ci/install-daemons.sh installs them)");
    work = Files.createTempDirectory("rp-content-lab-");
    Pki pki = Pki.create(work.resolve("pki"));
    lab = RegistryLab.startWithTokenAuth(work.resolve("registry"), pki);
    LabImages push = new LabImages(lab.url(), pki.clientSslContext(), lab.basicAuthorization());

    LabImages.Pushed rootPushed = push.pushBasics().root();
    // an OCI index whose amd64 image runs as 1000 and whose arm64 image runs as root
    LabImages.Pushed multiAmd64 =
        push.pushImage(
            "team/multi",
            "amd64",
            false,
            LabImages.config("linux", "amd64", null, "1000", null),
            List.of(100),
            4);
    LabImages.Pushed multiArm64 =
        push.pushImage(
            "team/multi",
            "arm64",
            false,
            LabImages.config("linux", "arm64", "v8", "0", null),
            List.of(200),
            5);
    push.pushIndex(
        "team/multi",
        "1",
        false,
        List.of(Map.entry(multiArm64, "linux/arm64/v8"), Map.entry(multiAmd64, "linux/amd64")));
    // a Docker manifest list the other way round: amd64 runs as root, arm64 as 1000
    LabImages.Pushed rootAmd64 =
        push.pushImage(
            "team/multiroot",
            "amd64",
            true,
            LabImages.config("linux", "amd64", null, "0", null),
            List.of(100),
            6);
    LabImages.Pushed rootArm64 =
        push.pushImage(
            "team/multiroot",
            "arm64",
            true,
            LabImages.config("linux", "arm64", "v8", "1000", null),
            List.of(200),
            7);
    push.pushIndex(
        "team/multiroot",
        "1",
        true,
        List.of(Map.entry(rootArm64, "linux/arm64/v8"), Map.entry(rootAmd64, "linux/amd64")));
    push.pushImage(
        "team/arm",
        "1",
        false,
        LabImages.config("linux", "arm64", "v8", "1000", null),
        List.of(300),
        8);

    hanging = HangingRegistry.start();
    hangHost = hanging.host();

    secrets.put("lab-ca", Map.of("ca.crt", pki.caPem()));
    secrets.put(
        "lab-basic",
        Map.of(
            "username", RegistryLab.USER.getBytes(StandardCharsets.UTF_8),
            "password", RegistryLab.PASSWORD.getBytes(StandardCharsets.UTF_8)));

    String h = lab.hostPort();
    String root = h + "/team/root:1";
    String missing = h + "/team/root:nope";
    String hang = hangHost + "/team/app:1";
    // apps: known, no-root, size, platforms (Audit); the first broken rule is reported
    add("apps", "root", root, false, "deny", "no-root", root, "runs as root (config user \"\")");
    add("apps", "root-nonroot-pod", root, true, "allow", null, null, null);
    add("apps", "nonroot", h + "/team/nonroot:1", false, "allow", null, null, null);
    add(
        "apps",
        "nonroot-token",
        lab.tokenRegistryHostPort() + "/team/nonroot:1",
        false,
        "allow",
        null,
        null,
        null);
    String big = h + "/team/big:1";
    add(
        "apps",
        "big",
        big,
        false,
        "deny",
        "size",
        big,
        "is 4.0 MiB (4194304 bytes of layers), over the maxSize of 2.0 MiB (2097152 bytes)");
    add("apps", "multi", h + "/team/multi:1", false, "allow", null, null, null);
    String multiRoot = h + "/team/multiroot:1";
    add(
        "apps",
        "multiroot",
        multiRoot,
        false,
        "deny",
        "no-root",
        multiRoot,
        "runs as root (config user \"0\")");
    String arm = h + "/team/arm:1";
    add(
        "apps",
        "arm",
        arm,
        false,
        "audit",
        "platforms",
        arm,
        "is for platform \"linux/arm64/v8\", not one of the allowed platforms linux/amd64");
    add(
        "apps",
        "missing",
        missing,
        false,
        "deny",
        "known",
        missing,
        "is not in its registry (tag \"nope\" not found)");
    cases.add(
        new Case(
            "apps",
            "hang",
            hang,
            false,
            "deny",
            "known",
            Pattern.compile(
                Pattern.quote(
                        "container \"c\": image \"" + hang + "\" could not be checked (timeout: ")
                    + ".*"
                    + Pattern.quote("; onError Deny) (rule known)"))));
    cases.add(
        new Case(
            "apps",
            "outside",
            "evil.example/x:1",
            false,
            "deny",
            "allowedSources",
            Pattern.compile(
                Pattern.quote("container \"c\": image \"evil.example/x:1\" is not from an allowed")
                    + ".*")));
    // by digest: the same image; an unknown digest is requireKnownDigest's finding
    String byDigest = h + "/team/root@" + rootPushed.digest();
    add(
        "apps",
        "root-digest",
        byDigest,
        false,
        "deny",
        "no-root",
        byDigest,
        "runs as root (config user \"\")");
    String unknown = h + "/team/root@sha256:" + "0".repeat(64);
    add(
        "apps",
        "unknown-digest",
        unknown,
        false,
        "deny",
        "known",
        unknown,
        "is not in its registry (digest \"sha256:" + "0".repeat(64) + "\" not found)");
    // a registry reached only through its mirror (upstream: Never), with containerd's ?ns=
    add(
        "apps",
        "mirrored-root",
        "upstream.invalid/team/root:1",
        false,
        "deny",
        "no-root",
        "upstream.invalid/team/root:1",
        "runs as root (config user \"\")");
    add(
        "apps",
        "mirrored-nonroot",
        "upstream.invalid/team/nonroot:1",
        false,
        "allow",
        null,
        null,
        null);
    // lenient: root denied, but what cannot be had is allowed (onError Allow)
    add(
        "lenient",
        "root",
        root,
        false,
        "deny",
        "lenient-root",
        root,
        "runs as root (config user \"\")");
    add("lenient", "missing", missing, false, "allow", null, null, null);
    add("lenient", "hang", hang, false, "allow", null, null, null);
    // labelled: a Warn rule; "not found" is an error to it (no requireKnownDigest), onError Deny
    add("labelled", "nonroot", h + "/team/nonroot:1", false, "allow", null, null, null);
    add(
        "labelled",
        "root",
        root,
        false,
        "warn",
        "labels",
        root,
        "lacks the required label \"org.example.team\"");
    cases.add(
        new Case(
            "labelled",
            "missing",
            missing,
            false,
            "warn",
            "labels",
            Pattern.compile(
                Pattern.quote(
                        "container \"c\": image \""
                            + missing
                            + "\" could not be checked (not found: ")
                    + ".*"
                    + Pattern.quote("; onError Deny) (rule labels)"))));
    checkSourcesBefore = CheckCommand.sources;
  }

  static void add(
      String ns,
      String name,
      String image,
      boolean runAsNonRoot,
      String verdict,
      String rule,
      String shown,
      String finding) {
    cases.add(expect(ns, name, image, runAsNonRoot, verdict, rule, shown, finding));
  }

  static Case expect(
      String ns,
      String name,
      String image,
      boolean runAsNonRoot,
      String verdict,
      String rule,
      String shown,
      String finding) {
    Pattern p =
        finding == null
            ? null
            : Pattern.compile(
                Pattern.quote(
                    "container \"c\": image \""
                        + shown
                        + "\" "
                        + finding
                        + " (rule "
                        + rule
                        + ")"));
    return new Case(ns, name, image, runAsNonRoot, verdict, rule, p);
  }

  @AfterAll
  static void stop() throws IOException {
    CheckCommand.sources = checkSourcesBefore;
    if (hanging != null) {
      hanging.close();
    }
    if (lab != null) {
      lab.close();
    }
    if (work != null) {
      try (java.util.stream.Stream<Path> files = Files.walk(work)) {
        for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(f);
        }
      }
    }
  }

  static String policy() {
    String h = lab.hostPort();
    String t = lab.tokenRegistryHostPort();
    return String.join(
        "\n",
        "apiVersion: registry-policy.dev/v1alpha1",
        "kind: RegistryPolicy",
        "credentials:",
        "  - name: lab",
        "    secret: lab-basic",
        "registries:",
        "  - host: " + h,
        "    ca: {secret: lab-ca}",
        "    credentials: lab",
        "  - host: " + t,
        "    ca: {secret: lab-ca}",
        "    credentials: lab",
        "  - host: " + hangHost,
        "  - host: upstream.invalid",
        "    upstream: Never",
        "    mirrors:",
        "      - url: " + lab.url(),
        "        ca: {secret: lab-ca}",
        "        credentials: lab",
        "admission:",
        "  allowedSources:",
        "    - prefix: " + h,
        "    - prefix: " + t,
        "    - prefix: " + hangHost,
        "    - prefix: upstream.invalid",
        "  rules:",
        "    - {name: known, namespaces: {names: [apps]}, imageMetadata: {requireKnownDigest: true}}",
        "    - {name: no-root, namespaces: {names: [apps]}, imageMetadata: {denyRunAsRoot: true}}",
        "    - {name: size, namespaces: {names: [apps]}, imageMetadata: {maxSize: 2Mi}}",
        "    - name: platforms",
        "      mode: Audit",
        "      namespaces: {names: [apps]}",
        "      imageMetadata: {allowedPlatforms: [linux/amd64]}",
        "    - name: lenient-root",
        "      namespaces: {names: [lenient]}",
        "      imageMetadata: {denyRunAsRoot: true, onError: Allow}",
        "    - name: labels",
        "      mode: Warn",
        "      namespaces: {names: [labelled]}",
        "      imageMetadata:",
        "        requiredLabels:",
        "          - {key: org.example.team, value: 'w*'}",
        "          - {key: tier}",
        "");
  }

  /** The objects file: namespaces, the Pods, and the policy namespace's Secrets (base64 data). */
  static String objects(List<Case> cs) {
    List<Object> items = new ArrayList<>();
    for (String n : List.of("apps", "lenient", "labelled")) {
      items.add(Map.of("apiVersion", "v1", "kind", "Namespace", "metadata", Map.of("name", n)));
    }
    for (Case c : cs) {
      items.add(c.object());
    }
    for (Map.Entry<String, Map<String, byte[]>> s : secrets.entrySet()) {
      Map<String, Object> data = new TreeMap<>();
      s.getValue().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v)));
      Map<String, Object> secret = new LinkedHashMap<>();
      secret.put("apiVersion", "v1");
      secret.put("kind", "Secret");
      secret.put("metadata", Map.of("name", s.getKey(), "namespace", NS));
      secret.put("type", "Opaque");
      secret.put("data", data);
      items.add(secret);
    }
    Map<String, Object> list = new LinkedHashMap<>();
    list.put("apiVersion", "v1");
    list.put("kind", "List");
    list.put("items", items);
    return String.join("\n", yaml(list)) + "\n";
  }

  /** Block-style YAML as kubectl prints it; scalars as JSON strings (valid YAML), maps sorted. */
  static List<String> yaml(Object v) {
    List<String> out = new ArrayList<>();
    if (v instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e :
          (m instanceof LinkedHashMap<?, ?> ? m : new TreeMap<>(m)).entrySet()) {
        String k = String.valueOf(e.getKey());
        if (isBlock(e.getValue())) {
          out.add(k + ":");
          yaml(e.getValue()).forEach(l -> out.add("  " + l));
        } else {
          out.add(k + ": " + scalar(e.getValue()));
        }
      }
    } else if (v instanceof List<?> l) {
      for (Object item : l) {
        List<String> lines = isBlock(item) ? yaml(item) : List.of(scalar(item));
        for (int i = 0; i < lines.size(); i++) {
          out.add((i == 0 ? "- " : "  ") + lines.get(i));
        }
      }
    } else {
      out.add(scalar(v));
    }
    return out;
  }

  static boolean isBlock(Object v) {
    return (v instanceof Map<?, ?> m && !m.isEmpty()) || (v instanceof List<?> l && !l.isEmpty());
  }

  static String scalar(Object v) {
    if (v instanceof Map<?, ?>) {
      return "{}";
    }
    if (v instanceof List<?>) {
      return "[]";
    }
    return v instanceof String s ? GSON.toJson(s) : String.valueOf(v);
  }

  /** What the webhook and check said about a list of Pods. */
  record Run(
      Map<String, Said> webhook,
      Map<String, Said> contentOnly,
      Map<String, Said> check,
      Map<String, String> checkRule,
      Map<String, Map<String, Said>> checkContainers,
      Map<String, Long> hangMillis,
      String everything,
      PrometheusRegistry metrics) {}

  /**
   * (a) the webhook and (b) check on {@code cs}, both reading images for {@code platform} (null:
   * the default, linux/amd64).
   */
  static Run both(List<Case> cs, String platform) throws Exception {
    String policyText = policy();
    Policy policy = PolicyDocument.parse(policyText);
    Map<String, Said> webhook = new TreeMap<>();
    Map<String, Said> contentOnly = new TreeMap<>();
    Map<String, Long> hangMillis = new TreeMap<>();
    List<String> bodies = new ArrayList<>();
    PrometheusRegistry metricsRegistry = new PrometheusRegistry();

    // (a) the webhook, wired as Controller.java wires it
    int port = FreePorts.allocate(1)[0];
    WebhookSettings ws =
        WebhookSettings.parse(
                Map.of(
                    WebhookSettings.FLAG_ENABLED,
                    "true",
                    WebhookSettings.FLAG_PORT,
                    Integer.toString(port),
                    WebhookSettings.FLAG_CERTIFICATES,
                    "secret",
                    WebhookSettings.FLAG_METADATA_BUDGET,
                    Integer.toString(BUDGET_MS)),
                NS)
            .settings();
    assertNotNull(ws);
    // the policy namespace's Secrets as the controller's informer holds them
    SecretBytes policySecrets =
        SecretBytes.fromSecretData(name -> Optional.ofNullable(secrets.get(name)));
    MetadataSettings metadataSettings =
        platform == null
            ? MetadataSettings.defaults()
            : MetadataSettings.defaults().withPlatform(Platform.parse(platform));
    try (RegistryMetadata registries = new RegistryMetadata(metadataSettings);
        WebhookRuntime rt =
            new WebhookRuntime(
                ws,
                new MemorySecretStore(),
                name -> Optional.of(NamespaceInfo.named(name)),
                WebhookServer::start,
                p -> registries.forPolicy(p, policySecrets),
                new ImageContentMetrics(metricsRegistry))) {
      rt.policy(policy);
      // the serving certificate from its Secret, as cert-manager would have issued it
      MemorySecretStore issued = new MemorySecretStore();
      WebhookCertificates.ensure(issued, List.of("localhost"), Instant.now());
      rt.secretObserved(issued.read().orElseThrow().data());
      assertNull(rt.waiting(), rt.waiting());
      HttpClient client = client(rt.tls().caCertificates());
      int uid = 0;
      for (Case c : cs) {
        for (String path :
            List.of(WebhookServer.VALIDATE_PATH, WebhookServer.VALIDATE_CONTENT_PATH)) {
          long t0 = System.nanoTime();
          HttpResponse<String> r = post(client, rt.port(), path, review("u" + uid++, c));
          long ms = (System.nanoTime() - t0) / 1_000_000;
          assertEquals(200, r.statusCode(), c.key() + " " + path + ": " + r.body());
          bodies.add(r.body());
          Said s = said(r.body());
          (path.equals(WebhookServer.VALIDATE_PATH) ? webhook : contentOnly).put(c.key(), s);
          if (c.name().equals("hang")) {
            hangMillis.put(c.key() + path, ms);
          }
        }
      }
    }

    // (b) check --registry-access with its own real registry client
    Path dir = Files.createTempDirectory(work, "check-");
    Path policyFile = Files.writeString(dir.resolve("policy.yaml"), policyText);
    String objectsText = objects(cs);
    Path objectsFile = Files.writeString(dir.resolve("objects.yaml"), objectsText);
    assertTrue(objectsText.contains("kind: \"Secret\""), objectsText);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CheckCommand.sources = null; // the real path: RegistryMetadata with the file's Secrets
    List<String> args =
        new ArrayList<>(
            List.of(
                "check",
                "--policy",
                policyFile.toString(),
                "--objects",
                objectsFile.toString(),
                "--registry-access",
                "--registry-timeout",
                Integer.toString(BUDGET_MS / 1000),
                "-o",
                "json"));
    if (platform != null) {
      args.addAll(List.of("--image-platform", platform));
    }
    int exit =
        ControllerMain.run(
            args.toArray(new String[0]),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    String stdout = out.toString(StandardCharsets.UTF_8);
    String stderr = err.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, stderr);
    Map<String, Said> check = new TreeMap<>();
    Map<String, String> checkRule = new TreeMap<>();
    Map<String, Map<String, Said>> checkContainers = new TreeMap<>();
    for (JsonElement e : JsonParser.parseString(stdout).getAsJsonArray()) {
      JsonObject o = e.getAsJsonObject();
      String key = o.get("namespace").getAsString() + "/" + o.get("name").getAsString();
      String verdict = o.get("verdict").getAsString();
      Said said =
          new Said(verdict, verdict.equals("allow") ? null : o.get("message").getAsString());
      checkContainers
          .computeIfAbsent(key, k -> new TreeMap<>())
          .put(o.get("container").getAsString(), said);
      check.put(key, said);
      checkRule.put(key, o.get("rule").isJsonNull() ? null : o.get("rule").getAsString());
    }
    assertEquals(cs.size(), checkContainers.size(), stdout);
    for (Case c : cs) {
      System.out.println(
          "lab-agreement "
              + (platform == null ? "" : platform + " ")
              + c.key()
              + " webhook="
              + webhook.get(c.key())
              + " check="
              + checkContainers.get(c.key()));
    }
    return new Run(
        webhook,
        contentOnly,
        check,
        checkRule,
        checkContainers,
        hangMillis,
        String.join("\n", bodies) + stdout + stderr,
        metricsRegistry);
  }

  /** (c) the same verdict and message per Pod from both, and the expected ones. */
  static void assertAgree(List<Case> cs, Run run) {
    List<String> wrong = new ArrayList<>();
    for (Case c : cs) {
      Said w = run.webhook().get(c.key());
      assertEquals(Set.of("c"), run.checkContainers().get(c.key()).keySet(), c.key());
      Said k = run.check().get(c.key());
      String report = c.key() + " (" + c.image() + "): webhook " + w + ", check " + k;
      if (w == null
          || k == null
          || !k.verdict().equals(c.verdict())
          || !w.verdict().equals(c.verdict())) {
        wrong.add("verdict expected " + c.verdict() + ": " + report);
        continue;
      }
      String rule = run.checkRule().get(c.key());
      if (!java.util.Objects.equals(c.rule(), rule)) {
        wrong.add("check's rule expected " + c.rule() + ", was " + rule + ": " + report);
      }
      if (c.message() != null) {
        if (!c.message().matcher(w.message()).matches()) {
          wrong.add("webhook message expected /" + c.message() + "/: " + report);
        }
        if (!c.message().matcher(k.message()).matches()) {
          wrong.add("check message expected /" + c.message() + "/: " + report);
        }
      }
      if (!comparable(w).equals(comparable(k))) {
        wrong.add("webhook and check differ: " + report);
      }
      // the content-only path: the same content verdicts; the rest is the policy objects' job
      Said co = run.contentOnly().get(c.key());
      Said expectedContent =
          c.rule() != null && c.rule().equals("allowedSources") ? new Said("allow", null) : w;
      if (!comparable(co).equals(comparable(expectedContent))) {
        wrong.add("/validate-image-content said " + co + ": " + report);
      }
    }
    assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    // no credential in any answer or output
    String basic = lab.basicAuthorization();
    assertFalse(run.everything().contains(RegistryLab.PASSWORD), "the password leaked");
    assertFalse(
        run.everything().contains(basic.substring(basic.indexOf(' ') + 1)),
        "Basic credentials leaked");
  }

  @Test
  void webhookAndCheckAgreeOnTheLabImages() throws Exception {
    Run run = both(cases, null);
    System.out.println("lab-agreement hang-ms " + run.hangMillis());
    assertAgree(cases, run);

    // a hanging registry is answered within the budget, however its rule's onError decides (a
    // later review of the same image may end sooner: it shares the fetch already running, which
    // fails on its own connect timeout)
    Map<String, Long> hangMillis = run.hangMillis();
    for (Map.Entry<String, Long> e : hangMillis.entrySet()) {
      assertTrue(
          e.getValue() < BUDGET_MS + 1500,
          e.getKey() + " answered after " + e.getValue() + " ms, budget " + BUDGET_MS + " ms");
    }
    long first = hangMillis.get("apps/hang" + WebhookServer.VALIDATE_PATH);
    assertTrue(
        first >= BUDGET_MS - 100, "the first review waited " + first + " ms, not its budget");
    assertEquals(4, hangMillis.size());
    // the webhook counted what it looked up
    assertTrue(lookups(run.metrics(), "timeout") >= 1, "timeouts counted");
    assertTrue(lookups(run.metrics(), "not_found") >= 1, "not found counted");
    assertTrue(lookups(run.metrics(), "ok") >= 8, "lookups counted");
    // the mirror-only registry was reached through its mirror only, naming it with ?ns=
    assertTrue(
        lab.accessLog().stream()
                .filter(
                    e ->
                        e.uri().equals("/v2/team/root/manifests/1?ns=upstream.invalid")
                            && e.status() == 200)
                .count()
            >= 2,
        lab.accessLog().toString());
    // the registry answered both clients: two cold fetches of the non-root image's manifest
    assertTrue(
        lab.accessLog().stream()
                .filter(e -> e.uri().equals("/v2/team/nonroot/manifests/1") && e.status() == 200)
                .count()
            >= 2,
        lab.accessLog().toString());
  }

  /**
   * A controller run with {@code --image-platform linux/arm64} (an arm64 cluster) reads each
   * index's arm64 image; check given the same platform agrees with it.
   */
  @Test
  void onAnArm64ClusterCheckAgreesWhenGivenThePlatform() throws Exception {
    String h = lab.hostPort();
    String multi = h + "/team/multi:1";
    String multiRoot = h + "/team/multiroot:1";
    List<Case> arm64 = new ArrayList<>();
    arm64.add(
        expect(
            "apps",
            "multi",
            multi,
            false,
            "deny",
            "no-root",
            multi,
            "runs as root (config user \"0\")"));
    arm64.add(
        expect(
            "apps",
            "multiroot",
            multiRoot,
            false,
            "audit",
            "platforms",
            multiRoot,
            "is for platform \"linux/arm64/v8\", not one of the allowed platforms linux/amd64"));
    arm64.add(expect("lenient", "multiroot", multiRoot, false, "allow", null, null, null));
    assertAgree(arm64, both(arm64, "linux/arm64"));
  }

  /**
   * Workloads with several containers: the webhook's one answer per object carries what check
   * prints per container (each denied container's message, "; "-joined; each warning).
   */
  @Test
  void severalContainersInOneWorkload() throws Exception {
    String h = lab.hostPort();
    Map<String, String> apps = new LinkedHashMap<>();
    apps.put("a", h + "/team/root:1");
    apps.put("b", h + "/team/big:1");
    apps.put("c", h + "/team/nonroot:1");
    Map<String, String> labelled = new LinkedHashMap<>();
    labelled.put("a", h + "/team/root:1");
    labelled.put("b", h + "/team/root:nope");
    labelled.put("c", h + "/team/nonroot:1");
    List<Case> cs =
        List.of(
            new Case(
                "apps",
                "web",
                null,
                false,
                "deny",
                null,
                null,
                deployment("apps", "web", apps, Map.of("i", h + "/team/root:nope"))),
            new Case(
                "labelled",
                "web",
                null,
                false,
                "warn",
                null,
                null,
                deployment("labelled", "web", labelled, Map.of())));
    Run run = both(cs, null);
    Map<String, Said> appsRows = run.checkContainers().get("apps/web");
    assertEquals(
        List.of("deny", "deny", "allow", "deny"),
        List.of(
            appsRows.get("a").verdict(),
            appsRows.get("b").verdict(),
            appsRows.get("c").verdict(),
            appsRows.get("i").verdict()),
        appsRows.toString());
    assertTrue(appsRows.get("i").message().startsWith("init container \"i\""), appsRows.toString());
    Said w = run.webhook().get("apps/web");
    assertEquals("deny", w.verdict());
    assertEquals(
        Set.of(
            appsRows.get("a").message(), appsRows.get("b").message(), appsRows.get("i").message()),
        Set.of(w.message().split("; (?=(init )?container \")")),
        w.message());
    Map<String, Said> labelledRows = run.checkContainers().get("labelled/web");
    assertEquals("allow", labelledRows.get("c").verdict(), labelledRows.toString());
    Said lw = run.webhook().get("labelled/web");
    assertEquals("warn", lw.verdict(), lw.toString());
    assertEquals(
        Set.of(labelledRows.get("a").message(), labelledRows.get("b").message()),
        Set.of(lw.message().split("\n")),
        lw.message());
    assertEquals("warn", labelledRows.get("a").verdict());
    assertEquals("warn", labelledRows.get("b").verdict());
    assertEquals(run.webhook().get("apps/web"), run.contentOnly().get("apps/web"));
  }

  static Map<String, Object> deployment(
      String ns, String name, Map<String, String> containers, Map<String, String> init) {
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put("containers", containerList(containers));
    if (!init.isEmpty()) {
      spec.put("initContainers", containerList(init));
    }
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("apiVersion", "apps/v1");
    d.put("kind", "Deployment");
    d.put("metadata", new LinkedHashMap<>(Map.of("name", name, "namespace", ns)));
    d.put(
        "spec",
        Map.of(
            "selector",
            Map.of("matchLabels", Map.of("app", name)),
            "template",
            Map.of("metadata", Map.of("labels", Map.of("app", name)), "spec", spec)));
    return d;
  }

  static List<Object> containerList(Map<String, String> containers) {
    List<Object> out = new ArrayList<>();
    containers.forEach((n, image) -> out.add(Map.of("name", n, "image", image)));
    return out;
  }

  /** A message with the timeout's reason (it names the deadline instant) left out. */
  static Said comparable(Said s) {
    if (s == null || s.message() == null) {
      return s;
    }
    return new Said(
        s.verdict(), s.message().replaceAll("\\(timeout: .*; onError", "(timeout: ...; onError"));
  }

  static double lookups(PrometheusRegistry r, String result) {
    double sum = 0;
    for (MetricSnapshot s : r.scrape()) {
      if (s instanceof CounterSnapshot c
          && c.getMetadata().getName().equals("registry_policy_image_metadata_lookups")) {
        for (CounterSnapshot.CounterDataPointSnapshot d : c.getDataPoints()) {
          if (result.equals(d.getLabels().get("result"))) {
            sum += d.getValue();
          }
        }
      }
    }
    return sum;
  }

  static String review(String uid, Case c) {
    Map<String, Object> req = new LinkedHashMap<>();
    req.put("uid", uid);
    Map<String, Object> object = c.object();
    String apiVersion = (String) object.get("apiVersion");
    String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
    String kind = (String) object.get("kind");
    req.put("kind", Map.of("group", group, "version", "v1", "kind", kind));
    req.put(
        "resource",
        Map.of("group", group, "version", "v1", "resource", kind.toLowerCase(Locale.ROOT) + "s"));
    req.put("namespace", c.namespace());
    req.put("name", c.name());
    req.put("operation", "CREATE");
    req.put("userInfo", Map.of("username", "lab"));
    req.put("object", object);
    req.put("dryRun", false);
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("apiVersion", "admission.k8s.io/v1");
    root.put("kind", "AdmissionReview");
    root.put("request", req);
    return GSON.toJson(root);
  }

  /** The AdmissionReview response as a verdict: refused, warned, audited or allowed. */
  static Said said(String body) {
    JsonObject r = JsonParser.parseString(body).getAsJsonObject().getAsJsonObject("response");
    if (!r.get("allowed").getAsBoolean()) {
      return new Said("deny", r.getAsJsonObject("status").get("message").getAsString());
    }
    if (r.has("warnings")) {
      List<String> w = new ArrayList<>();
      r.getAsJsonArray("warnings").forEach(e -> w.add(e.getAsString()));
      return new Said("warn", String.join("\n", w));
    }
    if (r.has("auditAnnotations")) {
      JsonObject a = r.getAsJsonObject("auditAnnotations");
      assertEquals(1, a.size(), body);
      return new Said("audit", a.entrySet().iterator().next().getValue().getAsString());
    }
    return new Said("allow", null);
  }
}
