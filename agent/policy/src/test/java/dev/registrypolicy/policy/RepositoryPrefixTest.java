package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RepositoryPrefixTest {

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // input                          | domain            | path             | toString
        "registry.corp                    | registry.corp     | ''               | registry.corp",
        "registry.corp:5000               | registry.corp:5000 | ''              | registry.corp:5000",
        "registry.corp/team               | registry.corp     | team             | registry.corp/team",
        "registry.corp/team/sub           | registry.corp     | team/sub         | registry.corp/team/sub",
        "registry.corp/team/              | registry.corp     | team             | registry.corp/team",
        "https://registry.corp/team       | registry.corp     | team             | registry.corp/team",
        "http://registry.corp:5000/       | registry.corp:5000 | ''              | registry.corp:5000",
        "HTTPS://Registry.Corp/team       | registry.corp     | team             | registry.corp/team",
        "docker.io                        | docker.io         | ''               | docker.io",
        "index.docker.io                  | docker.io         | ''               | docker.io",
        "registry-1.docker.io             | registry-1.docker.io | ''            | registry-1.docker.io",
        "Registry-1.Docker.IO/library     | registry-1.docker.io | library       | registry-1.docker.io/library",
        "docker.io/library                | docker.io         | library          | docker.io/library",
        "index.docker.io/library          | docker.io         | library          | docker.io/library",
        "docker.io/bitnami                | docker.io         | bitnami          | docker.io/bitnami",
        "docker.io/library/nginx          | docker.io         | library/nginx    | docker.io/library/nginx",
        "nginx                            | docker.io         | library/nginx    | docker.io/library/nginx",
        "nginx/                           | docker.io         | library/nginx    | docker.io/library/nginx",
        "bitnami/redis                    | docker.io         | bitnami/redis    | docker.io/bitnami/redis",
        "library/nginx                    | docker.io         | library/nginx    | docker.io/library/nginx",
        "localhost                        | localhost         | ''               | localhost",
        "localhost:5000/x                 | localhost:5000    | x                | localhost:5000/x",
        "LOCALHOST/x                      | localhost         | x                | localhost/x",
        "'[::1]:5000/x'                   | '[::1]:5000'      | x                | '[::1]:5000/x'",
        "127.0.0.1                        | 127.0.0.1         | ''               | 127.0.0.1",
        "ghcr.io/org/a.b_c-d              | ghcr.io           | org/a.b_c-d      | ghcr.io/org/a.b_c-d",
      })
  void parsesPrefixes(String input, String domain, String path, String string)
      throws InvalidImageRefException {
    RepositoryPrefix p = RepositoryPrefix.parse(input);
    assertEquals(domain, p.domain());
    assertEquals(path, p.path());
    assertEquals(string, p.toString());
    assertEquals(path.isEmpty(), p.isDomainOnly());
    assertEquals(p, RepositoryPrefix.parse(p.toString()), "toString round-trips");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "''                          | prefix is empty",
        "/                           | prefix is empty",
        "https://                    | prefix is empty",
        "registry.corp/team:1.0      | a prefix must not have a tag",
        "nginx:1.25                  | a prefix must not have a tag",
        "nginx@sha256:abc            | a prefix must not have a digest",
        "registry.corp/team/*        | wildcards are not supported",
        "*.corp                      | wildcards are not supported",
        "registry.corp/team?x=1      | wildcards are not supported",
        "registry_corp.com           | invalid registry host",
        "registry.corp:0             | invalid port",
        "registry.corp:99999/x       | invalid port",
        "Registry                    | repository name must be lowercase",
        "Team/x                      | repository name must be lowercase",
        "registry.corp/Team          | repository name must be lowercase",
        "registry.corp//team         | must not have empty components",
        "registry.corp/team//        | must not have empty components",
        "registry.corp/team-         | must not end with a separator",
        "'registry.corp /x'          | invalid registry host",
        "ftp://registry.corp         | the only schemes accepted are https:// and http://",
        "https://https://x.io        | the only schemes accepted are https:// and http://",
        "'nginx\t'                   | invalid character U+0009",
      })
  void refusesBadPrefixes(String input, String fragment) {
    InvalidImageRefException e =
        assertThrows(InvalidImageRefException.class, () -> RepositoryPrefix.parse(input));
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
    assertTrue(e.getMessage().startsWith("invalid repository prefix \""), e.getMessage());
    assertEquals(input, e.input());
  }

  @Test
  void nullIsRefused() {
    InvalidImageRefException e =
        assertThrows(InvalidImageRefException.class, () -> RepositoryPrefix.parse(null));
    assertEquals("invalid repository prefix null: prefix is null", e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // prefix                | image                                  | matches
        "registry.corp/team       | registry.corp/team                      | true",
        "registry.corp/team       | registry.corp/team:1                    | true",
        "registry.corp/team       | registry.corp/team/x                    | true",
        "registry.corp/team       | registry.corp/team/x/y@sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4 | true",
        "registry.corp/team       | registry.corp/team-evil/x               | false",
        "registry.corp/team       | registry.corp/teamx                     | false",
        "registry.corp/team       | registry.corp/team.x                    | false",
        "registry.corp/team       | registry.corp/team_x/y                  | false",
        "registry.corp/team       | registry.corp/tea                       | false",
        "registry.corp/team       | registry.corp/other/team                | false",
        "registry.corp/team       | registry.corp:5000/team                 | false",
        "registry.corp/team       | Registry.Corp/team                      | true",
        "registry.corp/team/sub   | registry.corp/team                      | false",
        "registry.corp/team/sub   | registry.corp/team/sub/x                | true",
        "registry.corp/team/sub   | registry.corp/team/subx                 | false",
        "registry.corp            | registry.corp/x                         | true",
        "registry.corp            | registry.corp/a/b/c:1                   | true",
        "registry.corp            | registry.corp.evil.com/x                | false",
        "registry.corp            | evil.registry.corp/x                    | false",
        "registry.corp            | registry.corp:5000/x                    | false",
        "registry.corp            | registry.corpx/x                        | false",
        "registry.corp:5000       | registry.corp:5000/x                    | true",
        "registry.corp:5000       | registry.corp/x                         | false",
        "registry.corp:5000       | registry.corp:50000/x                   | false",
        "registry.corp:5000       | registry.corp:500/x                     | false",
        "docker.io                | nginx                                   | true",
        "docker.io                | bitnami/redis                           | true",
        "docker.io                | registry.corp/x                         | false",
        "docker.io/library        | nginx:1.25                              | true",
        "docker.io/library        | docker.io/library/nginx                 | true",
        "docker.io/library        | bitnami/redis                           | false",
        "docker.io/library        | library-evil/x                          | false",
        "nginx                    | nginx                                   | true",
        "nginx                    | nginx:1.25                              | true",
        "nginx                    | index.docker.io/library/nginx           | true",
        "nginx                    | nginx-evil                              | false",
        "nginx                    | nginxx                                  | false",
        "nginx                    | nginx/nginx-ingress                     | false",
        "nginx                    | registry.corp/nginx                     | false",
        "docker.io/nginx          | nginx                                   | false",
        "docker.io/nginx          | nginx/nginx-ingress                     | true",
        "bitnami/redis            | bitnami/redis:7                         | true",
        "bitnami/redis            | bitnami/redis-cluster                   | false",
        "bitnami/redis            | registry.corp/bitnami/redis             | false",
        "localhost:5000           | localhost:5000/x                        | true",
        "localhost:5000           | localhost/x                             | false",
        "localhost                | localhost/x                             | true",
        "localhost                | localhost:5000/x                        | false",
        "'[::1]:5000'             | '[::1]:5000/x'                          | true",
        "'[::1]:5000'             | '[::1]/x'                               | false",
      })
  void matchesOnSegmentBoundariesOnly(String prefix, String image, boolean expected)
      throws InvalidImageRefException {
    RepositoryPrefix p = RepositoryPrefix.parse(prefix);
    ImageRef ref = ImageRef.parse(image);
    assertEquals(expected, p.matches(ref), prefix + " vs " + ref);
    // The index must say the same.
    PrefixIndex<String> index = PrefixIndex.<String>builder().add(p, prefix).build();
    assertEquals(expected, index.anyMatch(ref, v -> true));
  }

  @Test
  void constructorRefusesMisuse() {
    assertThrows(IllegalArgumentException.class, () -> new RepositoryPrefix("Registry.corp", ""));
    assertThrows(IllegalArgumentException.class, () -> new RepositoryPrefix("index.docker.io", ""));
    assertThrows(IllegalArgumentException.class, () -> new RepositoryPrefix("registry", ""));
    assertThrows(IllegalArgumentException.class, () -> new RepositoryPrefix("x.io", "a/"));
    assertThrows(IllegalArgumentException.class, () -> new RepositoryPrefix("x.io", "/a"));
    assertEquals("x.io", RepositoryPrefix.ofDomain("x.io").toString());
    assertFalse(new RepositoryPrefix("x.io", "a").isDomainOnly());
  }
}
