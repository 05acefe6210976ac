package dev.registrypolicy.controller;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.registrypolicy.controller.admission.AdmissionObjects;
import dev.registrypolicy.controller.webhook.WebhookRuntime;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.AccessGrant;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import dev.registrypolicy.policy.Problem;
import dev.registrypolicy.policy.Yaml;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1LocalObjectReference;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/**
 * {@code render}: what the controller would do to the namespaces and ServiceAccounts described in a
 * file, without a cluster. Runs the real reconciler against that file's objects and a writer that
 * records instead of calling an API; Secret data is redacted.
 */
final class Render {
  /**
   * The JSON Patch {@code test} value for a ServiceAccount whose input carries no resourceVersion.
   */
  static final String UNKNOWN_RESOURCE_VERSION = "<resourceVersion of the live object>";

  private Render() {}

  /** A cluster made of the objects in the namespaces file; source Secrets are placeholders. */
  static final class StaticCluster implements ClusterView {
    final Map<String, V1Namespace> namespaces = new TreeMap<>();
    final Map<String, List<V1ServiceAccount>> serviceAccounts = new TreeMap<>();
    final Map<String, SourceSecret> sources = new TreeMap<>();
    final V1ConfigMap policy;

    StaticCluster(String policyText) {
      policy =
          new V1ConfigMap()
              .metadata(new V1ObjectMeta().name(Policy.CONFIGMAP_NAME).namespace(Policy.NAMESPACE))
              .data(Map.of(Policy.CONFIGMAP_KEY, policyText));
    }

    @Override
    public Optional<V1ConfigMap> policyConfigMap() {
      return Optional.of(policy);
    }

    @Override
    public Map<String, SourceSecret> sourceSecrets() {
      return sources;
    }

    @Override
    public List<V1Namespace> namespaces() {
      return new ArrayList<>(namespaces.values());
    }

    @Override
    public Optional<V1Namespace> namespace(String name) {
      return Optional.ofNullable(namespaces.get(name));
    }

    @Override
    public List<V1ServiceAccount> serviceAccounts(String namespace) {
      return serviceAccounts.getOrDefault(namespace, List.of());
    }

    @Override
    public List<V1Secret> managedSecrets(String namespace) {
      return List.of();
    }

    @Override
    public Optional<V1Secret> ownSecret(String name) {
      return Optional.empty();
    }

    @Override
    public Optional<V1ConfigMap> ownConfigMap(String name) {
      return Optional.empty();
    }
  }

  /** Records writes as text. */
  static final class Recorder implements ClusterWrites {
    final Map<String, List<String>> byNamespace = new TreeMap<>();

    private void add(String ns, String line) {
      byNamespace.computeIfAbsent(ns, k -> new ArrayList<>()).add(line);
    }

    @Override
    public void createSecret(String namespace, V1Secret s) {
      add(
          namespace,
          String.join(
              "\n",
              "apiVersion: v1",
              "kind: Secret",
              "metadata:",
              "  name: " + s.getMetadata().getName(),
              "  namespace: " + namespace,
              "  labels:",
              labels(s.getMetadata().getLabels()),
              "type: " + s.getType(),
              "data:",
              "  .dockerconfigjson: <redacted>"));
    }

    @Override
    public void replaceSecret(String namespace, V1Secret s) {
      createSecret(namespace, s);
    }

    @Override
    public void deleteSecret(String namespace, String name, String uid) {
      add(namespace, "# delete Secret " + namespace + "/" + name);
    }

    @Override
    public void patchServiceAccount(String namespace, String name, String jsonPatch) {
      add(
          namespace,
          "# ServiceAccount "
              + namespace
              + "/"
              + name
              + ": JSON Patch (guarded by its resourceVersion)\n# "
              + jsonPatch);
    }

    @Override
    public String createConfigMap(String namespace, V1ConfigMap cm) {
      return null;
    }

    @Override
    public String replaceConfigMap(String namespace, V1ConfigMap cm) {
      return null;
    }

    @Override
    public void deleteConfigMap(String namespace, String name, String uid) {
      add(namespace, "# delete ConfigMap " + namespace + "/" + name);
    }

    @Override
    public void deleteLease(String namespace, String name, String uid) {
      add(namespace, "# delete Lease " + namespace + "/" + name);
    }

    @Override
    public void event(
        String namespace, String kind, String name, String type, String reason, String message) {}

    @Override
    public Optional<V1Secret> readSecret(String namespace, String name) {
      return Optional.empty();
    }
  }

