package dev.registrypolicy.policy;

import dev.registrypolicy.common.Redact;
import java.util.Locale;
import java.util.Objects;

/**
 * A container image reference, parsed and normalized the way Docker and containerd read the names
 * in a pod spec: the distribution reference grammar with its normalization of familiar names.
 *
 * <pre>
 * reference        := name [ ":" tag ] [ "@" digest ]
 * name             := [ domain "/" ] path
 * domain           := host [ ":" port ]
 * host             := domain-name | "[" ipv6 "]"
 * domain-name      := component ( "." component )*        component: [a-zA-Z0-9] ( [a-zA-Z0-9-]* [a-zA-Z0-9] )?
 * path             := path-component ( "/" path-component )*
 * path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*  separator: "." | "_" | "__" | "-"+
 * tag              := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 * digest           := algorithm ":" hex
 * </pre>
 *
 * <p>Normalization, as distribution's {@code ParseNormalizedNamed}:
 *
 * <ul>
 *   <li>The first {@code /}-separated component is the registry domain when it contains a {@code .}
 *       or a {@code :}, is {@code localhost}, or contains an uppercase letter; otherwise the domain
 *       is {@code docker.io} and the whole name is the path. A reference without any {@code /}
 *       ({@code nginx}, {@code localhost:5000}) is always a Docker Hub name, its {@code :} starting
 *       a tag.
 *   <li>{@code docker.io} and {@code index.docker.io}, in any case, are both domain {@code
 *       docker.io}; a single-component path there gets {@code library/}. {@code
 *       registry-1.docker.io} (Docker Hub's API host) is a domain of its own, as in distribution
 *       and containerd: containerd looks up {@code certs.d/registry-1.docker.io} for it, not {@code
 *       certs.d/docker.io}, so it must not share docker.io's allowed sources and name patterns.
 *   <li>The domain is lowercased (host names are case-insensitive). A domain that is neither {@code
 *       localhost} nor contains a {@code .} or {@code :} after lowercasing (say {@code Foo/bar}) is
 *       refused, because its lowercase form would read as a Docker Hub namespace.
 *   <li>The path must be lowercase; {@code domain + "/" + path} is at most 255 characters.
 * </ul>
 *
 * <p>Stricter than the grammar: a port must be 1 to 65535 written without leading zeros, so that
 * one registry has one spelling in a policy; an IPv6 host must be a real address ({@link #isIpv6}:
 * {@code [::1]}, not {@code [1::2::3]} or {@code [:]}). Digests: {@code sha256}, {@code sha384} and
 * {@code sha512} need exactly 64, 96 or 128 lowercase hex digits, and a case variant of these names
 * ({@code SHA256}) is refused; other algorithms follow the grammar's general rule ({@code
 * [A-Za-z][A-Za-z0-9]*} components joined by {@code -_+.}, then at least 32 hex digits).
 *
 * <p>Invariants: {@code parse(r.toString())}, {@code parse(r.familiar())} and {@code
 * parse(r.name())} give back {@code r} (the last one without tag and digest). The compact
 * constructor checks the same rules and throws {@link IllegalArgumentException}; {@link
 * #parse(String)} is the entry point for untrusted text.
 *
 * @param domain registry, lowercase, with an optional port: {@code docker.io}, {@code
 *     registry.corp:5000}, {@code [::1]:5000}
 * @param path repository path, e.g. {@code library/nginx}
 * @param tag the tag as written, or null when none was given
 * @param digest the digest as written, e.g. {@code sha256:...}, or null when none was given
 */
public record ImageRef(String domain, String path, String tag, String digest) {
  /** The Docker Hub domain every familiar name belongs to. */
  public static final String DEFAULT_DOMAIN = "docker.io";

  /** The tag a runtime pulls when a reference has neither tag nor digest. */
  public static final String DEFAULT_TAG = "latest";

  /** Longest {@code domain + "/" + path}, as distribution. */
  public static final int NAME_TOTAL_LENGTH_MAX = 255;

  /** Longest tag. */
  public static final int TAG_LENGTH_MAX = 128;

