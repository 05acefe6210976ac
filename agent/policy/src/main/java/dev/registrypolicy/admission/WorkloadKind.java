package dev.registrypolicy.admission;

import java.util.List;

/**
 * The kinds admission checks, where their pod spec lives, and the API resource they are served as.
 * The ValidatingAdmissionPolicy's match rules, the webhook configuration and the offline {@code
 * check} all come from this one list.
 */
public enum WorkloadKind {
  POD("", "v1", "pods", "Pod", List.of("spec")),
  DEPLOYMENT("apps", "v1", "deployments", "Deployment", List.of("spec", "template", "spec")),
  STATEFUL_SET("apps", "v1", "statefulsets", "StatefulSet", List.of("spec", "template", "spec")),
  DAEMON_SET("apps", "v1", "daemonsets", "DaemonSet", List.of("spec", "template", "spec")),
  REPLICA_SET("apps", "v1", "replicasets", "ReplicaSet", List.of("spec", "template", "spec")),
  REPLICATION_CONTROLLER(
      "",
      "v1",
      "replicationcontrollers",
      "ReplicationController",
      List.of("spec", "template", "spec")),
  JOB("batch", "v1", "jobs", "Job", List.of("spec", "template", "spec")),
  CRON_JOB(
      "batch",
      "v1",
      "cronjobs",
      "CronJob",
      List.of("spec", "jobTemplate", "spec", "template", "spec"));

  /** The Pod subresource through which ephemeral containers are added (kubectl debug). */
  public static final String EPHEMERAL_SUBRESOURCE = "pods/ephemeralcontainers";

  private final String group;
  private final String version;
  private final String resource;
  private final String kind;

  @SuppressWarnings("ImmutableEnumChecker") // List.of: unmodifiable
  private final List<String> podSpecPath;

  WorkloadKind(String group, String version, String resource, String kind, List<String> path) {
    this.group = group;
    this.version = version;
    this.resource = resource;
    this.kind = kind;
    this.podSpecPath = path;
  }

  /** API group, "" for core. */
  public String group() {
    return group;
  }

  public String version() {
    return version;
  }

  /** Plural resource name: {@code deployments}. */
  public String resource() {
    return resource;
  }

  /** Object kind: {@code Deployment}. */
  public String kind() {
    return kind;
  }

  /** Field names from the object down to its pod spec: {@code [spec, template, spec]}. */
  public List<String> podSpecPath() {
    return podSpecPath;
  }

  /** The kind named {@code kind} ({@code Deployment}), or null if admission does not check it. */
  public static WorkloadKind ofKind(String kind) {
    for (WorkloadKind k : values()) {
      if (k.kind.equals(kind)) {
        return k;
      }
    }
    return null;
  }
}
