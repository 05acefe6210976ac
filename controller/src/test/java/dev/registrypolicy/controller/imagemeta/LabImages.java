package dev.registrypolicy.controller.imagemeta;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.net.ssl.SSLContext;

/**
 * Builds images in memory (config, layers of random bytes, manifest, optionally an index) and
 * pushes them to a real registry over the HTTP API v2 with Basic auth: blobs by monolithic upload,
 * then manifests under their own media type. What the tests read back is what they pushed here.
 */
public final class LabImages {
  /** A pushed manifest or index: its digest and bytes. */
  public record Pushed(String digest, byte[] bytes, String configDigest, long layerBytes) {}

  private final HttpClient http;
  private final String base;
  private final String authorization;

  public LabImages(String baseUrl, SSLContext tls, String authorization) {
    this.base = baseUrl;
    this.authorization = authorization;
    this.http =
        HttpClient.newBuilder()
            .sslContext(tls)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
  }

  public static byte[] config(
      String os, String arch, String variant, String user, Map<String, String> labels) {
    JsonObject c = new JsonObject();
    c.addProperty("architecture", arch);
    c.addProperty("os", os);
    if (variant != null) {
      c.addProperty("variant", variant);
    }
    JsonObject cc = new JsonObject();
    if (user != null) {
      cc.addProperty("User", user);
    }
    if (labels != null) {
      JsonObject l = new JsonObject();
      labels.forEach(l::addProperty);
      cc.add("Labels", l);
    }
    cc.add("Env", new JsonArray());
    c.add("config", cc);
    JsonObject rootfs = new JsonObject();
    rootfs.addProperty("type", "layers");
    rootfs.add("diff_ids", new JsonArray());
    c.add("rootfs", rootfs);
    return c.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Pushes an image whose layers are random bytes of {@code layerSizes}; returns its manifest. */
  public Pushed pushImage(
      String repo, String tag, boolean docker, byte[] config, List<Integer> layerSizes, long seed)
      throws IOException {
    String configType = docker ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG;
    String layerType =
        docker
            ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
            : "application/vnd.oci.image.layer.v1.tar+gzip";
    String manifestType = docker ? MediaTypes.DOCKER_MANIFEST : MediaTypes.OCI_MANIFEST;
    String configDigest = Digests.sha256(config);
    pushBlob(repo, configDigest, config);
    JsonArray layers = new JsonArray();
    Random rnd = new Random(seed);
    long sum = 0;
    for (int size : layerSizes) {
      byte[] layer = new byte[size];
      rnd.nextBytes(layer);
      String d = Digests.sha256(layer);
      pushBlob(repo, d, layer);
      layers.add(descriptor(layerType, d, size));
      sum += size;
    }
    JsonObject m = new JsonObject();
    m.addProperty("schemaVersion", 2);
    m.addProperty("mediaType", manifestType);
    m.add("config", descriptor(configType, configDigest, config.length));
    m.add("layers", layers);
    byte[] bytes = m.toString().getBytes(StandardCharsets.UTF_8);
    String digest = putManifest(repo, tag, manifestType, bytes);
    return new Pushed(digest, bytes, configDigest, sum);
  }

  /** The three plain linux/amd64 images both lab suites check, each tagged {@code 1}. */
  public record Basics(Pushed root, Pushed nonRoot, Pushed big) {}

  /**
   * Pushes {@link Basics}: {@code team/root} (no config user, 1,000 bytes of layer), {@code
   * team/nonroot} (user {@code 1000:1000}, labels {@code org.example.team=web} and {@code
   * tier=front}) and {@code team/big} (user {@code app}, 4 MiB of layers).
   */
  public Basics pushBasics() throws Exception {
    return new Basics(
        pushImage(
            "team/root", "1", false, config("linux", "amd64", null, null, null), List.of(1000), 1),
        pushImage(
            "team/nonroot",
            "1",
            false,
            config(
                "linux",
                "amd64",
                null,
                "1000:1000",
                Map.of("org.example.team", "web", "tier", "front")),
            List.of(2000, 3000),
            2),
        pushImage(
            "team/big",
            "1",
            false,
            config("linux", "amd64", null, "app", null),
            List.of(3 << 20, 1 << 20),
            3));
  }

  /**
   * An index (or Docker manifest list) of {@code entries}: (pushed manifest, os/arch[/variant]).
   */
  public Pushed pushIndex(
      String repo, String tag, boolean docker, List<Map.Entry<Pushed, String>> entries)
      throws IOException {
    JsonObject idx = new JsonObject();
    idx.addProperty("schemaVersion", 2);
    String type = docker ? MediaTypes.DOCKER_LIST : MediaTypes.OCI_INDEX;
    idx.addProperty("mediaType", type);
    JsonArray ms = new JsonArray();
    for (Map.Entry<Pushed, String> e : entries) {
      JsonObject d =
          descriptor(
              docker ? MediaTypes.DOCKER_MANIFEST : MediaTypes.OCI_MANIFEST,
              e.getKey().digest(),
              e.getKey().bytes().length);
      String[] p = e.getValue().split("/");
      JsonObject plat = new JsonObject();
      plat.addProperty("os", p[0]);
      plat.addProperty("architecture", p[1]);
      if (p.length > 2) {
        plat.addProperty("variant", p[2]);
      }
      d.add("platform", plat);
      ms.add(d);
    }
    idx.add("manifests", ms);
    byte[] bytes = idx.toString().getBytes(StandardCharsets.UTF_8);
    return new Pushed(putManifest(repo, tag, type, bytes), bytes, null, 0);
  }

  private static JsonObject descriptor(String mediaType, String digest, long size) {
    JsonObject d = new JsonObject();
    d.addProperty("mediaType", mediaType);
    d.addProperty("digest", digest);
    d.addProperty("size", size);
    return d;
  }

  String putManifest(String repo, String tag, String type, byte[] bytes) throws IOException {
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v2/" + repo + "/manifests/" + tag))
                .header("Content-Type", type)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)));
    if (r.statusCode() != 201) {
      throw new IOException("manifest PUT answered " + r.statusCode() + ": " + r.body());
    }
    String digest = Digests.sha256(bytes);
    String echoed = r.headers().firstValue("Docker-Content-Digest").orElse(digest);
    if (!echoed.equals(digest)) {
      throw new IOException("registry stored the manifest as " + echoed + ", not " + digest);
    }
    return digest;
  }

  private void pushBlob(String repo, String digest, byte[] blob) throws IOException {
    HttpResponse<String> post =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v2/" + repo + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()));
    if (post.statusCode() != 202) {
      throw new IOException("blob upload POST answered " + post.statusCode() + ": " + post.body());
    }
    URI put = URI.create(base + "/").resolve(post.headers().firstValue("Location").orElseThrow());
    String sep = put.getRawQuery() == null ? "?" : "&";
    put = URI.create(put + sep + "digest=" + digest.replace(":", "%3A"));
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(put)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)));
    if (r.statusCode() != 201) {
      throw new IOException("blob PUT answered " + r.statusCode() + ": " + r.body());
    }
  }

  private HttpResponse<String> send(HttpRequest.Builder b) throws IOException {
    try {
      return http.send(
          b.header("Authorization", authorization).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
