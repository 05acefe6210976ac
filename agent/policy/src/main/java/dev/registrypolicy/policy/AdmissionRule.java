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
 * @param imageMetadata checks on the image itself (config, size, platform, labels), fetched from
 *     the registry by the webhook, or null
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

  /** Whether the rule has checks that need the image's metadata ({@link #imageMetadata}). */
  public boolean checksImageContent() {
    return imageMetadata != null && imageMetadata.checksSomething();
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
      return matches(ref.name(), ref.effectiveTag());
    }

    /**
     * {@link #matches(ImageRef)} for a reference's {@link ImageRef#name()} and {@link
     * ImageRef#effectiveTag()}, computed once by a caller that tries many patterns.
     */
    public boolean matches(String refName, String effectiveTag) {
      if (!name.matches(refName)) {
        return false;
      }
      if (tag == null) {
        return true;
      }
      return effectiveTag != null && tag.matches(effectiveTag);
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
      return matches(ref.domain(), ref.host(), ref.port(), ref.path(), ref.effectiveTag());
    }

    /**
     * {@link #matches(ImageRef)} for a reference's {@link ImageRef#domain()}, {@link
     * ImageRef#host()}, {@link ImageRef#port()}, {@link ImageRef#path()} and {@link
     * ImageRef#effectiveTag()}, computed once by a caller that tries many patterns.
     */
    public boolean matches(
        String refDomain, String refHost, int refPort, String refPath, String effectiveTag) {
      if (host != null && !matchesHost(refHost)) {
        return false;
      }
      if (port != null && refPort != port) {
        return false;
      }
      if (path != null && !path.matches(refPath) && !matchesOfficial(refDomain, refPath)) {
        return false;
      }
      if (tag != null) {
        return effectiveTag != null && tag.matches(effectiveTag);
      }
      return true;
    }

    /**
     * The host this pattern is limited to when its host glob has no wildcard (Docker Hub's two
     * names as {@code docker.io}, see {@link #hostKey}), else null: a caller may try the pattern
     * only on images whose {@link #hostKey} equals it.
     */
    public String literalHostKey() {
      if (host == null) {
        return null;
      }
      String h = host.pattern();
      if (h.indexOf('*') >= 0 || h.indexOf('?') >= 0) {
        return null;
      }
      return hostKey(h);
    }

    /** The key of {@link #literalHostKey()} for an image's {@link ImageRef#host()}. */
    public static String hostKey(String refHost) {
      return RegistryHosts.isDockerHubSpelling(refHost) ? RegistryHosts.DOCKER_HUB : refHost;
    }

    private boolean matchesHost(String h) {
      if (RegistryHosts.isDockerHubSpelling(h)) {
        return host.matches(RegistryHosts.DOCKER_HUB)
            || host.matches(RegistryHosts.DOCKER_HUB_API_HOST);
      }
      return host.matches(h);
    }

    private boolean matchesOfficial(String refDomain, String p) {
      return path.pattern().indexOf('/') < 0
          && RegistryHosts.isDockerHubSpelling(refDomain)
          && p.startsWith(ImageRef.OFFICIAL_PREFIX)
          && path.matches(p.substring(ImageRef.OFFICIAL_PREFIX.length()));
    }
  }

  /**
   * Checks that need the image itself, as its registry serves it for the nodes' platform (config
   * user, labels and platform, layer sizes, whether the reference resolves); the admission webhook
   * evaluates them (CEL cannot), and so does {@code check} when given registry access. Every check
   * that is set applies.
   *
   * @param denyRunAsRoot refuse images whose config runs as root (user empty, {@code 0}, {@code
   *     root}, {@code 0:…}, {@code root:…}) unless the Pod's or container's securityContext forces
   *     a non-root user
   * @param maxSizeBytes refuse images larger than this (sum of the platform manifest's layer
   *     sizes), or null
   * @param requiredLabels config labels the image must carry, each with an optional value glob
   * @param allowedPlatforms when not empty, the config's os/architecture[/variant] must be one of
   *     these
   * @param requireKnownDigest the reference must resolve in its registry: a tag to a digest the
   *     registry knows, a digest to a manifest it has; "not found" is then this rule's finding
   *     rather than an error
   * @param onError what a container gets when its metadata cannot be had (timeout, refused
   *     credentials, registry errors): {@link OnError#DENY} breaks the rule (the rule's mode then
   *     decides: deny, warn or audit), {@link OnError#ALLOW} passes it
   */
  public record ImageMetadataRule(
      boolean denyRunAsRoot,
      Long maxSizeBytes,
      List<RequiredLabel> requiredLabels,
      List<Platform> allowedPlatforms,
      boolean requireKnownDigest,
      OnError onError) {
    public ImageMetadataRule {
      requiredLabels = List.copyOf(requiredLabels);
      allowedPlatforms = List.copyOf(allowedPlatforms);
      Objects.requireNonNull(onError, "onError");
    }

    /** Only the two original checks, {@code onError} at its default. */
    public ImageMetadataRule(boolean denyRunAsRoot, Long maxSizeBytes) {
      this(denyRunAsRoot, maxSizeBytes, List.of(), List.of(), false, OnError.DEFAULT);
    }

    /** Whether any check is set. */
    public boolean checksSomething() {
      return denyRunAsRoot
          || maxSizeBytes != null
          || !requiredLabels.isEmpty()
          || !allowedPlatforms.isEmpty()
          || requireKnownDigest;
    }
  }

  /**
   * What an image-content rule does when the image's metadata cannot be had. The default is {@link
   * #DENY} (fail closed, like the webhook's default failurePolicy Fail): a content rule that lets
   * every image through while its registry is slow or down checks nothing when it matters most. The
   * price is that a registry outage then blocks deploys of the images the rule selects; {@code
   * onError: Allow} chooses availability instead (the failure is still counted in the metrics).
   */
  public enum OnError {
    ALLOW("Allow"),
    DENY("Deny");

    public static final OnError DEFAULT = DENY;

    private final String wireName;

    OnError(String wireName) {
      this.wireName = wireName;
    }

    /** {@code Allow} or {@code Deny}, as written in the policy. */
    public String wireName() {
      return wireName;
    }

    /** The value for a policy's text, or null when it is neither. */
    public static OnError fromWire(String s) {
      for (OnError e : values()) {
        if (e.wireName.equals(s)) {
          return e;
        }
      }
      return null;
    }
  }

  /**
   * A config label an image must carry.
   *
   * @param key the label's key, compared exactly
   * @param value a glob its value must match ({@code *} any run, {@code ?} one character), or null
   *     for any value (the empty one included)
   */
  public record RequiredLabel(String key, Glob value) {
    public RequiredLabel {
      Objects.requireNonNull(key, "key");
    }
  }

  /**
   * An allowed platform. An entry without a variant allows every variant of its os/architecture;
   * one with a variant allows only that variant (an image whose config states none does not match
   * it).
   *
   * @param os e.g. {@code linux}
   * @param architecture e.g. {@code amd64}
   * @param variant e.g. {@code v8}, or "" for any
   */
  public record Platform(String os, String architecture, String variant) {
    public Platform {
      Objects.requireNonNull(os, "os");
      Objects.requireNonNull(architecture, "architecture");
      variant = variant == null ? "" : variant;
    }

    /** Whether an image's config platform is this one. */
    public boolean matches(String imageOs, String imageArchitecture, String imageVariant) {
      return os.equals(imageOs)
          && architecture.equals(imageArchitecture)
          && (variant.isEmpty() || variant.equals(imageVariant));
    }

    /** {@code os/architecture[/variant]}. */
    @Override
    public String toString() {
      return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }
  }
}
