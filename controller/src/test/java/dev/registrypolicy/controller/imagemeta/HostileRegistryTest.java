package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyParser;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A registry that misbehaves: every answer becomes an {@link ImageMetadataException} naming the
 * image, the host and the cause, within the deadline, without buffering past the limits and without
 * sending credentials to another origin.
 */
class HostileRegistryTest {
  static final byte[] CONFIG = LabImages.config("linux", "amd64", null, "1000", Map.of("a", "b"));
  static final String CONFIG_DIGEST = Digests.sha256(CONFIG);
  static final byte[] MANIFEST =
      ("{\"schemaVersion\":2,\"mediaType\":\""
              + MediaTypes.OCI_MANIFEST
              + "\",\"config\":{\"mediaType\":\""
              + MediaTypes.OCI_CONFIG
              + "\",\"digest\":\""
              + CONFIG_DIGEST
              + "\",\"size\":"
              + CONFIG.length
              + "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:"
              + "a".repeat(64)
              + "\",\"size\":42}]}")
          .getBytes(StandardCharsets.UTF_8);
  static final String SECRET_PASSWORD = "hostile-s3cret";

  static Policy policy(String... hostPorts) throws Exception {
    StringBuilder sb =
        new StringBuilder(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n"
                + "credentials:\n  - name: c\n    secret: basic\nregistries:\n");
    for (String h : hostPorts) {
      sb.append("  - host: ")
          .append(h)
          .append("\n    url: http://")
          .append(h)
          .append("\n    credentials: c\n");
    }
    return PolicyParser.parse(sb.toString());
  }

  static final SecretBytes SECRETS =
      SecretBytes.of(
          Map.of(
              "basic",
              Map.of(
                  "username", "u".getBytes(StandardCharsets.UTF_8),
                  "password", SECRET_PASSWORD.getBytes(StandardCharsets.UTF_8))));

