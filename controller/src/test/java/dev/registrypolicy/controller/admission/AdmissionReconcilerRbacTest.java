package dev.registrypolicy.controller.admission;

import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.full;
import static dev.registrypolicy.controller.admission.AdmissionReconcilerFixture.policy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import dev.registrypolicy.fakeapi.Request;
import dev.registrypolicy.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The manifests grant exactly what the admission reconciler calls: every admission request it makes
 * in a scenario that exercises every path (create, update, conflict re-read, delete) is allowed by
 * manifests/controller.yaml's ClusterRole, and every admission verb granted there is used. Plus the
 * webhook Service and the pod's webhook port.
 */
class AdmissionReconcilerRbacTest {
  static final Path CONTROLLER_YAML = Path.of("..", "manifests", "controller.yaml");
  static final Set<String> KINDS =
      Set.of(
          "validatingadmissionpolicies",
          "validatingadmissionpolicybindings",
          "validatingwebhookconfigurations",
          "mutatingwebhookconfigurations");

  record Rule(List<String> resources, List<String> verbs, List<String> names) {
    boolean allows(String resource, String verb, String name) {
      return resources.contains(resource)
          && verbs.contains(verb)
          && (names.isEmpty() || (name != null && names.contains(name)));
    }
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> documents() throws Exception {
    String text = Files.readString(CONTROLLER_YAML, StandardCharsets.UTF_8);
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object o : new Load(LoadSettings.builder().build()).loadAllFromString(text)) {
      if (o instanceof Map<?, ?> m) {
        out.add((Map<String, Object>) m);
      }
    }
    return out;
  }

  static Map<String, Object> doc(List<Map<String, Object>> docs, String kind) {
    return docs.stream().filter(d -> kind.equals(d.get("kind"))).findFirst().orElseThrow();
  }

  @SuppressWarnings("unchecked")
  static List<Rule> admissionRules() throws Exception {
    List<Rule> out = new ArrayList<>();
    for (Object r : (List<Object>) doc(documents(), "ClusterRole").get("rules")) {
      Map<String, Object> rule = (Map<String, Object>) r;
      if (((List<String>) rule.get("apiGroups")).contains(AdmissionObjectsKind.GROUP)) {
        out.add(
            new Rule(
                (List<String>) rule.get("resources"),
                (List<String>) rule.get("verbs"),
                (List<String>) rule.getOrDefault("resourceNames", List.of())));
      }
    }
    return out;
  }

  static String verb(Request r) {
    return switch (r.method()) {
      case "GET" -> r.name() != null ? "get" : r.isWatch() ? "watch" : "list";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> r.name() != null ? "delete" : "deletecollection";
      default -> r.method();
    };
  }

  @Test
  void everyAdmissionCallIsGranted_andEveryGrantIsUsed() throws Exception {
    List<Rule> rules = admissionRules();
    Policy p = policy(AdmissionReconcilerFixture.POLICY_WITH_GRANTS);
    try (FakeKubeApi fake = new FakeKubeApi().start();
        AdmissionReconcilerFixture fx =
            new AdmissionReconcilerFixture(
                fake, new EnforcementSettings(Enforcement.BOTH, true), 200)) {
      // A foreign object under one of the names of each kind: the create conflict re-reads it.
      AdmissionObjects theirs = full("theirs", "X");
      fake.create(theirs.policies().get(1));
      fake.create(theirs.bindings().get(1));
      fake.create(theirs.validatingWebhooks().get(0));
      fake.create(theirs.mutatingWebhooks().get(0));
      fx.desired.set(full("denied", "CA1"));
      fx.settle(p, false);
      for (String k : KINDS) {
        fake.list(k, null).forEach(o -> fake.delete(k, null, name(o)));
      }
      AdmissionReconcilerFixture.await(
          () -> fx.caches.managed(AdmissionObjectsKind.VALIDATING_ADMISSION_POLICY).isEmpty(),
          "the cache saw the deletes");
      fx.settle(p, false); // creates everything of its own now
      AdmissionObjects changed = full("changed", "CA2");
      fx.desired.set(
          new AdmissionObjects(
              changed.policies(),
              List.of(
                  AdmissionReconcilerFixture.binding("registry-policy-deny", "Audit"),
                  changed.bindings().get(1)),
              changed.validatingWebhooks(),
              changed.mutatingWebhooks(),
              List.of()));
      fx.settle(p, false); // updates of every kind
      fx.desired.set(AdmissionObjects.empty());
      fx.settle(p, false); // deletes

      Set<String> used = new TreeSet<>();
      List<String> denied = new ArrayList<>();
      for (Request r : fake.requests()) {
        if (r.resource() == null || !KINDS.contains(r.resource())) {
          continue;
        }
        String v = verb(r);
        used.add(r.resource() + " " + v);
        if (rules.stream().noneMatch(rule -> rule.allows(r.resource(), v, r.name()))) {
          denied.add(r.toString());
        }
      }
      assertEquals(List.of(), denied, "calls the manifests do not grant");
      Set<String> granted = new TreeSet<>();
      for (Rule rule : rules) {
        for (String res : rule.resources()) {
          for (String v : rule.verbs()) {
            granted.add(res + " " + v);
          }
        }
      }
      assertEquals(granted, used, "granted but never called (or called but not granted)");
      assertTrue(
          rules.stream()
              .filter(r -> r.verbs().contains("update") || r.verbs().contains("delete"))
              .allMatch(r -> !r.names().isEmpty()),
          "update and delete are limited to the controller's names");
    }
  }

  static String name(JsonObject o) {
    return o.getAsJsonObject("metadata").get("name").getAsString();
  }

  @Test
  @SuppressWarnings("unchecked")
  void webhookServiceAndPort() throws Exception {
    List<Map<String, Object>> docs = documents();
    Map<String, Object> svc = doc(docs, "Service");
    assertEquals(
        "registry-policy-webhook", ((Map<String, Object>) svc.get("metadata")).get("name"));
    Map<String, Object> port =
        ((List<Map<String, Object>>) ((Map<String, Object>) svc.get("spec")).get("ports")).get(0);
    assertEquals(443, port.get("port"));
    assertEquals("webhook", port.get("targetPort"));
    Map<String, Object> deployment = doc(docs, "Deployment");
    Map<String, Object> template =
        (Map<String, Object>) ((Map<String, Object>) deployment.get("spec")).get("template");
    Map<String, Object> podLabels =
        (Map<String, Object>) ((Map<String, Object>) template.get("metadata")).get("labels");
    Map<String, Object> selector =
        (Map<String, Object>) ((Map<String, Object>) svc.get("spec")).get("selector");
    assertTrue(podLabels.entrySet().containsAll(selector.entrySet()), "selects the pods");
    Map<String, Object> container =
        ((List<Map<String, Object>>) ((Map<String, Object>) template.get("spec")).get("containers"))
            .get(0);
    assertTrue(
        ((List<Map<String, Object>>) container.get("ports"))
            .contains(Map.of("name", "webhook", "containerPort", 9443, "protocol", "TCP")));
    assertTrue(
        ((List<Map<String, Object>>) container.get("env"))
            .stream().anyMatch(e -> "POD_NAMESPACE".equals(e.get("name"))));
    List<String> args = (List<String>) container.get("args");
    assertEquals("auto", args.get(args.indexOf("--admission-enforcement") + 1));
    assertTrue(args.contains("--webhook"), "every replica serves the webhook the Service names");
  }
}
