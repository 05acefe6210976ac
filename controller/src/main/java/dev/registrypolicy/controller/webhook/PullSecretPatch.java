package dev.registrypolicy.controller.webhook;

import com.google.gson.stream.JsonWriter;
import dev.registrypolicy.policy.AccessGrant;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The mutating path: the pull Secrets the policy grants a new Pod's namespace and ServiceAccount
 * that the Pod's {@code spec.imagePullSecrets} lacks, as a JSON Patch that adds only those.
 *
 * <p>A Pod's {@code imagePullSecrets} are fixed when it is created; the ServiceAccount admission
 * plugin copies the ServiceAccount's list into a Pod that has none, at creation only. A namespace
 * applied together with its workloads gets Pods before the controller has patched the
 * ServiceAccount, and those Pods would never get the Secret (anchors §0 item 10).
 */
final class PullSecretPatch {
  private PullSecretPatch() {}

  /**
   * The Secret names to add, in policy order, without duplicates; empty when the Pod already lists
   * them all, or none is granted.
   */
  static List<String> missing(Policy policy, NamespaceInfo namespace, Map<String, Object> pod) {
    Map<?, ?> spec = pod.get("spec") instanceof Map<?, ?> m ? m : Map.of();
    String sa = serviceAccount(spec);
    Set<String> present = new LinkedHashSet<>();
    if (spec.get("imagePullSecrets") instanceof List<?> list) {
      for (Object o : list) {
        if (o instanceof Map<?, ?> ref && ref.get("name") instanceof String n) {
          present.add(n);
        }
      }
    }
    Set<String> add = new LinkedHashSet<>();
    for (AccessGrant g : policy.access()) {
      if (g.namespaces().grants(namespace)
          && g.serviceAccounts().matches(sa)
          && !present.contains(g.secretName())) {
        add.add(g.secretName());
      }
    }
    return List.copyOf(add);
  }

  /**
   * The RFC 6902 patch adding {@code names}: one {@code add} of the whole array when the Pod has no
   * {@code imagePullSecrets}, else one append ({@code /-}) per name, never touching other entries.
   * Null when there is nothing to add, or when {@code imagePullSecrets} is there but not a list
   * (the API server would have refused such a Pod; the webhook leaves it alone).
   */
  static String patch(Map<String, Object> pod, List<String> names) {
    if (names.isEmpty()) {
      return null;
    }
    Map<?, ?> spec = pod.get("spec") instanceof Map<?, ?> m ? m : null;
    if (spec == null) {
      return null;
    }
    Object existing = spec.get("imagePullSecrets");
    if (existing != null && !(existing instanceof List<?>)) {
      return null;
    }
    StringWriter out = new StringWriter();
    try (JsonWriter w = new JsonWriter(out)) {
      w.setHtmlSafe(false);
      w.beginArray();
      if (existing == null) {
        w.beginObject().name("op").value("add").name("path").value("/spec/imagePullSecrets");
        w.name("value").beginArray();
        for (String n : names) {
          w.beginObject().name("name").value(n).endObject();
        }
        w.endArray().endObject();
      } else {
        for (String n : names) {
          w.beginObject().name("op").value("add").name("path").value("/spec/imagePullSecrets/-");
          w.name("value").beginObject().name("name").value(n).endObject();
          w.endObject();
        }
      }
      w.endArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString();
  }

  /**
   * The Pod's ServiceAccount: {@code serviceAccountName}, else the deprecated {@code
   * serviceAccount}, else {@code default} (what the ServiceAccount admission plugin assigns).
   */
  static String serviceAccount(Map<?, ?> spec) {
    for (String key : List.of("serviceAccountName", "serviceAccount")) {
      if (spec.get(key) instanceof String s && !s.isEmpty()) {
        return s;
      }
    }
    return "default";
  }

  /** The answer for a Pod CREATE; fails open (allowed, no patch) on anything unexpected. */
  static ReviewResponse answer(ReviewRequest req, PolicySnapshot policy, NamespaceInfo namespace) {
    if (!"Pod".equals(req.kind())
        || !req.group().isEmpty()
        || !req.subResource().isEmpty()
        || !"CREATE".equals(req.operation())
        || req.object() == null) {
      return ReviewResponse.allow(req.uid());
    }
    String patch = patch(req.object(), missing(policy.policy(), namespace, req.object()));
    return new ReviewResponse(req.uid(), true, 0, null, List.of(), Map.of(), patch);
  }
}
