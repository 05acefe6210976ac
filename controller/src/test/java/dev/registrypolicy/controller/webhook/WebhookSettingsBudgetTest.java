package dev.registrypolicy.controller.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --webhook-image-metadata-budget-ms}: default, range, and what it must leave. */
class WebhookSettingsBudgetTest {
  static WebhookSettings.Parsed parse(Map<String, String> flags) {
    return WebhookSettings.parse(flags, "registry-policy");
  }

  @Test
  void defaults() {
    assertEquals(Duration.ofMillis(4000), parse(Map.of()).settings().metadataBudget());
    assertEquals(
        Duration.ofMillis(500),
        parse(Map.of(WebhookSettings.FLAG_TIMEOUT, "1")).settings().metadataBudget());
    assertEquals(
        Duration.ofMillis(29_000),
        parse(Map.of(WebhookSettings.FLAG_TIMEOUT, "30")).settings().metadataBudget());
  }

  @Test
  void setAndBounded() {
    assertEquals(
        Duration.ofMillis(4750),
        parse(Map.of(WebhookSettings.FLAG_METADATA_BUDGET, "4750")).settings().metadataBudget());
    WebhookSettings.Parsed tooLong = parse(Map.of(WebhookSettings.FLAG_METADATA_BUDGET, "4751"));
    assertNull(tooLong.settings());
    assertEquals(
        List.of(
            "--webhook-image-metadata-budget-ms wants milliseconds 50-4750 (less than"
                + " --webhook-timeout-seconds 5 s by at least 250 ms), not \"4751\""),
        tooLong.errors());
    assertEquals(
        1,
        parse(Map.of(WebhookSettings.FLAG_METADATA_BUDGET, "49")).errors().size(),
        "below the minimum");
    assertEquals(1, parse(Map.of(WebhookSettings.FLAG_METADATA_BUDGET, "soon")).errors().size());
    assertEquals(
        Duration.ofMillis(750),
        parse(
                Map.of(
                    WebhookSettings.FLAG_TIMEOUT, "1", WebhookSettings.FLAG_METADATA_BUDGET, "750"))
            .settings()
            .metadataBudget());
  }
}
