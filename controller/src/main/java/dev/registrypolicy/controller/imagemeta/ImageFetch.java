package dev.registrypolicy.controller.imagemeta;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import dev.registrypolicy.policy.ImageRef;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One image's metadata from its registry: the manifest by tag or digest (an index or manifest list
 * resolved to the configured platform, then that platform's manifest by digest), then the config
 * blob. Every body is checked against the digest it was asked by (or, for a tag, against the {@code
 * Docker-Content-Digest} the registry sent) and against the size its descriptor states. Each step
 * tries the endpoints in order, as containerd tries the hosts of hosts.toml, and fails with every
 * endpoint's cause.
 */
final class ImageFetch {
  /** What a fetch found, and the digest the tag (or digest) named. */
  record Fetched(ImageMetadata metadata, String topDigest) {}

  private final RegistryHttp http;
  private final MetadataSettings settings;

  ImageFetch(RegistryHttp http, MetadataSettings settings) {
    this.http = http;
    this.settings = settings;
  }

  /**
   * Fetches {@code image}; {@code knownDigest}, when not null, is what its tag resolved to lately
   * (the manifest is then fetched by that digest).
   */
  Fetched fetch(
      ImageRef image,
      String knownDigest,
      List<Route> routes,
      Function<Route, Access> access,
      Instant deadline)
      throws ImageMetadataException {
    String repo = image.path();
    String ref =
        image.digest() != null
            ? image.digest()
            : knownDigest != null
                ? knownDigest
                : image.tag() != null ? image.tag() : ImageRef.DEFAULT_TAG;
    boolean byDigest = image.digest() != null || knownDigest != null;
    Step<Manifest> top =
        step(
            image,
            Routes.usable(routes, byDigest),
            access,
            deadline,
            (route, a) -> manifest(route, a, repo, ref, byDigest ? ref : null, -1, deadline));
    String topDigest = top.value.digest;
    String indexDigest = null;
    Manifest platformManifest = top.value;
    if (top.value.parsed instanceof ManifestJson.Index index) {
      indexDigest = topDigest;
      ManifestJson.Entry entry = select(image, index);
      ManifestJson.Descriptor d = entry.descriptor();
      if (!MediaTypes.isManifest(d.mediaType())) {
        throw new ImageMetadataException(
            Kind.ERROR,
            "image "
                + quote(image)
                + ": the index entry for "
                + settings.platform()
                + " has media type "
                + dev.registrypolicy.common.Redact.quote(d.mediaType())
                + ", not an image manifest");
      }
      platformManifest =
          step(
                  image,
                  Routes.usable(routes, true),
                  access,
                  deadline,
                  (route, a) ->
                      manifest(route, a, repo, d.digest(), d.digest(), d.size(), deadline))
              .value;
      if (!(platformManifest.parsed instanceof ManifestJson.Image)) {
        throw new ImageMetadataException(
            Kind.ERROR,
            "image "
                + quote(image)
                + ": the index entry for "
                + settings.platform()
                + " is an index itself");
      }
    }
    ManifestJson.Image img = (ManifestJson.Image) platformManifest.parsed;
    ManifestJson.Descriptor cd = img.config();
    if (!MediaTypes.isConfig(cd.mediaType())) {
      throw new ImageMetadataException(
          Kind.ERROR,
          "image "
              + quote(image)
              + " is not a container image: its config has media type "
              + dev.registrypolicy.common.Redact.quote(cd.mediaType()));
    }
    ManifestJson.Config config =
        step(
                image,
                Routes.usable(routes, true),
                access,
                deadline,
                (route, a) -> config(route, a, repo, cd, deadline))
            .value;
    ImageMetadata md =
        new ImageMetadata(
            platformManifest.digest,
            indexDigest,
            config.user(),
            config.labels(),
            config.os(),
            config.architecture(),
            config.variant(),
            img.layerBytes());
    return new Fetched(md, topDigest);
  }

