package dev.registrypolicy.controller;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.kubernetes.client.openapi.models.V1LocalObjectReference;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The RFC 6902 JSON Patch that takes a ServiceAccount's {@code imagePullSecrets} and the
 * controller's annotation ({@link Desired#SA_ANNOTATION}) to a {@link Desired.SaChange}: the
 * reconciler's grants and revokes, and {@code uninstall}'s removal of everything it added.
 *
 * <p>{@code imagePullSecrets} has no merge key (strategic merge and server-side apply replace the
 * whole list, kubernetes#91250), so the patch sets the whole list, guarded by a {@code test} of the
 * resourceVersion it was computed from: a concurrent writer's entry is never lost, the patch fails
 * instead (422) and is computed again from a fresh read.
 */
final class ServiceAccountPatch {
  private ServiceAccountPatch() {}

  /** The ServiceAccount's entries by name, in order (null for an entry without a name). */
  static List<String> names(V1ServiceAccount sa) {
    List<String> current = new ArrayList<>();
    if (sa.getImagePullSecrets() != null) {
      for (V1LocalObjectReference r : sa.getImagePullSecrets()) {
        current.add(r == null ? null : r.getName()); // an entry without a name is kept as it is
      }
    }
    return current;
  }

  /** The controller's annotation, or null when the ServiceAccount has none. */
  static String annotation(V1ServiceAccount sa) {
    Map<String, String> annotations =
        sa.getMetadata() == null ? null : sa.getMetadata().getAnnotations();
    return annotations == null ? null : annotations.get(Desired.SA_ANNOTATION);
  }

  /** The entries the controller added, as its annotation lists them. */
  static Set<String> ours(V1ServiceAccount sa) {
    return Desired.parseAnnotation(annotation(sa));
  }

  /**
   * The patch, or null when the ServiceAccount already is what {@code change} says (list and
   * annotation); the annotation is removed when the controller no longer has an entry there.
   */
  static String of(V1ServiceAccount sa, Desired.SaChange change) {
    List<String> current = names(sa);
    Map<String, String> annotations = sa.getMetadata().getAnnotations();
    String ann = annotation(sa);
    boolean listSame = change.imagePullSecrets().equals(current);
    boolean annSame = change.ours().isEmpty() ? ann == null : change.annotation().equals(ann);
    if (listSame && annSame) {
      return null;
    }
    JsonArray ops = new JsonArray();
    ops.add(op("test", "/metadata/resourceVersion", sa.getMetadata().getResourceVersion()));
    if (!listSame) {
      JsonArray list = new JsonArray();
      for (String n : change.imagePullSecrets()) {
        JsonObject ref = new JsonObject();
        if (n != null) {
          ref.addProperty("name", n);
        }
        list.add(ref);
      }
      JsonObject o = new JsonObject();
      // "add" on an object member sets or replaces it; "replace" would fail (422) when the field is
      // absent.
      o.addProperty("op", "add");
      o.addProperty("path", "/imagePullSecrets");
      o.add("value", list);
      ops.add(o);
    }
    if (!annSame) {
      String path =
          "/metadata/annotations/" + Desired.SA_ANNOTATION.replace("~", "~0").replace("/", "~1");
      if (change.ours().isEmpty()) {
        ops.add(op("remove", path, null));
      } else if (annotations == null || annotations.isEmpty()) {
        // client-java gives an absent metadata.annotations as an empty map; the server object may
        // then have no annotations member, where adding one key would fail (422), so set the map.
        JsonObject o = new JsonObject();
        o.addProperty("op", "add");
        o.addProperty("path", "/metadata/annotations");
        JsonObject v = new JsonObject();
        v.addProperty(Desired.SA_ANNOTATION, change.annotation());
        o.add("value", v);
        ops.add(o);
      } else {
        ops.add(op("add", path, change.annotation()));
      }
    }
    return ops.toString();
  }

  private static JsonObject op(String op, String path, String value) {
    JsonObject o = new JsonObject();
    o.addProperty("op", op);
    o.addProperty("path", path);
    if (value != null) {
      o.addProperty("value", value);
    }
    return o;
  }
}
