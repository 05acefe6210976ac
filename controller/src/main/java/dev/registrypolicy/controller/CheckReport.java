package dev.registrypolicy.controller;

import com.google.gson.GsonBuilder;
import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.ContainerVerdict;
import dev.registrypolicy.admission.ImageContentRules;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.common.Redact;
import dev.registrypolicy.controller.imagemeta.ImageMetadataSource;
import dev.registrypolicy.controller.webhook.ContentReview;
import dev.registrypolicy.controller.webhook.PolicySnapshot;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.Problem;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code check}'s result: the verdict on every container of every workload in the objects file,
 * each object checked as a CREATE in its namespace, and how to print it.
 *
 * @param rows one per container, in file order, allowed ones included
 * @param objects how many workloads were checked
 * @param notes skipped objects and assumptions
 * @param problems objects that could not be read or checked
 */
record CheckReport(List<CheckRow> rows, int objects, List<String> notes, List<Problem> problems) {
  CheckReport {
    rows = List.copyOf(rows);
    notes = List.copyOf(notes);
    problems = List.copyOf(problems);
  }

  /**
   * Checks every workload of {@code input} against the policy without registry access: the
   * image-content rules are not evaluated, and a note names them and how many containers they would
   * have checked.
   */
  static CheckReport of(Policy policy, String ownNamespace, CheckObjects input) {
    return of(policy, ownNamespace, input, null);
  }

  /**
   * How {@code check --registry-access} reaches registries: the image-content rules go through the
   * webhook's own {@link ContentReview} with the policy's source, each object with its own
   * deadline.
   *
   * @param review fetches and merges, as in the webhook
   * @param source the policy's image metadata source
   * @param perObject how long one object's lookups may take
   */
  record RegistryAccess(ContentReview review, ImageMetadataSource source, Duration perObject) {}

  /**
   * Checks every workload of {@code input} against the policy; with {@code registry} (non-null) the
   * image-content rules too, exactly as the webhook evaluates them.
   */
  static CheckReport of(
      Policy policy, String ownNamespace, CheckObjects input, RegistryAccess registry) {
    AdmissionCheck check = AdmissionCheck.of(policy, ownNamespace);
    PolicySnapshot snapshot =
        registry == null
            ? null
            : PolicySnapshot.of(policy, ownNamespace, registry.source(), registry.review());
    ImageContentRules content = ImageContentRules.of(policy, ownNamespace);
    int uncheckedContainers = 0;
    List<CheckRow> rows = new ArrayList<>();
    List<String> notes = new ArrayList<>(input.notes());
    List<Problem> problems = new ArrayList<>(input.problems());
    TreeSet<String> unknownNamespaces = new TreeSet<>();
    int objects = 0;
    for (CheckObjects.Item item : input.workloads()) {
      Workload w = item.workload();
      NamespaceInfo ns = input.namespaces().get(w.namespace());
      if (ns == null) {
        ns = NamespaceInfo.named(w.namespace());
        unknownNamespaces.add(w.namespace());
      }
      Verdict v;
      boolean exempt;
      try {
        v = check.check(ns, w, null);
        exempt = check.exempt(w.namespace());
        if (snapshot != null) {
          v =
              registry
                  .review()
                  .verdict(snapshot, ns, w, null, v, Instant.now().plus(registry.perObject()));
        } else if (!content.isEmpty()) {
          uncheckedContainers += content.plan(ns, w, null, v).size();
        }
      } catch (RuntimeException e) {
        problems.add(
            new Problem(
                "[" + item.index() + "]",
                w.kind().kind()
                    + " "
                    + Redact.value(w.namespace())
                    + "/"
                    + Redact.value(w.name())
                    + ": cannot be checked ("
                    + e.getClass().getSimpleName()
                    + ")"));
        continue;
      }
      objects++;
      for (ContainerVerdict c : v.containers()) {
        rows.add(
            new CheckRow(
                w.kind().kind(),
                w.namespace(),
                w.name(),
                item.owner(),
                c.container().kind(),
                c.container().name(),
                c.image(),
                c.action(),
                c.rule(),
                c.message(),
                exempt));
      }
    }
    for (String n : unknownNamespaces) {
      notes.add(
          "namespace "
              + Redact.value(n)
              + " is not in the file: checked without labels or annotations (include it:"
              + " kubectl get ns,... -A -o yaml)");
    }
    if (registry == null && !content.isEmpty()) {
      List<String> names = new ArrayList<>();
      for (AdmissionRule r : policy.admission().rules()) {
        if (r.checksImageContent()) {
          names.add(r.name());
        }
      }
      notes.add(
          "image-content rules not evaluated (they read the image from its registry; run with "
              + CheckCommand.REGISTRY_ACCESS
              + " to evaluate them): "
              + String.join(", ", names)
              + "; "
              + uncheckedContainers
              + (uncheckedContainers == 1 ? " container" : " containers")
              + " they apply to shown without them");
    }
    return new CheckReport(rows, objects, notes, problems);
  }