  static final String OFFICIAL_PREFIX = "library/";
  static final String LOWERCASE = "repository name must be lowercase";
  static final String AMBIGUOUS_HOST =
      LOWERCASE + " (a registry host needs a '.' or a port, or must be localhost)";
  static final String IPV6_RULE =
      "an IPv6 address in brackets has eight groups of hex digits separated by ':', or fewer"
          + " around one '::' (e.g. [2001:db8::1])";
  static final String TOO_LONG =
      "repository name must not be more than " + NAME_TOTAL_LENGTH_MAX + " characters";

  public ImageRef {
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(path, "path");
    String r = checkDomain(domain, 0, domain.length());
    if (r == null && hasUpper(domain, 0, domain.length())) {
      r = "domain must be lowercase";
    }
    if (r == null && !isDomainLike(domain)) {
      r = "domain needs a '.' or a port, or must be localhost";
    }
    if (r == null && !domain.equals(DEFAULT_DOMAIN) && isDockerHub(domain, 0, domain.length())) {
      r = "write Docker Hub as " + DEFAULT_DOMAIN;
    }
    if (r == null) {
      r = checkPath(path, 0, path.length());
    }
    if (r == null && domain.equals(DEFAULT_DOMAIN) && path.indexOf('/') < 0) {
      r = "a Docker Hub path needs a namespace, e.g. " + OFFICIAL_PREFIX + path;
    }
    if (r == null && domain.length() + 1 + path.length() > NAME_TOTAL_LENGTH_MAX) {
      r = TOO_LONG;
    }
    if (r == null && tag != null) {
      r = checkTag(tag, 0, tag.length());
    }
    if (r == null && digest != null) {
      r = checkDigest(digest, 0, digest.length());
    }
    if (r != null) {
      throw new InvalidComponents(
          r,
          domain
              + "/"
              + path
              + (tag == null ? "" : ":" + tag)
              + (digest == null ? "" : "@" + digest));
    }
  }

  /**
   * What the canonical constructor throws. {@link #parse} lets the constructor do the one
   * validation of path, tag and digest and turns this into {@link InvalidImageRefException}.
   */
  static final class InvalidComponents extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    final String reason;

