package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;

/**
 * The image-metadata counters, built unregistered so the controller's own registry can take them
 * ({@link #register}). Labels are fixed small sets (outcome, failure kind, cache result, request
 * kind): never an image, host or credential.
 *
 * <ul>
 *   <li>{@code registry_policy_controller_image_metadata_fetches_total{outcome="ok|error",kind}}:
 *       {@link ImageMetadataSource#fetch} calls by result ({@code kind} is "" for ok, else {@link
 *       Kind} in lowercase);
 *   <li>{@code …_image_metadata_cache_total{result="hit|miss|shared"}}: a call answered from the
 *       cache, one that started a registry fetch, one that joined a fetch already running;
 *   <li>{@code …_image_metadata_registry_requests_total{kind="manifest|blob|token"}}: HTTP requests
 *       sent to registries and token services (redirect hops and 401 retries included).
 * </ul>
 */
public final class ImageMetadataMetrics {
  private final Counter fetches =
      Counter.builder()
          .name("registry_policy_controller_image_metadata_fetches")
          .help("Image metadata lookups by outcome and failure kind.")
          .labelNames("outcome", "kind")
          .build();
  private final Counter cache =
      Counter.builder()
          .name("registry_policy_controller_image_metadata_cache")
          .help(
              "Image metadata lookups answered from the cache (hit), by a new registry fetch (miss), or by joining one (shared).")
          .labelNames("result")
          .build();
  private final Counter requests =
      Counter.builder()
          .name("registry_policy_controller_image_metadata_registry_requests")
          .help("HTTP requests sent to registries and token services for image metadata.")
          .labelNames("kind")
          .build();

  /** Registers the three counters in {@code registry} (once per registry). */
  public void register(PrometheusRegistry registry) {
    registry.register(fetches);
    registry.register(cache);
    registry.register(requests);
  }

  void ok() {
    fetches.labelValues("ok", "").inc();
  }

  void failed(Kind kind) {
    fetches.labelValues("error", kind.name().toLowerCase(Locale.ROOT)).inc();
  }

  void hit() {
    cache.labelValues("hit").inc();
  }

  void miss() {
    cache.labelValues("miss").inc();
  }

  void shared() {
    cache.labelValues("shared").inc();
  }

  void request(RegistryHttp.What what) {
    requests.labelValues(what.name().toLowerCase(Locale.ROOT)).inc();
  }

  /** A counter's value, for tests and benchmarks: {@code fetches|cache|requests} and its labels. */
  public double value(String counter, String... labels) {
    Counter c =
        switch (counter) {
          case "fetches" -> fetches;
          case "cache" -> cache;
          case "requests" -> requests;
          default -> throw new IllegalArgumentException("no counter " + counter);
        };
    return c.labelValues(labels).get();
  }
}
