package dev.registrypolicy.policy;

import java.util.Objects;

/**
 * A registry URL prefix from an allow list: a registry domain, optionally followed by a repository
 * path prefix. It matches an {@link ImageRef} on whole path segments only: {@code
 * registry.corp/team} matches {@code registry.corp/team} and {@code registry.corp/team/app} but not
 * {@code registry.corp/team-evil/app} nor {@code registry.corp/teamx}; {@code registry.corp}
 * matches every repository on exactly that domain, not {@code registry.corp.evil.com} and not
 * {@code registry.corp:5000} (a port is part of the domain).
 *
 * <p>How {@link #parse(String)} reads its text, after dropping an optional {@code https://} or
 * {@code http://} and one trailing {@code /}:
 *
 * <ul>
 *   <li>The first component is a domain by the same rule as in {@link ImageRef}: it contains a
 *       {@code .} or {@code :}, is {@code localhost}, or has an uppercase letter. A domain alone
 *       ({@code registry.corp}, {@code registry.corp:5000}, {@code docker.io}) covers the whole
 *       registry. {@code docker.io} and {@code index.docker.io} are both {@code docker.io}; {@code
 *       registry-1.docker.io} is a registry of its own, as containerd sees it (so {@code docker.io}
 *       does not admit {@code registry-1.docker.io/...}); domains are lowercased. Unlike an image
 *       name, a bare {@code example.com} or {@code localhost} here is a registry, since an allow
 *       list names registries far more often than official images with a dot in their name.
 *   <li>A path after an explicit domain is taken literally: {@code docker.io/library} is every
 *       official image and {@code docker.io/bitnami} the {@code bitnami} namespace. Note that
 *       {@code docker.io/nginx} is therefore the {@code nginx} namespace, not the official image
 *       (write {@code nginx} or {@code docker.io/library/nginx} for that).
 *   <li>Without a domain the text is a Docker Hub path: {@code bitnami/redis} is {@code
 *       docker.io/bitnami/redis}. A single bare component such as {@code nginx} is read as an image
 *       name is, i.e. the official image {@code docker.io/library/nginx} (a repository prefix, so
 *       it also covers {@code docker.io/library/nginx/...}), not a host named {@code nginx}.
 * </ul>
 *
 * <p>Tags, digests, wildcards, query strings, empty text and invalid hosts are refused.
 *
 * @param domain lowercase registry domain with optional port, as {@link ImageRef#domain()}
 * @param path repository path prefix, or the empty string for the whole registry
 */
public record RepositoryPrefix(String domain, String path) {
  private static final String WHAT = "repository prefix";

  public RepositoryPrefix {
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(path, "path");
    String r = ImageRef.checkDomain(domain, 0, domain.length());
    if (r == null && ImageRef.hasUpper(domain, 0, domain.length())) {
      r = "domain must be lowercase";
    }
    if (r == null && !ImageRef.isDomainLike(domain)) {
      r = "domain needs a '.' or a port, or must be localhost";
    }
    if (r == null
        && !domain.equals(ImageRef.DEFAULT_DOMAIN)
        && ImageRef.isDockerHub(domain, 0, domain.length())) {
      r = "write Docker Hub as " + ImageRef.DEFAULT_DOMAIN;
    }
    if (r == null && !path.isEmpty()) {
      r = ImageRef.checkPath(path, 0, path.length());
    }
    if (r == null && domain.length() + 1 + path.length() > ImageRef.NAME_TOTAL_LENGTH_MAX) {
      r = ImageRef.TOO_LONG;
    }
    if (r != null) {
      throw new IllegalArgumentException(r + ": " + domain + (path.isEmpty() ? "" : "/" + path));
    }
  }

  /** The prefix that covers every repository on a registry domain. */
  public static RepositoryPrefix ofDomain(String domain) {
    return new RepositoryPrefix(domain, "");
  }

