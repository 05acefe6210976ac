package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.policy.AdmissionMode;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * What {@code kubectl apply -k manifests/} installs: the starter policy is valid and needs no
 * Secret, and every node layout setting reaches the agent DaemonSet. The rendering tests run {@code
 * kubectl kustomize} (kustomize v5 is built into kubectl) and are reported as skipped, with the
 * reason, where kubectl is not installed.
 */
class ManifestsTest {
  static final Path MANIFESTS = Path.of("..", "manifests").toAbsolutePath().normalize();
  static final Path STARTER = MANIFESTS.resolve("policy-configmap.yaml");
  static final Path EXAMPLE = MANIFESTS.resolve("examples/policy-configmap.yaml");
  static final String AGENT = "registry-policy-agent";

  @TempDir Path tmp;

  // ---- the starter policy ---------------------------------------------------------------------

  /**
   * The node status's grants and nothing more: Nodes read only (list, watch), Leases in the
   * product's namespace listed, watched and deleted, never created or updated beyond the
   * leader-election Lease, and nothing about Leases cluster-wide.
   */
  @Test
  void nodeStatusRbacIsLeastPrivilege() throws Exception {
    List<RunAdmissionEndToEndTest.Rbac> rules =
        RunAdmissionEndToEndTest.Rbac.fromManifests("controller.yaml", "uninstall-controller.yaml");
    List<String> nodeVerbs = new ArrayList<>();
    List<String> leaseVerbs = new ArrayList<>();
    for (RunAdmissionEndToEndTest.Rbac r : rules) {
      if (r.resources().contains("nodes") || r.resources().contains("*")) {
        assertEquals(List.of(""), r.groups());
        nodeVerbs.addAll(r.verbs());
      }
      if (r.resources().contains("leases")) {
        assertEquals(Policy.NAMESPACE, r.namespace(), "Leases only in the product's namespace");
        if (r.names().isEmpty()) {
          leaseVerbs.addAll(r.verbs());
        } else {
          assertEquals(List.of("registry-policy-controller"), r.names());
          assertEquals(List.of("get", "update"), r.verbs());
        }
      }
    }
    assertEquals(List.of("list", "watch"), nodeVerbs);
    assertEquals(
        new java.util.TreeSet<>(List.of("create", "list", "watch", "delete")),
        new java.util.TreeSet<>(leaseVerbs),
        "create: the leader-election Lease when absent; list, watch, delete: report Leases");
  }

  @Test
  void starterPolicyIsWhatTheKustomizationInstalls() throws Exception {
    List<String> resources = strings(yaml(MANIFESTS.resolve("kustomization.yaml")), "resources");
    assertTrue(resources.contains("policy-configmap.yaml"), resources.toString());
    assertFalse(resources.stream().anyMatch(r -> r.startsWith("examples")), resources.toString());
  }

  @Test
  void starterPolicyValidatesWithoutWarnings() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        ControllerMain.run(
            new String[] {"validate", "--policy", STARTER.toString()},
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    String o = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    assertTrue(o.startsWith("policy is valid: "), o);
    assertFalse(o.contains("warning"), o);
  }

  /**
   * With no Secret at all in the cluster, the controller finds nothing missing: no node credentials
   * (so no agent holds a host back), no pull Secret to build. The same check on the complete
   * example finds its missing Secrets, so it can tell the two apart.
   */
  @Test
  void starterPolicyNeedsNoSecret() throws Exception {
    Policy starter = PolicyDocument.parse(Files.readString(STARTER));
    assertEquals(List.of(), starter.credentials());
    assertEquals(List.of(), starter.access());
    Desired.Keyed bundle = Desired.bundle(starter, Map.of());
    assertEquals(List.of(), bundle.problems());
    assertEquals(Map.of(), bundle.values());
    assertEquals(List.of(), Desired.grants(starter, Map.of()).problems());

    Policy example = PolicyDocument.parse(Files.readString(EXAMPLE));
    assertFalse(Desired.bundle(example, Map.of()).problems().isEmpty());
    assertFalse(Desired.grants(example, Map.of()).problems().isEmpty());
  }

