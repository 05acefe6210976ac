package dev.registrypolicy.controller.admission;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.JSON;
import java.util.Map;

/**
 * Whether an object in the cluster already says what the controller wants it to say.
 *
 * <p>Only what the controller sets is compared: the kind's body ({@code spec}, or {@code webhooks})
 * and the labels and annotations of the desired object (others' labels and annotations are kept).
 * The API server fills in fields the controller leaves out; such a field counts as equal when it
 * holds the server's default, and as a difference (someone changed it) when it holds anything else,
 * so a hand edit of a managed object is undone while a freshly defaulted object is never written
 * again. Empty lists and empty objects count as absent (the API server omits them, and
 * client-java's models fill them in).
 *
 * <p>The defaults, from the API server's defaulting functions for admissionregistration.k8s.io/v1
 * (kubernetes/kubernetes pkg/apis/admissionregistration/v1/defaults.go, its defaults_test.go and
 * zz_generated.defaults.go, which applies SetDefaults_ValidatingAdmissionPolicySpec and
 * SetDefaults_MatchResources to policies and bindings; the same functions' bodies are in
 * pkg/apis/admissionregistration/v1beta1/defaults.go; the API reference for MatchResources says
 * matchPolicy "Defaults to Equivalent"):
 *
 * <ul>
 *   <li>webhooks: failurePolicy Fail, matchPolicy Equivalent, namespaceSelector {}, objectSelector
 *       {}, timeoutSeconds 10; mutating webhooks also reinvocationPolicy Never; each rule's scope
 *       "*"; a service reference's port 443;
 *   <li>ValidatingAdmissionPolicy spec: failurePolicy Fail; matchConstraints (and a binding's
 *       matchResources): matchPolicy Equivalent, namespaceSelector {}, objectSelector {}; each
 *       resource rule's scope "*".
 * </ul>
 *
 * The field names are distinct across these four kinds, so the table is keyed by name alone.
 */
final class AdmissionObjectsCompare {
  static final Map<String, JsonElement> SERVER_DEFAULTS =
      Map.of(
          "failurePolicy", new JsonPrimitive("Fail"),
          "matchPolicy", new JsonPrimitive("Equivalent"),
          "namespaceSelector", new JsonObject(),
          "objectSelector", new JsonObject(),
          "timeoutSeconds", new JsonPrimitive(10),
          "reinvocationPolicy", new JsonPrimitive("Never"),
          "scope", new JsonPrimitive("*"),
          "port", new JsonPrimitive(443));

  private AdmissionObjectsCompare() {}

  static JsonObject json(KubernetesObject o) {
    return JsonParser.parseString(JSON.serialize(o)).getAsJsonObject();
  }

  /**
   * True when {@code have} (from the cluster) holds what {@code want} (desired, labels included)
   * sets.
   */
  static boolean same(AdmissionObjectsKind kind, JsonObject have, JsonObject want) {
    return covers(have.get(kind.body()), want.get(kind.body()))
        && subset(meta(have, "labels"), meta(want, "labels"))
        && subset(meta(have, "annotations"), meta(want, "annotations"));
  }

  private static JsonObject meta(JsonObject o, String field) {
    JsonElement m = o.get("metadata");
    JsonElement f = m != null && m.isJsonObject() ? m.getAsJsonObject().get(field) : null;
    return f != null && f.isJsonObject() ? f.getAsJsonObject() : new JsonObject();
  }

  /** Every key of {@code want} is in {@code have} with the same value (extra keys allowed). */
  private static boolean subset(JsonObject have, JsonObject want) {
    for (Map.Entry<String, JsonElement> e : want.entrySet()) {
      if (!e.getValue().equals(have.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /** {@code have} says what {@code want} says, up to server defaults (see the class comment). */
  static boolean covers(JsonElement have, JsonElement want) {
    if (absent(want)) {
      return absent(have);
    }
    if (absent(have)) {
      return false;
    }
    if (want.isJsonObject()) {
      if (!have.isJsonObject()) {
        return false;
      }
      JsonObject h = have.getAsJsonObject();
      JsonObject w = want.getAsJsonObject();
      for (Map.Entry<String, JsonElement> e : w.entrySet()) {
        if (!covers(h.get(e.getKey()), e.getValue())) {
          return false;
        }
      }
      for (Map.Entry<String, JsonElement> e : h.entrySet()) {
        if (absent(w.get(e.getKey())) && !absent(e.getValue())) {
          JsonElement def = SERVER_DEFAULTS.get(e.getKey());
          if (def == null || !sameValue(e.getValue(), def)) {
            return false;
          }
        }
      }
      return true;
    }
    if (want.isJsonArray()) {
      if (!have.isJsonArray()) {
        return false;
      }
      JsonArray h = have.getAsJsonArray();
      JsonArray w = want.getAsJsonArray();
      if (h.size() != w.size()) {
        return false;
      }
      for (int i = 0; i < w.size(); i++) {
        if (!covers(h.get(i), w.get(i))) {
          return false;
        }
      }
      return true;
    }
    return sameValue(have, want);
  }

  private static boolean sameValue(JsonElement a, JsonElement b) {
    if (absent(a) || absent(b)) {
      return absent(a) && absent(b);
    }
    return a.equals(b); // JsonPrimitive compares numbers by value (10 equals 10.0)
  }

  /**
   * Null, an empty list, or an object whose members are all absent (client-java's models give an
   * unset selector as {@code {"matchExpressions":[],"matchLabels":{}}}).
   */
  private static boolean absent(JsonElement e) {
    if (e == null || e.isJsonNull() || (e.isJsonArray() && e.getAsJsonArray().isEmpty())) {
      return true;
    }
    if (e.isJsonObject()) {
      for (Map.Entry<String, JsonElement> m : e.getAsJsonObject().entrySet()) {
        if (!absent(m.getValue())) {
          return false;
        }
      }
      return true;
    }
    return false;
  }
}
