package dev.registrypolicy.admission;

import dev.registrypolicy.common.ValueTypes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Pod or a workload's pod template, reduced to what admission checks.
 *
 * @param kind what it is
 * @param namespace its namespace
 * @param name its name ({@code metadata.name}, or {@code generateName} when it has no name yet)
 * @param containers its containers: containers, then initContainers, then ephemeralContainers
 * @param podRunAs the pod spec's {@code securityContext} run-as fields
 * @param containerRunAs each container's own {@code securityContext} run-as fields, in the order of
 *     {@code containers}
 */
public record Workload(
    WorkloadKind kind,
    String namespace,
    String name,
    List<Container> containers,
    RunAs podRunAs,
    List<RunAs> containerRunAs) {
  public Workload {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    containers = List.copyOf(containers);
    Objects.requireNonNull(podRunAs, "podRunAs");
    containerRunAs = List.copyOf(containerRunAs);
    if (containerRunAs.size() != containers.size()) {
      throw new IllegalArgumentException(
          "containerRunAs has "
              + containerRunAs.size()
              + " entries for "
              + containers.size()
              + " containers");
    }
  }

  /** A workload without securityContext settings. */
  public Workload(WorkloadKind kind, String namespace, String name, List<Container> containers) {
    this(
        kind,
        namespace,
        name,
        containers,
        RunAs.UNSET,
        java.util.Collections.nCopies(containers.size(), RunAs.UNSET));
  }

  /** The effective run-as settings of the container at {@code index}: its own over the Pod's. */
  public RunAs runAs(int index) {
    return containerRunAs.get(index).over(podRunAs);
  }

  /**
   * Most containers read from one list ({@code containers}, {@code initContainers} or {@code
   * ephemeralContainers}); a longer list is refused, so a hostile object costs bounded work.
   * Kubernetes sets no such limit, but no real pod spec comes near it.
   */
  public static final int MAX_CONTAINERS_PER_LIST = 10_000;

  /**
   * Reads a decoded object (JSON or YAML as maps, lists, strings, numbers and booleans) of one of
   * the {@link WorkloadKind}s. {@code defaultNamespace} is used when {@code metadata.namespace} is
   * absent (an AdmissionReview carries it in the request). A missing pod spec or container list
   * reads as no containers (the API server's own validation refuses such objects).
   *
   * @return null when the object's kind is not one admission checks (including an object whose
   *     {@code apiVersion} names another API group, such as a custom resource called {@code Job})
   * @throws InvalidWorkloadException when the object is of a checked kind but its pod spec is not
   *     shaped like one (a container list that is not a list, a container without a string image),
   *     naming the field path, e.g. {@code spec.template.spec.containers[1].image: must be a
   *     string, found a number}; or when a list has more than {@link #MAX_CONTAINERS_PER_LIST}
   *     containers
   */
  public static Workload fromObject(Map<String, ?> object, String defaultNamespace)
      throws InvalidWorkloadException {
    if (object == null || !(object.get("kind") instanceof String kindName)) {
      return null;
    }
    WorkloadKind kind = WorkloadKind.ofKind(kindName);
    if (kind == null || !inGroup(object.get("apiVersion"), kind.group())) {
      return null;
    }
    Map<?, ?> metadata = map(object.get("metadata"), "metadata");
    String namespace = metadata == null ? null : string(metadata, "namespace", "metadata");
    if (namespace == null) {
      namespace = defaultNamespace == null ? "" : defaultNamespace;
    }
    String name = metadata == null ? null : string(metadata, "name", "metadata");
    if (name == null || name.isEmpty()) {
      String generate = metadata == null ? null : string(metadata, "generateName", "metadata");
      name = generate != null ? generate : name == null ? "" : name;
    }
    Object node = object;
    String path = "";
    for (String field : kind.podSpecPath()) {
      Map<?, ?> m = map(node, path);
      if (m == null) {
        node = null;
        break;
      }
      node = m.get(field);
      path = path.isEmpty() ? field : path + "." + field;
    }
    Map<?, ?> podSpec = map(node, path);
    List<Container> containers = new ArrayList<>();
    List<RunAs> runAs = new ArrayList<>();
    RunAs pod = RunAs.UNSET;
    if (podSpec != null) {
      for (ContainerKind ck : ContainerKind.values()) {
        read(podSpec.get(ck.field()), path + "." + ck.field(), ck, containers, runAs);
      }
      pod = runAs(podSpec.get("securityContext"), path + ".securityContext");
    }
    return new Workload(kind, namespace, name, containers, pod, runAs);
  }

  /**
   * The run-as fields of a {@code securityContext} at path; wrong types are refused as the API
   * server's own validation refuses them (a boolean, an integer).
   */
  private static RunAs runAs(Object securityContext, String path) throws InvalidWorkloadException {
    Map<?, ?> sc = map(securityContext, path);
    if (sc == null) {
      return RunAs.UNSET;
    }
    Object nonRoot = sc.get("runAsNonRoot");
    if (nonRoot != null && !(nonRoot instanceof Boolean)) {
      throw new InvalidWorkloadException(
          path + ".runAsNonRoot: must be true or false, found " + typeName(nonRoot));
    }
    Object user = sc.get("runAsUser");
    Long uid = null;
    if (user instanceof Integer || user instanceof Long) {
      uid = ((Number) user).longValue();
    } else if (user != null) {
      throw new InvalidWorkloadException(
          path + ".runAsUser: must be an integer, found " + typeName(user));
    }
    if (nonRoot == null && uid == null) {
      return RunAs.UNSET;
    }
    return new RunAs((Boolean) nonRoot, uid);
  }

  /**
   * Whether an {@code apiVersion} ({@code apps/v1}, {@code v1}) is in {@code group} ("" for core);
   * an absent one is taken to be (objects from {@code kubectl get} always have one).
   */
  private static boolean inGroup(Object apiVersion, String group) {
    if (!(apiVersion instanceof String v)) {
      return apiVersion == null;
    }
    int slash = v.indexOf('/');
    return slash < 0
        ? group.isEmpty()
        : v.regionMatches(0, group, 0, slash) && slash == group.length();
  }

  private static void read(
      Object list, String path, ContainerKind kind, List<Container> out, List<RunAs> runAs)
      throws InvalidWorkloadException {
    if (list == null) {
      return;
    }
    if (!(list instanceof List<?> items)) {
      throw new InvalidWorkloadException(path + ": must be a list, found " + typeName(list));
    }
    if (items.size() > MAX_CONTAINERS_PER_LIST) {
      throw new InvalidWorkloadException(
          path
              + ": too many containers ("
              + items.size()
              + ", at most "
              + MAX_CONTAINERS_PER_LIST
              + ")");
    }
    for (int i = 0; i < items.size(); i++) {
      String at = path + "[" + i + "]";
      Object item = items.get(i);
      if (!(item instanceof Map<?, ?> c)) {
        throw new InvalidWorkloadException(at + ": must be an object, found " + typeName(item));
      }
      out.add(new Container(kind, required(c, "name", at), required(c, "image", at)));
      runAs.add(runAs(c.get("securityContext"), at + ".securityContext"));
    }
  }

  private static String required(Map<?, ?> m, String key, String path)
      throws InvalidWorkloadException {
    Object v = m.get(key);
    if (v instanceof String s) {
      return s;
    }
    throw new InvalidWorkloadException(
        path + "." + key + ": must be a string, found " + typeName(v));
  }

  private static String string(Map<?, ?> m, String key, String path)
      throws InvalidWorkloadException {
    Object v = m.get(key);
    if (v == null || v instanceof String) {
      return (String) v;
    }
    throw new InvalidWorkloadException(
        path + "." + key + ": must be a string, found " + typeName(v));
  }

  /** The map at path, null when absent; a problem when it is something else. */
  private static Map<?, ?> map(Object v, String path) throws InvalidWorkloadException {
    if (v == null || v instanceof Map) {
      return (Map<?, ?>) v;
    }
    throw new InvalidWorkloadException(
        (path.isEmpty() ? "the object" : path) + ": must be an object, found " + typeName(v));
  }

  private static String typeName(Object v) {
    return ValueTypes.describe(v, ValueTypes.OBJECT);
  }
}