  /** Admission only records: no rule denies or warns, so installing it refuses nothing. */
  @Test
  void starterAdmissionOnlyAudits() throws Exception {
    Policy starter = PolicyDocument.parse(Files.readString(STARTER));
    assertEquals(AdmissionMode.AUDIT, starter.admission().mode());
    assertFalse(starter.admission().rules().isEmpty());
    for (AdmissionRule r : starter.admission().rules()) {
      assertTrue(r.mode() == null || r.mode() == AdmissionMode.AUDIT, r.name());
    }
    assertFalse(starter.admission().exemptNamespacesGiven());
  }

  // ---- rendering: images and node layouts -----------------------------------------------------

  @Test
  void defaultRenderUsesNodeLayoutYamlAndTheImagesBlock() throws Exception {
    requireKubectl();
    List<Map<String, Object>> docs = render(MANIFESTS);
    Map<String, String> layout = layoutData(yaml(MANIFESTS.resolve("node-layout.yaml")));
    assertLayout(docs, layout);
    assertFalse(
        docs.stream().anyMatch(d -> "registry-policy-node-layout".equals(name(d))),
        "the node layout ConfigMap is local-config and never applied");
    Map<String, String> images = new TreeMap<>();
    for (Object o : list(yaml(MANIFESTS.resolve("kustomization.yaml")), "images")) {
      Map<?, ?> i = (Map<?, ?>) o;
      images.put(
          ((String) i.get("name")).replaceFirst(".*/", ""),
          i.get("newName") + ":" + i.get("newTag"));
    }
    assertEquals(images.get("agent"), container(docs, AGENT, "agent").get("image"));
    assertEquals(
        images.get("controller"),
        container(docs, "registry-policy-controller", "controller").get("image"));
  }

