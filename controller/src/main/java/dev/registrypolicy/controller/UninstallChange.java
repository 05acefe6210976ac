package dev.registrypolicy.controller;

import dev.registrypolicy.controller.admission.AdmissionObjectsKind;
import dev.registrypolicy.controller.admission.AdmissionReconcilerApi;
import io.kubernetes.client.openapi.ApiException;
import java.util.ArrayList;
import java.util.List;

/**
 * One change {@code uninstall} makes: a delete of one object the controller made, or the patch that
 * takes the controller's entries and annotation off one ServiceAccount. Applied through the
 * reconcilers' own write calls ({@link ClusterWrites}, {@link AdmissionReconcilerApi}), every
 * delete guarded by the object's uid and every patch by its resourceVersion, so an object someone
 * re-created or changed since it was read is never touched: the call fails (409 or 422) and the
 * next round reads again.
 */
sealed interface UninstallChange {
  /** Where the changes go. */
  record Targets(ClusterWrites writes, AdmissionReconcilerApi admission) {}

  /** The object's kind as Kubernetes names it. */
  String kind();

  /** Its namespace, or null for a cluster-scoped object. */
  String namespace();

  String name();

  /** What is done, for log lines: {@code deleted} or {@code patched}. */
  String verb();

  /** The log line's fields after kind, namespace and name (key, value, ...). */
  List<Object> details();

  void apply(Targets t) throws ApiException;

  /** {@code kind=… namespace=… name=… …}: the fields of this change's log line. */
  default Object[] fields() {
    List<Object> kv = new ArrayList<>(List.of("kind", kind()));
    if (namespace() != null) {
      kv.add("namespace");
      kv.add(namespace());
    }
    kv.add("name");
    kv.add(name());
    kv.addAll(details());
    return kv.toArray();
  }

  /** A ValidatingAdmissionPolicy, its binding or a webhook configuration. */
  record DeleteAdmissionObject(AdmissionObjectsKind type, String name, String uid)
      implements UninstallChange {
    @Override
    public String kind() {
      return type.kind();
    }

    @Override
    public String namespace() {
      return null;
    }

    @Override
    public String verb() {
      return "deleted";
    }

    @Override
    public List<Object> details() {
      return List.of();
    }

    @Override
    public void apply(Targets t) throws ApiException {
      t.admission().delete(type, name, uid);
    }
  }

  /**
   * The JSON Patch that removes the entries the controller added ({@code removed}) and its
   * annotation, keeping every other entry ({@code kept}) as and where it is.
   */
  record PatchServiceAccount(
      String namespace, String name, String jsonPatch, List<String> removed, List<String> kept)
      implements UninstallChange {
    public PatchServiceAccount {
      removed = List.copyOf(removed);
      kept = nullsNamed(kept);
    }

    private static List<String> nullsNamed(List<String> names) {
      List<String> out = new ArrayList<>();
      for (String n : names) {
        out.add(n == null ? "<no name>" : n);
      }
      return List.copyOf(out);
    }

    @Override
    public String kind() {
      return "ServiceAccount";
    }

    @Override
    public String verb() {
      return "patched";
    }

    @Override
    public List<Object> details() {
      return List.of("removed", String.join(",", removed), "kept", String.join(",", kept));
    }

    @Override
    public void apply(Targets t) throws ApiException {
      t.writes().patchServiceAccount(namespace, name, jsonPatch);
    }
  }

  /** A pull Secret, the node credentials bundle or the webhook's TLS Secret. */
  record DeleteSecret(String namespace, String name, String uid, String what)
      implements UninstallChange {
    @Override
    public String kind() {
      return "Secret";
    }

    @Override
    public String verb() {
      return "deleted";
    }

    @Override
    public List<Object> details() {
      return List.of("what", what);
    }

    @Override
    public void apply(Targets t) throws ApiException {
      t.writes().deleteSecret(namespace, name, uid);
    }
  }

  /** The status ConfigMap. */
  record DeleteConfigMap(String namespace, String name, String uid) implements UninstallChange {
    @Override
    public String kind() {
      return "ConfigMap";
    }

    @Override
    public String verb() {
      return "deleted";
    }

    @Override
    public List<Object> details() {
      return List.of("what", "status");
    }

    @Override
    public void apply(Targets t) throws ApiException {
      t.writes().deleteConfigMap(namespace, name, uid);
    }
  }

  /** An agent's report Lease. */
  record DeleteLease(String namespace, String name, String uid) implements UninstallChange {
    @Override
    public String kind() {
      return "Lease";
    }

    @Override
    public String verb() {
      return "deleted";
    }

    @Override
    public List<Object> details() {
      return List.of("what", "node report");
    }

    @Override
    public void apply(Targets t) throws ApiException {
      t.writes().deleteLease(namespace, name, uid);
    }
  }
}