  /** Renders; returns the text, or throws with problems in the policy or the namespaces file. */
  static String render(String fileText, String namespacesText) throws PolicyException {
    String policyText = PolicyDocument.policyText(fileText);
    Policy policy = PolicyParser.parse(policyText);
    StaticCluster cluster = new StaticCluster(policyText);
    List<Problem> problems = new ArrayList<>();
    List<Object> docs = Yaml.loadAll(namespacesText, "", problems, Yaml.Limits.OBJECTS);
    if (docs == null) {
      throw new PolicyException(problems);
    }
    List<Object> items = new ArrayList<>();
    for (Object d : docs) {
      if (d instanceof List) {
        items.addAll((List<?>) d);
      } else if (d instanceof Map
          && "List".equals(((Map<?, ?>) d).get("kind"))
          && ((Map<?, ?>) d).get("items") instanceof List) {
        items.addAll((List<?>) ((Map<?, ?>) d).get("items"));
      } else {
        items.add(d);
      }
    }
    Map<Integer, String> saNamespaces = new java.util.TreeMap<>();
    List<String> skipped = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Object o = items.get(i);
      Map<?, ?> m = o instanceof Map ? (Map<?, ?>) o : null;
      Map<?, ?> meta =
          m != null && m.get("metadata") instanceof Map ? (Map<?, ?>) m.get("metadata") : null;
      String name = meta == null ? null : asString(meta.get("name"));
      Object kind = m == null ? null : m.get("kind");
      if (kind instanceof String && !"Namespace".equals(kind) && !"ServiceAccount".equals(kind)) {
        String ns = meta == null ? null : asString(meta.get("namespace"));
        skipped.add(
            "# skipped ["
                + i
                + "] "
                + kind
                + " "
                + (ns == null ? "" : ns + "/")
                + (name == null ? "" : name)
                + ": render reads only Namespaces and ServiceAccounts");
        continue;
      }
      if (m == null || name == null) {
        problems.add(
            new Problem("[" + i + "]", "want a Namespace or ServiceAccount with metadata.name"));
        continue;
      }
      if ("Namespace".equals(kind)) {
        cluster.namespaces.put(
            name,
            new V1Namespace()
                .metadata(
                    new V1ObjectMeta()
                        .name(name)
                        .labels(strings(meta.get("labels")))
                        .annotations(strings(meta.get("annotations")))));
      } else if ("ServiceAccount".equals(m.get("kind"))) {
        String ns = asString(meta.get("namespace"));
        if (ns == null) {
          problems.add(
              new Problem("[" + i + "].metadata.namespace", "required for a ServiceAccount"));
          continue;
        }
        String rv =
            meta.get("resourceVersion") == null
                ? UNKNOWN_RESOURCE_VERSION
                : String.valueOf(meta.get("resourceVersion"));
        V1ServiceAccount sa =
            new V1ServiceAccount()
                .metadata(
                    new V1ObjectMeta()
                        .name(name)
                        .namespace(ns)
                        .annotations(strings(meta.get("annotations")))
                        .resourceVersion(rv));
        if (m.get("imagePullSecrets") instanceof List) {
          for (Object ref : (List<?>) m.get("imagePullSecrets")) {
            if (ref instanceof Map && ((Map<?, ?>) ref).get("name") != null) {
              sa.addImagePullSecretsItem(
                  new V1LocalObjectReference().name(asString(((Map<?, ?>) ref).get("name"))));
            }
          }
        }
        cluster.serviceAccounts.computeIfAbsent(ns, k -> new ArrayList<>()).add(sa);
        saNamespaces.put(i, ns); // checked once every Namespace item is known
      } else {
        problems.add(new Problem("[" + i + "].kind", "required: Namespace or ServiceAccount"));
      }
    }
    for (Map.Entry<Integer, String> sa : saNamespaces.entrySet()) {
      if (!cluster.namespaces.containsKey(sa.getValue())) {
        problems.add(
            new Problem(
                "[" + sa.getKey() + "].metadata.namespace",
                "namespace "
                    + sa.getValue()
                    + " is not in the file (add a Namespace item for it)"));
      }
    }
    if (!problems.isEmpty()) {
      throw new PolicyException(problems);
    }
    // Kubernetes gives every namespace a "default" ServiceAccount; assume it where the file has
    // none.
    for (String ns : cluster.namespaces.keySet()) {
      List<V1ServiceAccount> sas =
          cluster.serviceAccounts.computeIfAbsent(ns, k -> new ArrayList<>());
      if (sas.stream().noneMatch(sa -> "default".equals(sa.getMetadata().getName()))) {
        sas.add(
            0,
            new V1ServiceAccount()
                .metadata(
                    new V1ObjectMeta()
                        .name("default")
                        .namespace(ns)
                        .resourceVersion(UNKNOWN_RESOURCE_VERSION)));
      }
    }
    for (CredentialRef c : policy.credentials()) {
      String registry = c.registry() == null ? "registry.example" : c.registry();
      byte[] placeholder =
          ("{\"auths\":{\"" + registry + "\":{\"auth\":\"cmVkYWN0ZWQ6cmVkYWN0ZWQ=\"}}}")
              .getBytes(StandardCharsets.UTF_8);
      cluster.sources.put(
          c.secret(),
          new SourceSecret(
              c.secret(),
              SourceSecret.DOCKERCONFIGJSON_TYPE,
              Map.of(".dockerconfigjson", placeholder)));
    }
    Recorder rec = new Recorder();
    Reconciler r = new Reconciler(cluster, rec, new Metrics());
    r.refreshPolicy();
    for (String ns : cluster.namespaces.keySet()) {
      r.reconcileNamespace(ns);
    }
    StringBuilder sb = new StringBuilder();
    skipped.forEach(l -> sb.append(l).append('\n'));
    for (String ns : cluster.namespaces.keySet()) {
      List<String> lines = rec.byNamespace.getOrDefault(ns, List.of());
      List<String> missing = missingServiceAccounts(policy, cluster, ns);
      sb.append("# ---- namespace ")
          .append(ns)
          .append(lines.isEmpty() && missing.isEmpty() ? ": nothing to do\n" : "\n");
      missing.forEach(l -> sb.append(l).append('\n'));
      for (String l : lines) {
        sb.append(l.startsWith("#") ? l + "\n" : "---\n" + l + "\n");
      }
    }
    admission(policy, sb);
    return sb.toString();
  }

  /** What stands in a webhook configuration's {@code caBundle} in the rendered text. */
  static final String CA_BUNDLE_PLACEHOLDER =
      "# caBundle: filled in by the controller at run time (the CA certificate of the webhook's TLS"
          + " Secret ";

  /**
   * The cluster-scoped admission objects run keeps for the policy: the ValidatingAdmissionPolicies
   * with their bindings, and the webhook configurations with the default webhook settings (their
   * caBundle is a comment: the controller fills it in at run time). A comment says which of them
   * {@code --admission-enforcement auto} uses; what the producers could not express is a note.
   */
  static void admission(Policy policy, StringBuilder sb) {
    String own = Policy.NAMESPACE;
    WebhookSettings settings =
        WebhookSettings.parse(Map.of(WebhookSettings.FLAG_ENABLED, "true"), own).settings();
    boolean enforces = policy.admission().enforcesSomething();
    // The same composition run uses, with a placeholder for the caBundle.
    AdmissionObjects built =
        WebhookRuntime.admissionObjects(settings, () -> PLACEHOLDER_PEM).desired(policy);
    sb.append("# ---- admission: the cluster-scoped objects run keeps for this policy\n");
    String served =
        "#   while the controller serves the webhook (run " + WebhookSettings.FLAG_ENABLED + ")\n";
    boolean content = policy.admission().hasImageContentRules();
    if (!enforces && !content) {
      sb.append(
          "# the admission section enforces nothing: no ValidatingAdmissionPolicy and no"
              + " ValidatingWebhookConfiguration\n");
    } else if (!enforces) {
      sb.append(
              "# only image-content rules (imageMetadata), which no ValidatingAdmissionPolicy can"
                  + " evaluate: on every Kubernetes version the ValidatingWebhookConfiguration"
                  + " below evaluates them,\n")
          .append(served);
    } else if (!built.problems().isEmpty()) {
      for (String problem : built.problems()) {
        sb.append("# note: ").append(CheckReport.oneLine(problem)).append('\n');
      }
      sb.append(
              "# enforcement auto (the default): the ValidatingAdmissionPolicies cannot be used"
                  + " (see the notes), so on every Kubernetes version the"
                  + " ValidatingWebhookConfiguration below enforces the admission section,\n")
          .append(served);
    } else {
      sb.append(
              "# enforcement auto (the default): Kubernetes >= 1.30 (the API server serves"
                  + " admissionregistration.k8s.io/v1 validatingadmissionpolicies): the"
                  + " ValidatingAdmissionPolicies and bindings below;\n"
                  + "#   older versions: the ValidatingWebhookConfiguration below,\n")
          .append(served);
    }
    if (!built.mutatingWebhooks().isEmpty()) {
      sb.append(
              "# the MutatingWebhookConfiguration adds granted pull Secrets to new Pods, on every"
                  + " Kubernetes version,\n")
          .append(served);
    }
    List<Object> objects = new ArrayList<>();
    objects.addAll(built.policies());
    objects.addAll(built.bindings());
    objects.addAll(built.validatingWebhooks());
    objects.addAll(built.mutatingWebhooks());
    if (objects.isEmpty()) {
      sb.append("# nothing to keep\n");
    }
    for (Object o : objects) {
      sb.append("---\n").append(yaml(o, settings));
    }
  }

  /** Passed to the webhook configurations' producer, then replaced by a comment. */
  private static final String PLACEHOLDER_PEM = "placeholder";

  private static final DumpSettings DUMP =
      DumpSettings.builder()
          .setDefaultFlowStyle(FlowStyle.BLOCK)
          .setSplitLines(false)
          .setWidth(Integer.MAX_VALUE)
          .build();

  /**
   * An API object as YAML, as {@code kubectl apply -f} takes it: its JSON form (what the controller
   * sends) in block style, one line per value, without empty collections; a webhook configuration's
   * {@code caBundle} becomes a comment saying where it comes from.
   */
  static String yaml(Object apiObject, WebhookSettings settings) {
    Object tree = plain(JsonParser.parseString(JSON.serialize(apiObject)));
    String text = new Dump(DUMP).dumpToString(tree);
    String caLine = "caBundle: " + CA_PLACEHOLDER_VALUE;
    StringBuilder out = new StringBuilder();
    for (String line : text.split("\n", -1)) {
      int at = line.indexOf(caLine);
      if (at >= 0 && line.substring(0, at).isBlank()) {
        out.append(line, 0, at)
            .append(CA_BUNDLE_PLACEHOLDER)
            .append(settings.serviceNamespace())
            .append('/')
            .append(settings.secretName())
            .append(")\n");
      } else if (!line.isEmpty()) {
        out.append(line).append('\n');
      }
    }
    return out.toString();
  }

  /** The placeholder PEM as the API's JSON carries it (base64). */
  private static final String CA_PLACEHOLDER_VALUE =
      java.util.Base64.getEncoder()
          .encodeToString(PLACEHOLDER_PEM.getBytes(StandardCharsets.UTF_8));

  /**
   * JSON as plain maps, lists and scalars; integral numbers stay integers. Empty maps and lists
   * (the client's models start every collection empty) are left out: the API server reads them as
   * absent.
   */
  private static Object plain(JsonElement e) {
    if (e == null || e.isJsonNull()) {
      return null;
    }
    if (e.isJsonObject()) {
      Map<String, Object> m = new LinkedHashMap<>();
      for (Map.Entry<String, JsonElement> x : e.getAsJsonObject().entrySet()) {
        Object v = plain(x.getValue());
        if (v == null
            || (v instanceof Map<?, ?> vm && vm.isEmpty())
            || (v instanceof List<?> vl && vl.isEmpty())) {
          continue;
        }
        m.put(x.getKey(), v);
      }
      return m;
    }
    if (e.isJsonArray()) {
      List<Object> l = new ArrayList<>();
      for (JsonElement x : e.getAsJsonArray()) {
        l.add(plain(x));
      }
      return l;
    }
    JsonPrimitive p = e.getAsJsonPrimitive();
    if (p.isBoolean()) {
      return p.getAsBoolean();
    }
    if (p.isNumber()) {
      java.math.BigDecimal d = p.getAsBigDecimal();
      return d.stripTrailingZeros().scale() <= 0 ? (Object) d.toBigInteger() : (Object) d;
    }
    return p.getAsString();
  }

  /** Notes for the ServiceAccounts a grant names in this namespace that the input does not have. */
  private static List<String> missingServiceAccounts(
      Policy policy, StaticCluster cluster, String ns) {
    V1Namespace n = cluster.namespaces.get(ns);
    NamespaceInfo info =
        new NamespaceInfo(
            ns,
            n.getMetadata().getLabels() == null ? Map.of() : n.getMetadata().getLabels(),
            n.getMetadata().getAnnotations() == null ? Map.of() : n.getMetadata().getAnnotations());
    java.util.Set<String> have = new java.util.HashSet<>();
    cluster.serviceAccounts(ns).forEach(sa -> have.add(sa.getMetadata().getName()));
    List<String> out = new ArrayList<>();
    if (Policy.NAMESPACE.equals(ns)) {
      return out;
    }
    for (AccessGrant g : policy.access()) {
      if (g.serviceAccounts().all() || !g.namespaces().grants(info)) {
        continue;
      }
      for (String name : new java.util.TreeSet<>(g.serviceAccounts().names())) {
        if (!have.contains(name)) {
          out.add(
              "# ServiceAccount "
                  + ns
                  + "/"
                  + name
                  + " (named by access grant "
                  + g.name()
                  + ") is not in the input: nothing to patch; run patches it once it exists");
        }
      }
    }
    return out;
  }

  private static String labels(Map<String, String> labels) {
    List<String> lines = new ArrayList<>();
    new TreeMap<>(labels).forEach((k, v) -> lines.add("    " + k + ": " + v));
    return String.join("\n", lines);
  }

  private static String asString(Object o) {
    return o instanceof String s ? s : null;
  }

  private static Map<String, String> strings(Object o) {
    if (!(o instanceof Map)) {
      return null;
    }
    Map<String, String> out = new LinkedHashMap<>();
    ((Map<?, ?>) o).forEach((k, v) -> out.put(String.valueOf(k), String.valueOf(v)));
    return out;
  }
}
