package dev.registrypolicy.admission.corpus;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.Problem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * The shared admission corpus: hand-written requests with the verdict the semantics give them, read
 * from {@value #DIRECTORY}{@code /*.yaml} on the class path (the model's test classes, or its
 * test-jar). The verdict function, the generated CEL and the webhook are all checked against it.
 *
 * <p>A corpus file:
 *
 * <pre>
 * policies:                 # id: policy text (a bare RegistryPolicy), parsed once per file
 *   corp: |
 *     apiVersion: registry-policy.dev/v1alpha1
 *     ...
 * namespaces:               # name: {labels: {...}, annotations: {...}}; every case's namespace
 *   apps: {}
 *   team-a: {labels: {team: a}}
 * defaults:                 # optional: policy, namespace, ownNamespace for every case
 *   policy: corp
 *   namespace: apps
 * cases:
 *   - name: implicit-docker-hub            # [a-z0-9-]+, unique in the file
 *     note: why                            # optional
 *     policy: corp                         # optional with a default
 *     namespace: apps                      # optional with a default
 *     ownNamespace: registry-policy        # optional, default registry-policy
 *     kind: Deployment                     # optional, default Pod (with image or pod)
 *     image: nginx                         # one container named "app" ...
 *     pod: {containers: [...]}             # ... or a pod spec ...
 *     object: {...}                        # ... or the whole object
 *     oldImage / oldPod / oldObject: ...   # the same for the old object of an UPDATE
 *     subResource: ephemeralcontainers     # optional
 *     expect: deny                         # the action, or:
 *     expect:
 *       action: deny                       # optional when containers are given: their maximum
 *       containers:                        # every container in spec order
 *         - [app, deny, allowedSources, docker.io/library/nginx:latest]   # name action rule [image]
 *         - {name: side, action: allow, rule: null, image: ..., message: ...}
 *       messages: {deny: "...", warn: ""}  # Verdict.message(action); "" = none
 * </pre>
 *
 * Every number in objects is a {@link Long} (as JSON integers reach CEL). Unknown keys are errors;
 * every error names the file and the case.
 */
public final class AdmissionCorpus {
  /** Where the corpus files are on the class path. */
  public static final String DIRECTORY = "dev/registrypolicy/admission/corpus";

  /** The product's namespace unless a case says otherwise. */
  public static final String DEFAULT_OWN_NAMESPACE = "registry-policy";

  /** The sub-resource through which ephemeral containers are added. */
  public static final String EPHEMERAL_SUBRESOURCE = "ephemeralcontainers";

  private static final Pattern CASE_NAME = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?");

  private AdmissionCorpus() {}

  /** Every case of every corpus file, files in name order, cases in file order. */
  public static List<Case> load() {
    List<Case> out = new ArrayList<>();
    for (Map.Entry<String, String> file : files().entrySet()) {
      out.addAll(parseFile(file.getKey(), file.getValue()));
    }
    return List.copyOf(out);
  }

  /** The corpus files on the class path: name to text, sorted by name. */
  static Map<String, String> files() {
    URL url = AdmissionCorpus.class.getClassLoader().getResource(DIRECTORY);
    if (url == null) {
      throw new IllegalStateException("admission corpus: " + DIRECTORY + " not on the class path");
    }
    try {
      URI uri = url.toURI();
      if ("jar".equals(uri.getScheme())) {
        FileSystem fs;
        try {
          fs = FileSystems.newFileSystem(uri, Map.of());
        } catch (FileSystemAlreadyExistsException e) {
          fs = FileSystems.getFileSystem(uri);
        }
        return read(fs.provider().getPath(uri));
      }
      return read(Path.of(uri));
    } catch (URISyntaxException e) {
      throw new IllegalStateException("admission corpus: bad class path URL " + url, e);
    } catch (IOException e) {
      throw new UncheckedIOException("admission corpus: cannot read " + url, e);
    }
  }

