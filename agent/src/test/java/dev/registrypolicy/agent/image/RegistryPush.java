package dev.registrypolicy.agent.image;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * Pushes an {@link OciArchive} to a registry over the distribution HTTP API v2, byte for byte: each
 * blob (HEAD, then a monolithic {@code POST uploads/} + {@code PUT ?digest=}), then the manifest
 * with its own media type, so the registry stores the image under the archive's digest.
 *
 * <p>Why not a library: jib-core, the Java image library, takes only Docker-format tars as a local
 * image (GoogleContainerTools/jib#2173, "Support local OCI base images", open) and would write its
 * own manifest, so the digest under test would change; nothing else in the build's dependencies
 * pushes an OCI layout. The API calls are four, with {@link HttpClient}.
 */
public final class RegistryPush {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  /** What was pushed: the repository, tag and the manifest digest the registry answered. */
  public record Pushed(String repository, String tag, String digest, long bytes) {
    /** {@code host:port/repository:tag}. */
    public String reference(String hostPort) {
      return hostPort + "/" + repository + ":" + tag;
    }
  }

  private final HttpClient http;
  private final URI base;
  private final String authorization;

  /**
   * @param base {@code https://host:port}
   * @param authorization the Authorization header value (e.g. {@code Basic …}); never logged
   */
  public RegistryPush(URI base, SSLContext tls, String authorization) {
    this.base = base;
    this.authorization = authorization;
    this.http =
        HttpClient.newBuilder()
            .sslContext(tls)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
  }

  public Pushed push(OciArchive image, String repository, String tag) throws IOException {
    if (!image.problems().isEmpty()) {
      throw new IOException(image.source() + " is not a valid OCI archive: " + image.problems());
    }
    List<OciArchive.Descriptor> blobs = new ArrayList<>(image.layers());
    blobs.add(image.configDescriptor());
    long bytes = 0;
    for (OciArchive.Descriptor d : blobs) {
      bytes += pushBlob(repository, d.digest(), image.blob(d));
    }
    byte[] manifest = image.blob(image.manifestDescriptor());
    URI uri = base.resolve("/v2/" + repository + "/manifests/" + tag);
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(uri)
                .header("Content-Type", image.manifestDescriptor().mediaType())
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)),
            "PUT manifest " + uri);
    if (r.statusCode() != 201) {
      throw new IOException(
          "PUT "
              + uri
              + " answered "
              + r.statusCode()
              + ": "
              + abbreviate(r.body())
              + "; the image was not pushed");
    }
    String digest = r.headers().firstValue("Docker-Content-Digest").orElse("");
    if (!digest.equals(image.digest())) {
      throw new IOException(
          "registry stored the manifest as '"
              + digest
              + "', not as the archive's "
              + image.digest());
    }
    return new Pushed(repository, tag, digest, bytes + manifest.length);
  }

  private long pushBlob(String repository, String digest, byte[] blob) throws IOException {
    URI blobUri = base.resolve("/v2/" + repository + "/blobs/" + digest);
    HttpResponse<String> head =
        send(
            HttpRequest.newBuilder(blobUri).method("HEAD", HttpRequest.BodyPublishers.noBody()),
            "HEAD " + blobUri);
    if (head.statusCode() == 200) {
      return 0;
    }
    URI start = base.resolve("/v2/" + repository + "/blobs/uploads/");
    HttpResponse<String> post =
        send(
            HttpRequest.newBuilder(start).POST(HttpRequest.BodyPublishers.noBody()),
            "POST " + start);
    if (post.statusCode() != 202) {
      throw new IOException(
          "POST " + start + " answered " + post.statusCode() + ": " + abbreviate(post.body()));
    }
    String location =
        post.headers()
            .firstValue("Location")
            .orElseThrow(() -> new IOException("POST " + start + " answered no Location"));
    URI put = base.resolve(location);
    put =
        URI.create(
            put + (put.getRawQuery() == null ? "?" : "&") + "digest=" + digest.replace(":", "%3A"));
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(put)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)),
            "PUT blob " + digest);
    if (r.statusCode() != 201) {
      throw new IOException(
          "PUT blob " + digest + " answered " + r.statusCode() + ": " + abbreviate(r.body()));
    }
    return blob.length;
  }

  private HttpResponse<String> send(HttpRequest.Builder b, String what) throws IOException {
    try {
      return http.send(
          b.header("Authorization", authorization).timeout(TIMEOUT).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted during " + what, e);
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 300 ? s : s.substring(0, 300) + "…";
  }
}