    InvalidComponents(String reason, String components) {
      super(reason + ": " + components);
      this.reason = reason;
    }
  }

  /**
   * Parses and normalizes an image reference.
   *
   * @throws InvalidImageRefException for any input that is not a valid reference, including null;
   *     no other exception escapes
   */
  public static ImageRef parse(String s) throws InvalidImageRefException {
    if (s == null) {
      throw new InvalidImageRefException(null, "reference is null");
    }
    final int n = s.length();
    if (n == 0) {
      throw new InvalidImageRefException(s, "reference is empty");
    }
    if (n == 64 && isLowerHex(s, 0, 64)) {
      throw new InvalidImageRefException(
          s, "cannot specify 64-byte hexadecimal strings as a repository name");
    }
    final int at = s.indexOf('@');
    final int nameEnd = at < 0 ? n : at;
    final int lastSlash = s.lastIndexOf('/', nameEnd - 1);
    final int colon = s.lastIndexOf(':', nameEnd - 1);
    final int repoEnd = colon > lastSlash ? colon : nameEnd;

    String domain = DEFAULT_DOMAIN;
    int pathStart = 0;
    if (lastSlash >= 0) {
      int firstSlash = s.indexOf('/');
      if (looksLikeDomain(s, 0, firstSlash)) {
        String r = checkDomain(s, 0, firstSlash);
        if (r != null) {
          throw new InvalidImageRefException(s, r);
        }
        domain = normalizeDomain(s, 0, firstSlash);
        if (!isDomainLike(domain)) {
          throw new InvalidImageRefException(s, AMBIGUOUS_HOST);
        }
        pathStart = firstSlash + 1;
      }
    }
    if (repoEnd == pathStart) {
      throw new InvalidImageRefException(s, "repository name must not be empty");
    }
    // A Docker Hub name with a single path component is an official image under library/.
    boolean official = lastSlash < pathStart && domain.equals(DEFAULT_DOMAIN);
    String path =
        official
            ? OFFICIAL_PREFIX.concat(s.substring(pathStart, repoEnd))
            : s.substring(pathStart, repoEnd);
    String tag = repoEnd < nameEnd ? s.substring(repoEnd + 1, nameEnd) : null;
    String digest = at >= 0 ? s.substring(at + 1) : null;
    try {
      // The constructor checks path, length, tag and digest, once.
      return new ImageRef(domain, path, tag, digest);
    } catch (InvalidComponents e) {
      throw new InvalidImageRefException(s, e.reason);
    }
  }

  /** Fully qualified name without tag or digest: {@code docker.io/library/nginx}. */
  public String name() {
    return domain + "/" + path;
  }

  /**
   * The short name Docker shows, as distribution's {@code FamiliarName}: {@code docker.io/} is
   * dropped, and so is {@code library/} when nothing else follows it ({@code nginx}, {@code
   * bitnami/redis}, but {@code library/a/b}). Two exceptions keep the result parseable to the same
   * reference: a Docker Hub path whose first component contains a {@code .} or is {@code localhost}
   * keeps {@code docker.io/}, and an official image named by 64 hex digits keeps {@code library/}.
   */
  public String familiarName() {
    if (!domain.equals(DEFAULT_DOMAIN)) {
      return name();
    }
    int slash = path.indexOf('/');
    int prefix = OFFICIAL_PREFIX.length();
    if (slash == prefix - 1
        && path.startsWith(OFFICIAL_PREFIX)
        && path.indexOf('/', prefix) < 0
        && !(path.length() - prefix == 64 && isLowerHex(path, prefix, path.length()))) {
      return path.substring(prefix);
    }
    if (looksLikeDomain(path, 0, slash)) {
      return name();
    }
    return path;
  }

  /** {@link #familiarName()} with the tag and digest as given: {@code nginx:1.25}. */
  public String familiar() {
    return withSuffix(familiarName(), tag, digest);
  }

  /**
   * Fully qualified with the tag and digest as given: {@code docker.io/library/nginx}, {@code
   * ghcr.io/a/b:1@sha256:...}.
   */
  @Override
  public String toString() {
    return withSuffix(name(), tag, digest);
  }

  /**
   * Fully qualified, with the tag {@code latest} added when the reference has neither tag nor
   * digest: what a runtime pulls.
   */
  public String canonical() {
    return withSuffix(name(), tag == null && digest == null ? DEFAULT_TAG : tag, digest);
  }

  public boolean hasTag() {
    return tag != null;
  }

  public boolean hasDigest() {
    return digest != null;
  }

  /**
   * The tag a runtime resolves: the given tag, {@code latest} when there is neither tag nor digest,
   * null when there is only a digest.
   */
  public String effectiveTag() {
    if (tag != null) {
      return tag;
    }
    return digest == null ? DEFAULT_TAG : null;
  }

  /** The domain without its port; an IPv6 address keeps its brackets ({@code [::1]}). */
  public String host() {
    int c = portColon(domain);
    return c < 0 ? domain : domain.substring(0, c);
  }

  /** The port given in the domain, or -1. */
  public int port() {
    int c = portColon(domain);
    return c < 0 ? -1 : Integer.parseInt(domain, c + 1, domain.length(), 10);
  }

  private static String withSuffix(String name, String tag, String digest) {
    if (tag == null && digest == null) {
      return name;
    }
    StringBuilder sb =
        new StringBuilder(
            name.length()
                + (tag == null ? 0 : tag.length() + 1)
                + (digest == null ? 0 : digest.length() + 1));
    sb.append(name);
    if (tag != null) {
      sb.append(':').append(tag);
    }
    if (digest != null) {
      sb.append('@').append(digest);
    }
    return sb.toString();
  }

  /** Index of the colon before the port in a valid domain, or -1. */
  static int portColon(String domain) {
    if (domain.charAt(0) == '[') {
      int close = domain.indexOf(']');
      return close + 1 < domain.length() ? close + 1 : -1;
    }
    return domain.indexOf(':');
  }

  // ---------------------------------------------------------------------------------------------
  // The grammar. Each check looks at s[from, to) and returns null when it is valid, otherwise the
  // reason. They allocate only when they fail.

  /**
   * Whether the first component of a name is a registry domain rather than a Docker Hub namespace:
   * it is {@code localhost}, contains {@code .} or {@code :}, or has an uppercase letter.
   */
  static boolean looksLikeDomain(String s, int from, int to) {
    if (to - from == 9 && s.startsWith("localhost", from)) {
      return true;
    }
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '.' || c == ':' || (c >= 'A' && c <= 'Z')) {
        return true;
      }
    }
    return false;
  }

  /** Whether a normalized domain can stand as the first component of a name. */
  static boolean isDomainLike(String domain) {
    return domain.equals("localhost") || domain.indexOf('.') >= 0 || domain.indexOf(':') >= 0;
  }

  /**
   * Whether s[from, to) is a spelling of domain {@code docker.io} ({@code docker.io} or {@code
   * index.docker.io}, any case). {@code registry-1.docker.io} is not: containerd keeps it as its
   * own host.
   */
  static boolean isDockerHub(String s, int from, int to) {
    int len = to - from;
    return (len == 9 && s.regionMatches(true, from, "docker.io", 0, 9))
        || (len == 15 && s.regionMatches(true, from, "index.docker.io", 0, 15));
  }

  /**
   * Whether the registry domain of {@code reference}, as written, has an uppercase letter ({@code
   * Registry.Corp/app}, {@code Docker.IO/library/nginx}). {@link #parse} lowercases domains, but
   * containerd looks up {@code certs.d/<domain as written>} case-sensitively, so such an image
   * would skip the configuration the policy writes for the lowercase host; admission refuses it as
   * an invalid reference. False for null and for references without a domain.
   */
  public static boolean hasUppercaseDomain(String reference) {
    if (reference == null) {
      return false;
    }
    int at = reference.indexOf('@');
    int nameEnd = at < 0 ? reference.length() : at;
    int firstSlash = reference.indexOf('/');
    if (firstSlash < 0 || firstSlash >= nameEnd) {
      return false;
    }
    return looksLikeDomain(reference, 0, firstSlash) && hasUpper(reference, 0, firstSlash);
  }

  /** The lowercase form of a valid domain s[from, to), with the Docker Hub aliases merged. */
  static String normalizeDomain(String s, int from, int to) {
    if (isDockerHub(s, from, to)) {
      return DEFAULT_DOMAIN;
    }
    String d = s.substring(from, to);
    return hasUpper(s, from, to) ? d.toLowerCase(Locale.ROOT) : d;
  }

  static String checkDomain(String s, int from, int to) {
    if (from >= to) {
      return "registry host is empty";
    }
    int i = from;
    if (s.charAt(i) == '[') {
      int close = i + 1;
      while (close < to && s.charAt(close) != ']') {
        close++;
      }
      if (close >= to || !isIpv6(s, i + 1, close)) {
        return "invalid registry host " + quote(s, from, to) + ": " + IPV6_RULE;
      }
      i = close + 1;
    } else {
      while (true) {
        if (i >= to || !isAlnum(s.charAt(i))) {
          return invalidHost(s, from, to, i);
        }
        i++;
        while (i < to && (isAlnum(s.charAt(i)) || s.charAt(i) == '-')) {
          i++;
        }
        if (s.charAt(i - 1) == '-') {
          return "invalid registry host "
              + quote(s, from, to)
              + ": a host name component must not end with '-'";
        }
        if (i < to && s.charAt(i) == '.') {
          i++;
          continue;
        }
        break;
      }
    }
    if (i == to) {
      return null;
    }
    if (s.charAt(i) != ':') {
      return invalidHost(s, from, to, i);
    }
    return checkPort(s, i + 1, to);
  }

  private static String invalidHost(String s, int from, int to, int i) {
    String what;
    if (i >= to || s.charAt(i) == '.' || s.charAt(i) == ':') {
      what = "empty host name component";
    } else if (s.charAt(i) == '-') {
      what = "a host name component must not start with '-'";
    } else {
      what = "invalid character " + describe(s, i);
    }
    return "invalid registry host " + quote(s, from, to) + ": " + what;
  }

  private static String checkPort(String s, int from, int to) {
    int len = to - from;
    boolean ok = len >= 1 && len <= 5 && s.charAt(from) != '0';
    int value = 0;
    for (int i = from; ok && i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        ok = false;
      } else {
        value = value * 10 + (c - '0');
      }
    }
    if (ok && value <= 65535) {
      return null;
    }
    return "invalid port "
        + quote(s, from, to)
        + ": a port is a number from 1 to 65535 without leading zeros";
  }

  static String checkPath(String s, int from, int to) {
    if (from >= to) {
      return "repository name must not be empty";
    }
    int i = from;
    while (true) {
      // One component: alphanumerics, then (separator, alphanumerics)*.
      int start = i;
      if (i >= to || s.charAt(i) == '/') {
        return "repository name must not have empty components";
      }
      if (!isLowerAlnum(s.charAt(i))) {
        return pathError(s, from, to, i, start);
      }
      i++;
      while (i < to) {
        char c = s.charAt(i);
        if (isLowerAlnum(c)) {
          i++;
          continue;
        }
        if (c == '/') {
          break;
        }
        if (c == '.') {
          i++;
        } else if (c == '_') {
          i++;
          if (i < to && s.charAt(i) == '_') {
            i++;
          }
        } else if (c == '-') {
          do {
            i++;
          } while (i < to && s.charAt(i) == '-');
        } else {
          return pathError(s, from, to, i, start);
        }
        if (i >= to || !isLowerAlnum(s.charAt(i))) {
          return pathError(s, from, to, i, start);
        }
        i++;
      }
      if (i >= to) {
        return null;
      }
      i++; // the '/'
    }
  }

  private static String pathError(String s, int from, int to, int i, int componentStart) {
    if (hasUpper(s, from, to)) {
      return LOWERCASE;
    }
    if (i < to && !isPathChar(s.charAt(i))) {
      return "invalid character " + describe(s, i) + " in repository name";
    }
    if (i >= to || s.charAt(i) == '/') {
      if (i > componentStart && isSeparator(s.charAt(i - 1))) {
        return "repository name component must not end with a separator";
      }
      return "repository name must not have empty components";
    }
    int end = s.indexOf('/', componentStart);
    if (end < 0 || end > to) {
      end = to;
    }
    if (i == componentStart) {
      return "repository name component "
          + quote(s, componentStart, end)
          + " must start with a lowercase letter or digit";
    }
    return "invalid repository name component "
        + quote(s, componentStart, end)
        + " (separators are '.', '_', '__' or dashes, between letters or digits)";
  }

  static String checkTag(String s, int from, int to) {
    if (from >= to) {
      return "tag must not be empty";
    }
    if (to - from > TAG_LENGTH_MAX) {
      return "tag must not be more than " + TAG_LENGTH_MAX + " characters";
    }
    char c0 = s.charAt(from);
    if (!isWord(c0)) {
      if (c0 == '.' || c0 == '-') {
        return "tag must start with a letter, digit or '_'";
      }
      return "invalid character " + describe(s, from) + " in tag";
    }
    for (int i = from + 1; i < to; i++) {
      char c = s.charAt(i);
      if (!isWord(c) && c != '.' && c != '-') {
        return "invalid character " + describe(s, i) + " in tag";
      }
    }
    return null;
  }

  static String checkDigest(String s, int from, int to) {
    if (from >= to) {
      return "digest must not be empty";
    }
    int colon = s.indexOf(':', from);
    if (colon < 0 || colon >= to) {
      return "digest must have the form algorithm:hex";
    }
    // algorithm := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )*
    boolean needLetter = true;
    for (int i = from; i < colon; i++) {
      char c = s.charAt(i);
      if (needLetter) {
        if (!isLetter(c)) {
          return "invalid digest algorithm " + quote(s, from, colon);
        }
        needLetter = false;
      } else if (c == '-' || c == '_' || c == '+' || c == '.') {
        needLetter = true;
      } else if (!isAlnum(c)) {
        return "invalid digest algorithm " + quote(s, from, colon);
      }
    }
    if (needLetter) {
      return "invalid digest algorithm " + quote(s, from, colon);
    }
    int algLen = colon - from;
    int expected = 0;
    if (algLen == 6) {
      if (s.startsWith("sha256", from)) {
        expected = 64;
      } else if (s.startsWith("sha384", from)) {
        expected = 96;
      } else if (s.startsWith("sha512", from)) {
        expected = 128;
      } else if (s.regionMatches(true, from, "sha256", 0, 6)
          || s.regionMatches(true, from, "sha384", 0, 6)
          || s.regionMatches(true, from, "sha512", 0, 6)) {
        return "digest algorithm must be lowercase";
      }
    }
    int hexFrom = colon + 1;
    int hexLen = to - hexFrom;
    for (int i = hexFrom; i < to; i++) {
      char c = s.charAt(i);
      if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
        continue;
      }
      if (c >= 'A' && c <= 'F') {
        if (expected != 0) {
          return s.substring(from, colon) + " digest must be lowercase hex";
        }
        continue;
      }
      return "invalid character " + describe(s, i) + " in digest";
    }
    if (expected != 0 && hexLen != expected) {
      return s.substring(from, colon)
          + " digest must have "
          + expected
          + " hex characters, not "
          + hexLen;
    }
    if (hexLen < 32) {
      return "digest must have at least 32 hex characters, not " + hexLen;
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Characters.

  static boolean hasUpper(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        return true;
      }
    }
    return false;
  }

  static boolean isLowerHex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  private static boolean isLowerAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  private static boolean isAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
  }

  private static boolean isLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  private static boolean isWord(char c) {
    return isAlnum(c) || c == '_';
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  /**
   * Whether s[from, to) is an IPv6 address in the hex-and-colon form the reference grammar allows
   * inside brackets: eight groups of one to four hex digits, or fewer around a single {@code ::}
   * (RFC 4291 section 2.2, without an embedded IPv4 address or a zone). {@link RegistryHosts} holds
   * policy hosts to the same rule.
   */
  static boolean isIpv6(String s, int from, int to) {
    int i = from;
    int groups = 0;
    boolean compressed = false;
    if (to - from >= 2 && s.charAt(i) == ':' && s.charAt(i + 1) == ':') {
      compressed = true;
      i += 2;
      if (i == to) {
        return true;
      }
    }
    while (true) {
      int start = i;
      while (i < to && i - start < 5 && isHex(s.charAt(i))) {
        i++;
      }
      if (i == start || i - start > 4) {
        return false;
      }
      groups++;
      if (i == to) {
        break;
      }
      if (s.charAt(i) != ':') {
        return false;
      }
      i++;
      if (i < to && s.charAt(i) == ':') {
        if (compressed) {
          return false;
        }
        compressed = true;
        i++;
        if (i == to) {
          break;
        }
      } else if (i == to) {
        return false;
      }
    }
    return compressed ? groups <= 7 : groups == 8;
  }

  private static boolean isSeparator(char c) {
    return c == '.' || c == '_' || c == '-';
  }

  private static boolean isPathChar(char c) {
    return isLowerAlnum(c) || isSeparator(c) || c == '/';
  }

  /** s[from, to) quoted and escaped for a message. */
  static String quote(String s, int from, int to) {
    return InvalidImageRefException.echo(
        dev.registrypolicy.common.Redact.hide(s.substring(from, to)));
  }

  /** A character for a message: {@code 'x'}, {@code 'é' (U+00E9)}, or {@code U+000A}. */
  static String describe(String s, int i) {
    int cp = s.codePointAt(i);
    if (cp > ' ' && cp < 0x7f) {
      return "'" + (char) cp + "'";
    }
    String code = String.format("U+%04X", cp);
    if (cp == ' ') {
      return "space (" + code + ")";
    }
    boolean visible =
        cp > 0x9f
            && Character.isDefined(cp)
            && Character.getType(cp) != Character.FORMAT
            && Character.getType(cp) != Character.PRIVATE_USE
            && !Character.isWhitespace(cp)
            && !Character.isSpaceChar(cp)
            && (cp > 0xffff || !Redact.isInvisible((char) cp));
    return visible ? "'" + new String(Character.toChars(cp)) + "' (" + code + ")" : code;
  }
}
