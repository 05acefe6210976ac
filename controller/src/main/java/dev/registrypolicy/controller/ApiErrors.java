package dev.registrypolicy.controller;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.ApiException;

/**
 * Describes the Kubernetes client's {@link ApiException} for {@link
 * dev.registrypolicy.common.LogFormat}: {@code HTTP 403 Forbidden: leases.coordination.k8s.io "x"
 * is forbidden: …} from the Status the API server answered, never the client's own message (which
 * carries every response header).
 */
final class ApiErrors {
  private static final int MAX_MESSAGE = 240;

  private ApiErrors() {}

  /** The describer: null for other exceptions; "" for a transport failure (its causes say why). */
  static String describe(Throwable t) {
    if (!(t instanceof ApiException e)) {
      return null;
    }
    if (e.getCode() == 0) {
      // No HTTP answer: the cause (connection refused, TLS, timeout) is the story. A message
      // of its own (e.g. the controller's) is kept when there is no cause.
      return e.getCause() == null ? e.getMessage() : "";
    }
    String reason = null;
    String message = null;
    String body = e.getResponseBody();
    if (body != null && !body.isBlank()) {
      try {
        JsonElement j = JsonParser.parseString(body);
        if (j.isJsonObject()) {
          JsonObject o = j.getAsJsonObject();
          reason = string(o, "reason");
          message = string(o, "message");
        }
      } catch (RuntimeException notJson) {
        message = body.strip();
      }
    }
    StringBuilder sb = new StringBuilder("HTTP ").append(e.getCode());
    if (reason != null && !reason.isEmpty()) {
      sb.append(' ').append(reason);
    }
    if (message != null && !message.isEmpty()) {
      String m = message.replaceAll("\\s+", " ");
      sb.append(": ")
          .append(m.length() > MAX_MESSAGE ? m.substring(0, MAX_MESSAGE - 3) + "..." : m);
    }
    return sb.toString();
  }

  private static String string(JsonObject o, String key) {
    JsonElement v = o.get(key);
    return v != null && v.isJsonPrimitive() ? v.getAsString() : null;
  }
}
