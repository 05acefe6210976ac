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
  static final String POLICY =
      String.join(
          "\n",
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
    String out =
        Render.render(
            POLICY,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: Namespace, metadata: {name: team-b}}",
                ""));
    assertTrue(out.contains("ServiceAccount team-a/default"), out);
    assertTrue(out.contains("corp-pull"), out);
    assertFalse(out.contains("team-b/default"), "an unselected namespace is left alone:\n" + out);
  }

  @Test
  void secretDataIsRedacted() throws Exception {
    String out =
        Render.render(
            POLICY, "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}\n");
    assertFalse(
        out.contains("cmVkYWN0ZWQ6cmVkYWN0ZWQ="),
        "no dockerconfigjson, not even the placeholder:\n" + out);
  }

  @Test
  void aServiceAccountOfANamespaceNotInTheFileIsAProblemWithItsPath() {
    PolicyException e =
        assertThrows(
            PolicyException.class,
            () ->
                Render.render(
                    POLICY,
                    String.join(
                        "\n",
                        "- {kind: Namespace, metadata: {name: team-a}}",
                        "- {kind: ServiceAccount, metadata: {name: builder, namespace: team-z}}",
                        "")));
    List<String> problems =
        e.problems().stream().map(Object::toString).collect(Collectors.toList());
    assertEquals(1, problems.size(), problems::toString);
    assertTrue(
        problems.get(0).startsWith("[1].metadata.namespace: namespace team-z is not in the file"),
        problems::toString);
  }

  @Test
  void patchesTestTheInputsOwnResourceVersion() throws Exception {
    String out =
        Render.render(
            POLICY,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: ServiceAccount, metadata: {name: default, namespace: team-a, resourceVersion: \"81234\"}}",
                ""));
    assertTrue(
        out.contains("\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"81234\""),
        out);
  }

  @Test
  void aServiceAccountWithoutResourceVersionIsTestedAgainstAPlaceholderNotAnInventedNumber()
      throws Exception {
    String out =
        Render.render(
            POLICY, "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}\n");
    assertTrue(out.contains("\"value\":\"" + Render.UNKNOWN_RESOURCE_VERSION + "\""), out);
    assertFalse(out.contains("\"value\":\"1\""), out);
  }

  @Test
  void objectsOfOtherKindsAreSkippedWithANote() throws Exception {
    String out =
        Render.render(
            POLICY,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: Pod, metadata: {name: web, namespace: team-a}}",
                "- {kind: ConfigMap, metadata: {namespace: team-a}}",
                ""));
    assertTrue(
        out.contains(
            "# skipped [1] Pod team-a/web: render reads only Namespaces and ServiceAccounts"),
        out);
    assertTrue(out.contains("# skipped [2] ConfigMap team-a/"), out);
    assertTrue(out.contains("ServiceAccount team-a/default"), "the rest is rendered:\n" + out);
  }

  @Test
  void aServiceAccountTheGrantNamesButTheInputLacksIsReported() throws Exception {
    String named =
        POLICY.replace("serviceAccounts: default", "serviceAccounts: [default, builder, deployer]");
    String out =
        Render.render(
            named,
            String.join(
                "\n",
                "- {kind: Namespace, metadata: {name: team-a, labels: {pull: corp}}}",
                "- {kind: ServiceAccount, metadata: {name: deployer, namespace: team-a}}",
                "- {kind: Namespace, metadata: {name: team-b}}",
                ""));
    assertTrue(
        out.contains(
            "# ServiceAccount team-a/builder (named by access grant corp) is not in the input"),
        out);
    assertFalse(out.contains("team-a/deployer (named"), out);
    assertFalse(out.contains("team-a/default (named"), "every namespace has its default:\n" + out);
    assertFalse(out.contains("team-b/builder"), "team-b is not selected:\n" + out);
  }
}
