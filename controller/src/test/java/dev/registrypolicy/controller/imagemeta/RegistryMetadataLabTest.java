package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.agent.lab.LabEnvironment;
import dev.registrypolicy.agent.lab.Pki;
import dev.registrypolicy.agent.lab.RegistryLab;
import dev.registrypolicy.controller.imagemeta.ImageMetadataException.Kind;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link RegistryMetadata} against the real registry the agent's tests run (docker-registry 2.8
 * with TLS from a lab CA and bcrypt htpasswd basic auth, plus a token-auth registry on the same
 * storage with its token server), holding images this test builds and pushes itself. Counts come
 * from the registries' access logs and the token server's request list.
 */
class RegistryMetadataLabTest {
  static Path work;
  static RegistryLab lab;
  static LabImages push;
  static Policy policy;
  static SecretBytes secrets;

  static LabImages.Pushed root;
  static LabImages.Pushed nonRoot;
  static LabImages.Pushed big;
  static LabImages.Pushed amd64;
  static LabImages.Pushed arm64;
  static LabImages.Pushed index;
  static LabImages.Pushed dockerImage;

  @BeforeAll
  static void start() throws Exception {
    LabEnvironment env = LabEnvironment.detect();
    assumeTrue(
        env.dockerRegistry().isPresent() && env.htpasswd().isPresent() && env.openssl().isPresent(),
        "docker-registry, htpasswd and openssl are needed (Debian packages docker-registry,"
            + " apache2-utils, openssl; .ci/install-daemons.sh installs them)");
    work = Files.createTempDirectory("rp-imagemeta-");
    Pki pki = Pki.create(work.resolve("pki"));
    lab = RegistryLab.startWithTokenAuth(work.resolve("registry"), pki);
    push = new LabImages(lab.url(), pki.clientSslContext(), lab.basicAuthorization());

    LabImages.Basics basics = push.pushBasics();
    root = basics.root();
    nonRoot = basics.nonRoot();
    big = basics.big();
    amd64 =
        push.pushImage(
            "team/multi",
            "amd64",
            false,
            LabImages.config("linux", "amd64", null, "1000", null),
            List.of(100),
            4);
    arm64 =
        push.pushImage(
            "team/multi",
            "arm64",
            false,
            LabImages.config("linux", "arm64", "v8", "2000", null),
            List.of(200),
            5);
    index =
        push.pushIndex(
            "team/multi",
            "1",
            false,
            List.of(Map.entry(arm64, "linux/arm64/v8"), Map.entry(amd64, "linux/amd64")));
    dockerImage =
        push.pushImage(
            "team/docker",
            "1",
            true,
            LabImages.config("linux", "amd64", null, "root", null),
            List.of(500),
            6);

    hanging = HangingRegistry.start();

    secrets =
        SecretBytes.of(
            Map.of(
                "lab-ca", Map.of("ca.crt", pki.caPem()),
                "lab-basic",
                    Map.of(
                        "username", RegistryLab.USER.getBytes(StandardCharsets.UTF_8),
                        "password", RegistryLab.PASSWORD.getBytes(StandardCharsets.UTF_8))));
    policy = policy(true);
  }

  static Policy policy(boolean withCredentials) throws Exception {
    String cred = withCredentials ? "    credentials: lab\n" : "";
    String mcred = withCredentials ? "        credentials: lab\n" : "";
    String text =
        "apiVersion: registry-policy.dev/v1alpha1\n"
            + "kind: RegistryPolicy\n"
            + "credentials:\n"
            + "  - name: lab\n"
            + "    secret: lab-basic\n"
            + "registries:\n"
            + "  - host: "
            + lab.hostPort()
            + "\n"
            + "    ca: {secret: lab-ca}\n"
            + cred
            + "  - host: "
            + lab.tokenRegistryHostPort()
            + "\n"
            + "    ca: {secret: lab-ca}\n"
            + cred
            + "  - host: upstream.invalid\n"
            + "    upstream: Never\n"
            + "    mirrors:\n"
            + "      - url: "
            + lab.url()
            + "\n"
            + "        ca: {secret: lab-ca}\n"
            + mcred
            + "  - host: docker.io\n"
            + "    upstream: Never\n"
            + "    mirrors:\n"
            + "      - url: "
            + lab.url()
            + "\n"
            + "        ca: {secret: lab-ca}\n"
            + mcred
            + "  - host: "
            + hanging.host()
            + "\n";
    return PolicyParser.parse(text);
  }

  static HangingRegistry hanging;

  @AfterAll
  static void stop() throws IOException {
    if (hanging != null) {
      hanging.close();
    }
    if (lab != null) {
      lab.close();
    }
  }

  static Instant in(long ms) {
    return Instant.now().plusMillis(ms);
  }

