package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.ImageContentCheck;
import dev.registrypolicy.admission.ImageContentRules;
import dev.registrypolicy.admission.MetadataFailure;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;

/**
 * Counters of the image-content rules: one per (container, rule) decision and one per metadata
 * lookup. Labels are bounded enums (decision, action, result); never an image, a registry host, a
 * rule name or anything from a request.
 */
public final class ImageContentMetrics {
  private final Counter decisions;
  private final Counter lookups;

  /** Registers the counters in {@code registry} (the controller's /metrics registry). */
  public ImageContentMetrics(PrometheusRegistry registry) {
    decisions =
        Counter.builder()
            .name("registry_policy_image_content_decisions")
            .help(
                "Image-content rule decisions per container and rule: decision pass, broken,"
                    + " error_denied (metadata unavailable, onError Deny) or error_allowed"
                    + " (metadata unavailable, onError Allow); action is the rule's mode.")
            .labelNames("decision", "action")
            .register(registry);
    lookups =
        Counter.builder()
            .name("registry_policy_image_metadata_lookups")
            .help(
                "Image metadata lookups made for reviews and check, by result: ok, not_found,"
                    + " unauthorized, no_matching_platform, timeout or error.")
            .labelNames("result")
            .register(registry);
  }

  /** Counters in a registry of their own (nothing scrapes them): for tests and {@code check}. */
  public static ImageContentMetrics unregistered() {
    return new ImageContentMetrics(new PrometheusRegistry());
  }

  void decided(ImageContentRules.Decided d) {
    decisions
        .labelValues(d.outcome().decision().name().toLowerCase(Locale.ROOT), d.action().wireName())
        .inc();
  }

  void lookup(MetadataFailure failure) {
    lookups.labelValues(failure == null ? "ok" : failure.label()).inc();
  }

  /** The decisions counted so far with this decision and action (tests). */
  long decisions(ImageContentCheck.Decision decision, Action action) {
    return (long)
        decisions.labelValues(decision.name().toLowerCase(Locale.ROOT), action.wireName()).get();
  }

  /** The lookups counted so far with this result (null: ok) (tests). */
  long lookups(MetadataFailure failure) {
    return (long) lookups.labelValues(failure == null ? "ok" : failure.label()).get();
  }
}
