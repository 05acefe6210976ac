package dev.registrypolicy.policy;

import java.util.List;
import java.util.Objects;

/**
 * A named admission rule (Tanzu-style recipes) for the selected namespaces. Every check that is
 * set applies; an image breaks the rule if it fails any of them.
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

  /** An image name glob and an optional tag glob ({@code *} any run of characters, {@code ?} one). */
  public record NameTagPattern(Glob name, Glob tag) {
    public NameTagPattern {
      Objects.requireNonNull(name, "name");
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
   * (Tanzu's custom rule). Unset parts match anything.
   */
  public record BlockedImage(Glob host, Integer port, Glob path, Glob tag) {
    public boolean matches(ImageRef ref) {
      if (host != null && !host.matches(ref.host())) {
        return false;
      }
      if (port != null && ref.port() != port) {
        return false;
      }
      if (path != null && !path.matches(ref.path())) {
        return false;
      }
      if (tag != null) {
        String t = ref.effectiveTag();
        return t != null && tag.matches(t);
      }
      return true;
    }
  }

  /**
   * Checks that need the image's configuration from its registry; the admission webhook
   * evaluates them (CEL cannot).
   *
   * @param denyRunAsRoot refuse images whose configured user is empty, {@code root} or {@code 0}
   * @param maxSizeBytes refuse images larger than this (sum of layer sizes), or null
   */
  public record ImageMetadataRule(boolean denyRunAsRoot, Long maxSizeBytes) {}
}
