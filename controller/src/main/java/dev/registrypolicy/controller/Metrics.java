package dev.registrypolicy.controller;

import dev.registrypolicy.controller.imagemeta.ImageMetadataMetrics;
import dev.registrypolicy.controller.nodestatus.FleetStatus;
import dev.registrypolicy.controller.nodestatus.NodeState;
import dev.registrypolicy.controller.webhook.ImageContentMetrics;
import dev.registrypolicy.controller.webhook.WebhookMetrics;
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

  /** The image-content rules' decisions and lookups (the webhook's). */
  final ImageContentMetrics imageContent = new ImageContentMetrics(registry);

  /** The webhook's time per review, by path. */
  final WebhookMetrics webhook = new WebhookMetrics(registry);

  /** The registry client's fetches, cache and requests (the image-content rules' lookups). */
  final ImageMetadataMetrics imageMetadata = new ImageMetadataMetrics();

  /**
   * The node status the leader computed last; null (no node samples) on other replicas and before
   * the first pass. The node gauges carry one label, {@code state}, with the fixed values of {@link
   * NodeState}: never a node name, so a 5,000-node cluster still has 4 series (which nodes are
   * behind is in the status ConfigMap and on the report Leases).
   */
  volatile FleetStatus nodes;

  Metrics() {
    imageMetadata.register(registry);
    GaugeWithCallback.builder()
        .name("registry_policy_controller_leader")
        .help("1 on the replica that holds the lease.")
        .callback(cb -> cb.call(leader ? 1 : 0))
        .register(registry);
    GaugeWithCallback.builder()
        .name("registry_policy_controller_nodes")
        .help(
            "Nodes by state: current (on the current policy and bundle), behind, not_reporting"
                + " (report Lease not renewed in time), no_report (no report Lease). Leader only.")
        .labelNames("state")
        .callback(
            cb -> {
              FleetStatus f = leader ? nodes : null;
              if (f != null) {
                for (NodeState s : NodeState.values()) {
                  cb.call(f.count(s), s.label());
                }
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("registry_policy_controller_nodes_with_problems")
        .help("Nodes whose agent reports problems, whatever their state. Leader only.")
        .callback(
            cb -> {
              FleetStatus f = leader ? nodes : null;
              if (f != null) {
                cb.call(f.withProblems());
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("registry_policy_controller_node_reports_of_deleted_nodes")
        .help("Report Leases whose Node no longer exists (removed after a grace). Leader only.")
        .callback(
            cb -> {
              FleetStatus f = leader ? nodes : null;
              if (f != null) {
                cb.call(f.deletedNodeReports());
              }
            })
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
