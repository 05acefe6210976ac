package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PrefixIndexTest {
  private static final long SEED = 20261122L;

  private static RepositoryPrefix prefix(String s) {
    try {
      return RepositoryPrefix.parse(s);
    } catch (InvalidImageRefException e) {
      throw new AssertionError(e);
    }
  }

  private static ImageRef ref(String s) {
    try {
      return ImageRef.parse(s);
    } catch (InvalidImageRefException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void emptyIndexMatchesNothing() {
    PrefixIndex<String> index = PrefixIndex.<String>builder().build();
    assertTrue(index.isEmpty());
    assertEquals(0, index.size());
    assertEquals(List.of(), index.matches(ref("nginx")));
    assertFalse(index.anyMatch(ref("nginx")));
  }

  @Test
  void matchesListsLeastSpecificFirstAndKeepsSharedPrefixesInOrder() {
    PrefixIndex<String> index =
        PrefixIndex.<String>builder()
            .add(prefix("registry.corp/team/app"), "app")
            .add(prefix("registry.corp"), "host")
            .add(prefix("registry.corp/team"), "team-1")
            .add(prefix("registry.corp/team"), "team-2")
            .add(prefix("registry.corp/team-evil"), "evil")
            .add(prefix("registry.corp:5000"), "port")
            .add(prefix("registry.corp.evil.com"), "other-host")
            .build();
    assertEquals(7, index.size());
    assertEquals(
        List.of("host", "team-1", "team-2", "app"),
        index.matches(ref("registry.corp/team/app/x:1")));
    assertEquals(List.of("host", "team-1", "team-2"), index.matches(ref("registry.corp/team")));
    assertEquals(List.of("host"), index.matches(ref("registry.corp/teamx")));
    assertEquals(List.of("host", "evil"), index.matches(ref("registry.corp/team-evil/x")));
    assertEquals(List.of("port"), index.matches(ref("registry.corp:5000/team")));
    assertEquals(List.of("other-host"), index.matches(ref("registry.corp.evil.com/team")));
    assertEquals(List.of(), index.matches(ref("registry.corp:5001/team")));
    assertThrows(
        UnsupportedOperationException.class,
        () -> index.matches(ref("registry.corp/x")).add("more"));

    List<String> seen = new ArrayList<>();
    assertTrue(
        index.anyMatch(ref("registry.corp/team/app"), v -> seen.add(v) && v.equals("team-2")));
    assertEquals(List.of("host", "team-1", "team-2"), seen, "stops at the first accepted value");
    assertFalse(index.anyMatch(ref("registry.corp/team/app"), v -> v.equals("evil")));
    assertTrue(index.anyMatch(ref("registry.corp/team/app")));
    assertFalse(index.anyMatch(ref("nginx")));
  }

  @Test
  void dockerHubForms() {
    PrefixIndex<String> index =
        PrefixIndex.<String>builder()
            .add(prefix("nginx"), "nginx")
            .add(prefix("docker.io/bitnami"), "bitnami")
            .build();
    assertEquals(List.of("nginx"), index.matches(ref("nginx:1.25")));
    assertEquals(List.of("nginx"), index.matches(ref("index.docker.io/library/nginx")));
    assertEquals(List.of(), index.matches(ref("nginx-evil")));
    assertEquals(List.of("bitnami"), index.matches(ref("bitnami/redis")));
    assertEquals(List.of(), index.matches(ref("bitnami-evil/redis")));
  }

  @Test
  void builderCanBuildAgainAndIndexesStayIndependent() {
    PrefixIndex.Builder<String> b = PrefixIndex.<String>builder().add(prefix("a.io/x"), "1");
    PrefixIndex<String> first = b.build();
    b.add(prefix("a.io/x/y"), "2");
    PrefixIndex<String> second = b.build();
    assertEquals(List.of("1"), first.matches(ref("a.io/x/y")));
    assertEquals(List.of("1", "2"), second.matches(ref("a.io/x/y")));
    assertThrows(NullPointerException.class, () -> b.add(prefix("a.io"), null));
  }

  @Test
  void agreesWithALinearScanOnThousandRules() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    String[] hosts = new String[40];
    for (int i = 0; i < hosts.length; i++) {
      hosts[i] =
          switch (i % 5) {
            case 0 -> "registry" + i + ".corp";
            case 1 -> "registry" + i + ".corp:5000";
            case 2 -> "r" + i + ".example.com";
            case 3 -> "docker.io";
            default -> "10.0.0." + i + ":" + (1000 + i);
          };
    }
    // Segments chosen so that near misses (team vs team-evil, a vs ab) are common.
    String[] segments = {"a", "ab", "a-b", "team", "team-evil", "teamx", "x", "library", "nginx"};

    List<RepositoryPrefix> prefixes = new ArrayList<>();
    PrefixIndex.Builder<Integer> builder = PrefixIndex.builder();
    for (int i = 0; i < 1000; i++) {
      String host = hosts[rnd.nextInt(hosts.length)];
      int depth = rnd.nextInt(4);
      StringBuilder path = new StringBuilder();
      for (int d = 0; d < depth; d++) {
        path.append(d == 0 ? "" : "/").append(segments[rnd.nextInt(segments.length)]);
      }
      RepositoryPrefix p =
          depth == 0
              ? RepositoryPrefix.ofDomain(host)
              : new RepositoryPrefix(host, path.toString());
      prefixes.add(p);
      builder.add(p, i);
    }
    PrefixIndex<Integer> index = builder.build();
    assertEquals(1000, index.size());

    int matched = 0;
    for (int n = 0; n < 20_000; n++) {
      String host = rnd.nextInt(10) == 0 ? "elsewhere.io" : hosts[rnd.nextInt(hosts.length)];
      int depth = 1 + rnd.nextInt(5);
      StringBuilder path = new StringBuilder();
      for (int d = 0; d < depth; d++) {
        path.append(d == 0 ? "" : "/").append(segments[rnd.nextInt(segments.length)]);
      }
      if (host.equals("docker.io") && depth == 1) {
        path.insert(0, "library/");
      }
      ImageRef r = new ImageRef(host, path.toString(), rnd.nextBoolean() ? "1" : null, null);

      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < prefixes.size(); i++) {
        if (prefixes.get(i).matches(r)) {
          expected.add(i);
        }
      }
      List<Integer> actual = new ArrayList<>(index.matches(r));
      // The index orders by specificity; compare as sorted sets of rule numbers.
      actual.sort(null);
      assertEquals(expected, actual, r::toString);
      if (!expected.isEmpty()) {
        matched++;
      }
      assertEquals(!expected.isEmpty(), index.anyMatch(r), r::toString);
      int pick = expected.isEmpty() ? -1 : expected.get(rnd.nextInt(expected.size()));
      assertEquals(pick >= 0, index.anyMatch(r, v -> v == pick), r::toString);
    }
    assertTrue(matched > 5_000 && matched < 19_000, "matched " + matched);
  }
}