  private static Map<String, String> read(Path dir) throws IOException {
    Map<String, String> out = new java.util.TreeMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String name = p.getFileName().toString();
        if (name.endsWith(".yaml")) {
          out.put(name, new String(Files.readAllBytes(p), StandardCharsets.UTF_8));
        }
      }
    }
    if (out.isEmpty()) {
      throw new IllegalStateException("admission corpus: no .yaml files in " + dir);
    }
    return out;
  }

  /** The cases of one corpus file. */
  static List<Case> parseFile(String file, String text) {
    Object root;
    try {
      root =
          new Load(LoadSettings.builder().setAllowDuplicateKeys(false).build())
              .loadFromString(text);
    } catch (YamlEngineException e) {
      throw new IllegalStateException(
          "admission corpus " + file + ": invalid YAML: " + e.getMessage(), e);
    }
    Map<String, Object> top = map(root, file, "the file");
    known(top, file, "the file", "policies", "namespaces", "defaults", "cases");
    Map<String, Policy> policies = new HashMap<>();
    for (Map.Entry<String, Object> e : map(top.get("policies"), file, "policies").entrySet()) {
      String where = "policy " + e.getKey();
      if (!(e.getValue() instanceof String policyText)) {
        throw fail(file, where, "want the policy text (a YAML block scalar)");
      }
      try {
        policies.put(e.getKey(), PolicyDocument.parse(policyText));
      } catch (PolicyException ex) {
        List<String> problems = new ArrayList<>();
        for (Problem p : ex.problems()) {
          problems.add(p.toString());
        }
        throw fail(file, where, "does not parse: " + String.join("; ", problems));
      }
    }
    Map<String, NamespaceInfo> namespaces = new HashMap<>();
    Object rawNs = top.get("namespaces");
    if (rawNs != null) {
      for (Map.Entry<String, Object> e : map(rawNs, file, "namespaces").entrySet()) {
        String where = "namespace " + e.getKey();
        Map<String, Object> n = e.getValue() == null ? Map.of() : map(e.getValue(), file, where);
        known(n, file, where, "labels", "annotations");
        namespaces.put(
            e.getKey(),
            new NamespaceInfo(
                e.getKey(),
                strings(n.get("labels"), file, where + " labels"),
                strings(n.get("annotations"), file, where + " annotations")));
      }
    }
    Map<String, Object> defaults =
        top.get("defaults") == null ? Map.of() : map(top.get("defaults"), file, "defaults");
    known(defaults, file, "defaults", "policy", "namespace", "ownNamespace");
    if (!(top.get("cases") instanceof List<?> rawCases) || rawCases.isEmpty()) {
      throw fail(file, "cases", "want a non-empty list of cases");
    }
    List<Case> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < rawCases.size(); i++) {
      Map<String, Object> c = map(rawCases.get(i), file, "cases[" + i + "]");
      Object rawName = c.get("name");
      String where = rawName instanceof String s ? "case " + s : "cases[" + i + "]";
      if (!(rawName instanceof String name) || !CASE_NAME.matcher(name).matches()) {
        throw fail(file, where, "want a name of lowercase letters, digits and '-'");
      }
      if (!names.add(name)) {
        throw fail(file, where, "duplicate case name");
      }
      try {
        out.add(parseCase(file, name, c, policies, namespaces, defaults));
      } catch (RuntimeException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("admission corpus ")) {
          throw e;
        }
        throw fail(file, where, String.valueOf(e), e);
      }
    }
    return out;
  }

  private static Case parseCase(
      String file,
      String name,
      Map<String, Object> c,
      Map<String, Policy> policies,
      Map<String, NamespaceInfo> namespaces,
      Map<String, Object> defaults) {
    String where = "case " + name;
    known(
        c,
        file,
        where,
        "name",
        "note",
        "policy",
        "namespace",
        "ownNamespace",
        "kind",
        "image",
        "pod",
        "object",
        "oldImage",
        "oldPod",
        "oldObject",
        "subResource",
        "expect");
    String policyId =
        string(c.getOrDefault("policy", defaults.get("policy")), file, where, "policy");
    Policy policy = policies.get(policyId);
    if (policy == null) {
      throw fail(file, where, "unknown policy " + policyId + " (not under policies)");
    }
    String nsName =
        string(c.getOrDefault("namespace", defaults.get("namespace")), file, where, "namespace");
    NamespaceInfo ns = namespaces.get(nsName);
    if (ns == null) {
      throw fail(file, where, "unknown namespace " + nsName + " (not under namespaces)");
    }
    Object own = c.getOrDefault("ownNamespace", defaults.get("ownNamespace"));
    String ownNamespace =
        own == null ? DEFAULT_OWN_NAMESPACE : string(own, file, where, "ownNamespace");
    String kindName = c.get("kind") == null ? "Pod" : string(c.get("kind"), file, where, "kind");
    WorkloadKind kind = WorkloadKind.ofKind(kindName);
    Map<String, Object> object =
        object(
            file,
            where,
            name,
            nsName,
            kind,
            kindName,
            c.get("image"),
            c.get("pod"),
            c.get("object"),
            "");
    Map<String, Object> old =
        object(
            file,
            where,
            name,
            nsName,
            kind,
            kindName,
            c.get("oldImage"),
            c.get("oldPod"),
            c.get("oldObject"),
            "old");
    if (object == null) {
      throw fail(file, where, "needs one of image, pod, object");
    }
    String sub =
        c.get("subResource") == null
            ? null
            : string(c.get("subResource"), file, where, "subResource");
    if (sub != null && (!sub.equals(EPHEMERAL_SUBRESOURCE) || old == null)) {
      throw fail(file, where, "subResource must be " + EPHEMERAL_SUBRESOURCE + ", on an UPDATE");
    }
    Expected expected = expected(c.get("expect"), file, where);
    String note = c.get("note") == null ? null : string(c.get("note"), file, where, "note");
    return new Case(
        file + "#" + name, policyId, policy, ownNamespace, ns, object, old, sub, expected, note);
  }

  private static Map<String, Object> object(
      String file,
      String where,
      String name,
      String ns,
      WorkloadKind kind,
      String kindName,
      Object image,
      Object pod,
      Object object,
      String prefix) {
    int given = (image != null ? 1 : 0) + (pod != null ? 1 : 0) + (object != null ? 1 : 0);
    if (given > 1) {
      throw fail(
          file,
          where,
          "give only one of " + prefix + "image, " + prefix + "pod, " + prefix + "object");
    }
    if (object != null) {
      return longs(map(object, file, where + " " + prefix + "object"));
    }
    if (image == null && pod == null) {
      return null;
    }
    if (kind == null) {
      throw fail(file, where, "unknown kind " + kindName + " (want a WorkloadKind's kind)");
    }
    Map<String, Object> spec;
    if (image != null) {
      Map<String, Object> container = new LinkedHashMap<>();
      container.put("name", "app");
      container.put("image", string(image, file, where, prefix + "image"));
      spec = new LinkedHashMap<>();
      spec.put("containers", List.of(container));
    } else {
      spec = map(pod, file, where + " " + prefix + "pod");
    }
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("name", name);
    meta.put("namespace", ns);
    Map<String, Object> obj = new LinkedHashMap<>();
    obj.put(
        "apiVersion",
        kind.group().isEmpty() ? kind.version() : kind.group() + "/" + kind.version());
    obj.put("kind", kind.kind());
    obj.put("metadata", meta);
    // Nest the pod spec along the kind's path: spec, spec.template.spec, ...
    Object inner = spec;
    List<String> path = kind.podSpecPath();
    for (int i = path.size() - 1; i > 0; i--) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put(path.get(i), inner);
      inner = m;
    }
    obj.put(path.get(0), inner);
    return longs(obj);
  }

  private static Expected expected(Object raw, String file, String where) {
    if (raw == null) {
      throw fail(file, where, "needs expect");
    }
    if (raw instanceof String s) {
      return new Expected(action(s, file, where), null, Map.of());
    }
    Map<String, Object> e = map(raw, file, where + " expect");
    known(e, file, where + " expect", "action", "containers", "messages");
    List<ExpectedContainer> containers = null;
    if (e.get("containers") != null) {
      if (!(e.get("containers") instanceof List<?> list)) {
        throw fail(file, where, "expect.containers must be a list");
      }
      containers = new ArrayList<>();
      for (int i = 0; i < list.size(); i++) {
        containers.add(container(list.get(i), file, where + " expect.containers[" + i + "]"));
      }
    }
    Action action;
    if (e.get("action") != null) {
      action = action(string(e.get("action"), file, where, "expect.action"), file, where);
    } else if (containers != null) {
      action = Action.ALLOW;
      for (ExpectedContainer ec : containers) {
        action = action.max(ec.action());
      }
    } else {
      throw fail(file, where, "expect needs action or containers");
    }
    Map<Action, String> messages = new EnumMap<>(Action.class);
    if (e.get("messages") != null) {
      for (Map.Entry<String, Object> m :
          map(e.get("messages"), file, where + " expect.messages").entrySet()) {
        messages.put(
            action(m.getKey(), file, where), string(m.getValue(), file, where, "expect.messages"));
      }
    }
    return new Expected(action, containers, messages);
  }

  private static ExpectedContainer container(Object raw, String file, String where) {
    if (raw instanceof List<?> l) {
      if (l.size() < 3 || l.size() > 4) {
        throw fail(file, where, "want [name, action, rule, image?]");
      }
      return new ExpectedContainer(
          string(l.get(0), file, where, "name"),
          action(string(l.get(1), file, where, "action"), file, where),
          l.get(2) == null ? null : string(l.get(2), file, where, "rule"),
          l.size() < 4 ? null : string(l.get(3), file, where, "image"),
          null);
    }
    Map<String, Object> m = map(raw, file, where);
    known(m, file, where, "name", "action", "rule", "image", "message");
    return new ExpectedContainer(
        string(m.get("name"), file, where, "name"),
        action(string(m.get("action"), file, where, "action"), file, where),
        m.get("rule") == null ? null : string(m.get("rule"), file, where, "rule"),
        m.get("image") == null ? null : string(m.get("image"), file, where, "image"),
        m.get("message") == null ? null : string(m.get("message"), file, where, "message"));
  }

  private static Action action(String s, String file, String where) {
    for (Action a : Action.values()) {
      if (a.wireName().equals(s)) {
        return a;
      }
    }
    throw fail(file, where, "unknown action " + s + " (want allow, audit, warn or deny)");
  }

  // ---- plumbing -------------------------------------------------------------------------------

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o, String file, String where) {
    if (!(o instanceof Map<?, ?> m)) {
      throw fail(
          file,
          where,
          "want a mapping, found " + (o == null ? "nothing" : o.getClass().getSimpleName()));
    }
    for (Object k : m.keySet()) {
      if (!(k instanceof String)) {
        throw fail(file, where, "key " + k + " is not a string");
      }
    }
    return (Map<String, Object>) m;
  }

  private static Map<String, String> strings(Object o, String file, String where) {
    if (o == null) {
      return Map.of();
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : map(o, file, where).entrySet()) {
      out.put(e.getKey(), string(e.getValue(), file, where, e.getKey()));
    }
    return out;
  }

  private static String string(Object o, String file, String where, String field) {
    if (!(o instanceof String s)) {
      throw fail(file, where, field + " must be a string, found " + (o == null ? "nothing" : o));
    }
    return s;
  }

  private static void known(Map<String, Object> m, String file, String where, String... keys) {
    Set<String> ok = Set.of(keys);
    for (String k : m.keySet()) {
      if (!ok.contains(k)) {
        throw fail(file, where, "unknown key " + k + " (want " + String.join(", ", keys) + ")");
      }
    }
  }

  /** A deep, unmodifiable copy with every Integer as a Long (as JSON integers reach CEL). */
  @SuppressWarnings("unchecked")
  static <T> T longs(T o) {
    if (o instanceof Map<?, ?> m) {
      Map<Object, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.put(e.getKey(), longs(e.getValue()));
      }
      return (T) Collections.unmodifiableMap(out);
    }
    if (o instanceof List<?> l) {
      List<Object> out = new ArrayList<>(l.size());
      for (Object x : l) {
        out.add(longs(x));
      }
      return (T) Collections.unmodifiableList(out);
    }
    if (o instanceof Integer i) {
      return (T) Long.valueOf(i.longValue());
    }
    if (o instanceof java.math.BigInteger b) {
      return (T) Long.valueOf(b.longValueExact());
    }
    return o;
  }

  private static IllegalStateException fail(String file, String where, String what) {
    return new IllegalStateException("admission corpus " + file + ", " + where + ": " + what);
  }

  private static IllegalStateException fail(
      String file, String where, String what, Throwable cause) {
    return new IllegalStateException(
        "admission corpus " + file + ", " + where + ": " + what, cause);
  }
}
