package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyParser;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which endpoints an image's requests go to, as containerd reaches them from the agent's
 * hosts.toml.
 */
class RoutesTest {
  static final Policy POLICY = policy();

  static Policy policy() {
    try {
      return PolicyParser.parse(
          "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nregistries:\n"
              + "  - host: docker.io\n"
              + "    mirrors:\n"
              + "      - url: https://hub-mirror.corp.example\n"
              + "      - url: https://pull-through.corp.example/v2/dockerhub\n"
              + "        overridePath: true\n"
              + "        capabilities: [pull]\n"
              + "  - host: ghcr.io\n"
              + "    upstream: Never\n"
              + "    mirrors:\n"
              + "      - url: https://ghcr-mirror.corp.example\n"
              + "  - host: registry.corp.example:5000\n"
              + "  - host: \"*\"\n"
              + "    mirrors:\n"
              + "      - url: https://cache.corp.example/\n");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static List<String> uris(String domain, boolean byDigest) {
    return Routes.usable(Routes.plan(POLICY, domain), byDigest).stream()
        .map(r -> r.uri("library/nginx", "manifests", "1").toString())
        .toList();
  }

  @Test
  void dockerHub_mirrorsInOrderWithNs_thenRegistry1() {
    assertEquals(
        List.of(
            "https://hub-mirror.corp.example/v2/library/nginx/manifests/1?ns=docker.io",
            "https://pull-through.corp.example/v2/dockerhub/library/nginx/manifests/1?ns=docker.io",
            "https://registry-1.docker.io/v2/library/nginx/manifests/1"),
        uris("docker.io", true));
    // a tag is resolved only where resolve is allowed: not on the pull-only mirror
    assertEquals(
        List.of(
            "https://hub-mirror.corp.example/v2/library/nginx/manifests/1?ns=docker.io",
            "https://registry-1.docker.io/v2/library/nginx/manifests/1"),
        uris("docker.io", false));
  }

  @Test
  void never_neverNamesTheUpstream() {
    assertEquals(
        List.of("https://ghcr-mirror.corp.example/v2/library/nginx/manifests/1?ns=ghcr.io"),
        uris("ghcr.io", false));
  }

  @Test
  void ownEntryWithoutMirrors_isTheRegistryItself() {
    assertEquals(
        List.of("https://registry.corp.example:5000/v2/library/nginx/manifests/1"),
        uris("registry.corp.example:5000", false));
  }

  @Test
  void otherHosts_takeTheCatchAll_thenTheirOwnHost() {
    assertEquals(
        List.of(
            "https://cache.corp.example/v2/library/nginx/manifests/1?ns=quay.io",
            "https://quay.io/v2/library/nginx/manifests/1"),
        uris("quay.io", false));
  }

  @Test
  void noPolicy_isTheImagesOwnHost() {
    assertEquals(
        List.of("https://registry-1.docker.io/v2/library/nginx/manifests/1"),
        Routes.plan(null, "docker.io").stream()
            .map(r -> r.uri("library/nginx", "manifests", "1").toString())
            .toList());
  }
}