  /**
   * Parses an allow-list entry; see the class documentation for how the text is read.
   *
   * @throws InvalidImageRefException for any text that is not a valid prefix, including null; no
   *     other exception escapes
   */
  public static RepositoryPrefix parse(String s) throws InvalidImageRefException {
    if (s == null) {
      throw error(null, "prefix is null");
    }
    int from = 0;
    int to = s.length();
    if (s.regionMatches(true, 0, "https://", 0, 8)) {
      from = 8;
    } else if (s.regionMatches(true, 0, "http://", 0, 7)) {
      from = 7;
    }
    if (to > from && s.charAt(to - 1) == '/') {
      to--;
    }
    if (from >= to) {
      throw error(s, "prefix is empty");
    }
    int scheme = s.indexOf("://", from);
    if (scheme >= 0 && scheme < to) {
      throw error(s, "the only schemes accepted are https:// and http://");
    }
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?') {
        throw error(
            s, "wildcards are not supported (a prefix already covers every repository below it)");
      }
      if (c == '@') {
        throw error(s, "a prefix must not have a digest");
      }
    }
    int firstSlash = s.indexOf('/', from);
    if (firstSlash >= to) {
      firstSlash = -1;
    }
    int domainEnd = firstSlash < 0 ? to : firstSlash;
    String domain;
    int pathStart;
    boolean official = false;
    if (ImageRef.looksLikeDomain(s, from, domainEnd)) {
      String r = ImageRef.checkDomain(s, from, domainEnd);
      if (r != null) {
        int colon = s.indexOf(':', from);
        if (firstSlash < 0 && colon >= 0 && !ImageRef.looksLikeDomain(s, from, colon)) {
          // "nginx:1.25": an image name with a tag rather than a host with a port.
          r = "a prefix must not have a tag";
        }
        throw error(s, r);
      }
      domain = ImageRef.normalizeDomain(s, from, domainEnd);
      if (!ImageRef.isDomainLike(domain)) {
        throw error(s, ImageRef.AMBIGUOUS_HOST);
      }
      pathStart = firstSlash < 0 ? to : firstSlash + 1;
    } else {
      domain = ImageRef.DEFAULT_DOMAIN;
      pathStart = from;
      official = firstSlash < 0;
      if (official && to - from == 64 && ImageRef.isLowerHex(s, from, to)) {
        throw error(s, "cannot specify 64-byte hexadecimal strings as a repository name");
      }
    }
    if (pathStart < to) {
      int colon = s.indexOf(':', pathStart);
      if (colon >= 0 && colon < to) {
        throw error(s, "a prefix must not have a tag");
      }
      String r = ImageRef.checkPath(s, pathStart, to);
      if (r != null) {
        throw error(s, r);
      }
    }
    int pathLength = to - pathStart + (official ? ImageRef.OFFICIAL_PREFIX.length() : 0);
    if (domain.length() + 1 + pathLength > ImageRef.NAME_TOTAL_LENGTH_MAX) {
      throw error(s, ImageRef.TOO_LONG);
    }
    String path = s.substring(pathStart, to);
    return new RepositoryPrefix(domain, official ? ImageRef.OFFICIAL_PREFIX + path : path);
  }

  private static InvalidImageRefException error(String input, String reason) {
    return new InvalidImageRefException(WHAT, input, reason);
  }

  /** Whether this prefix covers a whole registry domain rather than a repository path. */
  public boolean isDomainOnly() {
    return path.isEmpty();
  }

  /** Whether the reference is on this domain and its path equals or lies below this path. */
  public boolean matches(ImageRef ref) {
    if (!domain.equals(ref.domain())) {
      return false;
    }
    if (path.isEmpty()) {
      return true;
    }
    String p = ref.path();
    int n = path.length();
    return p.startsWith(path) && (p.length() == n || p.charAt(n) == '/');
  }

  /** The normalized prefix: {@code registry.corp}, {@code docker.io/library/nginx}. */
  @Override
  public String toString() {
    return path.isEmpty() ? domain : domain + "/" + path;
  }
}