  /** The best entry of {@code index} for the configured platform (containerd's order). */
  private ManifestJson.Entry select(ImageRef image, ManifestJson.Index index)
      throws ImageMetadataException {
    ManifestJson.Entry best = null;
    int bestRank = Integer.MAX_VALUE;
    List<String> offered = new ArrayList<>();
    for (ManifestJson.Entry e : index.manifests()) {
      if (e.platform() == null) {
        continue; // attestations and other entries without a platform never match
      }
      if (offered.size() < 10) {
        offered.add(e.platform().toString());
      }
      int r = settings.platform().rank(e.platform());
      if (r >= 0 && r < bestRank) {
        best = e;
        bestRank = r;
      }
    }
    if (best == null) {
      throw new ImageMetadataException(
          Kind.NO_MATCHING_PLATFORM,
          "image "
              + quote(image)
              + ": no manifest of its index runs on "
              + settings.platform()
              + " (it has "
              + (offered.isEmpty() ? "no platforms" : String.join(", ", offered))
              + ")");
    }
    return best;
  }

  private record Manifest(String digest, ManifestJson.Parsed parsed) {}

  private Manifest manifest(
      Route route,
      Access a,
      String repo,
      String ref,
      String wantDigest,
      long wantSize,
      Instant deadline)
      throws FetchFailure, BadContentException {
    URI uri = route.uri(repo, "manifests", ref);
    RegistryHttp.Response r =
        http.get(
            route,
            a,
            uri,
            String.join(", ", MediaTypes.MANIFEST_ACCEPT),
            settings.maxManifestBytes(),
            repo,
            RegistryHttp.What.MANIFEST,
            deadline);
    ok(r, "manifest " + ref);
    byte[] body = r.body();
    String digest;
    if (wantDigest != null) {
      digest = Digests.of(body, wantDigest);
      if (!digest.equals(wantDigest)) {
        throw new BadContentException(
            "the manifest served for " + wantDigest + " has digest " + digest);
      }
    } else {
      String header = r.headers().firstValue("Docker-Content-Digest").orElse(null);
      if (header != null && Digests.isVerifiable(header.strip())) {
        digest = Digests.of(body, header.strip());
        if (!digest.equals(header.strip())) {
          throw new BadContentException(
              "the manifest's Docker-Content-Digest "
                  + header.strip()
                  + " is not its digest "
                  + digest);
        }
      } else if (header != null) {
        throw new BadContentException(
            "the Docker-Content-Digest header is not a sha256/sha384/sha512 digest");
      } else {
        digest = Digests.sha256(body);
      }
    }
    if (wantSize >= 0 && body.length != wantSize) {
      throw new BadContentException(
          "the manifest is " + body.length + " bytes, its descriptor says " + wantSize);
    }
    String contentType = MediaTypes.base(r.headers().firstValue("Content-Type").orElse(""));
    ManifestJson.Parsed parsed = ManifestJson.manifest(utf8(body, "manifest"), contentType);
    return new Manifest(digest, parsed);
  }

  private ManifestJson.Config config(
      Route route, Access a, String repo, ManifestJson.Descriptor d, Instant deadline)
      throws FetchFailure, BadContentException {
    if (d.size() > settings.maxConfigBytes()) {
      throw new BadContentException(
          "the image config is "
              + d.size()
              + " bytes by its descriptor, over the limit of "
              + settings.maxConfigBytes());
    }
    URI uri = route.uri(repo, "blobs", d.digest());
    RegistryHttp.Response r =
        http.get(
            route,
            a,
            uri,
            d.mediaType() + ", */*",
            settings.maxConfigBytes(),
            repo,
            RegistryHttp.What.BLOB,
            deadline);
    ok(r, "config blob " + d.digest());
    String digest = Digests.of(r.body(), d.digest());
    if (!digest.equals(d.digest())) {
      throw new BadContentException(
          "the config blob served for " + d.digest() + " has digest " + digest);
    }
    if (r.body().length != d.size()) {
      throw new BadContentException(
          "the config blob is " + r.body().length + " bytes, its descriptor says " + d.size());
    }
    return ManifestJson.config(utf8(r.body(), "image config"));
  }

