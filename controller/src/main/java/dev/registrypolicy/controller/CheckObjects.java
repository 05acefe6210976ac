package dev.registrypolicy.controller;

import dev.registrypolicy.admission.InvalidWorkloadException;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.common.Redact;
import dev.registrypolicy.common.ValueTypes;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.Problem;
import dev.registrypolicy.policy.Yaml;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code check}'s input: the objects of a {@code kubectl get ns,pods,deployments,... -A -o yaml}
 * file (a List, a YAML sequence, or one object per document), read with the model's YAML loader and
 * its limits for object dumps ({@code Yaml.Limits.OBJECTS}). Namespaces give the labels and
 * annotations that scoped rules need; objects of the workload kinds become {@link Workload}s; other
 * kinds are skipped with a note.
 *
 * @param namespaces the file's Namespaces by name
 * @param workloads the workloads in file order
 * @param notes what was skipped or assumed, one line each
 * @param problems objects that could not be read, with their place in the file
 * @param secrets the data of the file's Secrets in the policy's namespace, by name: what {@code
 *     --registry-access} reads the policy's credential, CA and client-certificate references from
 *     (bytes only, never shown; a record's text shows arrays by identity)
 */
record CheckObjects(
    Map<String, NamespaceInfo> namespaces,
    List<Item> workloads,
    List<String> notes,
    List<Problem> problems,
    Map<String, Map<String, byte[]>> secrets) {
  /** Namespace of an object without {@code metadata.namespace}, as kubectl would create it. */
  static final String DEFAULT_NAMESPACE = "default";

  /**
   * One workload of the file.
   *
   * @param index its place in the file's flattened item list ({@code [3]})
   * @param workload the workload
   * @param owner {@code Kind/name} of its first ownerReference (a Pod of a ReplicaSet), or null
   */
  record Item(int index, Workload workload, String owner) {}

  CheckObjects {
    namespaces = Map.copyOf(namespaces);
    workloads = List.copyOf(workloads);
    notes = List.copyOf(notes);
    problems = List.copyOf(problems);
    secrets = Map.copyOf(secrets);
  }

  /**
   * Reads the file's text. A file that is not YAML or breaks a loader limit gives one problem and
   * nothing else; an object that cannot be read gives a problem and the rest are still read.
   */
  static CheckObjects parse(String text) {
    List<Problem> problems = new ArrayList<>();
    List<Object> docs = Yaml.loadAll(text, "", problems, Yaml.Limits.OBJECTS);
    if (docs == null) {
      return new CheckObjects(Map.of(), List.of(), List.of(), problems, Map.of());
    }
    List<Object> items = new ArrayList<>();
    for (Object d : docs) {
      if (d instanceof List<?> l) {
        items.addAll(l);
      } else if (d instanceof Map<?, ?> m
          && "List".equals(m.get("kind"))
          && m.get("items") instanceof List<?> l) {
        items.addAll(l);
      } else {
        items.add(d);
      }
    }
    Map<String, NamespaceInfo> namespaces = new TreeMap<>();
    List<String> notes = new ArrayList<>();
    // Namespaces first: a Pod may come before its Namespace in the file.
    for (int i = 0; i < items.size(); i++) {
      if (items.get(i) instanceof Map<?, ?> m && "Namespace".equals(m.get("kind"))) {
        NamespaceInfo ns = namespace(i, m, problems);
        if (ns != null && namespaces.putIfAbsent(ns.name(), ns) != null) {
          problems.add(
              new Problem(
                  "[" + i + "].metadata.name",
                  "namespace " + Redact.quote(ns.name()) + " appears twice in the file"));
        }
      }
    }
    Map<String, Integer> skippedKinds = new TreeMap<>();
    Map<String, Map<String, byte[]>> secrets = new TreeMap<>();
    List<Item> workloads = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      String at = "[" + i + "]";
      if (!(items.get(i) instanceof Map<?, ?> m)) {
        problems.add(
            new Problem(
                at, "want a Kubernetes object (a mapping), found " + typeName(items.get(i))));
        continue;
      }
      if (!(m.get("kind") instanceof String kind)) {
        problems.add(
            new Problem(at + ".kind", "required: the object's kind (Pod, Deployment, ...)"));
        continue;
      }
      if (kind.equals("Namespace")) {
        continue;
      }
      if (kind.equals("Secret") && policySecret(m, at, secrets, problems)) {
        continue;
      }
      WorkloadKind wk = WorkloadKind.ofKind(kind);
      if (wk == null) {
        skippedKinds.merge(kind, 1, Integer::sum);
        continue;
      }
      Map<?, ?> meta = m.get("metadata") instanceof Map<?, ?> mm ? mm : Map.of();
      String ns;
      if (meta.get("namespace") instanceof String s && !s.isEmpty()) {
        ns = s;
      } else {
        ns = DEFAULT_NAMESPACE;
        notes.add(
            at
                + " "
                + kind
                + " "
                + Redact.value(String.valueOf(meta.get("name")))
                + ": no metadata.namespace, checked as namespace "
                + DEFAULT_NAMESPACE);
      }
      try {
        Workload w = Workload.fromObject(stringKeys(m), ns);
        if (w != null) {
          workloads.add(new Item(i, w, owner(meta.get("ownerReferences"))));
        }
      } catch (InvalidWorkloadException e) {
        problems.add(
            new Problem(
                at, kind + " " + Redact.value(ns) + "/" + name(meta) + ": " + e.getMessage()));
      } catch (RuntimeException e) {
        // The reader must refuse any shape with InvalidWorkloadException; anything else is a bug,
        // reported against the object rather than as a stack trace.
        problems.add(
            new Problem(
                at,
                kind
                    + " "
                    + Redact.value(ns)
                    + "/"
                    + name(meta)
                    + ": cannot be read ("
                    + e.getClass().getSimpleName()
                    + ")"));
      }
    }
    skippedKinds.forEach(
        (kind, n) ->
            notes.add(
                "skipped "
                    + n
                    + " "
                    + Redact.value(kind)
                    + (n == 1 ? " object" : " objects")
                    + ": check reads Namespaces and "
                    + kindNames()));
    return new CheckObjects(namespaces, workloads, notes, problems, secrets);
  }

  /**
   * Keeps a Secret of the policy's namespace (its {@code data}, base64-decoded, and {@code
   * stringData}); false for a Secret elsewhere, which is skipped like other kinds. A value that is
   * not base64 is a problem naming the key, never the value.
   */
  private static boolean policySecret(
      Map<?, ?> m, String at, Map<String, Map<String, byte[]>> secrets, List<Problem> problems) {
    Map<?, ?> meta = m.get("metadata") instanceof Map<?, ?> mm ? mm : Map.of();
    if (!Policy.NAMESPACE.equals(meta.get("namespace"))
        || !(meta.get("name") instanceof String name)) {
      return false;
    }
    Map<String, byte[]> data = new TreeMap<>();
    if (m.get("data") instanceof Map<?, ?> d) {
      for (Map.Entry<?, ?> e : d.entrySet()) {
        if (e.getKey() instanceof String k && e.getValue() instanceof String v) {
          try {
            data.put(k, java.util.Base64.getMimeDecoder().decode(v));
          } catch (IllegalArgumentException bad) {
            problems.add(
                new Problem(
                    at + ".data." + k,
                    "Secret " + Policy.NAMESPACE + "/" + name + ": the value is not base64"));
          }
        }
      }
    }
    if (m.get("stringData") instanceof Map<?, ?> d) {
      for (Map.Entry<?, ?> e : d.entrySet()) {
        if (e.getKey() instanceof String k && e.getValue() instanceof String v) {
          data.put(k, v.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
      }
    }
    secrets.put(name, data);
    return true;
  }

  /** The kinds check reads: {@code Pod, Deployment, ...}. */
  static String kindNames() {
    List<String> out = new ArrayList<>();
    for (WorkloadKind k : WorkloadKind.values()) {
      out.add(k.kind());
    }
    return String.join(", ", out);
  }

  private static NamespaceInfo namespace(int i, Map<?, ?> m, List<Problem> problems) {
    String at = "[" + i + "]";
    if (!(m.get("metadata") instanceof Map<?, ?> meta) || !(meta.get("name") instanceof String n)) {
      problems.add(new Problem(at + ".metadata.name", "required for a Namespace"));
      return null;
    }
    Map<String, String> labels = strings(meta.get("labels"), at + ".metadata.labels", problems);
    Map<String, String> annotations =
        strings(meta.get("annotations"), at + ".metadata.annotations", problems);
    if (labels == null || annotations == null) {
      return null;
    }
    return new NamespaceInfo(n, labels, annotations);
  }

  private static Map<String, String> strings(Object o, String at, List<Problem> problems) {
    if (o == null) {
      return Map.of();
    }
    if (!(o instanceof Map<?, ?> m)) {
      problems.add(new Problem(at, "want a mapping of strings, found " + typeName(o)));
      return null;
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      Object v = e.getValue();
      if (!(e.getKey() instanceof String k)
          || !(v instanceof String || v instanceof Number || v instanceof Boolean)) {
        problems.add(
            new Problem(
                at + "." + Redact.value(String.valueOf(e.getKey())),
                "want a string value, found " + typeName(v)));
        return null;
      }
      out.put(k, String.valueOf(v));
    }
    return out;
  }

  /** {@code Kind/name} of the first ownerReference, or null. */
  private static String owner(Object refs) {
    if (refs instanceof List<?> l
        && !l.isEmpty()
        && l.get(0) instanceof Map<?, ?> r
        && r.get("kind") instanceof String k
        && r.get("name") instanceof String n) {
      return k + "/" + n;
    }
    return null;
  }

  private static String name(Map<?, ?> meta) {
    Object n = meta.get("name");
    if (!(n instanceof String)) {
      n = meta.get("generateName");
    }
    return n instanceof String s ? Redact.value(s) : "(no name)";
  }

  /** The object with its keys as strings; a key of another type (YAML allows it) is dropped. */
  @SuppressWarnings("unchecked")
  private static Map<String, ?> stringKeys(Map<?, ?> m) {
    for (Object k : m.keySet()) {
      if (!(k instanceof String)) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach(
            (key, v) -> {
              if (key instanceof String s) {
                out.put(s, v);
              }
            });
        return out;
      }
    }
    return (Map<String, ?>) m;
  }

  static String typeName(Object v) {
    return ValueTypes.describe(v, ValueTypes.MAPPING);
  }
}
