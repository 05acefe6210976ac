package dev.registrypolicy.controller;

import dev.registrypolicy.policy.AccessGrant;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import dev.registrypolicy.policy.Problem;
import dev.registrypolicy.policy.Yaml;
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
    public void createConfigMap(String namespace, V1ConfigMap cm) {}

    @Override
    public void replaceConfigMap(String namespace, V1ConfigMap cm) {}

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
    List<Object> docs = Yaml.loadAll(namespacesText, "", problems);
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
    return sb.toString();
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