  private static String utf8(byte[] body, String what) throws BadContentException {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(body)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new BadContentException("the " + what + " is not UTF-8");
    }
  }

  private static void ok(RegistryHttp.Response r, String what) throws FetchFailure {
    int s = r.status();
    if (s == 200) {
      return;
    }
    String code = errorCode(r.body());
    String detail = "HTTP " + s + (code == null ? "" : " " + code);
    if (s == 404) {
      throw new FetchFailure(Kind.NOT_FOUND, what + " not found (" + detail + ")");
    }
    if (s == 403) {
      throw new FetchFailure(Kind.UNAUTHORIZED, what + ": access denied (" + detail + ")");
    }
    if (s == 429) {
      throw new FetchFailure(Kind.ERROR, what + ": rate limited (" + detail + ")");
    }
    throw new FetchFailure(Kind.ERROR, what + ": unexpected answer (" + detail + ")");
  }

  /** The first error code of a registry error body ({@code {"errors":[{"code":"…"}]}}), if sane. */
  static String errorCode(byte[] body) {
    try {
      JsonElement root = JsonParser.parseString(new String(body, StandardCharsets.UTF_8));
      String code =
          root.getAsJsonObject()
              .getAsJsonArray("errors")
              .get(0)
              .getAsJsonObject()
              .get("code")
              .getAsString();
      return code.matches("[A-Z_]{1,40}") ? code : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  @FunctionalInterface
  private interface Attempt<T> {
    T run(Route route, Access access) throws FetchFailure, BadContentException;
  }

  private record Step<T>(T value, Route route) {}

  /** Runs {@code attempt} on each route in order until one succeeds. */
  private <T> Step<T> step(
      ImageRef image,
      List<Route> routes,
      Function<Route, Access> accessOf,
      Instant deadline,
      Attempt<T> attempt)
      throws ImageMetadataException {
    if (routes.isEmpty()) {
      throw new ImageMetadataException(
          Kind.ERROR,
          "image "
              + quote(image)
              + ": the policy gives its registry no endpoint that may "
              + (image.digest() == null ? "resolve tags (capabilities pull and resolve)" : "pull"));
    }
    List<String> causes = new ArrayList<>();
    Kind kind = null;
    boolean allNotFound = true;
    for (Route route : routes) {
      try {
        Access a = accessOf.apply(route);
        return new Step<>(attempt.run(route, a), route);
      } catch (UnusableEndpointException e) {
        causes.add(route.describe() + ": " + e.getMessage());
        kind = kind == null ? Kind.ERROR : kind;
        allNotFound = false;
      } catch (FetchFailure e) {
        causes.add(route.describe() + ": " + e.getMessage());
        if (e.kind() != Kind.NOT_FOUND) {
          allNotFound = false;
          kind = kind == null ? e.kind() : kind;
        }
        if (e.kind() == Kind.TIMEOUT && !Instant.now().isBefore(deadline)) {
          break;
        }
      } catch (BadContentException e) {
        causes.add(route.describe() + ": " + e.getMessage());
        allNotFound = false;
        kind = kind == null ? Kind.ERROR : kind;
      }
    }
    throw new ImageMetadataException(
        allNotFound ? Kind.NOT_FOUND : kind,
        "image " + quote(image) + ": " + String.join("; ", causes));
  }

  /** An endpoint's TLS or credential settings cannot be used (bad PEM, missing Secret, …). */
  static final class UnusableEndpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UnusableEndpointException(String message) {
      super(message, null, false, false);
    }
  }

  static String quote(ImageRef image) {
    return "\"" + image + "\"";
  }
}
