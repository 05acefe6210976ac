package dev.registrypolicy.common;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One answer for {@code /healthz} and {@code /readyz}, as served by {@link HealthServer}.
 *
 * <p>{@code details} holds strings, numbers, booleans, lists and nested maps, rendered as JSON. It
 * must never contain credentials. The map is copied (insertion order kept, null values allowed), so
 * later changes by the caller do not leak into a served response.
 *
 * @param healthy liveness: false turns {@code /healthz} into 503 (the process should be restarted)
 * @param ready readiness: false turns {@code /readyz} into 503
 * @param details facts for humans, never null after construction
 */
public record Health(boolean healthy, boolean ready, Map<String, Object> details) {

  public Health {
    details =
        details == null || details.isEmpty()
            ? Map.of()
            : Collections.unmodifiableMap(new LinkedHashMap<>(details));
  }

  /** Healthy and ready, no details. */
  public static Health ok() {
    return new Health(true, true, Map.of());
  }
}