  /** The most severe verdict of any container, ALLOW when there is none. */
  Action worst() {
    Action a = Action.ALLOW;
    for (CheckRow r : rows) {
      a = a.max(r.verdict());
    }
    return a;
  }

  /**
   * One line per container: {@code <verdict> <Kind>/<namespace>/<name> <message>}, e.g. {@code deny
   * Deployment/apps/web container "web": image "docker.io/library/nginx:latest" is not from an
   * allowed source (rule allowedSources)}; {@code (namespace exempt)} and {@code (owned by
   * ReplicaSet/web-5d9c)} follow where they apply. Every part is on one line (control characters
   * escaped).
   */
  String text() {
    StringBuilder sb = new StringBuilder();
    for (CheckRow r : rows) {
      sb.append(String.format("%-5s ", r.verdict().wireName()))
          .append(Redact.value(r.kind()))
          .append('/')
          .append(Redact.value(r.namespace()))
          .append('/')
          .append(Redact.value(r.name()))
          .append(' ')
          .append(oneLine(r.message()));
      if (r.exempt()) {
        sb.append(" (namespace exempt)");
      }
      if (r.owner() != null) {
        sb.append(" (owned by ").append(Redact.value(r.owner())).append(')');
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /**
   * A JSON array, one object per container with {@code kind}, {@code namespace}, {@code name},
   * {@code owner}, {@code containerType} ({@code container}, {@code initContainer}, {@code
   * ephemeralContainer}), {@code container}, {@code image}, {@code verdict} ({@code allow}, {@code
   * warn}, {@code audit}, {@code deny}), {@code rule}, {@code message} and {@code exempt}; absent
   * values are {@code null}.
   */
  String json() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (CheckRow r : rows) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("kind", r.kind());
      m.put("namespace", r.namespace());
      m.put("name", r.name());
      m.put("owner", r.owner());
      m.put(
          "containerType",
          switch (r.containerKind()) {
            case CONTAINER -> "container";
            case INIT -> "initContainer";
            case EPHEMERAL -> "ephemeralContainer";
          });
      m.put("container", r.container());
      m.put("image", r.image());
      m.put("verdict", r.verdict().wireName());
      m.put("rule", r.rule());
      m.put("message", r.message());
      m.put("exempt", r.exempt());
      out.add(m);
    }
    return new GsonBuilder()
            .disableHtmlEscaping()
            .serializeNulls()
            .setPrettyPrinting()
            .create()
            .toJson(out)
        + "\n";
  }

  /** {@code checked 3 objects, 5 containers: 2 allow, 1 audit, 1 warn, 1 deny}. */
  String summary() {
    Map<Action, Integer> counts = new EnumMap<>(Action.class);
    for (CheckRow r : rows) {
      counts.merge(r.verdict(), 1, Integer::sum);
    }
    List<String> parts = new ArrayList<>();
    for (Action a : Action.values()) {
      parts.add(counts.getOrDefault(a, 0) + " " + a.wireName());
    }
    return "checked "
        + objects
        + (objects == 1 ? " object, " : " objects, ")
        + rows.size()
        + (rows.size() == 1 ? " container: " : " containers: ")
        + String.join(", ", parts);
  }

  /** Control characters escaped, so one container is one line. */
  static String oneLine(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\n') {
        sb.append("\\n");
      } else if (c == '\r') {
        sb.append("\\r");
      } else if (c == '\t') {
        sb.append("\\t");
      } else if (Character.isISOControl(c) || Redact.isInvisible(c)) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
