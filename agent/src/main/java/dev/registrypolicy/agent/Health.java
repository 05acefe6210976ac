package dev.registrypolicy.agent;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of the agent's health as served on {@code /healthz} and {@code /readyz}.
 *
 * <p>{@code details} holds strings, numbers, booleans, lists and nested maps; it is rendered as JSON
 * by {@link HealthServer}. It must never contain credentials. The map is copied (insertion order
 * kept, null values allowed) so later changes by the caller do not leak into a served response.
 *
 * @param healthy whether the agent works (liveness); false turns {@code /healthz} into 503
 * @param ready whether the agent has done its first successful pass (readiness)
 * @param details extra facts for humans, never null after construction
 */
public record Health(boolean healthy, boolean ready, Map<String, Object> details) {

    public Health {
        details = details == null || details.isEmpty()
                ? Map.of()
                : Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    /** Healthy and ready, no details. */
    public static Health ok() {
        return new Health(true, true, Map.of());
    }
}
