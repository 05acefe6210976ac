package dev.registrypolicy.policy;

import java.util.Set;

/**
 * Which ServiceAccounts of a selected namespace get the pull Secret in {@code imagePullSecrets}:
 * all of them (including ones created later), the named ones, or none.
 */
public record ServiceAccountSelector(boolean all, Set<String> names) {
  public static final ServiceAccountSelector DEFAULT =
      new ServiceAccountSelector(false, Set.of("default"));
  public static final ServiceAccountSelector ALL = new ServiceAccountSelector(true, Set.of());
  public static final ServiceAccountSelector NONE = new ServiceAccountSelector(false, Set.of());

  public ServiceAccountSelector {
    names = Set.copyOf(names);
    if (all && !names.isEmpty()) {
      throw new IllegalArgumentException("all and names are exclusive");
    }
  }

  public boolean matches(String serviceAccount) {
    return all || names.contains(serviceAccount);
  }
}
