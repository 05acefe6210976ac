package dev.registrypolicy.controller;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The controller's metrics in a registry of its own (not the library's global one, so tests and
 * {@code render} each count alone), written on /metrics in the Prometheus text format.
 */
final class Metrics {
  /** What /metrics answers with. */
  static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  final Counter writes =
      counter("registry_policy_controller_writes", "API writes made by the controller.");
  final Counter conflicts =
      counter(
          "registry_policy_controller_secret_conflicts",
          "Same-named Secrets not owned by the controller that blocked a grant.");
  final Counter conflictsRetried =
      counter(
          "registry_policy_controller_write_races",
          "Writes that lost to a concurrent writer (409/422) and were retried.");
  final Counter invalidPolicies =
      counter("registry_policy_controller_invalid_policies", "Distinct invalid policies seen.");
  final Counter reconciles = counter("registry_policy_controller_reconciles", "Reconcile passes.");
  volatile boolean leader;

  Metrics() {
    GaugeWithCallback.builder()
        .name("registry_policy_controller_leader")
        .help("1 on the replica that holds the lease.")
        .callback(cb -> cb.call(leader ? 1 : 0))
        .register(registry);
  }

  /** The counter {@code name_total}; the client adds the suffix. */
  private Counter counter(String name, String help) {
    return Counter.builder().name(name).help(help).register(registry);
  }

  /** Every metric in the Prometheus text format. */
  String scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
