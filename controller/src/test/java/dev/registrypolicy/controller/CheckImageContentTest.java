package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import dev.registrypolicy.controller.webhook.ContentReview;
import dev.registrypolicy.controller.webhook.FakeMetadataSource;
import dev.registrypolicy.controller.webhook.FakeMetadataSource.Answer;
import dev.registrypolicy.controller.webhook.ImageContentMetrics;
import dev.registrypolicy.controller.webhook.MetadataSources;
import dev.registrypolicy.controller.webhook.PolicySnapshot;
import dev.registrypolicy.controller.webhook.PolicySource;
import dev.registrypolicy.controller.webhook.ReviewHarness;
import dev.registrypolicy.controller.webhook.WebhookServer;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.Yaml;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check} and the image-content rules: named as not evaluated without registry access,
 * evaluated with {@code --registry-access}, and the same verdicts as the webhook's.
 */
class CheckImageContentTest {
  @TempDir Path tmp;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  static final String POLICY =
      String.join(
          "\n",
          "apiVersion: registry-policy.dev/v1alpha1",
          "kind: RegistryPolicy",
          "admission:",
          "  allowedSources: [{prefix: registry.corp.example}]",
          "  rules:",
          "    - {name: no-latest, mode: Warn, blockLatestTag: true}",
          "    - {name: no-root, imageMetadata: {denyRunAsRoot: true}}",
          "    - {name: size, mode: Warn, imageMetadata: {maxSize: 1Gi, onError: Allow}}",
          "    - name: labelled",
          "      mode: Audit",
          "      namespaces: {names: [shop]}",
          "      imageMetadata: {requiredLabels: [{key: team, value: 'shop-*'}],"
              + " allowedPlatforms: [linux/amd64]}",
          "    - {name: known, imageMetadata: {requireKnownDigest: true}}",
          "");

  static final String OBJECTS =
      String.join(
          "\n",
          "apiVersion: v1",
          "kind: List",
          "items:",
          "- {apiVersion: v1, kind: Namespace, metadata: {name: shop}}",
          "- {apiVersion: v1, kind: Namespace, metadata: {name: apps}}",
          "- apiVersion: v1",
          "  kind: Pod",
          "  metadata: {name: root, namespace: apps}",
          "  spec:",
          "    containers:",
          "    - {name: web, image: 'registry.corp.example/app:1'}",
          "    - {name: safe, image: 'registry.corp.example/app:1',"
              + " securityContext: {runAsUser: 1000}}",
          "    - {name: big, image: 'registry.corp.example/big:1'}",
          "- apiVersion: apps/v1",
          "  kind: Deployment",
          "  metadata: {name: shop, namespace: shop}",
          "  spec:",
          "    template:",
          "      spec:",
          "        securityContext: {runAsNonRoot: true}",
          "        containers:",
          "        - {name: a, image: 'registry.corp.example/app:1'}",
          "        - {name: b, image: 'registry.corp.example/user:1'}",
          "        - {name: c, image: 'registry.corp.example/arm:1'}",
          "        - {name: d, image: 'registry.corp.example/gone:1'}",
          "        - {name: e, image: 'registry.corp.example/hidden:1'}",
          "        - {name: f, image: 'registry.corp.example/latest'}",
          "        - {name: g, image: 'evil.example/x:1'}",
          "        initContainers:",
          "        - {name: slow, image: 'registry.corp.example/slow:1'}",
          "");

  static FakeMetadataSource source() {
    return new FakeMetadataSource()
        .put(
            "registry.corp.example/app:1",
            Answer.of(FakeMetadataSource.md("root", 10, Map.of("team", "shop-a"))))
        .put(
            "registry.corp.example/user:1",
            Answer.of(FakeMetadataSource.md("1000", 10, Map.of("team", "ops"))))
        .put(
            "registry.corp.example/big:1",
            Answer.of(FakeMetadataSource.md("1000", 2L << 30, Map.of())))
        .put(
            "registry.corp.example/arm:1",
            Answer.of(
                new dev.registrypolicy.admission.ImageMetadata(
                    "sha256:" + "e".repeat(64),
                    null,
                    "1000",
                    Map.of("team", "shop-b"),
                    "linux",
                    "arm64",
                    "v8",
                    10)))
        .put("registry.corp.example/hidden:1", Answer.failing(Kind.UNAUTHORIZED))
        .put(
            "registry.corp.example/latest:latest",
            Answer.of(FakeMetadataSource.md("1000", 10, Map.of("team", "shop-x"))))
        .put("registry.corp.example/slow:1", Answer.hanging());
  }

