package dev.registrypolicy.fakeapi;

import java.util.Locale;
import java.util.Set;

/**
 * One served resource: where it lives in the URL space and what its objects look like.
 *
 * @param group API group, "" for core
 * @param version API version within the group
 * @param plural URL resource name, e.g. "serviceaccounts"
 * @param kind object kind, e.g. "ServiceAccount"
 * @param namespaced whether objects live in a namespace
 * @param statusSubresource whether {@code .../status} exists; if so the main resource ignores
 *     writes to {@code status} and the subresource ignores everything but {@code status}
 * @param fieldLabels field selector keys accepted besides metadata.name / metadata.namespace
 * @param deleteReturnsObject whether DELETE answers with the deleted object instead of a Status
 *     (upstream does so for a few resources, e.g. ServiceAccount; client-java's generated return
 *     types follow the OpenAPI spec, so a mismatch breaks deserialisation)
 */
public record ResourceType(
    String group,
    String version,
    String plural,
    String kind,
    boolean namespaced,
    boolean statusSubresource,
    Set<String> fieldLabels,
    boolean deleteReturnsObject) {

  public static ResourceType namespaced(String group, String version, String plural, String kind) {
    return new ResourceType(group, version, plural, kind, true, false, Set.of(), false);
  }

  public static ResourceType cluster(String group, String version, String plural, String kind) {
    return new ResourceType(group, version, plural, kind, false, false, Set.of(), false);
  }

  public ResourceType withStatusSubresource() {
    return new ResourceType(
        group, version, plural, kind, namespaced, true, fieldLabels, deleteReturnsObject);
  }

  public ResourceType withFieldLabels(String... labels) {
    return new ResourceType(
        group,
        version,
        plural,
        kind,
        namespaced,
        statusSubresource,
        Set.of(labels),
        deleteReturnsObject);
  }

  public ResourceType returningDeletedObject() {
    return new ResourceType(
        group, version, plural, kind, namespaced, statusSubresource, fieldLabels, true);
  }

  public String apiVersion() {
    return group.isEmpty() ? version : group + "/" + version;
  }

  /** "serviceaccounts" for core, "leases.coordination.k8s.io" otherwise (kubectl's spelling). */
  public String qualifiedPlural() {
    return group.isEmpty() ? plural : plural + "." + group;
  }

  public String singular() {
    return kind.toLowerCase(Locale.ROOT);
  }

  public String listKind() {
    return kind + "List";
  }

  /** "/api/v1" or "/apis/group/version". */
  public String groupVersionPath() {
    return group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version;
  }

  boolean allowsField(String field) {
    return field.equals("metadata.name")
        || field.equals("metadata.namespace")
        || fieldLabels.contains(field);
  }

  @Override
  public String toString() {
    return apiVersion() + "/" + plural;
  }
}
