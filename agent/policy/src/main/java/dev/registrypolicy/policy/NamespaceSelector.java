package dev.registrypolicy.policy;

import java.util.Set;

/**
 * Which namespaces a grant or an admission scope applies to.
 *
 * <p>A namespace is selected when it is named in {@code names} or matches {@code selector}; when
 * neither is given, every namespace is selected. Namespaces in {@code exclude} never are, nor are
 * namespaces annotated {@value #OPT_OUT_ANNOTATION}{@code : "true"} (for access grants).
 *
 * @param names explicit namespace names
 * @param selector label selector, or null
 * @param exclude namespace names never selected
 */
public record NamespaceSelector(Set<String> names, LabelSelector selector, Set<String> exclude) {
  /** Annotation by which a namespace opts out of every access grant. */
  public static final String OPT_OUT_ANNOTATION = "registry-policy.dev/opt-out";

  /** Every namespace. */
  public static final NamespaceSelector ALL = new NamespaceSelector(Set.of(), null, Set.of());

  public NamespaceSelector {
    names = Set.copyOf(names);
    exclude = Set.copyOf(exclude);
  }

  public boolean selectsAll() {
    return names.isEmpty() && selector == null;
  }

  /** Whether the namespace is selected, ignoring the opt-out annotation. */
  public boolean matches(NamespaceInfo ns) {
    if (exclude.contains(ns.name())) {
      return false;
    }
    if (selectsAll()) {
      return true;
    }
    return names.contains(ns.name()) || (selector != null && selector.matches(ns.labels()));
  }

  /** Whether an access grant applies: {@link #matches} and the namespace has not opted out. */
  public boolean grants(NamespaceInfo ns) {
    return matches(ns) && !"true".equalsIgnoreCase(ns.annotations().get(OPT_OUT_ANNOTATION));
  }
}