  @AfterEach
  void reset() {
    CheckCommand.sources = MetadataSources.UNAVAILABLE;
  }

  private int check(String... more) throws Exception {
    Path policy = Files.writeString(tmp.resolve("policy.yaml"), POLICY);
    Path obj = Files.writeString(tmp.resolve("objects.yaml"), OBJECTS);
    List<String> args =
        new ArrayList<>(
            List.of("check", "--policy", policy.toString(), "--objects", obj.toString()));
    args.addAll(List.of(more));
    return ControllerMain.run(
        args.toArray(new String[0]),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void withoutRegistryAccessTheRulesAreNamedAsNotEvaluated() throws Exception {
    assertEquals(0, check("-o", "json"));
    assertTrue(
        err()
            .contains(
                "check: note: image-content rules not evaluated (they read the image from its"
                    + " registry; run with --registry-access to evaluate them): no-root, size,"
                    + " labelled, known; 10 containers they apply to shown without them"),
        err());
    assertFalse(out.toString(StandardCharsets.UTF_8).contains("runs as root"));
  }

  @Test
  void usage() throws Exception {
    assertEquals(2, check("--registry-timeout", "5"));
    assertTrue(err().contains("--registry-timeout needs --registry-access"), err());
    err.reset();
    assertEquals(2, check("--registry-access", "--registry-timeout", "0"));
    assertTrue(err().contains("--registry-timeout must be whole seconds from 1 to 300"), err());
  }

  /** container name → {verdict, rule, message} from check's JSON. */
  static Map<String, List<String>> rows(String json) {
    Map<String, List<String>> out = new java.util.TreeMap<>();
    JsonArray a = JsonParser.parseString(json).getAsJsonArray();
    for (JsonElement e : a) {
      JsonObject o = e.getAsJsonObject();
      out.put(
          o.get("name").getAsString() + "/" + o.get("container").getAsString(),
          java.util.Arrays.asList(
              o.get("verdict").getAsString(),
              o.get("rule").isJsonNull() ? null : o.get("rule").getAsString(),
              o.get("message").getAsString()));
    }
    return out;
  }

  @Test
  void withRegistryAccessTheRulesAreEvaluated() throws Exception {
    FakeMetadataSource s = source();
    CheckCommand.sources = policy -> s;
    assertEquals(0, check("-o", "json", "--registry-access", "--registry-timeout", "1"));
    Map<String, List<String>> rows = rows(out.toString(StandardCharsets.UTF_8));
    assertEquals(
        List.of(
            "deny",
            "no-root",
            "container \"web\": image \"registry.corp.example/app:1\" runs as root (config user"
                + " \"root\") (rule no-root)"),
        rows.get("root/web"));
    assertEquals("allow", rows.get("root/safe").get(0));
    assertEquals(
        List.of(
            "warn",
            "size",
            "container \"big\": image \"registry.corp.example/big:1\" is 2.0 GiB (2147483648 bytes"
                + " of layers), over the maxSize of 1.0 GiB (1073741824 bytes) (rule size)"),
        rows.get("root/big"));
    assertEquals("allow", rows.get("shop/a").get(0), "runAsNonRoot on the Pod");
    assertEquals(
        List.of(
            "audit",
            "labelled",
            "container \"b\": image \"registry.corp.example/user:1\" has label \"team\" = \"ops\","
                + " which does not match \"shop-*\" (rule labelled)"),
        rows.get("shop/b"));
    assertEquals(
        "container \"c\": image \"registry.corp.example/arm:1\" is for platform"
            + " \"linux/arm64/v8\", not one of the allowed platforms linux/amd64 (rule labelled)",
        rows.get("shop/c").get(2));
    // no-root comes first among the rules that deny it: "not found" is an error to it (onError
    // Deny); to known it is the finding itself.
    assertEquals(
        List.of(
            "deny",
            "no-root",
            "container \"d\": image \"registry.corp.example/gone:1\" could not be checked (not"
                + " found: manifest registry.corp.example/gone:1 is not in the registry; onError"
                + " Deny) (rule no-root)"),
        rows.get("shop/d"));
    assertEquals("deny", rows.get("shop/e").get(0));
    assertTrue(rows.get("shop/e").get(2).contains("could not be checked (unauthorized:"));
    assertEquals("warn", rows.get("shop/f").get(0), "no-latest warns, content passes");
    assertEquals("deny", rows.get("shop/g").get(0));
    assertEquals("allowedSources", rows.get("shop/g").get(1));
    assertEquals(0, s.calls("evil.example/x:1"), "a refused image is never fetched");
    assertTrue(rows.get("shop/slow").get(2).contains("could not be checked (timeout:"));
    assertFalse(err().contains("image-content rules not evaluated"), err());
  }

  /**
   * The agreement: the same fake source and the same objects give check's rows and the webhook's
   * responses (over HTTPS) the same verdict and message per object.
   */
  @Test
  void checkAndWebhookAgree() throws Exception {
    FakeMetadataSource s = source();
    CheckCommand.sources = policy -> s;
    assertEquals(0, check("-o", "json", "--registry-access", "--registry-timeout", "1"));
    Map<String, List<String>> rows = rows(out.toString(StandardCharsets.UTF_8));

    Policy policy = PolicyDocument.parse(POLICY);
    PolicySource.Holder holder = new PolicySource.Holder();
    try (ContentReview review = new ContentReview(ImageContentMetrics.unregistered())) {
      holder.set(PolicySnapshot.of(policy, Policy.NAMESPACE, s, review));
      try (ReviewHarness h =
          ReviewHarness.start(
              holder, name -> Optional.of(NamespaceInfo.named(name)), Duration.ofSeconds(1))) {
        @SuppressWarnings("unchecked")
        List<Object> items =
            (List<Object>)
                ((Map<String, Object>) Yaml.loadOne(OBJECTS, "", new ArrayList<>())).get("items");
        int compared = 0;
        for (Object item : items) {
          @SuppressWarnings("unchecked")
          Map<String, Object> o = (Map<String, Object>) item;
          WorkloadKind k = WorkloadKind.ofKind((String) o.get("kind"));
          if (k == null) {
            continue;
          }
          @SuppressWarnings("unchecked")
          Map<String, Object> meta = (Map<String, Object>) o.get("metadata");
          String name = (String) meta.get("name");
          Map<String, Object> resp =
              h.create(
                  WebhookServer.VALIDATE_PATH,
                  k.group(),
                  k.kind(),
                  (String) meta.get("namespace"),
                  o);
          // The webhook's denial message: each denied container's first deny finding, "; "-joined.
          List<String> denied = new ArrayList<>();
          List<String> warned = new ArrayList<>();
          for (Map.Entry<String, List<String>> r : rows.entrySet()) {
            if (r.getKey().startsWith(name + "/")) {
              if (r.getValue().get(0).equals("deny")) {
                denied.add(r.getValue().get(2));
              } else if (r.getValue().get(0).equals("warn")) {
                warned.add(r.getValue().get(2));
              }
            }
          }
          Object status = resp.get("status");
          String message = status instanceof Map<?, ?> m ? (String) m.get("message") : null;
          assertEquals(denied.isEmpty(), resp.get("allowed"), name);
          if (!denied.isEmpty()) {
            List<String> got = List.of(message.split("; (?=(init )?container \")"));
            assertEquals(
                new java.util.TreeSet<>(denied),
                new java.util.TreeSet<>(got),
                name + ": " + message);
          }
          Object w = resp.get("warnings");
          List<?> gotWarnings = w == null ? List.of() : (List<?>) w;
          assertEquals(new java.util.TreeSet<>(warned), new java.util.TreeSet<>(gotWarnings), name);
          compared++;
        }
        assertEquals(2, compared);
      }
    }
  }

  // check --image-platform: the controller's run --image-platform for check, so both read the
  // same image of an index (ImageContentLabTest proves the agreement on an arm64 index).

  @Test
  void imagePlatformNeedsRegistryAccess() throws Exception {
    assertEquals(2, check("--image-platform", "linux/arm64"));
    assertTrue(err().contains("check: --image-platform needs --registry-access"), err());
    assertEquals("", out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void aPlatformThatIsNotOsArchIsAUsageError() throws Exception {
    assertEquals(2, check("--registry-access", "--image-platform", "arm64"));
    assertTrue(
        err()
            .contains(
                "check: --image-platform: platform \"arm64\" is not os/architecture[/variant],"
                    + " e.g. linux/amd64"),
        err());
    err.reset();
    assertEquals(2, check("--registry-access", "--image-platform", "linux/"));
    assertTrue(err().contains("has an empty or invalid part"), err());
  }

  @Test
  void theHelpNamesImagePlatform() throws Exception {
    assertEquals(
        0,
        ControllerMain.run(
            new String[] {"check", "--help"},
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8)));
    String help = out.toString(StandardCharsets.UTF_8) + err();
    assertTrue(help.contains("--image-platform OS/ARCH[/VARIANT]"), help);
  }
}
