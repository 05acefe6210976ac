package dev.registrypolicy.policy;

import java.util.Objects;

/**
 * An approved image source: a registry URL prefix, matched on path-segment boundaries, either for
 * every namespace (Global) or for the selected ones.
 *
 * @param prefix registry host, optionally with a repository path prefix
 * @param scope namespaces the source is approved for; {@link NamespaceSelector#ALL} means Global
 */
public record AllowedSource(RepositoryPrefix prefix, NamespaceSelector scope) {
  public AllowedSource {
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(scope, "scope");
  }

  public boolean isGlobal() {
    return scope.selectsAll() && scope.exclude().isEmpty();
  }
}
