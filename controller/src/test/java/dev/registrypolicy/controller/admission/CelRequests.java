package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.ContainerKind;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Objects and requests for the CEL tests, shaped as the API server hands them to CEL. */
final class CelRequests {
  private CelRequests() {}

  static final String OWN = "registry-policy";

  static Policy policy(String admissionYaml) {
    try {
      return PolicyParser.parse(
          "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n" + admissionYaml);
    } catch (PolicyException e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  /** One container of a spec. */
  record C(ContainerKind kind, String name, String image) {}

  static C c(String name, String image) {
    return new C(ContainerKind.CONTAINER, name, image);
  }

  static C init(String name, String image) {
    return new C(ContainerKind.INIT, name, image);
  }

  static C eph(String name, String image) {
    return new C(ContainerKind.EPHEMERAL, name, image);
  }

  /** A pod spec with the containers in their lists (lists left out when empty). */
  static Map<String, Object> podSpec(List<C> containers) {
    Map<String, Object> spec = new LinkedHashMap<>();
    for (ContainerKind k : ContainerKind.values()) {
      List<Object> list = new ArrayList<>();
      for (C c : containers) {
        if (c.kind() == k) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("name", c.name());
          m.put("image", c.image());
          m.put("ports", List.of(Map.of("containerPort", 8080L)));
          list.add(m);
        }
      }
      if (!list.isEmpty()) {
        spec.put(k.field(), list);
      }
    }
    return spec;
  }

  /** An object of the kind with the containers in its pod spec. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> object(WorkloadKind kind, String ns, String name, List<C> containers) {
    Object inner = podSpec(containers);
    List<String> path = kind.podSpecPath();
    Map<String, Object> o = null;
    for (int i = path.size() - 1; i >= 0; i--) {
      o = new LinkedHashMap<>();
      if (i > 0 && (path.get(i - 1).equals("template") || path.get(i - 1).equals("jobTemplate"))) {
        o.put("metadata", Map.of("labels", Map.of("app", name)));
      }
      o.put(path.get(i), inner);
      inner = o;
    }
    o.put(
        "apiVersion",
        kind.group().isEmpty() ? kind.version() : kind.group() + "/" + kind.version());
    o.put("kind", kind.kind());
    o.put("metadata", Map.of("name", name, "namespace", ns));
    return o;
  }

  static Map<String, Object> namespace(String name, Map<String, String> labels) {
    Map<String, String> all = new LinkedHashMap<>(labels);
    all.put("kubernetes.io/metadata.name", name);
    return Map.of(
        "apiVersion", "v1", "kind", "Namespace", "metadata", Map.of("name", name, "labels", all));
  }

  static CelHarness.Request create(WorkloadKind kind, Map<String, Object> ns, List<C> containers) {
    String nsName = nsName(ns);
    return new CelHarness.Request(
        "CREATE",
        kind.group(),
        kind.version(),
        kind.resource(),
        "",
        object(kind, nsName, "w", containers),
        null,
        ns);
  }

  static CelHarness.Request update(
      WorkloadKind kind, Map<String, Object> ns, List<C> containers, List<C> old) {
    String nsName = nsName(ns);
    return new CelHarness.Request(
        "UPDATE",
        kind.group(),
        kind.version(),
        kind.resource(),
        "",
        object(kind, nsName, "w", containers),
        object(kind, nsName, "w", old),
        ns);
  }

  /** kubectl debug: PUT pods/NAME/ephemeralcontainers with the whole Pod. */
  static CelHarness.Request ephemeral(Map<String, Object> ns, List<C> containers, List<C> old) {
    String nsName = nsName(ns);
    return new CelHarness.Request(
        "UPDATE",
        "",
        "v1",
        "pods",
        "ephemeralcontainers",
        object(WorkloadKind.POD, nsName, "w", containers),
        object(WorkloadKind.POD, nsName, "w", old),
        ns);
  }

  @SuppressWarnings("unchecked")
  static String nsName(Map<String, Object> ns) {
    return (String) ((Map<String, Object>) ns.get("metadata")).get("name");
  }

  @SuppressWarnings("unchecked")
  static Map<String, String> nsLabels(Map<String, Object> ns) {
    return (Map<String, String>) ((Map<String, Object>) ns.get("metadata")).get("labels");
  }
}
