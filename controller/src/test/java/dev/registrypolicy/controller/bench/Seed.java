package dev.registrypolicy.controller.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.registrypolicy.controller.ControllerBenchAccess;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyException;
import io.kubernetes.client.openapi.models.V1Secret;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.Map;

/**
 * The benchmarks' cluster contents, written straight into the fake's store (as a POST would, with
 * watch events, but without HTTP and without entries in the request log).
 */
final class Seed {
  private Seed() {}

  static final String GRANT = "corp";
  static final String PULL_SECRET = "corp-pull";
  static final String SOURCE_SECRET = "corp-source";
  static final String LABEL_KEY = "pull";
  static final String LABEL_VALUE = "corp";
  static final byte[] SOURCE_CONFIG =
      "{\"auths\":{\"registry.corp.example\":{\"auth\":\"dXNlcjpwYXNz\"}}}"
          .getBytes(StandardCharsets.UTF_8);

  /** A valid policy that grants nothing. */
  static final String POLICY_NOTHING =
      String.join("\n", "apiVersion: registry-policy.dev/v1alpha1", "kind: RegistryPolicy", "");

  /**
   * One grant: {@code corp-pull} to every namespace labelled {@code pull=corp}, for the given
   * ServiceAccounts.
   */
  static String grantPolicy(String serviceAccounts) {
    return String.join(
        "\n",
        "apiVersion: registry-policy.dev/v1alpha1",
        "kind: RegistryPolicy",
        "credentials:",
        "  - {name: corp, secret: " + SOURCE_SECRET + ", registry: registry.corp.example}",
        "access:",
        "  - name: " + GRANT,
        "    credentials: corp",
        "    secretName: " + PULL_SECRET,
        "    namespaces: {selector: {matchLabels: {" + LABEL_KEY + ": " + LABEL_VALUE + "}}}",
        "    serviceAccounts: " + serviceAccounts,
        "");
  }

  /** The policy namespace, the source Secret and the policy ConfigMap. */
  static void policyNamespace(FakeKubeApi fake, String policyText) {
    fake.create(namespace(Policy.NAMESPACE, false));
    JsonObject src = object("v1", "Secret", Policy.NAMESPACE, SOURCE_SECRET);
    src.addProperty("type", "kubernetes.io/dockerconfigjson");
    JsonObject data = new JsonObject();
    data.addProperty(
        ".dockerconfigjson", java.util.Base64.getEncoder().encodeToString(SOURCE_CONFIG));
    src.add("data", data);
    fake.create(src);
    JsonObject cm = object("v1", "ConfigMap", Policy.NAMESPACE, Policy.CONFIGMAP_NAME);
    JsonObject cmData = new JsonObject();
    cmData.addProperty(Policy.CONFIGMAP_KEY, policyText);
    cm.add("data", cmData);
    fake.create(cm);
  }

  /** Replaces the policy text (a MODIFIED event, as kubectl apply would cause). */
  static void setPolicy(FakeKubeApi fake, String policyText) {
    fake.mutate(
        "configmaps",
        Policy.NAMESPACE,
        Policy.CONFIGMAP_NAME,
        cm -> {
          JsonObject d = new JsonObject();
          d.addProperty(Policy.CONFIGMAP_KEY, policyText);
          cm.add("data", d);
        });
  }

  static JsonObject namespace(String name, boolean granted) {
    JsonObject ns = object("v1", "Namespace", null, name);
    if (granted) {
      JsonObject labels = new JsonObject();
      labels.addProperty(LABEL_KEY, LABEL_VALUE);
      ns.getAsJsonObject("metadata").add("labels", labels);
    }
    return ns;
  }

  /**
   * A ServiceAccount as kube-controller-manager creates it; {@code patched}: as the controller
   * leaves it.
   */
  static JsonObject serviceAccount(String namespace, String name, boolean patched) {
    JsonObject sa = object("v1", "ServiceAccount", namespace, name);
    if (patched) {
      JsonObject ann = new JsonObject();
      ann.addProperty(ControllerBenchAccess.SA_ANNOTATION, PULL_SECRET);
      sa.getAsJsonObject("metadata").add("annotations", ann);
      JsonArray list = new JsonArray();
      JsonObject ref = new JsonObject();
      ref.addProperty("name", PULL_SECRET);
      list.add(ref);
      sa.add("imagePullSecrets", list);
    }
    return sa;
  }

  /**
   * The pull Secret exactly as the controller writes it for {@code grantPolicy(...)} in {@code
   * namespace}.
   */
  static V1Secret managedPullSecret(String policyText, String namespace) throws PolicyException {
    Map<String, Map.Entry<String, Map<String, byte[]>>> sources =
        Map.of(
            SOURCE_SECRET,
            new AbstractMap.SimpleEntry<>(
                "kubernetes.io/dockerconfigjson", Map.of(".dockerconfigjson", SOURCE_CONFIG)));
    return ControllerBenchAccess.pullSecret(policyText, sources, GRANT, namespace);
  }

  /**
   * A granted namespace already converged: the namespace, its ServiceAccounts patched, its pull
   * Secret.
   */
  static void convergedNamespace(
      FakeKubeApi fake, String name, String policyText, String... serviceAccounts)
      throws PolicyException {
    fake.create(namespace(name, true));
    for (String sa : serviceAccounts) {
      fake.create(serviceAccount(name, sa, true));
    }
    fake.create(managedPullSecret(policyText, name));
  }

  /** Whether the pull Secret exists (managed) and the ServiceAccount lists it. */
  static boolean converged(FakeKubeApi fake, String namespace, String serviceAccount) {
    return secretPresent(fake, namespace) && saLists(fake, namespace, serviceAccount);
  }

  static boolean secretPresent(FakeKubeApi fake, String namespace) {
    JsonObject s = fake.get("secrets", namespace, PULL_SECRET);
    if (s == null) {
      return false;
    }
    JsonObject labels = s.getAsJsonObject("metadata").getAsJsonObject("labels");
    return labels != null
        && labels.has(ControllerBenchAccess.MANAGED_BY_LABEL)
        && ControllerBenchAccess.MANAGED_BY.equals(
            labels.get(ControllerBenchAccess.MANAGED_BY_LABEL).getAsString());
  }

  static boolean saLists(FakeKubeApi fake, String namespace, String serviceAccount) {
    JsonObject sa = fake.get("serviceaccounts", namespace, serviceAccount);
    if (sa == null || !sa.has("imagePullSecrets")) {
      return false;
    }
    for (var e : sa.getAsJsonArray("imagePullSecrets")) {
      JsonObject ref = e.getAsJsonObject();
      if (ref.has("name") && PULL_SECRET.equals(ref.get("name").getAsString())) {
        return true;
      }
    }
    return false;
  }

  private static JsonObject object(String apiVersion, String kind, String namespace, String name) {
    JsonObject o = new JsonObject();
    o.addProperty("apiVersion", apiVersion);
    o.addProperty("kind", kind);
    JsonObject meta = new JsonObject();
    meta.addProperty("name", name);
    if (namespace != null) {
      meta.addProperty("namespace", namespace);
    }
    o.add("metadata", meta);
    return o;
  }
}
