package dev.registrypolicy.controller.webhook;

import java.util.Map;

/**
 * The parts of an {@code admission.k8s.io/v1} AdmissionReview request the webhook reads.
 *
 * @param uid the request's uid, echoed in the response
 * @param group the object's API group ({@code request.kind.group}, "" for core)
 * @param kind the object's kind ({@code request.kind.kind})
 * @param subResource {@code request.subResource}, "" when absent
 * @param operation CREATE, UPDATE, DELETE or CONNECT
 * @param namespace {@code request.namespace}, "" when absent
 * @param object the object as admitted (null for DELETE)
 * @param oldObject the object before an UPDATE (null otherwise)
 */
record ReviewRequest(
    String uid,
    String group,
    String kind,
    String subResource,
    String operation,
    String namespace,
    Map<String, Object> object,
    Map<String, Object> oldObject) {
  static final String API_VERSION = "admission.k8s.io/v1";
  static final String KIND = "AdmissionReview";

  /** The longest uid echoed; the API server's are UUIDs (36 characters). */
  static final int MAX_UID_LENGTH = 128;

  /** Reads a parsed body; every problem names the field. */
  static ReviewRequest of(Object body) throws InvalidReviewException {
    if (!(body instanceof Map<?, ?> root)) {
      throw new InvalidReviewException("body is not a JSON object");
    }
    Object apiVersion = root.get("apiVersion");
    if (!API_VERSION.equals(apiVersion)) {
      throw new InvalidReviewException(
          "apiVersion must be " + API_VERSION + (apiVersion == null ? " (missing)" : ""));
    }
    if (!KIND.equals(root.get("kind"))) {
      throw new InvalidReviewException("kind must be " + KIND);
    }
    if (!(root.get("request") instanceof Map<?, ?> request)) {
      throw new InvalidReviewException("request is missing or not an object");
    }
    String uid = string(request, "uid", true);
    if (uid.isEmpty() || uid.length() > MAX_UID_LENGTH) {
      throw new InvalidReviewException(
          "request.uid must be 1-" + MAX_UID_LENGTH + " characters long");
    }
    if (!(request.get("kind") instanceof Map<?, ?> gvk)) {
      throw new InvalidReviewException("request.kind is missing or not an object");
    }
    String kind = string(gvk, "kind", true);
    String group = string(gvk, "group", false);
    String operation = string(request, "operation", true);
    return new ReviewRequest(
        uid,
        group,
        kind,
        string(request, "subResource", false),
        operation,
        string(request, "namespace", false),
        object(request, "object"),
        object(request, "oldObject"));
  }

  private static String string(Map<?, ?> m, String key, boolean required)
      throws InvalidReviewException {
    Object v = m.get(key);
    if (v == null) {
      if (required) {
        throw new InvalidReviewException("request." + key + " is missing");
      }
      return "";
    }
    if (!(v instanceof String s)) {
      throw new InvalidReviewException("request." + key + " is not a string");
    }
    return s;
  }

  @SuppressWarnings("unchecked") // StrictJson builds only Map<String, Object> objects
  private static Map<String, Object> object(Map<?, ?> m, String key) throws InvalidReviewException {
    Object v = m.get(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Map<?, ?>)) {
      throw new InvalidReviewException("request." + key + " is not an object");
    }
    return (Map<String, Object>) v;
  }
}
