package dev.registrypolicy.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.Admission;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import dev.registrypolicy.policy.PolicySummary;
import dev.registrypolicy.policy.PolicyWarnings;
import dev.registrypolicy.policy.Problem;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The admission options the verdict needs from the parser, and the registry-1 warning. */
class AdmissionOptionsTest {
  static final String HEAD = AdmissionCheckTest.HEAD;

  static Admission admission(String yaml) throws PolicyException {
    return PolicyParser.parse(HEAD + yaml).admission();
  }

  @Test
  void requireGrantForNodeCredentials_defaultsToFalse_andMustBeABoolean() throws Exception {
    assertFalse(admission("admission: {mode: Warn}\n").requireGrantForNodeCredentials());
    assertTrue(
        admission("admission: {requireGrantForNodeCredentials: true}\n")
            .requireGrantForNodeCredentials());
    PolicyException e =
        assertThrows(
            PolicyException.class,
            () -> PolicyParser.parse(HEAD + "admission: {requireGrantForNodeCredentials: yes}\n"));
    assertEquals(
        List.of("admission.requireGrantForNodeCredentials: must be true or false, found a string"),
        e.problems().stream().map(Problem::toString).collect(Collectors.toList()));
  }

  @Test
  void exemptNamespaces_absentVersusGiven() throws Exception {
    Admission absent = admission("admission: {mode: Deny}\n");
    assertFalse(absent.exemptNamespacesGiven());
    assertEquals(Set.of("kube-system", "rp"), absent.effectiveExemptNamespaces("rp"));
    assertEquals(Set.of("kube-system"), absent.effectiveExemptNamespaces("kube-system"));
    Admission empty = admission("admission: {exemptNamespaces: []}\n");
    assertTrue(empty.exemptNamespacesGiven());
    assertEquals(Set.of(), empty.effectiveExemptNamespaces("rp"));
    Admission listed = admission("admission: {exemptNamespaces: [a]}\n");
    assertEquals(Set.of("a"), listed.effectiveExemptNamespaces("rp"));
    assertFalse(Admission.NONE.exemptNamespacesGiven());
  }

  @Test
  void summary_namesTheDefaultExemptionsAndTheOption() throws Exception {
    String s =
        PolicySummary.of(
            PolicyParser.parse(
                HEAD
                    + "admission:\n  requireGrantForNodeCredentials: true\n"
                    + "  allowedSources: [{prefix: ghcr.io}]\n"));
    assertTrue(
        s.contains(
            "exempt kube-system and the product's namespace (default), node credentials only"
                + " where granted"),
        s);
  }

  @Test
  void registry1_isWarnedAbout_asARegistryAndAsASource() throws Exception {
    Policy p =
        PolicyParser.parse(
            HEAD
                + "registries: [{host: docker.io}, {host: Registry-1.Docker.IO}]\n"
                + "admission:\n  allowedSources: [{prefix: ghcr.io}, {prefix: registry-1.docker.io/library}]\n");
    assertEquals("registry-1.docker.io", p.registries().get(1).host());
    assertEquals("registry-1.docker.io", p.registries().get(1).hostDirectory());
    List<String> w =
        PolicyWarnings.of(p).stream().map(Problem::toString).collect(Collectors.toList());
    assertEquals(2, w.size(), w.toString());
    assertTrue(
        w.get(0).startsWith("registries[1].host: registry-1.docker.io is Docker Hub's"), w.get(0));
    assertTrue(w.get(0).contains("use a registry entry with host docker.io"), w.get(0));
    assertTrue(
        w.get(1).startsWith("admission.allowedSources[1].prefix: registry-1.docker.io"), w.get(1));
    assertEquals(
        List.of(),
        PolicyWarnings.of(PolicyParser.parse(HEAD + "registries: [{host: index.docker.io}]\n")));
  }
}
