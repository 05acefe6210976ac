package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.PolicyException;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RenderTest {
  static final String POLICY = String.join("\n",
      "apiVersion: registry-policy.dev/v1alpha1",
      "kind: RegistryPolicy",
      "credentials:",
      "  - {name: corp, secret: corp-source, registry: registry.corp.example}",
      "access:",
      "  - name: corp",
      "    credentials: corp",
      "    secretName: corp-pull",
      "    namespaces: {selector: {matchLabels: {pull: corp}}}",
      "    serviceAccounts: default",
      "");

  @Test
  void everyNamespaceHasItsDefaultServiceAccount() throws Exception {
    String out = Render.render(POLICY, String.join("\n",
        "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
        "- {kind: Namespace, metadata: {name: team-b}}",
        ""));
    assertTrue(out.contains("ServiceAccount team-a/default"), out);
    assertTrue(out.contains("corp-pull"), out);
    assertFalse(out.contains("team-b/default"), "an unselected namespace is left alone:\n" + out);
  }

  @Test
  void secretDataIsRedacted() throws Exception {
    String out = Render.render(POLICY, "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}\n");
    assertFalse(out.contains("cmVkYWN0ZWQ6cmVkYWN0ZWQ="), "no dockerconfigjson, not even the placeholder:\n" + out);
  }

  @Test
  void aServiceAccountOfANamespaceNotInTheFileIsAProblemWithItsPath() {
    PolicyException e = assertThrows(PolicyException.class, () -> Render.render(POLICY, String.join("\n",
        "- {kind: Namespace, metadata: {name: team-a}}",
        "- {kind: ServiceAccount, metadata: {name: builder, namespace: team-z}}",
        "")));
    List<String> problems = e.problems().stream().map(Object::toString).collect(Collectors.toList());
    assertEquals(1, problems.size(), problems::toString);
    assertTrue(problems.get(0).startsWith("[1].metadata.namespace: namespace team-z is not in the file"), problems::toString);
  }
}
