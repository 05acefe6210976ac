package dev.registrypolicy.controller.imagemeta;

import java.util.List;
import java.util.Locale;

/**
 * The media types of what this client reads (OCI image spec {@code media-types.md}; Docker's image
 * manifest v2 schema 2): image manifests, indexes / manifest lists, image configs.
 */
final class MediaTypes {
  private MediaTypes() {}

  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";

  /** Docker's schema 1 (signed) manifests, which carry no config blob: refused with a reason. */
  static final String DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1";

  /** What a manifest GET accepts, in the order a registry should prefer. */
  static final List<String> MANIFEST_ACCEPT =
      List.of(OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST);

  static boolean isIndex(String mt) {
    return OCI_INDEX.equals(mt) || DOCKER_LIST.equals(mt);
  }

  static boolean isManifest(String mt) {
    return OCI_MANIFEST.equals(mt) || DOCKER_MANIFEST.equals(mt);
  }

  static boolean isConfig(String mt) {
    return OCI_CONFIG.equals(mt) || DOCKER_CONFIG.equals(mt);
  }

  /** A Content-Type value without parameters, lowercase; "" for none. */
  static String base(String contentType) {
    if (contentType == null) {
      return "";
    }
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi))
        .strip()
        .toLowerCase(Locale.ROOT);
  }
}
