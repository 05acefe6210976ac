package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class ImageRefTest {
  static final String H64 = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
  static final String H96 = H64 + "0123456789abcdef0123456789abcdef";
  static final String H128 = H64 + H64;
  static final String D64 = "sha256:" + H64;

  /** A good reference and what it must parse to. */
  record Good(
      String input,
      String domain,
      String path,
      String tag,
      String digest,
      String string,
      String familiar) {
    @Override
    public String toString() {
      return InvalidImageRefException.echo(input);
    }
  }

  private static Good good(
      String input,
      String domain,
      String path,
      String tag,
      String digest,
      String string,
      String familiar) {
    return new Good(input, domain, path, tag, digest, string, familiar);
  }

  static List<Good> goodRefs() {
    String name255 = "registry.corp/" + "a".repeat(120) + "/" + "b".repeat(120);
    String tag128 = "T" + "x".repeat(127);
    return List.of(
        good("nginx", "docker.io", "library/nginx", null, null, "docker.io/library/nginx", "nginx"),
        good(
            "nginx:1.25",
            "docker.io",
            "library/nginx",
            "1.25",
            null,
            "docker.io/library/nginx:1.25",
            "nginx:1.25"),
        good(
            "nginx:latest",
            "docker.io",
            "library/nginx",
            "latest",
            null,
            "docker.io/library/nginx:latest",
            "nginx:latest"),
        good(
            "library/nginx",
            "docker.io",
            "library/nginx",
            null,
            null,
            "docker.io/library/nginx",
            "nginx"),
        good(
            "docker.io/nginx",
            "docker.io",
            "library/nginx",
            null,
            null,
            "docker.io/library/nginx",
            "nginx"),
        good(
            "docker.io/library/nginx",
            "docker.io",
            "library/nginx",
            null,
            null,
            "docker.io/library/nginx",
            "nginx"),
        good(
            "index.docker.io/nginx",
            "docker.io",
            "library/nginx",
            null,
            null,
            "docker.io/library/nginx",
            "nginx"),
        // Docker Hub's API host is a host of its own, as in distribution and containerd (which
        // looks up certs.d/registry-1.docker.io for it): no merging, no implicit library/.
        good(
            "registry-1.docker.io/library/nginx:1",
            "registry-1.docker.io",
            "library/nginx",
            "1",
            null,
            "registry-1.docker.io/library/nginx:1",
            "registry-1.docker.io/library/nginx:1"),
        good(
            "registry-1.docker.io/nginx",
            "registry-1.docker.io",
            "nginx",
            null,
            null,
            "registry-1.docker.io/nginx",
            "registry-1.docker.io/nginx"),
        good(
            "DOCKER.IO/nginx",
            "docker.io",
            "library/nginx",
            null,
            null,
            "docker.io/library/nginx",
            "nginx"),
        good(
            "docker.io/library",
            "docker.io",
            "library/library",
            null,
            null,
            "docker.io/library/library",
            "library"),
        good(
            "bitnami/redis:7.2",
            "docker.io",
            "bitnami/redis",
            "7.2",
            null,
            "docker.io/bitnami/redis:7.2",
            "bitnami/redis:7.2"),
        good(
            "docker.io/library/a/b",
            "docker.io",
            "library/a/b",
            null,
            null,
            "docker.io/library/a/b",
            "library/a/b"),
        good(
            "docker.io/foo.bar/x",
            "docker.io",
            "foo.bar/x",
            null,
            null,
            "docker.io/foo.bar/x",
            "docker.io/foo.bar/x"),
        good(
            "docker.io/localhost/x",
            "docker.io",
            "localhost/x",
            null,
            null,
            "docker.io/localhost/x",
            "docker.io/localhost/x"),
        good(
            "docker.io:443/x",
            "docker.io:443",
            "x",
            null,
            null,
            "docker.io:443/x",
            "docker.io:443/x"),
        good("localhost/foo", "localhost", "foo", null, null, "localhost/foo", "localhost/foo"),
        good(
            "localhost:5000/foo:bar",
            "localhost:5000",
            "foo",
            "bar",
            null,
            "localhost:5000/foo:bar",
            "localhost:5000/foo:bar"),
        good(
            "Localhost:5000/foo",
            "localhost:5000",
            "foo",
            null,
            null,
            "localhost:5000/foo",
            "localhost:5000/foo"),
        good("LOCALHOST/foo", "localhost", "foo", null, null, "localhost/foo", "localhost/foo"),
        // Without a '/' a name is always a Docker Hub name, as in distribution.
        good(
            "localhost",
            "docker.io",
            "library/localhost",
            null,
            null,
            "docker.io/library/localhost",
            "localhost"),
        good(
            "localhost:5000",
            "docker.io",
            "library/localhost",
            "5000",
            null,
            "docker.io/library/localhost:5000",
            "localhost:5000"),
        good(
            "example.com",
            "docker.io",
            "library/example.com",
            null,
            null,
            "docker.io/library/example.com",
            "example.com"),
        good("foo:5000/bar", "foo:5000", "bar", null, null, "foo:5000/bar", "foo:5000/bar"),
        good(
            "foo.com:5000/bar@" + D64,
            "foo.com:5000",
            "bar",
            null,
            D64,
            "foo.com:5000/bar@" + D64,
            "foo.com:5000/bar@" + D64),
        good("[::1]:5000/x", "[::1]:5000", "x", null, null, "[::1]:5000/x", "[::1]:5000/x"),
        good("[::1]/x", "[::1]", "x", null, null, "[::1]/x", "[::1]/x"),
        good("[::]/x", "[::]", "x", null, null, "[::]/x", "[::]/x"),
        good(
            "[1:2:3:4:5:6:7:8]/x",
            "[1:2:3:4:5:6:7:8]",
            "x",
            null,
            null,
            "[1:2:3:4:5:6:7:8]/x",
            "[1:2:3:4:5:6:7:8]/x"),
        good(
            "[fe80::]:5000/x",
            "[fe80::]:5000",
            "x",
            null,
            null,
            "[fe80::]:5000/x",
            "[fe80::]:5000/x"),
        good(
            "[2001:DB8::1]:443/team/app",
            "[2001:db8::1]:443",
            "team/app",
            null,
            null,
            "[2001:db8::1]:443/team/app",
            "[2001:db8::1]:443/team/app"),
        good(
            "127.0.0.1:5000/x:1",
            "127.0.0.1:5000",
            "x",
            "1",
            null,
            "127.0.0.1:5000/x:1",
            "127.0.0.1:5000/x:1"),
        good(
            "Registry.Corp:5000/team/app:V1.0",
            "registry.corp:5000",
            "team/app",
            "V1.0",
            null,
            "registry.corp:5000/team/app:V1.0",
            "registry.corp:5000/team/app:V1.0"),
        good(
            "xn--bcher-kva.example/x",
            "xn--bcher-kva.example",
            "x",
            null,
            null,
            "xn--bcher-kva.example/x",
            "xn--bcher-kva.example/x"),
        good(
            "a/b/c/d:tag",
            "docker.io",
            "a/b/c/d",
            "tag",
            null,
            "docker.io/a/b/c/d:tag",
            "a/b/c/d:tag"),
        good("a__b/c", "docker.io", "a__b/c", null, null, "docker.io/a__b/c", "a__b/c"),
        good(
            "a-b--c",
            "docker.io",
            "library/a-b--c",
            null,
            null,
            "docker.io/library/a-b--c",
            "a-b--c"),
        good(
            "x/a.b_c-d---e__f",
            "docker.io",
            "x/a.b_c-d---e__f",
            null,
            null,
            "docker.io/x/a.b_c-d---e__f",
            "x/a.b_c-d---e__f"),
        good("0/1", "docker.io", "0/1", null, null, "docker.io/0/1", "0/1"),
        good(
            "ghcr.io/a/b@" + D64,
            "ghcr.io",
            "a/b",
            null,
            D64,
            "ghcr.io/a/b@" + D64,
            "ghcr.io/a/b@" + D64),
        good(
            "ghcr.io/a/b:1@" + D64,
            "ghcr.io",
            "a/b",
            "1",
            D64,
            "ghcr.io/a/b:1@" + D64,
            "ghcr.io/a/b:1@" + D64),
        good(
            "nginx@" + D64,
            "docker.io",
            "library/nginx",
            null,
            D64,
            "docker.io/library/nginx@" + D64,
            "nginx@" + D64),
        good(
            "nginx:1@sha512:" + H128,
            "docker.io",
            "library/nginx",
            "1",
            "sha512:" + H128,
            "docker.io/library/nginx:1@sha512:" + H128,
            "nginx:1@sha512:" + H128),
        good(
            "nginx@sha384:" + H96,
            "docker.io",
            "library/nginx",
            null,
            "sha384:" + H96,
            "docker.io/library/nginx@sha384:" + H96,
            "nginx@sha384:" + H96),
        good(
            "x.io/y@blake3:" + H64,
            "x.io",
            "y",
            null,
            "blake3:" + H64,
            "x.io/y@blake3:" + H64,
            "x.io/y@blake3:" + H64),
        good(
            "x.io/y@tarsum.v1+sha256:" + "0123456789ABCDEFabcdef0123456789",
            "x.io",
            "y",
            null,
            "tarsum.v1+sha256:0123456789ABCDEFabcdef0123456789",
            "x.io/y@tarsum.v1+sha256:0123456789ABCDEFabcdef0123456789",
            "x.io/y@tarsum.v1+sha256:0123456789ABCDEFabcdef0123456789"),
        good(
            "library/" + H64,
            "docker.io",
            "library/" + H64,
            null,
            null,
            "docker.io/library/" + H64,
            "library/" + H64),
        good(
            H64 + ":v1",
            "docker.io",
            "library/" + H64,
            "v1",
            null,
            "docker.io/library/" + H64 + ":v1",
            "library/" + H64 + ":v1"),
        good(
            "busybox:" + tag128,
            "docker.io",
            "library/busybox",
            tag128,
            null,
            "docker.io/library/busybox:" + tag128,
            "busybox:" + tag128),
        good(
            "busybox:_x.-",
            "docker.io",
            "library/busybox",
            "_x.-",
            null,
            "docker.io/library/busybox:_x.-",
            "busybox:_x.-"),
        good(name255, "registry.corp", name255.substring(14), null, null, name255, name255),
        good(
            "registry.corp/team/app:1@" + D64,
            "registry.corp",
            "team/app",
            "1",
            D64,
            "registry.corp/team/app:1@" + D64,
            "registry.corp/team/app:1@" + D64));
  }

  @ParameterizedTest
  @MethodSource("goodRefs")
  void parsesGoodReferences(Good g) throws InvalidImageRefException {
    ImageRef r = ImageRef.parse(g.input());
    assertAll(
        () -> assertEquals(g.domain(), r.domain(), "domain"),
        () -> assertEquals(g.path(), r.path(), "path"),
        () -> assertEquals(g.tag(), r.tag(), "tag"),
        () -> assertEquals(g.digest(), r.digest(), "digest"),
        () -> assertEquals(g.string(), r.toString(), "toString"),
        () -> assertEquals(g.familiar(), r.familiar(), "familiar"),
        () -> assertEquals(g.domain() + "/" + g.path(), r.name(), "name"));
  }

  @ParameterizedTest
  @MethodSource("goodRefs")
  void goodReferencesRoundTrip(Good g) throws InvalidImageRefException {
    ImageRef r = ImageRef.parse(g.input());
    assertEquals(r, ImageRef.parse(r.toString()), "toString");
    assertEquals(r, ImageRef.parse(r.familiar()), "familiar");
    assertEquals(new ImageRef(r.domain(), r.path(), null, null), ImageRef.parse(r.name()));
    assertEquals(new ImageRef(r.domain(), r.path(), null, null), ImageRef.parse(r.familiarName()));
    ImageRef canon = ImageRef.parse(r.canonical());
    String expectedTag = r.tag() == null && r.digest() == null ? "latest" : r.tag();
    assertEquals(new ImageRef(r.domain(), r.path(), expectedTag, r.digest()), canon);
    assertEquals(r.canonical(), canon.canonical(), "canonical is idempotent");
    assertEquals(r.effectiveTag(), canon.effectiveTag());
    assertEquals(canon, ImageRef.parse(canon.familiar()));
  }

  static Stream<Arguments> badRefs() {
    return Stream.of(
        Arguments.of("", "reference is empty"),
        Arguments.of("NGINX", "repository name must be lowercase"),
        Arguments.of("Nginx:1", "repository name must be lowercase"),
        Arguments.of("library/Nginx", "repository name must be lowercase"),
        Arguments.of("registry.corp/Team/app", "repository name must be lowercase"),
        // Distribution reads an uppercase first component as a host; lowercased it would read
        // as a Docker Hub namespace, so it is refused.
        Arguments.of("Foo/bar", "repository name must be lowercase (a registry host needs"),
        Arguments.of("a___b", "invalid repository name component \"a___b\""),
        Arguments.of("a..b", "invalid repository name component \"a..b\""),
        Arguments.of("a._b", "invalid repository name component"),
        Arguments.of("a-_b", "invalid repository name component"),
        Arguments.of("-a", "must start with a lowercase letter or digit"),
        Arguments.of("_a", "must start with a lowercase letter or digit"),
        Arguments.of("a-", "must not end with a separator"),
        Arguments.of("x/a./b", "must not end with a separator"),
        Arguments.of("a/", "must not have empty components"),
        Arguments.of("a//b", "must not have empty components"),
        Arguments.of("/a", "repository name must not have empty components"),
        Arguments.of("registry.corp/", "repository name must not be empty"),
        Arguments.of(":tag", "repository name must not be empty"),
        Arguments.of("@sha256:abc", "repository name must not be empty"),
        Arguments.of("nginx:", "tag must not be empty"),
        Arguments.of("nginx:" + "a".repeat(129), "tag must not be more than 128 characters"),
        Arguments.of("nginx:.tag", "tag must start with a letter, digit or '_'"),
        Arguments.of("nginx:-tag", "tag must start with a letter, digit or '_'"),
        Arguments.of("nginx:a+b", "invalid character '+' in tag"),
        Arguments.of("nginx:latest ", "invalid character space (U+0020) in tag"),
        Arguments.of("ghcr.io/a/b:c:d", "invalid character ':' in repository name"),
        Arguments.of("nginx@", "digest must not be empty"),
        Arguments.of("nginx@sha256", "digest must have the form algorithm:hex"),
        Arguments.of(
            "nginx@sha256:" + H64.substring(1),
            "sha256 digest must have 64 hex characters, not 63"),
        Arguments.of(
            "nginx@sha256:" + H64 + "0", "sha256 digest must have 64 hex characters, not 65"),
        Arguments.of("nginx@sha256:" + H64.toUpperCase(), "sha256 digest must be lowercase hex"),
        Arguments.of("nginx@SHA256:" + H64, "digest algorithm must be lowercase"),
        Arguments.of("nginx@sha512:" + H64, "sha512 digest must have 128 hex characters, not 64"),
        Arguments.of("nginx@md5:abc", "digest must have at least 32 hex characters, not 3"),
        Arguments.of("nginx@1sha:" + H64, "invalid digest algorithm \"1sha\""),
        Arguments.of("nginx@sha256+:" + H64, "invalid digest algorithm"),
        Arguments.of("nginx@:" + H64, "invalid digest algorithm \"\""),
        Arguments.of("nginx@sha256:" + H64 + "@sha256:" + H64, "invalid character '@' in digest"),
        Arguments.of("nginx@sha256:" + "g".repeat(64), "invalid character 'g' in digest"),
        Arguments.of(
            "registry.corp/" + "a".repeat(240) + "/b", "must not be more than 255 characters"),
        Arguments.of("a".repeat(248), "must not be more than 255 characters"),
        Arguments.of(H64, "cannot specify 64-byte hexadecimal strings"),
        Arguments.of(" ", "invalid character space (U+0020) in repository name"),
        Arguments.of("\t", "invalid character U+0009 in repository name"),
        Arguments.of(" nginx", "invalid character space (U+0020) in repository name"),
        Arguments.of("foo bar", "invalid character space (U+0020) in repository name"),
        Arguments.of("nginx\n", "invalid character U+000A in repository name"),
        Arguments.of("nginx\r\n", "invalid character U+000D in repository name"),
        Arguments.of("ngi\u0000nx", "invalid character U+0000 in repository name"),
        Arguments.of("ngin\u0445", "invalid character '\u0445' (U+0445) in repository name"),
        Arguments.of("\uff4eginx", "invalid character '\uff4e' (U+FF4E) in repository name"),
        Arguments.of("caf\u00e9", "invalid character '\u00e9' (U+00E9) in repository name"),
        Arguments.of("a\u200bb", "invalid character U+200B in repository name"),
        Arguments.of(
            "a\ud83d\ude00", "invalid character '\ud83d\ude00' (U+1F600) in repository name"),
        Arguments.of("a\ud800", "invalid character U+D800 in repository name"),
        Arguments.of(
            "gh\u0441r.io/a",
            "invalid registry host \"gh\u0441r.io\": invalid character '\u0441' (U+0441)"),
        Arguments.of(
            "registry_corp.com/x",
            "invalid registry host \"registry_corp.com\": invalid character '_'"),
        Arguments.of("a.b_c-d/e", "invalid registry host"),
        Arguments.of("-registry.corp/x", "a host name component must not start with '-'"),
        Arguments.of("registry-.corp/x", "a host name component must not end with '-'"),
        Arguments.of("registry..corp/x", "empty host name component"),
        Arguments.of(".corp/x", "empty host name component"),
        Arguments.of("registry.corp./x", "empty host name component"),
        Arguments.of("registry.corp:/x", "invalid port \"\""),
        Arguments.of("registry.corp:0/x", "invalid port \"0\""),
        Arguments.of("registry.corp:05000/x", "invalid port \"05000\""),
        Arguments.of("registry.corp:65536/x", "invalid port \"65536\""),
        Arguments.of("registry.corp:99999999999/x", "invalid port"),
        Arguments.of("registry.corp:5000:5000/x", "invalid port \"5000:5000\""),
        Arguments.of("https://registry.corp/x", "invalid port \"\""),
        Arguments.of("[::1/x", "an IPv6 address in brackets"),
        Arguments.of("[]:5000/x", "an IPv6 address in brackets"),
        Arguments.of("[::g]/x", "an IPv6 address in brackets"),
        Arguments.of("[1::2::3]/x", "an IPv6 address in brackets"),
        Arguments.of("[:]/x", "an IPv6 address in brackets"),
        Arguments.of("[:::]/x", "an IPv6 address in brackets"),
        Arguments.of("[fffff::1]:5000/x", "an IPv6 address in brackets"),
        Arguments.of("[1:2:3:4:5:6:7]/x", "an IPv6 address in brackets"),
        Arguments.of("[1:2:3:4:5:6:7:8:9]/x", "an IPv6 address in brackets"),
        Arguments.of("[1:2:3:4:5:6:7::8]/x", "an IPv6 address in brackets"),
        Arguments.of("[1:]/x", "an IPv6 address in brackets"),
        Arguments.of("[:1]/x", "an IPv6 address in brackets"),
        Arguments.of("[1.2.3.4]/x", "an IPv6 address in brackets"),
        Arguments.of("[::ffff:1.2.3.4]/x", "an IPv6 address in brackets"),
        Arguments.of("[::1]x/y", "invalid registry host \"[::1]x\": invalid character 'x'"),
        Arguments.of("x/[::1]", "in repository name"),
        Arguments.of("*", "invalid character '*' in repository name"),
        Arguments.of("registry.corp/team/*", "invalid character '*' in repository name"),
        Arguments.of("a/b%2fc", "invalid character '%' in repository name"));
  }

  @ParameterizedTest
  @MethodSource("badRefs")
  void refusesBadReferences(String input, String fragment) {
    InvalidImageRefException e =
        assertThrows(InvalidImageRefException.class, () -> ImageRef.parse(input));
    assertTrue(
        e.getMessage().contains(fragment),
        () -> "message " + e.getMessage() + " lacks " + fragment);
    assertTrue(e.getMessage().startsWith("invalid reference \""), e.getMessage());
    assertEquals(input, e.input());
    assertFalse(e.getMessage().endsWith("."), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), "one line");
    assertTrue(e.getMessage().endsWith(": " + e.reason()), e.getMessage());
    assertTrue(e.reason().contains(fragment), e.reason());
  }

  @Test
  void messageFormat() {
    InvalidImageRefException e =
        assertThrows(InvalidImageRefException.class, () -> ImageRef.parse("NGINX"));
    assertEquals("invalid reference \"NGINX\": repository name must be lowercase", e.getMessage());
    e = assertThrows(InvalidImageRefException.class, () -> ImageRef.parse("Foo/bar"));
    assertEquals(
        "invalid reference \"Foo/bar\": repository name must be lowercase"
            + " (a registry host needs a '.' or a port, or must be localhost)",
        e.getMessage());
    e = assertThrows(InvalidImageRefException.class, () -> ImageRef.parse("a\"b\\c\n\u0000\u202e"));
    assertTrue(
        e.getMessage().startsWith("invalid reference \"a\\\"b\\\\c\\n\\u0000\\u202e\": "),
        e.getMessage());
  }

  @Test
  void nullIsRefusedWithTheCheckedException() {
    InvalidImageRefException e =
        assertThrows(InvalidImageRefException.class, () -> ImageRef.parse(null));
    assertEquals("invalid reference null: reference is null", e.getMessage());
    assertNull(e.input());
  }

  @Test
  void hugeInputIsEchoedShortened() {
    String huge = "a".repeat(1_000_000) + "B";
    InvalidImageRefException e =
        assertThrows(InvalidImageRefException.class, () -> ImageRef.parse(huge));
    assertTrue(e.getMessage().length() < 300, () -> "length " + e.getMessage().length());
    assertTrue(e.getMessage().contains("... (1000001 characters)"), e.getMessage());
    assertEquals(huge, e.input());
    // A huge digest is the one unbounded part of the grammar; it still parses in linear time.
    String longDigest = "x.io/y@blake3:" + "a".repeat(1_000_000);
    assertTrue(assertDoesNotThrowChecked(longDigest).hasDigest());
  }

  private static ImageRef assertDoesNotThrowChecked(String s) {
    try {
      return ImageRef.parse(s);
    } catch (InvalidImageRefException e) {
      throw new AssertionError(e);
    }
  }

  @ParameterizedTest
  @CsvSource({
    // input,                      host,            port, effectiveTag
    "nginx,                        docker.io,       -1,   latest",
    "nginx:1.25,                   docker.io,       -1,   1.25",
    "registry.corp:5000/a,         registry.corp,   5000, latest",
    "localhost:5000/foo:bar,       localhost,       5000, bar",
    "'[::1]:5000/x',               '[::1]',         5000, latest",
    "'[::1]/x',                    '[::1]',         -1,   latest",
    "127.0.0.1:65535/x,            127.0.0.1,       65535, latest",
  })
  void hostPortAndEffectiveTag(String input, String host, int port, String effectiveTag)
      throws InvalidImageRefException {
    ImageRef r = ImageRef.parse(input);
    assertEquals(host, r.host());
    assertEquals(port, r.port());
    assertEquals(effectiveTag, r.effectiveTag());
  }

  @Test
  void tagAndDigestAccessors() throws InvalidImageRefException {
    ImageRef plain = ImageRef.parse("nginx");
    assertFalse(plain.hasTag());
    assertFalse(plain.hasDigest());
    assertEquals("latest", plain.effectiveTag());
    assertEquals("docker.io/library/nginx:latest", plain.canonical());
    assertEquals("nginx", plain.familiar());
    assertEquals("nginx", plain.familiarName());

    ImageRef pinned = ImageRef.parse("nginx@" + D64);
    assertFalse(pinned.hasTag());
    assertTrue(pinned.hasDigest());
    assertNull(pinned.effectiveTag());
    assertEquals("docker.io/library/nginx@" + D64, pinned.canonical());

    ImageRef both = ImageRef.parse("ghcr.io/a/b:1@" + D64);
    assertTrue(both.hasTag());
    assertTrue(both.hasDigest());
    assertEquals("1", both.effectiveTag());
    assertEquals("ghcr.io/a/b:1@" + D64, both.canonical());
  }

  @Test
  void equalityIsOnNormalizedComponents() throws InvalidImageRefException {
    ImageRef a = ImageRef.parse("nginx");
    for (String s :
        List.of(
            "docker.io/nginx",
            "library/nginx",
            "docker.io/library/nginx",
            "index.docker.io/library/nginx",
            "Index.Docker.IO/nginx")) {
      assertEquals(a, ImageRef.parse(s), s);
      assertEquals(a.hashCode(), ImageRef.parse(s).hashCode(), s);
    }
    for (String s : List.of("registry-1.docker.io/library/nginx", "Registry-1.Docker.IO/nginx")) {
      assertFalse(a.equals(ImageRef.parse(s)), s + " is another host, as containerd sees it");
    }
    assertFalse(a.equals(ImageRef.parse("nginx:latest")), "an explicit tag is kept");
  }

  @Test
  void constructorRefusesMisuse() {
    assertThrows(
        IllegalArgumentException.class, () -> new ImageRef("docker.io", "nginx", null, null));
    assertThrows(
        IllegalArgumentException.class,
        () -> new ImageRef("Docker.io", "library/nginx", null, null));
    assertThrows(
        IllegalArgumentException.class,
        () -> new ImageRef("index.docker.io", "library/nginx", null, null));
    assertThrows(IllegalArgumentException.class, () -> new ImageRef("foo", "bar", null, null));
    assertThrows(IllegalArgumentException.class, () -> new ImageRef("x.io", "Bar", null, null));
    assertThrows(IllegalArgumentException.class, () -> new ImageRef("x.io", "bar", "", null));
    assertThrows(
        IllegalArgumentException.class, () -> new ImageRef("x.io", "bar", null, "sha256:0"));
    assertThrows(IllegalArgumentException.class, () -> new ImageRef("x.io:0", "bar", null, null));
    assertThrows(NullPointerException.class, () -> new ImageRef(null, "bar", null, null));
    assertEquals("x.io/bar:t", new ImageRef("x.io", "bar", "t", null).toString());
  }
}
