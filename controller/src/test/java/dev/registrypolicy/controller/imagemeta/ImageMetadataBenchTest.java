package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.agent.lab.LabEnvironment;
import dev.registrypolicy.agent.lab.Pki;
import dev.registrypolicy.agent.lab.RegistryLab;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The figures of controller/README.md "Image metadata": what a cold fetch costs in registry
 * requests (read from the real registry's access log) and how long a cache hit takes (100,000
 * calls, p99). Fails when a cold fetch costs more than one manifest (plus one for an index) and one
 * config GET, or when the cache-hit p99 is 2 ms or more.
 */
class ImageMetadataBenchTest {
  static final int IMAGES = 20;
  static final int CALLS = 100_000;

  @Test
  void coldCost_andCacheHitLatency() throws Exception {
    LabEnvironment env = LabEnvironment.detect();
    assumeTrue(
        env.dockerRegistry().isPresent() && env.htpasswd().isPresent() && env.openssl().isPresent(),
        "docker-registry, htpasswd and openssl are needed");
    Path work = Files.createTempDirectory("rp-imagemeta-bench-");
    Pki pki = Pki.create(work.resolve("pki"));
    try (RegistryLab lab = RegistryLab.start(work.resolve("registry"), pki)) {
      LabImages push = new LabImages(lab.url(), pki.clientSslContext(), lab.basicAuthorization());
      List<ImageRef> images = new ArrayList<>();
      for (int i = 0; i < IMAGES; i++) {
        String repo = "bench/img" + i;
        byte[] cfg = LabImages.config("linux", "amd64", null, "100" + i, Map.of("i", "" + i));
        LabImages.Pushed amd = push.pushImage(repo, "amd", false, cfg, List.of(1000 + i), i);
        if (i % 2 == 0) {
          LabImages.Pushed arm =
              push.pushImage(
                  repo,
                  "arm",
                  false,
                  LabImages.config("linux", "arm64", null, "0", null),
                  List.of(10),
                  100 + i);
          push.pushIndex(
              repo,
              "1",
              i % 4 == 0,
              List.of(Map.entry(arm, "linux/arm64"), Map.entry(amd, "linux/amd64")));
        } else {
          push.putManifest(repo, "1", MediaTypes.OCI_MANIFEST, amd.bytes());
        }
        images.add(ImageRef.parse(lab.hostPort() + "/" + repo + ":1"));
      }
      Policy policy =
          PolicyParser.parse(
              "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n"
                  + "credentials:\n  - name: lab\n    secret: lab-basic\n"
                  + "registries:\n  - host: "
                  + lab.hostPort()
                  + "\n    ca: {secret: lab-ca}\n    credentials: lab\n");
      SecretBytes secrets =
          SecretBytes.of(
              Map.of(
                  "lab-ca", Map.of("ca.crt", pki.caPem()),
                  "lab-basic",
                      Map.of(
                          "username", RegistryLab.USER.getBytes(StandardCharsets.UTF_8),
                          "password", RegistryLab.PASSWORD.getBytes(StandardCharsets.UTF_8))));
      try (RegistryMetadata rm = new RegistryMetadata(MetadataSettings.defaults())) {
        ImageMetadataSource src = rm.forPolicy(policy, secrets);
        long t0 = System.nanoTime();
        for (ImageRef image : images) {
          src.fetch(image, Instant.now().plusSeconds(10));
        }
        long coldMs = (System.nanoTime() - t0) / 1_000_000;
        Thread.sleep(500); // access lines are written just after each answer
        List<RegistryLab.AccessLogEntry> log =
            lab.accessLog().stream()
                .filter(e -> e.path().startsWith("/v2/bench/") && e.method().equals("GET"))
                .toList();
        long manifests200 =
            log.stream().filter(e -> e.path().contains("/manifests/") && e.status() == 200).count();
        long blobs200 =
            log.stream().filter(e -> e.path().contains("/blobs/") && e.status() == 200).count();
        long unauthorized = log.stream().filter(e -> e.status() == 401).count();
        int indexes = IMAGES / 2;
        // per image: one manifest GET (+ one for an index's platform manifest) and one config GET
        assertEquals(IMAGES + indexes, manifests200, log.toString());
        assertEquals(IMAGES, blobs200, log.toString());
        assertEquals(1, unauthorized, "only the first request to the registry meets a 401: " + log);
        assertEquals(IMAGES + indexes + IMAGES + 1, log.size(), log.toString());

        int before = lab.accessLog().size();
        long[] nanos = new long[CALLS];
        for (int w = 0; w < 20_000; w++) { // JIT warm-up
          src.fetch(images.get(w % IMAGES), Instant.now().plusSeconds(1));
        }
        for (int i = 0; i < CALLS; i++) {
          long s = System.nanoTime();
          src.fetch(images.get(i % IMAGES), Instant.now().plusSeconds(1));
          nanos[i] = System.nanoTime() - s;
        }
        Arrays.sort(nanos);
        double p50 = nanos[CALLS / 2] / 1000.0;
        double p99 = nanos[(int) (CALLS * 0.99)] / 1000.0;
        double max = nanos[CALLS - 1] / 1000.0;
        Thread.sleep(300);
        assertEquals(before, lab.accessLog().size(), "a cache hit went to the registry");
        System.out.printf(
            "IMAGEMETA-BENCH cold: %d images (%d through an index) in %d ms, registry GETs: %d"
                + " manifests + %d config blobs + %d 401 (first contact) = %d;"
                + " cache hit over %d calls: p50 %.1f us, p99 %.1f us, max %.1f us; %s, %d cpus%n",
            IMAGES,
            indexes,
            coldMs,
            manifests200,
            blobs200,
            unauthorized,
            log.size(),
            CALLS,
            p50,
            p99,
            max,
            System.getProperty("java.vm.version"),
            Runtime.getRuntime().availableProcessors());
        assertTrue(p99 < 2000, "cache-hit p99 " + p99 + " us");
      }
    }
  }
}
