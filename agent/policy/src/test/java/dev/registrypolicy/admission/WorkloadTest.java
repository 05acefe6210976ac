package dev.registrypolicy.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Reading Pods and workload templates from decoded JSON/YAML, and refusing what is not one. */
class WorkloadTest {
  static Map<String, Object> podSpec() {
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put(
        "containers",
        List.of(
            Map.of("name", "web", "image", "nginx:1.25", "ports", List.of()),
            Map.of("name", "side", "image", "ghcr.io/x/y")));
    spec.put("initContainers", List.of(Map.of("name", "setup", "image", "busybox")));
    spec.put("ephemeralContainers", List.of(Map.of("name", "dbg", "image", "alpine")));
    return spec;
  }

  /** An object of the kind with podSpec() at its pod spec path. */
  static Map<String, Object> object(WorkloadKind kind, Map<String, Object> metadata) {
    Object inner = podSpec();
    List<String> path = kind.podSpecPath();
    for (int i = path.size() - 1; i >= 0; i--) {
      Map<String, Object> m = new HashMap<>();
      m.put(path.get(i), inner);
      inner = m;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> o = new LinkedHashMap<>((Map<String, Object>) inner);
    o.put("apiVersion", kind.group().isEmpty() ? "v1" : kind.group() + "/v1");
    o.put("kind", kind.kind());
    o.put("metadata", metadata);
    return o;
  }

  @ParameterizedTest
  @EnumSource(WorkloadKind.class)
  void everyKind_readsItsPodSpec_inListOrder(WorkloadKind kind) throws Exception {
    Workload w = Workload.fromObject(object(kind, Map.of("name", "w", "namespace", "ns")), "dflt");
    assertEquals(kind, w.kind());
    assertEquals("ns", w.namespace());
    assertEquals("w", w.name());
    assertEquals(
        List.of(
            new Container(ContainerKind.CONTAINER, "web", "nginx:1.25"),
            new Container(ContainerKind.CONTAINER, "side", "ghcr.io/x/y"),
            new Container(ContainerKind.INIT, "setup", "busybox"),
            new Container(ContainerKind.EPHEMERAL, "dbg", "alpine")),
        w.containers());
  }

  @Test
  void namespaceAndName_defaults() throws Exception {
    Workload w = Workload.fromObject(object(WorkloadKind.POD, Map.of("generateName", "web-")), "d");
    assertEquals("d", w.namespace());
    assertEquals("web-", w.name());
    Map<String, Object> noMeta = object(WorkloadKind.JOB, Map.of());
    noMeta.remove("metadata");
    Workload j = Workload.fromObject(noMeta, null);
    assertEquals("", j.namespace());
    assertEquals("", j.name());
    assertEquals(4, j.containers().size());
  }

  @Test
  void missingSpecsAndLists_areNoContainers() throws Exception {
    Map<String, Object> pod = new HashMap<>(Map.of("apiVersion", "v1", "kind", "Pod"));
    assertEquals(List.of(), Workload.fromObject(pod, "n").containers());
    Map<String, Object> spec = new HashMap<>();
    spec.put("containers", null); // JSON null
    pod.put("spec", spec);
    assertEquals(List.of(), Workload.fromObject(pod, "n").containers());
    Map<String, Object> cron =
        new HashMap<>(
            Map.of(
                "apiVersion", "batch/v1",
                "kind", "CronJob",
                "spec", Map.of("jobTemplate", Map.of("spec", Map.of()))));
    assertEquals(List.of(), Workload.fromObject(cron, "n").containers());
  }

  @Test
  void otherKindsAndOtherGroups_areNotWorkloads() throws Exception {
    assertNull(Workload.fromObject(Map.of("apiVersion", "v1", "kind", "ConfigMap"), "n"));
    assertNull(Workload.fromObject(Map.of("apiVersion", "v1"), "n"));
    assertNull(Workload.fromObject(Map.of("kind", 7), "n"));
    assertNull(Workload.fromObject(null, "n"));
    // a custom resource that happens to be called Job, with a spec of another shape
    assertNull(
        Workload.fromObject(
            Map.of("apiVersion", "batch.volcano.sh/v1alpha1", "kind", "Job", "spec", "x"), "n"));
    assertNull(
        Workload.fromObject(Map.of("apiVersion", "apps/v1", "kind", "Pod", "spec", "x"), "n"));
    assertNull(Workload.fromObject(Map.of("apiVersion", "v1", "kind", "Deployment"), "n"));
    // no apiVersion: read by kind (as in hand-written files)
    Workload w = Workload.fromObject(Map.of("kind", "Pod", "spec", podSpec()), "n");
    assertEquals(4, w.containers().size());
  }

  static String error(Map<String, ?> o) {
    return assertThrows(InvalidWorkloadException.class, () -> Workload.fromObject(o, "n"))
        .getMessage();
  }

  static Map<String, Object> deployment(Object podSpec) {
    return Map.of(
        "apiVersion",
        "apps/v1",
        "kind",
        "Deployment",
        "spec",
        Map.of("template", Map.of("spec", podSpec)));
  }

  @Test
  void hostileShapes_nameTheFieldPath() {
    Map<String, Object> c0 = Map.of("name", "a", "image", "nginx");
    Map<String, Object> badImage = new HashMap<>(Map.of("name", "b"));
    badImage.put("image", 42);
    assertEquals(
        "spec.template.spec.containers[1].image: must be a string, found a number",
        error(deployment(Map.of("containers", List.of(c0, badImage)))));
    assertEquals(
        "spec.template.spec.containers[0].image: must be a string, found nothing",
        error(deployment(Map.of("containers", List.of(Map.of("name", "a"))))));
    assertEquals(
        "spec.template.spec.initContainers[0].name: must be a string, found a list",
        error(
            deployment(
                Map.of("initContainers", List.of(Map.of("name", List.of(), "image", "x"))))));
    assertEquals(
        "spec.template.spec.containers: must be a list, found an object",
        error(deployment(Map.of("containers", Map.of("name", "a")))));
    assertEquals(
        "spec.template.spec.ephemeralContainers[0]: must be an object, found a string",
        error(deployment(Map.of("ephemeralContainers", List.of("nginx")))));
    assertEquals("spec.template.spec: must be an object, found a boolean", error(deployment(true)));
    assertEquals(
        "spec.template: must be an object, found a list",
        error(
            Map.of(
                "apiVersion",
                "apps/v1",
                "kind",
                "DaemonSet",
                "spec",
                Map.of("template", List.of()))));
    assertEquals(
        "spec: must be an object, found a string",
        error(Map.of("apiVersion", "v1", "kind", "Pod", "spec", "x")));
    assertEquals(
        "metadata: must be an object, found a number",
        error(Map.of("apiVersion", "v1", "kind", "Pod", "metadata", 1)));
    assertEquals(
        "metadata.namespace: must be a string, found a boolean",
        error(Map.of("apiVersion", "v1", "kind", "Pod", "metadata", Map.of("namespace", false))));
    assertEquals(
        "spec.jobTemplate.spec.template.spec.containers[0]: must be an object, found nothing",
        error(
            Map.of(
                "apiVersion",
                "batch/v1",
                "kind",
                "CronJob",
                "spec",
                Map.of(
                    "jobTemplate",
                    Map.of(
                        "spec",
                        Map.of(
                            "template",
                            Map.of(
                                "spec",
                                Map.of("containers", Collections.singletonList(null)))))))));
  }

  @Test
  void containerLists_areCapped() throws Exception {
    List<Object> many = new ArrayList<>();
    for (int i = 0; i < Workload.MAX_CONTAINERS_PER_LIST; i++) {
      many.add(Map.of("name", "c" + i, "image", "nginx"));
    }
    assertEquals(
        Workload.MAX_CONTAINERS_PER_LIST,
        Workload.fromObject(deployment(Map.of("containers", many)), "n").containers().size());
    many.add(Map.of("name", "one-more", "image", "nginx"));
    assertEquals(
        "spec.template.spec.containers: too many containers (10001, at most 10000)",
        error(deployment(Map.of("containers", many))));
  }
}