  static ImageMetadataException fail(FakeRegistry r, String imageSuffix, MetadataSettings s)
      throws Exception {
    try (RegistryMetadata rm = new RegistryMetadata(s)) {
      ImageRef image = ImageRef.parse(r.hostPort() + imageSuffix);
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () ->
                  rm.forPolicy(policy(r.hostPort()), SECRETS)
                      .fetch(image, Instant.now().plusSeconds(10)));
      assertTrue(e.getMessage().contains(r.hostPort() + imageSuffix), e.getMessage());
      assertTrue(e.getMessage().contains("registry " + r.hostPort()), e.getMessage());
      assertTrue(!e.getMessage().contains(SECRET_PASSWORD), e.getMessage());
      return e;
    }
  }

  /** Serves MANIFEST for manifests and CONFIG for blobs, unless {@code manifest} overrides it. */
  static FakeRegistry serving(String contentType, byte[] manifest, byte[] config) throws Exception {
    return new FakeRegistry(
        ex -> {
          String p = ex.getRequestURI().getPath();
          if (p.contains("/manifests/")) {
            FakeRegistry.send(ex, 200, contentType, manifest);
          } else if (p.contains("/blobs/")) {
            FakeRegistry.send(ex, 200, "application/octet-stream", config);
          } else {
            FakeRegistry.send(ex, 404, null, new byte[0]);
          }
        });
  }

  @Test
  void wellBehaved_isRead_anonymously() throws Exception {
    try (FakeRegistry r = serving(MediaTypes.OCI_MANIFEST, MANIFEST, CONFIG);
        RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
      ImageMetadata md =
          rm.forPolicy(policy(r.hostPort()), SECRETS)
              .fetch(ImageRef.parse(r.hostPort() + "/a/b:1"), Instant.now().plusSeconds(10));
      assertEquals("1000", md.user());
      assertEquals(42, md.sizeBytes());
      assertEquals(Digests.sha256(MANIFEST), md.digest());
      assertNull(r.seen.get(0).authorization()); // no challenge: no credentials sent
    }
  }

  @Test
  void oversizedManifest_withContentLength() throws Exception {
    byte[] huge = new byte[5 << 20];
    java.util.Arrays.fill(huge, (byte) ' ');
    try (FakeRegistry r = serving(MediaTypes.OCI_MANIFEST, huge, CONFIG)) {
      ImageMetadataException e = fail(r, "/a/b:1", MetadataSettings.defaults());
      assertEquals(Kind.ERROR, e.kind());
      assertTrue(e.getMessage().contains("over the limit of 4194304"), e.getMessage());
    }
  }

  @Test
  void oversizedManifest_chunked_isCutAtTheLimit() throws Exception {
    try (FakeRegistry r =
        new FakeRegistry(
            ex -> {
              ex.getResponseHeaders().set("Content-Type", MediaTypes.OCI_MANIFEST);
              ex.sendResponseHeaders(200, 0); // chunked: no length announced
              byte[] chunk = new byte[64 * 1024];
              try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < 1024; i++) { // 64 MiB offered
                  out.write(chunk);
                }
              } catch (java.io.IOException expected) {
                // the client hung up at the limit
              }
            })) {
      ImageMetadataException e =
          fail(
              r,
              "/a/b:1",
              MetadataSettings.defaults().withLimits(64 * 1024, 64 * 1024, 64 * 1024, 3));
      assertEquals(Kind.ERROR, e.kind());
      assertTrue(e.getMessage().contains("over the limit of 65536"), e.getMessage());
    }
  }

  @Test
  void malformedJson_wrongMediaType_schema1_wrongShapes() throws Exception {
    Map<String, byte[]> bodies =
        Map.of(
            MediaTypes.OCI_MANIFEST,
            "{\"schemaVersion\":2,".getBytes(StandardCharsets.UTF_8),
            "text/html",
            "<html>hello</html>".getBytes(StandardCharsets.UTF_8),
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "{\"schemaVersion\":1}".getBytes(StandardCharsets.UTF_8),
            MediaTypes.OCI_INDEX,
            "{\"schemaVersion\":2,\"manifests\":{}}".getBytes(StandardCharsets.UTF_8),
            MediaTypes.DOCKER_MANIFEST,
            "[1,2,3]".getBytes(StandardCharsets.UTF_8));
    Map<String, String> expect =
        Map.of(
            MediaTypes.OCI_MANIFEST,
            "not valid JSON",
            "text/html",
            "not valid JSON",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "schema 1",
            MediaTypes.OCI_INDEX,
            "no \"manifests\" array",
            MediaTypes.DOCKER_MANIFEST,
            "not a JSON object");
    for (Map.Entry<String, byte[]> b : bodies.entrySet()) {
      try (FakeRegistry r = serving(b.getKey(), b.getValue(), CONFIG)) {
        ImageMetadataException e = fail(r, "/a/b:1", MetadataSettings.defaults());
        assertEquals(Kind.ERROR, e.kind());
        assertTrue(
            e.getMessage().contains(expect.get(b.getKey())), b.getKey() + ": " + e.getMessage());
      }
    }
    // a manifest served as a layer: the declared type decides, and it is refused
    byte[] asLayer = MANIFEST;
    try (FakeRegistry r = serving("application/vnd.oci.image.layer.v1.tar", asLayer, CONFIG)) {
      ImageMetadataException e = fail(r, "/a/b:1", MetadataSettings.defaults());
      assertTrue(e.getMessage().contains("differs from the Content-Type"), e.getMessage());
    }
  }

  @Test
  void digestMismatches() throws Exception {
    // Docker-Content-Digest that is not the body's
    try (FakeRegistry r =
        new FakeRegistry(
            ex -> {
              ex.getResponseHeaders().set("Docker-Content-Digest", "sha256:" + "b".repeat(64));
              FakeRegistry.send(ex, 200, MediaTypes.OCI_MANIFEST, MANIFEST);
            })) {
      ImageMetadataException e = fail(r, "/a/b:1", MetadataSettings.defaults());
      assertTrue(e.getMessage().contains("Docker-Content-Digest"), e.getMessage());
    }
    // asked by digest, served something else
    try (FakeRegistry r = serving(MediaTypes.OCI_MANIFEST, MANIFEST, CONFIG)) {
      ImageMetadataException e =
          fail(r, "/a/b@sha256:" + "c".repeat(64), MetadataSettings.defaults());
      assertTrue(e.getMessage().contains("has digest " + Digests.sha256(MANIFEST)), e.getMessage());
    }
    // a config blob that is not the one the manifest names
    byte[] other = LabImages.config("linux", "amd64", null, "0", null);
    try (FakeRegistry r = serving(MediaTypes.OCI_MANIFEST, MANIFEST, other)) {
      ImageMetadataException e = fail(r, "/a/b:1", MetadataSettings.defaults());
      assertTrue(
          e.getMessage().contains("config blob served for " + CONFIG_DIGEST), e.getMessage());
    }
  }

  @Test
  void redirects_areBounded_andCredentialsStayWithTheirOrigin() throws Exception {
    try (FakeRegistry loop =
        new FakeRegistry(
            ex -> {
              ex.getResponseHeaders().set("Location", ex.getRequestURI().getPath() + "x");
              FakeRegistry.send(ex, 307, null, new byte[0]);
            })) {
      ImageMetadataException e = fail(loop, "/a/b:1", MetadataSettings.defaults());
      assertTrue(e.getMessage().contains("more than 3 redirects"), e.getMessage());
      assertEquals(4, loop.seen.size());
    }
    try (FakeRegistry storage = serving(MediaTypes.OCI_MANIFEST, MANIFEST, CONFIG)) {
      try (FakeRegistry r =
              new FakeRegistry(
                  ex -> {
                    if (ex.getRequestHeaders().getFirst("Authorization") == null) {
                      ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"fake\"");
                      FakeRegistry.send(ex, 401, null, new byte[0]);
                    } else if (ex.getRequestURI().getPath().contains("/manifests/")) {
                      FakeRegistry.send(ex, 200, MediaTypes.OCI_MANIFEST, MANIFEST);
                    } else {
                      ex.getResponseHeaders()
                          .set(
                              "Location",
                              "http://" + storage.hostPort() + "/v2/a/b/blobs/" + CONFIG_DIGEST);
                      FakeRegistry.send(ex, 307, null, new byte[0]);
                    }
                  });
          RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
        ImageMetadata md =
            rm.forPolicy(policy(r.hostPort()), SECRETS)
                .fetch(ImageRef.parse(r.hostPort() + "/a/b:1"), Instant.now().plusSeconds(10));
        assertEquals("1000", md.user());
        assertTrue(r.seen.stream().anyMatch(s -> s.authorization() != null), r.seen.toString());
        assertEquals(1, storage.seen.size(), storage.seen.toString());
        assertNull(
            storage.seen.get(0).authorization(), "credentials followed a redirect to another host");
      }
    }
  }

  @Test
  void slowBody_isDroppedAtTheRequestTimeout() throws Exception {
    try (FakeRegistry r =
        new FakeRegistry(
            ex -> {
              ex.getResponseHeaders().set("Content-Type", MediaTypes.OCI_MANIFEST);
              ex.sendResponseHeaders(200, MANIFEST.length);
              try (OutputStream out = ex.getResponseBody()) {
                for (byte b : MANIFEST) {
                  out.write(b);
                  out.flush();
                  Thread.sleep(100);
                }
              } catch (java.io.IOException | InterruptedException expected) {
                // the client hung up
              }
            })) {
      long t0 = System.nanoTime();
      ImageMetadataException e =
          fail(
              r,
              "/a/b:1",
              MetadataSettings.defaults()
                  .withTimeouts(
                      Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofSeconds(2)));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(Kind.TIMEOUT, e.kind(), e.getMessage());
      assertTrue(ms < 2500, "took " + ms + " ms");
    }
  }

  @Test
  void serverErrors_andFallbackToTheNextEndpoint() throws Exception {
    try (FakeRegistry r = new FakeRegistry(ex -> FakeRegistry.send(ex, 503, null, new byte[0]))) {
      ImageMetadataException e = fail(r, "/a/b:1", MetadataSettings.defaults());
      assertEquals(Kind.ERROR, e.kind());
      assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
    }
    try (FakeRegistry broken =
            new FakeRegistry(ex -> FakeRegistry.send(ex, 500, null, new byte[0]));
        FakeRegistry good = serving(MediaTypes.OCI_MANIFEST, MANIFEST, CONFIG);
        RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
      Policy p =
          PolicyParser.parse(
              "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nregistries:\n"
                  + "  - host: "
                  + good.hostPort()
                  + "\n    url: http://"
                  + good.hostPort()
                  + "\n    mirrors:\n      - url: http://"
                  + broken.hostPort()
                  + "\n");
      ImageMetadata md =
          rm.forPolicy(p, SecretBytes.none())
              .fetch(ImageRef.parse(good.hostPort() + "/a/b:1"), Instant.now().plusSeconds(10));
      assertEquals("1000", md.user());
      assertEquals(
          List.of("/v2/a/b/manifests/1?ns=" + good.hostPort()),
          broken.seen.stream()
              .filter(s -> s.uri().contains("manifests"))
              .map(FakeRegistry.Seen::uri)
              .toList());
    }
  }

  @Test
  void aWaiterPastItsDeadline_getsTimeout_andTheSharedFetchGoesOnForTheOthers() throws Exception {
    try (FakeRegistry r =
            new FakeRegistry(
                ex -> {
                  try {
                    Thread.sleep(600);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  if (ex.getRequestURI().getPath().contains("/manifests/")) {
                    FakeRegistry.send(ex, 200, MediaTypes.OCI_MANIFEST, MANIFEST);
                  } else {
                    FakeRegistry.send(ex, 200, "application/octet-stream", CONFIG);
                  }
                });
        RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
      ImageMetadataSource src = rm.forPolicy(policy(r.hostPort()), SECRETS);
      ImageRef image = ImageRef.parse(r.hostPort() + "/a/b:1");
      java.util.concurrent.CompletableFuture<ImageMetadata> patient =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> {
                try {
                  return src.fetch(image, Instant.now().plusSeconds(10));
                } catch (ImageMetadataException e) {
                  throw new IllegalStateException(e);
                }
              });
      Thread.sleep(50);
      long t0 = System.nanoTime();
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class, () -> src.fetch(image, Instant.now().plusMillis(200)));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(Kind.TIMEOUT, e.kind());
      assertTrue(ms < 600, "waited " + ms + " ms");
      assertEquals("1000", patient.get().user());
      assertEquals(2, r.seen.size(), r.seen.toString()); // one manifest and one config GET in all
      assertEquals(1, rm.metrics().value("cache", "miss"), 0.0);
      assertEquals(1, rm.metrics().value("cache", "shared"), 0.0);
      assertEquals(1, rm.metrics().value("fetches", "error", "timeout"), 0.0);
      assertEquals(1, rm.metrics().value("fetches", "ok", ""), 0.0);
      // and the cache has it now, whatever the deadline
      assertEquals("1000", src.fetch(image, Instant.now()).user());
    }
  }

  @Test
  void metrics_registerInAPrometheusRegistry_withoutImageLabels() throws Exception {
    io.prometheus.metrics.model.registry.PrometheusRegistry reg =
        new io.prometheus.metrics.model.registry.PrometheusRegistry();
    ImageMetadataMetrics m = new ImageMetadataMetrics();
    m.register(reg);
    try (FakeRegistry r = serving(MediaTypes.OCI_MANIFEST, MANIFEST, CONFIG);
        RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults(), m)) {
      rm.forPolicy(policy(r.hostPort()), SECRETS)
          .fetch(ImageRef.parse(r.hostPort() + "/a/b:1"), Instant.now().plusSeconds(10));
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create()
          .write(out, reg.scrape());
      String text = out.toString(StandardCharsets.UTF_8);
      assertTrue(
          text.contains(
              "registry_policy_controller_image_metadata_fetches_total{kind=\"\",outcome=\"ok\"} 1.0"),
          text);
      assertTrue(
          text.contains(
              "registry_policy_controller_image_metadata_registry_requests_total{kind=\"manifest\"} 1.0"),
          text);
      assertTrue(
          text.contains(
              "registry_policy_controller_image_metadata_cache_total{result=\"miss\"} 1.0"),
          text);
      assertTrue(!text.contains(r.hostPort()) && !text.contains("a/b"), text);
    }
  }

  @Test
  void aRefusedCachedToken_isReplaced_notSentAgain() throws Exception {
    java.util.concurrent.atomic.AtomicInteger issued =
        new java.util.concurrent.atomic.AtomicInteger();
    try (FakeRegistry tokens =
            new FakeRegistry(
                ex ->
                    FakeRegistry.send(
                        ex,
                        200,
                        "application/json",
                        ("{\"token\":\"t" + issued.incrementAndGet() + "\",\"expires_in\":300}")
                            .getBytes(StandardCharsets.UTF_8)));
        FakeRegistry r =
            new FakeRegistry(
                ex -> {
                  String want = "Bearer t" + issued.get();
                  if (!want.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                    ex.getResponseHeaders()
                        .set(
                            "WWW-Authenticate",
                            "Bearer realm=\"http://"
                                + tokens.hostPort()
                                + "/token\",service=\"fake\"");
                    FakeRegistry.send(ex, 401, null, new byte[0]);
                  } else if (ex.getRequestURI().getPath().contains("/manifests/")) {
                    FakeRegistry.send(ex, 200, MediaTypes.OCI_MANIFEST, MANIFEST);
                  } else {
                    FakeRegistry.send(ex, 200, "application/octet-stream", CONFIG);
                  }
                });
        RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
      ImageMetadataSource src = rm.forPolicy(policy(r.hostPort()), SECRETS);
      src.fetch(ImageRef.parse(r.hostPort() + "/a/b:1"), Instant.now().plusSeconds(10));
      assertEquals(1, issued.get());
      issued.incrementAndGet(); // the registry now wants a token the client does not have (t2)
      src.fetch(ImageRef.parse(r.hostPort() + "/a/b:2"), Instant.now().plusSeconds(10));
      assertEquals(3, issued.get(), "a new token was fetched after the cached one was refused");
      assertTrue(
          tokens.seen.stream().allMatch(t -> t.uri().contains("scope=repository%3Aa%2Fb%3Apull")),
          tokens.seen.toString());
      assertTrue(
          tokens.seen.stream()
              .allMatch(t -> t.authorization() != null && t.authorization().startsWith("Basic ")));
    }
  }
}
