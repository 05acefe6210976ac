package dev.registrypolicy.agent;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.fakeapi.FakeKubeApi;
import dev.registrypolicy.policy.Policy;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The in-process API server set up as a cluster with the product installed: the namespace, the
 * policy ConfigMap, the bundle Secret, RBAC on, and the agent's ServiceAccount bound to the Role in
 * manifests/agent-daemonset.yaml (read from the file, so the tests prove the manifest's grant).
 */
public final class ApiLab implements AutoCloseable {
  public static final String NS = Policy.NAMESPACE;
  public static final String SUBJECT =
      "system:serviceaccount:registry-policy:registry-policy-agent";

  public final FakeKubeApi fake;
  public final Path tokenFile;
  private FakeKubeApi.Registration binding;

  public ApiLab(Path dir, String policy, Map<String, String> bundle) throws IOException {
    fake = new FakeKubeApi().start();
    fake.create(object("v1", "Namespace", null, "registry-policy"));
    JsonObject cm = object("v1", "ConfigMap", NS, Policy.CONFIGMAP_NAME);
    JsonObject data = new JsonObject();
    data.addProperty(Policy.CONFIGMAP_KEY, policy);
    cm.add("data", data);
    fake.create(cm);
    if (bundle != null) {
      fake.create(secret(bundle));
    }
    tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, "token-1\n");
    fake.issueToken("token-1", SUBJECT);
    fake.enableRbac();
    binding = fake.bind(SUBJECT, NS, manifestRole());
  }

  /** The fast path's configuration for an agent on {@code node}. */
  public ApiConfig config(String node) {
    return new ApiConfig(URI.create(fake.baseUrl()), tokenFile, null, NS, node);
  }

  /** Takes the agent's RBAC grant away (403 from now on). */
  public void revokeRole() {
    binding.close();
  }

  /** Replaces the policy text in the ConfigMap (an API write, as kubectl apply). */
  public void setPolicy(String policy) {
    fake.mutate(
        "configmaps",
        NS,
        Policy.CONFIGMAP_NAME,
        cm -> cm.getAsJsonObject("data").add(Policy.CONFIGMAP_KEY, new JsonPrimitive(policy)));
  }

  /** Replaces the bundle Secret's data (the controller's write). */
  public void setBundle(Map<String, String> bundle) {
    fake.put(secret(bundle));
  }

  /** Rotates the projected token: the new one in the file, the old one expired. */
  public void rotateToken(String next) throws IOException {
    fake.issueToken(next, SUBJECT);
    Path tmp = tokenFile.resolveSibling("token.tmp");
    Files.writeString(tmp, next + "\n");
    Files.move(tmp, tokenFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    for (String old : List.of("token-1", "token-2", "token-3")) {
      if (!old.equals(next)) {
        fake.revokeToken(old);
      }
    }
  }

  static JsonObject secret(Map<String, String> bundle) {
    JsonObject s = object("v1", "Secret", NS, NodeCredentialsBundle.SECRET_NAME);
    JsonObject data = new JsonObject();
    for (Map.Entry<String, String> e : bundle.entrySet()) {
      data.addProperty(
          e.getKey(), Base64.getEncoder().encodeToString(e.getValue().getBytes(UTF_8)));
    }
    s.add("data", data);
    return s;
  }

  static JsonObject object(String apiVersion, String kind, String ns, String name) {
    JsonObject o = new JsonObject();
    o.addProperty("apiVersion", apiVersion);
    o.addProperty("kind", kind);
    JsonObject meta = new JsonObject();
    meta.addProperty("name", name);
    if (ns != null) {
      meta.addProperty("namespace", ns);
    }
    o.add("metadata", meta);
    return o;
  }

  /** The rules of the Role named registry-policy-agent in manifests/agent-daemonset.yaml. */
  @SuppressWarnings("unchecked")
  static List<FakeKubeApi.PolicyRule> manifestRole() throws IOException {
    Path manifest = manifests().resolve("agent-daemonset.yaml");
    List<FakeKubeApi.PolicyRule> rules = new ArrayList<>();
    for (Object doc :
        new Load(LoadSettings.builder().build()).loadAllFromString(Files.readString(manifest))) {
      Map<String, Object> m = (Map<String, Object>) doc;
      if (m == null || !"Role".equals(m.get("kind"))) {
        continue;
      }
      Map<String, Object> meta = (Map<String, Object>) m.get("metadata");
      if (!"registry-policy-agent".equals(meta.get("name"))) {
        continue;
      }
      for (Object r : (List<Object>) m.get("rules")) {
        Map<String, Object> rule = (Map<String, Object>) r;
        rules.add(
            new FakeKubeApi.PolicyRule(
                (List<String>) rule.get("apiGroups"),
                (List<String>) rule.get("resources"),
                (List<String>) rule.get("verbs"),
                (List<String>) rule.get("resourceNames")));
      }
    }
    if (rules.isEmpty()) {
      throw new IllegalStateException("no Role registry-policy-agent in " + manifest);
    }
    return rules;
  }

  static Path manifests() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isDirectory(p.resolve("manifests"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("manifests/ not found above the working directory");
    }
    return p.resolve("manifests");
  }

  @Override
  public void close() {
    fake.close();
  }
}
