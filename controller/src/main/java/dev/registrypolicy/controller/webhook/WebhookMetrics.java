package dev.registrypolicy.controller.webhook;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How long the webhook takes per review, from the request reaching its handler to the answer
 * written: what the controller adds to the API server's call (the API server's own {@code
 * apiserver_admission_webhook_admission_duration_seconds} adds the network and TLS). Label {@code
 * path} is one of the webhook's three paths, never anything from a request.
 */
public final class WebhookMetrics {
  /**
   * Bucket upper bounds (seconds): fine below the webhook's millisecond figures, up to timeouts.
   */
  static final double[] BOUNDS = {
    0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };

  private final Histogram reviews;
  private final Map<String, DistributionDataPoint> byPath = new LinkedHashMap<>();

  /** Registers the histogram in {@code registry} (the controller's /metrics registry). */
  public WebhookMetrics(PrometheusRegistry registry) {
    reviews =
        Histogram.builder()
            .name("registry_policy_webhook_review_seconds")
            .help(
                "Time the webhook spent on each review, from the request reaching its handler to"
                    + " the answer written, by path (/validate, /validate-image-content, /mutate).")
            .labelNames("path")
            .classicOnly()
            .classicUpperBounds(BOUNDS)
            .register(registry);
    for (String p :
        new String[] {
          WebhookServer.VALIDATE_PATH,
          WebhookServer.VALIDATE_CONTENT_PATH,
          WebhookServer.MUTATE_PATH
        }) {
      byPath.put(p, reviews.labelValues(p));
    }
  }

  /** A histogram in a registry of its own (nothing scrapes it): tests and benchmarks. */
  public static WebhookMetrics unregistered() {
    return new WebhookMetrics(new PrometheusRegistry());
  }

  void observe(String path, long nanos) {
    DistributionDataPoint p = byPath.get(path);
    if (p != null) {
      p.observe(nanos / 1e9);
    }
  }

  /**
   * Reviews counted on {@code path} per bucket, not cumulative: index i counts those over {@code
   * BOUNDS[i-1]} and up to {@code BOUNDS[i]}; the last index counts those over the last bound.
   */
  public long[] counts(String path) {
    long[] out = new long[BOUNDS.length + 1];
    HistogramSnapshot s = reviews.collect();
    for (HistogramSnapshot.HistogramDataPointSnapshot d : s.getDataPoints()) {
      if (!path.equals(d.getLabels().get("path"))) {
        continue;
      }
      ClassicHistogramBuckets b = d.getClassicBuckets();
      for (int i = 0; i < b.size() && i < out.length; i++) {
        out[i] = b.getCount(i);
      }
    }
    return out;
  }

  /** The bucket bounds of {@link #counts}, in seconds. */
  public static double[] bounds() {
    return BOUNDS.clone();
  }
}