  static ImageRef ref(String s) throws Exception {
    return ImageRef.parse(s);
  }

  static RegistryMetadata fresh() {
    return new RegistryMetadata(MetadataSettings.defaults());
  }

  @Test
  void rootImage_hasEmptyUser_andItsDigestAndSize() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadata md =
          rm.forPolicy(policy, secrets).fetch(ref(lab.hostPort() + "/team/root:1"), in(10_000));
      assertEquals("", md.user());
      assertEquals(root.digest(), md.digest());
      assertNull(md.indexDigest());
      assertEquals(1000, md.sizeBytes());
      assertEquals("linux", md.os());
      assertEquals("amd64", md.architecture());
    }
  }

  @Test
  void nonRootImage_userAndLabels() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadata md =
          rm.forPolicy(policy, secrets).fetch(ref(lab.hostPort() + "/team/nonroot:1"), in(10_000));
      assertEquals("1000:1000", md.user());
      assertEquals(Map.of("org.example.team", "web", "tier", "front"), md.labels());
      assertEquals(5000, md.sizeBytes());
    }
  }

  @Test
  void bigImage_sumsTheLayerSizes_andByDigest() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadata md =
          rm.forPolicy(policy, secrets)
              .fetch(ref(lab.hostPort() + "/team/big@" + big.digest()), in(10_000));
      assertEquals((3 << 20) + (1 << 20), md.sizeBytes());
      assertEquals(big.digest(), md.digest());
    }
  }

  @Test
  void dockerMediaTypes_areRead() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadata md =
          rm.forPolicy(policy, secrets).fetch(ref(lab.hostPort() + "/team/docker:1"), in(10_000));
      assertEquals("root", md.user());
      assertEquals(dockerImage.digest(), md.digest());
    }
  }

  @Test
  void index_resolvesToTheConfiguredPlatform() throws Exception {
    ImageRef image = ref(lab.hostPort() + "/team/multi:1");
    try (RegistryMetadata rm = fresh()) {
      ImageMetadata md = rm.forPolicy(policy, secrets).fetch(image, in(10_000));
      assertEquals("1000", md.user());
      assertEquals(amd64.digest(), md.digest());
      assertEquals(index.digest(), md.indexDigest());
    }
    try (RegistryMetadata rm =
        new RegistryMetadata(
            MetadataSettings.defaults().withPlatform(Platform.parse("linux/arm64")))) {
      ImageMetadata md = rm.forPolicy(policy, secrets).fetch(image, in(10_000));
      assertEquals("2000", md.user());
      assertEquals("v8", md.variant());
      assertEquals(arm64.digest(), md.digest());
    }
    try (RegistryMetadata rm =
        new RegistryMetadata(
            MetadataSettings.defaults().withPlatform(Platform.parse("linux/s390x")))) {
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () -> rm.forPolicy(policy, secrets).fetch(image, in(10_000)));
      assertEquals(Kind.NO_MATCHING_PLATFORM, e.kind());
      assertTrue(
          e.getMessage().contains("linux/s390x") && e.getMessage().contains("linux/arm64/v8"),
          e.getMessage());
    }
  }

  @Test
  void missingTag_isNotFound_namingImageAndHost() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () ->
                  rm.forPolicy(policy, secrets)
                      .fetch(ref(lab.hostPort() + "/team/root:nope"), in(10_000)));
      assertEquals(Kind.NOT_FOUND, e.kind());
      assertTrue(e.getMessage().contains(lab.hostPort() + "/team/root:nope"), e.getMessage());
      assertTrue(e.getMessage().contains("registry " + lab.hostPort()), e.getMessage());
      assertTrue(e.getMessage().contains("MANIFEST_UNKNOWN"), e.getMessage());
    }
  }

  @Test
  void noCredentials_isUnauthorized_andNoCredentialInTheMessage() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () ->
                  rm.forPolicy(policy(false), secrets)
                      .fetch(ref(lab.hostPort() + "/team/root:1"), in(10_000)));
      assertEquals(Kind.UNAUTHORIZED, e.kind());
      assertTrue(e.getMessage().contains(lab.hostPort()), e.getMessage());
    }
    // wrong password: refused, and neither the password nor its Basic form appears
    SecretBytes wrong =
        SecretBytes.of(
            Map.of(
                "lab-ca", Map.of("ca.crt", lab.pki().caPem()),
                "lab-basic",
                    Map.of(
                        "username", RegistryLab.USER.getBytes(StandardCharsets.UTF_8),
                        "password", "s3cret-wrong".getBytes(StandardCharsets.UTF_8))));
    try (RegistryMetadata rm = fresh()) {
      for (String host : List.of(lab.hostPort(), lab.tokenRegistryHostPort())) {
        ImageMetadataException e =
            assertThrows(
                ImageMetadataException.class,
                () -> rm.forPolicy(policy, wrong).fetch(ref(host + "/team/root:1"), in(10_000)));
        assertEquals(Kind.UNAUTHORIZED, e.kind(), e.getMessage());
        String basic =
            Base64.getEncoder()
                .encodeToString(
                    (RegistryLab.USER + ":s3cret-wrong").getBytes(StandardCharsets.UTF_8));
        assertFalse(
            e.getMessage().contains("s3cret-wrong") || e.getMessage().contains(basic),
            e.getMessage());
      }
    }
  }

  @Test
  void missingCa_failsTls_withAReason() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () ->
                  rm.forPolicy(policy, SecretBytes.none())
                      .fetch(ref(lab.hostPort() + "/team/root:1"), in(10_000)));
      assertEquals(Kind.ERROR, e.kind());
      assertTrue(e.getMessage().contains("lab-ca"), e.getMessage());
    }
  }

  @Test
  void tokenRegistry_bearerFlow_withBasicToTheTokenServer_tokenCached() throws Exception {
    lab.tokenServer().clearRequests();
    try (RegistryMetadata rm = fresh()) {
      ImageMetadataSource src = rm.forPolicy(policy, secrets);
      ImageMetadata md =
          src.fetch(ref(lab.tokenRegistryHostPort() + "/team/nonroot:1"), in(10_000));
      assertEquals("1000:1000", md.user());
      assertEquals(nonRoot.digest(), md.digest());
      var reqs = lab.tokenServer().requests();
      assertEquals(1, reqs.size(), reqs.toString());
      assertEquals(List.of("repository:team/nonroot:pull"), reqs.get(0).scopes());
      assertEquals(RegistryLab.USER, reqs.get(0).user());
      assertEquals(200, reqs.get(0).status());
      // another image of the same repository by digest: the cached token is sent at once
      src.fetch(ref(lab.tokenRegistryHostPort() + "/team/multi@" + index.digest()), in(10_000));
      src.fetch(ref(lab.tokenRegistryHostPort() + "/team/nonroot@" + nonRoot.digest()), in(10_000));
      assertEquals(2, lab.tokenServer().requests().size(), lab.tokenServer().requests().toString());
    }
  }

  @Test
  void mirrorOnlyRegistry_goesThroughTheMirror_withNs() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadata md =
          rm.forPolicy(policy, secrets).fetch(ref("upstream.invalid/team/nonroot:1"), in(10_000));
      assertEquals("1000:1000", md.user());
      Predicate<RegistryLab.AccessLogEntry> viaMirror =
          e ->
              e.uri().equals("/v2/team/nonroot/manifests/1?ns=upstream.invalid")
                  && e.status() == 200;
      assertTrue(lab.awaitRequest(viaMirror, Duration.ofSeconds(5)), lab.accessLog().toString());
      String config = "/v2/team/nonroot/blobs/" + nonRoot.configDigest() + "?ns=upstream.invalid";
      assertTrue(
          lab.awaitRequest(e -> e.uri().equals(config) && e.status() == 200, Duration.ofSeconds(5)),
          lab.accessLog().toString());
    }
  }

  @Test
  void hangingRegistry_timesOutAtTheCallersDeadline() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageRef image = ref(hanging.host() + "/team/root:1");
      long t0 = System.nanoTime();
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () -> rm.forPolicy(policy, secrets).fetch(image, in(300)));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(Kind.TIMEOUT, e.kind());
      assertTrue(ms < 1000, "waited " + ms + " ms for a 300 ms deadline");
      assertTrue(e.getMessage().contains(hanging.host()), e.getMessage());
    }
    // the fetch's own request timeout: TIMEOUT too, from the shared fetch
    try (RegistryMetadata rm =
        new RegistryMetadata(
            MetadataSettings.defaults()
                .withTimeouts(
                    Duration.ofMillis(400), Duration.ofMillis(400), Duration.ofSeconds(2)))) {
      ImageRef image = ref(hanging.host() + "/team/root:2");
      long t0 = System.nanoTime();
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () -> rm.forPolicy(policy, secrets).fetch(image, in(10_000)));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(Kind.TIMEOUT, e.kind(), e.getMessage());
      assertTrue(ms < 3000, "took " + ms + " ms");
    }
  }

  @Test
  void singleFlight_20ConcurrentColdFetches_oneManifestAndOneConfigGet_thenZero() throws Exception {
    String repo = "team/flight";
    LabImages.Pushed p =
        push.pushImage(
            repo, "1", false, LabImages.config("linux", "amd64", null, "7", null), List.of(10), 9);
    ImageRef image = ref(lab.hostPort() + "/" + repo + ":1");
    try (RegistryMetadata rm = fresh()) {
      ImageMetadataSource src = rm.forPolicy(policy, secrets);
      // warm the endpoint's auth knowledge with another image, so the count is the image's own
      src.fetch(ref(lab.hostPort() + "/team/root:1"), in(10_000));
      assertTrue(src.cached(image).isEmpty(), "known before any fetch");
      int before = requests(repo).size();
      ExecutorService pool = Executors.newFixedThreadPool(20);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<ImageMetadata>> fs = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        fs.add(
            pool.submit(
                () -> {
                  go.await();
                  return src.fetch(image, in(10_000));
                }));
      }
      go.countDown();
      for (Future<ImageMetadata> f : fs) {
        assertEquals(p.digest(), f.get().digest());
      }
      pool.shutdown();
      Thread.sleep(300); // the registry writes its access line just after answering
      List<RegistryLab.AccessLogEntry> cold = requests(repo).subList(before, requests(repo).size());
      assertEquals(
          1, cold.stream().filter(e -> e.path().contains("/manifests/")).count(), cold.toString());
      assertEquals(
          1, cold.stream().filter(e -> e.path().contains("/blobs/")).count(), cold.toString());
      assertEquals(2, cold.size(), cold.toString());
      assertEquals(1, rm.metrics().value("cache", "miss") - 1, 0.0); // one for the warm-up image
      assertEquals(
          19, rm.metrics().value("cache", "shared") + rm.metrics().value("cache", "hit"), 0.0);
      int after = requests(repo).size();
      for (int i = 0; i < 5; i++) {
        src.fetch(image, in(10_000));
      }
      // the review thread's cache-hit path: by tag and by digest, no registry request
      assertEquals(p.digest(), src.cached(image).orElseThrow().digest());
      assertEquals(
          p.digest(),
          src.cached(ref(lab.hostPort() + "/" + repo + "@" + p.digest())).orElseThrow().digest());
      assertTrue(src.cached(ref(lab.hostPort() + "/" + repo + ":2")).isEmpty(), "another tag");
      Thread.sleep(300);
      assertEquals(after, requests(repo).size(), "a repeat went to the registry");
    }
  }

  static List<RegistryLab.AccessLogEntry> requests(String repo) {
    return lab.accessLog().stream().filter(e -> e.path().startsWith("/v2/" + repo + "/")).toList();
  }

  @Test
  void skipVerify_trustsTheRegistryWithoutItsCa() throws Exception {
    Policy p =
        PolicyParser.parse(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n"
                + "credentials:\n  - name: lab\n    secret: lab-basic\n"
                + "registries:\n  - host: "
                + lab.hostPort()
                + "\n    skipVerify: true\n    credentials: lab\n");
    try (RegistryMetadata rm = fresh()) {
      ImageMetadata md =
          rm.forPolicy(p, secrets).fetch(ref(lab.hostPort() + "/team/root:1"), in(10_000));
      assertEquals(root.digest(), md.digest());
    }
    // the same without skipVerify and without the CA: the lab CA is not trusted
    Policy untrusted =
        PolicyParser.parse(
            "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n"
                + "registries:\n  - host: "
                + lab.hostPort()
                + "\n");
    try (RegistryMetadata rm = fresh()) {
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () ->
                  rm.forPolicy(untrusted, secrets)
                      .fetch(ref(lab.hostPort() + "/team/root:1"), in(10_000)));
      assertEquals(Kind.ERROR, e.kind());
      assertTrue(e.getMessage().contains("not trusted"), e.getMessage());
    }
  }

  @Test
  void dockerHubName_goesToItsMirror_withNsDockerIo() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      // "team/nonroot:1" is docker.io/team/nonroot:1, as a Pod spec would name it
      ImageMetadata md = rm.forPolicy(policy, secrets).fetch(ref("team/nonroot:1"), in(10_000));
      assertEquals(nonRoot.digest(), md.digest());
      assertTrue(
          lab.awaitRequest(
              e -> e.uri().equals("/v2/team/nonroot/manifests/1?ns=docker.io") && e.status() == 200,
              Duration.ofSeconds(5)),
          lab.accessLog().toString());
    }
  }

  @Test
  void mirrorOnly_imageMissingOnTheMirror_isNotFound_andOnlyTheMirrorIsNamed() throws Exception {
    try (RegistryMetadata rm = fresh()) {
      ImageMetadataException e =
          assertThrows(
              ImageMetadataException.class,
              () ->
                  rm.forPolicy(policy, secrets)
                      .fetch(ref("upstream.invalid/team/absent:1"), in(10_000)));
      assertEquals(Kind.NOT_FOUND, e.kind());
      assertTrue(e.getMessage().contains("mirror " + lab.hostPort()), e.getMessage());
      assertFalse(e.getMessage().contains("registry upstream.invalid"), e.getMessage());
    }
  }
}
