package dev.registrypolicy.policy;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The admission allowlist and image rules.
 *
 * @param mode default action for violations
 * @param exemptNamespaces namespaces admission never checks
 * @param allowedSources approved sources; when empty, sources are not restricted
 * @param rules further image rules
 */
public record Admission(
    AdmissionMode mode,
    Set<String> exemptNamespaces,
    List<AllowedSource> allowedSources,
    List<AdmissionRule> rules) {
  public static final Admission NONE =
      new Admission(AdmissionMode.DENY, Set.of(), List.of(), List.of());

  public Admission {
    Objects.requireNonNull(mode, "mode");
    exemptNamespaces = Set.copyOf(exemptNamespaces);
    allowedSources = List.copyOf(allowedSources);
    rules = List.copyOf(rules);
  }

  public boolean restrictsSources() {
    return !allowedSources.isEmpty();
  }
}
