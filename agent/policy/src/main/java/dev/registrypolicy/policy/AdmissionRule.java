package dev.registrypolicy.policy;

import java.util.List;
import java.util.Objects;

/**
 * A named admission rule (Tanzu-style recipes) for the selected namespaces. Every check that is set
 * applies; an image breaks the rule if it fails any of them.
 *
 * @param name rule name, shown in denial messages
 * @param mode the rule's own mode, or null for the admission default
 * @param namespaces namespaces the rule applies to
 * @param requireDigest images must be pinned by digest
 * @param blockLatestTag images tagged {@code latest} are refused
 * @param blockUntagged images with neither tag nor digest (implicitly {@code latest}) are refused
 * @param allowedNameTags when not empty, images must match one of these name/tag patterns
 * @param blockedImages images matching any of these are refused
 * @param imageMetadata checks on the image's configuration and size, or null
 */
public record AdmissionRule(
    String name,
    AdmissionMode mode,
    NamespaceSelector namespaces,
    boolean requireDigest,
    boolean blockLatestTag,
    boolean blockUntagged,
    List<NameTagPattern> allowedNameTags,
    List<BlockedImage> blockedImages,
    ImageMetadataRule imageMetadata) {
  public AdmissionRule {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(namespaces, "namespaces");
    allowedNameTags = List.copyOf(allowedNameTags);
    blockedImages = List.copyOf(blockedImages);
  }

  /**
   * Whether the rule has a check the verdict function evaluates from the reference alone (digest,
   * tag, name/tag patterns, blocked images); {@link #imageMetadata} needs the image itself and is
   * left to the webhook.
   */
  public boolean checksAtAdmission() {
    return requireDigest
        || blockLatestTag
        || blockUntagged
        || !allowedNameTags.isEmpty()
        || !blockedImages.isEmpty();
  }

  /**
   * An image name glob and an optional tag glob ({@code *} any run of characters, {@code ?} one).
   * The name glob is matched against {@link ImageRef#name()}, the normalized name; write it with
   * {@link #normalizeName} first, as the parser does.
   */
  public record NameTagPattern(Glob name, Glob tag) {
    public NameTagPattern {
      Objects.requireNonNull(name, "name");
    }

    /**
     * A name pattern as written in a policy, normalized the way image references are, so that it
     * can match {@link ImageRef#name()}:
     *
     * <ul>
     *   <li>A first {@code /}-separated component that is a registry domain by ImageRef's rule
     *       (contains {@code .} or {@code :}, is {@code localhost}) is lowercased, with {@code
     *       index.docker.io} read as {@code docker.io} ({@code registry-1.docker.io} is a host of
     *       its own, as for containerd); a single component after {@code docker.io} gets {@code
     *       library/}: {@code docker.io/nginx} is {@code docker.io/library/nginx}.
     *   <li>Otherwise the pattern is a Docker Hub name: {@code bitnami/*} is {@code
     *       docker.io/bitnami/*}, and a pattern without {@code /} is an official image: {@code
     *       nginx} is {@code docker.io/library/nginx}, {@code nginx*} is {@code
     *       docker.io/library/nginx*}.
     *   <li>A part that starts with a wildcard can stand for what normalization would add, so it is
     *       kept as written: {@code *} still matches every image, {@code *}{@code /nginx} every
     *       repository ending in {@code /nginx} on any registry, {@code docker.io/*} all of Docker
     *       Hub.
     * </ul>
     */
    public static String normalizeName(String pattern) {
      int slash = pattern.indexOf('/');
      if (slash < 0) {
        return startsWithWildcard(pattern)
            ? pattern
            : ImageRef.DEFAULT_DOMAIN + "/" + ImageRef.OFFICIAL_PREFIX + pattern;
      }
      String first = pattern.substring(0, slash);
      String rest = pattern.substring(slash + 1);
      if (!startsWithWildcard(first) && !ImageRef.looksLikeDomain(first, 0, first.length())) {
        return ImageRef.DEFAULT_DOMAIN + "/" + pattern;
      }
      String domain = RegistryHosts.canonicalName(first);
      if (domain.equals(ImageRef.DEFAULT_DOMAIN)
          && rest.indexOf('/') < 0
          && !startsWithWildcard(rest)) {
        rest = ImageRef.OFFICIAL_PREFIX + rest;
      }
      return domain + "/" + rest;
    }

    private static boolean startsWithWildcard(String s) {
      return !s.isEmpty() && (s.charAt(0) == '*' || s.charAt(0) == '?');
    }

    public boolean matches(ImageRef ref) {
      if (!name.matches(ref.name())) {
        return false;
      }
      if (tag == null) {
        return true;
      }
      String t = ref.effectiveTag();
      return t != null && tag.matches(t);
    }
  }

  /**
   * An image to refuse, by any combination of host glob, port, repository path glob and tag glob
   * (Tanzu's custom rule). Unset parts match anything. The host glob is compared with {@link
   * ImageRef#host()}, so write it lowercase with Docker Hub as {@code docker.io} ({@link
   * RegistryHosts#canonicalName}, as the parser does). Docker Hub's two names an image can be
   * pulled through, {@code docker.io} and {@code registry-1.docker.io}, are one host here (unlike
   * everywhere else in the policy): a host glob that matches either name blocks an image written
   * with either, so a blocklist catches every spelling of the same image. A path glob without
   * {@code /} also matches a Docker Hub official image without its implicit {@code library/}:
   * {@code busybox} blocks {@code busybox}, {@code docker.io/library/busybox:1.36}, {@code
   * registry-1.docker.io/library/busybox} and, with no host set, {@code registry.corp/busybox}.
   */
  public record BlockedImage(Glob host, Integer port, Glob path, Glob tag) {
    public boolean matches(ImageRef ref) {
      if (host != null && !matchesHost(ref.host())) {
        return false;
      }
      if (port != null && ref.port() != port) {
        return false;
      }
      if (path != null && !path.matches(ref.path()) && !matchesOfficial(ref)) {
        return false;
      }
      if (tag != null) {
        String t = ref.effectiveTag();
        return t != null && tag.matches(t);
      }
      return true;
    }

    private boolean matchesHost(String h) {
      if (RegistryHosts.isDockerHubSpelling(h)) {
        return host.matches(RegistryHosts.DOCKER_HUB)
            || host.matches(RegistryHosts.DOCKER_HUB_API_HOST);
      }
      return host.matches(h);
    }

    private boolean matchesOfficial(ImageRef ref) {
      String p = ref.path();
      return path.pattern().indexOf('/') < 0
          && RegistryHosts.isDockerHubSpelling(ref.domain())
          && p.startsWith(ImageRef.OFFICIAL_PREFIX)
          && path.matches(p.substring(ImageRef.OFFICIAL_PREFIX.length()));
    }
  }

  /**
   * Checks that need the image's configuration from its registry; the admission webhook evaluates
   * them (CEL cannot).
   *
   * @param denyRunAsRoot refuse images whose configured user is empty, {@code root} or {@code 0}
   * @param maxSizeBytes refuse images larger than this (sum of layer sizes), or null
   */
  public record ImageMetadataRule(boolean denyRunAsRoot, Long maxSizeBytes) {}
}
