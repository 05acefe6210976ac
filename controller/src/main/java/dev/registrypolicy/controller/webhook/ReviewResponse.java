package dev.registrypolicy.controller.webhook;

import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The answer to one AdmissionReview ({@code admission.k8s.io/v1}).
 *
 * @param uid the request's uid
 * @param allowed whether the request may proceed
 * @param code the status code of a refusal (403), 0 for none
 * @param message the refusal's message, or null
 * @param warnings shown to the client (kubectl prints them)
 * @param auditAnnotations added to the audit event, the API server prefixing each key with the
 *     webhook's name
 * @param jsonPatch an RFC 6902 patch (mutating path only), or null
 */
record ReviewResponse(
    String uid,
    boolean allowed,
    int code,
    String message,
    List<String> warnings,
    Map<String, String> auditAnnotations,
    String jsonPatch) {
  ReviewResponse {
    Objects.requireNonNull(uid, "uid");
    warnings = List.copyOf(warnings);
    auditAnnotations = Map.copyOf(auditAnnotations);
  }

  static ReviewResponse allow(String uid) {
    return new ReviewResponse(uid, true, 0, null, List.of(), Map.of(), null);
  }

  /** The AdmissionReview JSON; the patch is base64 as the API requires. */
  String toJson() {
    StringWriter out = new StringWriter(256);
    try (JsonWriter w = new JsonWriter(out)) {
      w.setHtmlSafe(false);
      w.beginObject();
      w.name("apiVersion").value(ReviewRequest.API_VERSION);
      w.name("kind").value(ReviewRequest.KIND);
      w.name("response").beginObject();
      w.name("uid").value(uid);
      w.name("allowed").value(allowed);
      if (code != 0 || message != null) {
        w.name("status").beginObject();
        if (code != 0) {
          w.name("code").value(code);
        }
        if (message != null) {
          w.name("message").value(message);
        }
        w.endObject();
      }
      if (!warnings.isEmpty()) {
        w.name("warnings").beginArray();
        for (String s : warnings) {
          w.value(s);
        }
        w.endArray();
      }
      if (!auditAnnotations.isEmpty()) {
        w.name("auditAnnotations").beginObject();
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(auditAnnotations).entrySet()) {
          w.name(e.getKey()).value(e.getValue());
        }
        w.endObject();
      }
      if (jsonPatch != null) {
        w.name("patchType").value("JSONPatch");
        w.name("patch")
            .value(
                java.util.Base64.getEncoder()
                    .encodeToString(jsonPatch.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      }
      w.endObject();
      w.endObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString();
  }
}
