package dev.registrypolicy.policy;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The admission allowlist and image rules.
 *
 * @param mode default action for violations
 * @param exemptNamespaces namespaces admission never checks, as the policy lists them; empty when
 *     it does not give the key (see {@link #exemptNamespacesGiven})
 * @param exemptNamespacesGiven whether the policy gives {@code exemptNamespaces} at all: when it
 *     does not, the default {@link #DEFAULT_EXEMPT} plus the product's own namespace applies; an
 *     explicit {@code exemptNamespaces: []} exempts nothing
 * @param allowedSources approved sources; when empty, sources are not restricted
 * @param rules further image rules
 * @param requireGrantForNodeCredentials admit an image from a registry whose node-level credentials
 *     (hosts.toml) the policy configures only in namespaces that an access grant with those
 *     credentials selects
 */
public record Admission(
    AdmissionMode mode,
    Set<String> exemptNamespaces,
    boolean exemptNamespacesGiven,
    List<AllowedSource> allowedSources,
    List<AdmissionRule> rules,
    boolean requireGrantForNodeCredentials) {
  /** Exempt, with the product's own namespace, when the policy does not list exempt namespaces. */
  public static final String DEFAULT_EXEMPT = "kube-system";

  public static final Admission NONE =
      new Admission(AdmissionMode.DENY, Set.of(), false, List.of(), List.of(), false);

  public Admission {
    Objects.requireNonNull(mode, "mode");
    exemptNamespaces = Set.copyOf(exemptNamespaces);
    allowedSources = List.copyOf(allowedSources);
    rules = List.copyOf(rules);
  }

  public boolean restrictsSources() {
    return !allowedSources.isEmpty();
  }

  /**
   * The namespaces admission skips: the policy's {@code exemptNamespaces} when it gives the key,
   * else {@code kube-system} and {@code ownNamespace}.
   */
  public Set<String> effectiveExemptNamespaces(String ownNamespace) {
    if (exemptNamespacesGiven) {
      return exemptNamespaces;
    }
    return ownNamespace == null || ownNamespace.equals(DEFAULT_EXEMPT)
        ? Set.of(DEFAULT_EXEMPT)
        : Set.of(DEFAULT_EXEMPT, ownNamespace);
  }

  /**
   * Whether admission checks anything here: allowed sources, a rule with a check evaluated at
   * admission ({@link AdmissionRule#checksAtAdmission()}), or {@link
   * #requireGrantForNodeCredentials}. When it does not, every container is allowed.
   */
  public boolean enforcesSomething() {
    if (restrictsSources() || requireGrantForNodeCredentials) {
      return true;
    }
    for (AdmissionRule r : rules) {
      if (r.checksAtAdmission()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a rule checks image content ({@link AdmissionRule#checksImageContent()}): only the
   * webhook (or {@code check} with registry access) evaluates those, never a
   * ValidatingAdmissionPolicy, so the webhook must be registered for them whatever enforces the
   * rest.
   */
  public boolean hasImageContentRules() {
    for (AdmissionRule r : rules) {
      if (r.checksImageContent()) {
        return true;
      }
    }
    return false;
  }
}
