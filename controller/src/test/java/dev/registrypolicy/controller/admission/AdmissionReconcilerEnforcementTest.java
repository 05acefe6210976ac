package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The enforcement choice and the comparison the reconciler relies on, without an API. */
class AdmissionReconcilerEnforcementTest {

  /** mode, webhookServed, policiesServed, unusable, grants → policies, webhook, mutating. */
  @ParameterizedTest
  @CsvSource({
    "AUTO,    true,  true,  false, true,  true,  false, true",
    "AUTO,    true,  false, false, true,  false, true,  true",
    "AUTO,    true,  true,  true,  false, false, true,  false",
    "AUTO,    false, true,  false, true,  true,  false, false",
    "AUTO,    false, false, false, false, false, false, false",
    "AUTO,    false, true,  true,  false, true,  false, false",
    "POLICY,  true,  true,  false, true,  true,  false, true",
    "POLICY,  true,  false, false, false, false, false, false",
    "WEBHOOK, true,  true,  false, false, false, true,  false",
    "WEBHOOK, false, true,  false, true,  false, false, false",
    "BOTH,    true,  true,  false, true,  true,  true,  true",
    "BOTH,    true,  false, false, true,  false, true,  true",
  })
  void choice(
      Enforcement mode,
      boolean webhookServed,
      boolean policiesServed,
      boolean unusable,
      boolean grants,
      boolean policies,
      boolean webhook,
      boolean mutating) {
    EnforcementChoice c =
        new EnforcementSettings(mode, webhookServed).choose(policiesServed, unusable, grants);
    assertEquals(
        List.of(policies, webhook, mutating),
        List.of(c.policies(), c.validatingWebhook(), c.mutatingWebhook()),
        c.toString());
    boolean shortOfTheSetting =
        (mode != Enforcement.WEBHOOK && mode != Enforcement.AUTO && !policiesServed)
            || (mode != Enforcement.POLICY && mode != Enforcement.AUTO && !webhookServed)
            || (mode == Enforcement.AUTO && !policies && !webhook)
            || (mode == Enforcement.AUTO && unusable);
    assertEquals(shortOfTheSetting, !c.problems().isEmpty(), c.problems().toString());
  }

  @Test
  void choiceSelectsTheObjects() {
    AdmissionObjects all = AdmissionReconcilerFixture.full("m", "CA");
    AdmissionObjects webhookOnly =
        new EnforcementSettings(Enforcement.AUTO, true).choose(false, false, false).select(all);
    assertEquals(List.of(), webhookOnly.policies());
    assertEquals(List.of(), webhookOnly.bindings());
    assertEquals(1, webhookOnly.validatingWebhooks().size());
    assertEquals(List.of(), webhookOnly.mutatingWebhooks());
    assertEquals(
        "webhook",
        new EnforcementSettings(Enforcement.AUTO, true).choose(false, false, false).summary());
  }

  @Test
  void parse_acceptsTheFourValues_andNamesTheBadOne() {
    for (Enforcement e : Enforcement.values()) {
      assertEquals(e, Enforcement.parse(e.flagValue()));
    }
    IllegalArgumentException bad =
        assertThrows(IllegalArgumentException.class, () -> Enforcement.parse("Policy\u0007"));
    assertEquals(
        "--admission-enforcement wants auto, policy, webhook or both, not \"Policy?\"",
        bad.getMessage());
    String longValue = "x".repeat(500);
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Enforcement.parse(longValue))
                .getMessage()
                .length()
            < 150);
    assertThrows(IllegalArgumentException.class, () -> Enforcement.parse(null));
  }

  static JsonElement j(String s) {
    return JsonParser.parseString(s);
  }

  @Test
  void compare_serverDefaultsCountAsEqual_otherValuesDoNot() {
    String want = "{\"name\":\"w\",\"rules\":[{\"resources\":[\"pods\"]}]}";
    assertTrue(
        AdmissionObjectsCompare.covers(
            j(
                "{\"name\":\"w\",\"rules\":[{\"resources\":[\"pods\"],\"scope\":\"*\"}],"
                    + "\"timeoutSeconds\":10,\"failurePolicy\":\"Fail\",\"matchPolicy\":\"Equivalent\","
                    + "\"namespaceSelector\":{\"matchLabels\":{},\"matchExpressions\":[]},"
                    + "\"objectSelector\":{},\"reinvocationPolicy\":\"Never\",\"matchConditions\":[]}"),
            j(want)));
    assertFalse(
        AdmissionObjectsCompare.covers(
            j("{\"name\":\"w\",\"rules\":[{\"resources\":[\"pods\"]}],\"timeoutSeconds\":30}"),
            j(want)),
        "a changed default is a difference");
    assertFalse(
        AdmissionObjectsCompare.covers(
            j(
                "{\"name\":\"w\",\"rules\":[{\"resources\":[\"pods\"]}],\"namespaceSelector\":{\"matchLabels\":{\"a\":\"b\"}}}"),
            j(want)),
        "a narrowed selector is a difference");
    assertFalse(
        AdmissionObjectsCompare.covers(
            j(
                "{\"name\":\"w\",\"rules\":[{\"resources\":[\"pods\"]}],\"matchConditions\":[{\"name\":\"x\",\"expression\":\"false\"}]}"),
            j(want)),
        "a field nobody defaults is a difference");
    assertFalse(
        AdmissionObjectsCompare.covers(j("{\"name\":\"w\",\"rules\":[]}"), j(want)), "rules lost");
    assertFalse(
        AdmissionObjectsCompare.covers(
            j("{\"name\":\"w\",\"rules\":[{\"resources\":[\"pods\"]},{\"resources\":[\"x\"]}]}"),
            j(want)),
        "a rule added");
    assertTrue(
        AdmissionObjectsCompare.covers(
            j("{\"timeoutSeconds\":10.0}"), j("{\"timeoutSeconds\":10}")));
    assertTrue(AdmissionObjectsCompare.covers(null, j("{\"a\":[]}")));
  }
}