  /**
   * The DaemonSet file itself carries the default layout, so the plain files (and the bundle's
   * pre-rendered YAML made from them) are what kustomize renders by default.
   */
  @Test
  void daemonSetFileCarriesTheDefaultLayout() throws Exception {
    Map<String, String> layout = layoutData(yaml(MANIFESTS.resolve("node-layout.yaml")));
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object o :
        new Load(LoadSettings.builder().build())
            .loadAllFromString(Files.readString(MANIFESTS.resolve("agent-daemonset.yaml")))) {
      docs.add(map(o));
    }
    assertLayout(docs, layout);
  }

  /** Each layout in node-layouts/, included as the kustomization's comment says: uncommented. */
  @Test
  void eachLayoutComponentUncommentedInTheKustomization() throws Exception {
    requireKubectl();
    for (String layout : layouts()) {
      Path copy = tmp.resolve("checkout-" + layout);
      copyTree(MANIFESTS, copy);
      Path k = copy.resolve("kustomization.yaml");
      String text = Files.readString(k);
      String line = "  # - node-layouts/" + layout + "\n";
      assertTrue(text.contains(line), "kustomization.yaml offers " + layout + " commented out");
      Files.writeString(k, text.replace(line, "  - node-layouts/" + layout + "\n"));
      assertLayout(render(copy), layoutValues(layout));
    }
  }

  /**
   * Each layout from a kustomization of one's own that keeps manifests/ untouched, with the images
   * moved to another registry there.
   */
  @Test
  void eachLayoutComponentFromAKustomizationOfOnesOwn() throws Exception {
    requireKubectl();
    for (String layout : layouts()) {
      Path own = Files.createDirectories(tmp.resolve("own-" + layout));
      String m = own.relativize(MANIFESTS).toString();
      Files.writeString(
          own.resolve("kustomization.yaml"),
          String.join(
              "\n",
              "resources: [" + m + "]",
              "components: [" + m + "/node-layouts/" + layout + "]",
              "images:",
              "  - name: registry-policy.invalid/agent",
              "    newName: registry.example.com/platform/registry-policy-agent",
              "    newTag: 9.9.9",
              ""));
      List<Map<String, Object>> docs = render(own);
      assertLayout(docs, layoutValues(layout));
      assertEquals(
          "registry.example.com/platform/registry-policy-agent:9.9.9",
          container(docs, AGENT, "agent").get("image"));
    }
  }

  /**
   * A layout the project does not ship (here one whose config file is not named config.toml), set
   * by a component of one's own followed by node-layouts/apply; no default path is left behind.
   */
  @Test
  void aLayoutOfOnesOwnWithAnotherConfigFileName() throws Exception {
    requireKubectl();
    Path own = Files.createDirectories(tmp.resolve("own"));
    Path values = Files.createDirectories(own.resolve("layout"));
    Files.writeString(
        values.resolve("kustomization.yaml"),
        String.join(
            "\n",
            "apiVersion: kustomize.config.k8s.io/v1alpha1",
            "kind: Component",
            "patches:",
            "  - patch: |-",
            "      apiVersion: v1",
            "      kind: ConfigMap",
            "      metadata: {name: registry-policy-node-layout}",
            "      data:",
            "        containerdCertsDir: /opt/ctr/registries",
            "        containerdConfigDir: /opt/ctr/etc",
            "        containerdConfigFile: containerd.toml",
            ""));
    String m = own.relativize(MANIFESTS).toString();
    Files.writeString(
        own.resolve("kustomization.yaml"),
        String.join(
            "\n",
            "resources: [" + m + "]",
            "components: [layout, " + m + "/node-layouts/apply]",
            ""));
    List<Map<String, Object>> docs = render(own);
    assertLayout(
        docs,
        Map.of(
            "containerdCertsDir", "/opt/ctr/registries",
            "containerdConfigDir", "/opt/ctr/etc",
            "containerdConfigFile", "containerd.toml"));
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static final Pattern DEFAULT_PATH = Pattern.compile("(^|[\\s\"'=:])/etc/containerd");

  /** The layout's values in every field the agent DaemonSet takes from it, and nowhere else. */
  private static void assertLayout(List<Map<String, Object>> docs, Map<String, String> layout) {
    Map<String, Object> ds = daemonSet(docs, AGENT);
    Map<String, Object> agent = container(docs, AGENT, "agent");
    Map<String, String> env = new TreeMap<>();
    for (Object e : list(agent, "env")) {
      Map<String, Object> v = map(e);
      if (v.get("value") != null) {
        env.put((String) v.get("name"), (String) v.get("value"));
      }
    }
    Map<String, String> hostPaths = new TreeMap<>();
    for (Object v : list(podSpec(ds), "volumes")) {
      Map<String, Object> vol = map(v);
      if (vol.get("hostPath") != null) {
        hostPaths.put((String) vol.get("name"), (String) map(vol.get("hostPath")).get("path"));
      }
    }
    assertEquals(
        Map.of(
            "containerd-certs", layout.get("containerdCertsDir"),
            "containerd-config", layout.get("containerdConfigDir")),
        hostPaths);
    assertEquals(layout.get("containerdCertsDir"), env.get("NODE_CERTS_DIR"));
    assertEquals(layout.get("containerdConfigFile"), env.get("CONTAINERD_CONFIG_FILE"));
    List<String> args = strings(agent, "args");
    assertEquals(
        "/host/containerd/$(CONTAINERD_CONFIG_FILE)",
        args.get(args.indexOf("--containerd-config") + 1));
    assertEquals("$(NODE_CERTS_DIR)", args.get(args.indexOf("--node-certs-dir") + 1));
    if (!layout.get("containerdConfigDir").equals("/etc/containerd")) {
      String all = new Dump(DumpSettings.builder().build()).dumpToString(ds);
      assertFalse(DEFAULT_PATH.matcher(all).find(), "a default path is left in " + all);
    }
  }

  private static void requireKubectl() {
    assumeTrue(
        KUBECTL != null,
        "kubectl not found on the PATH: the kustomize rendering of manifests/ is not checked");
  }

  private static final String KUBECTL = findKubectl();

  private static String findKubectl() {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, "kubectl");
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }

  /** {@code kubectl kustomize DIR}, parsed; fails with kubectl's error output when it fails. */
  private List<Map<String, Object>> render(Path dir) throws Exception {
    Path out = Files.createTempFile(tmp, "render", ".yaml");
    Path err = Files.createTempFile(tmp, "render", ".err");
    Process p =
        new ProcessBuilder(KUBECTL, "kustomize", dir.toString())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("kubectl kustomize " + dir + " did not finish in 60 s");
    }
    assertEquals(0, p.exitValue(), "kubectl kustomize " + dir + ": " + Files.readString(err));
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object o :
        new Load(LoadSettings.builder().build()).loadAllFromString(Files.readString(out))) {
      docs.add(map(o));
    }
    assertNotEquals(List.of(), docs);
    return docs;
  }

  /** The layouts node-layouts/ offers (every directory with values/: k3s, rke2). */
  private static List<String> layouts() throws IOException {
    List<String> out = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(MANIFESTS.resolve("node-layouts"))) {
      dirs.filter(d -> Files.isDirectory(d.resolve("values")))
          .forEach(d -> out.add(d.getFileName().toString()));
    }
    out.sort(null);
    assertEquals(List.of("k3s", "rke2"), out);
    return out;
  }

  /** The values a layout component sets, read from its patch. */
  private static Map<String, String> layoutValues(String layout) throws IOException {
    Map<String, Object> k =
        yaml(
            MANIFESTS.resolve("node-layouts").resolve(layout).resolve("values/kustomization.yaml"));
    Map<String, Object> patch = map(list(k, "patches").get(0));
    Map<String, Object> cm =
        map(new Load(LoadSettings.builder().build()).loadFromString((String) patch.get("patch")));
    Map<String, String> data = layoutData(cm);
    assertTrue(data.get("containerdConfigDir").contains("/" + layout + "/"), data.toString());
    return data;
  }

  private static Map<String, String> layoutData(Map<String, Object> configMap) {
    Map<String, String> data = new TreeMap<>();
    map(configMap.get("data")).forEach((k, v) -> data.put(k, (String) v));
    assertEquals(
        List.of("containerdCertsDir", "containerdConfigDir", "containerdConfigFile"),
        new ArrayList<>(data.keySet()));
    return data;
  }

  private static Map<String, Object> daemonSet(List<Map<String, Object>> docs, String name) {
    return docs.stream()
        .filter(d -> "DaemonSet".equals(d.get("kind")) && name.equals(name(d)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no DaemonSet " + name));
  }

  private static Map<String, Object> container(
      List<Map<String, Object>> docs, String workload, String container) {
    Map<String, Object> w =
        docs.stream()
            .filter(
                d ->
                    workload.equals(name(d))
                        && d.get("spec") instanceof Map<?, ?> spec
                        && spec.get("template") != null)
            .findFirst()
            .orElseThrow(() -> new AssertionError("no workload " + workload));
    for (Object c : list(podSpec(w), "containers")) {
      if (container.equals(map(c).get("name"))) {
        return map(c);
      }
    }
    throw new AssertionError("no container " + container + " in " + workload);
  }

  private static Map<String, Object> podSpec(Map<String, Object> workload) {
    return map(map(map(workload.get("spec")).get("template")).get("spec"));
  }

  private static String name(Map<String, Object> doc) {
    Object metadata = doc.get("metadata");
    return metadata == null ? null : (String) map(metadata).get("name");
  }

  private static Map<String, Object> yaml(Path file) throws IOException {
    return map(new Load(LoadSettings.builder().build()).loadFromString(Files.readString(file)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    assertTrue(o instanceof Map, "a mapping: " + o);
    return (Map<String, Object>) o;
  }

  private static List<Object> list(Map<String, Object> m, String key) {
    Object o = m.get(key);
    assertTrue(o instanceof List, key + " is a list in " + m);
    return new ArrayList<>((List<?>) o);
  }

  private static List<String> strings(Map<String, Object> m, String key) {
    List<String> out = new ArrayList<>();
    list(m, key).forEach(o -> out.add(String.valueOf(o)));
    return out;
  }

  /** Copies the manifests (not the bundle build's target/) to a place where they may change. */
  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path rel = from.relativize(p);
        if (rel.startsWith("target")) {
          continue;
        }
        Path target = to.resolve(rel.toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
