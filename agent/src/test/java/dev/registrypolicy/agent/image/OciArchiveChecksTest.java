package dev.registrypolicy.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image checks themselves, on small archives built here: a good image passes, and each kind of
 * breakage the image tests look for is found — a blob that does not match its name, a wrong size, a
 * wrong diff_id, a missing oci-layout, links that leave the image, dangle or loop, private keys
 * (also inside a jar), Maven credentials, a shell, a wrong entrypoint, user or Cmd.
 */
class OciArchiveChecksTest {

  private static final String JAR = "registry-policy-agent.jar";

  @TempDir Path tmp;

  /** An image that keeps the contract. */
  private static OciImageBuilder good() {
    return new OciImageBuilder()
        .dir("opt/")
        .dir("opt/java/")
        .dir("opt/java/bin/")
        .file("opt/java/bin/java", "ELF".getBytes(StandardCharsets.US_ASCII), 0755)
        .file("opt/java/release", "JAVA_VERSION=\"17\"\nMODULES=\"java.base jdk.crypto.ec\"\n")
        .dir("opt/java/lib/")
        .file("opt/java/lib/libjava.so", "ELF")
        .symlink("opt/java/lib/libjava-link.so", "libjava.so")
        .dir("lib/")
        .dir("lib/x86_64-linux-gnu/")
        .file("lib/x86_64-linux-gnu/libc.so.6", "ELF")
        .dir("lib64/")
        .symlink("lib64/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6")
        .dir("etc/")
        .file(
            "etc/passwd",
            "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/:/sbin/nologin\n")
        .file("etc/group", "root:x:0:\nnonroot:x:65532:\n")
        .file("etc/ssl/ca.pem", certificatePem())
        .dir("app/")
        .file("app/" + JAR, jar("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n"), 0644)
        .entrypoint(List.of("java", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/" + JAR))
        .user("0")
        .env(List.of("PATH=/opt/java/bin:/usr/bin:/bin"));
  }

  private OciArchive write(Map<String, byte[]> entries) throws IOException {
    Path p = Files.createTempFile(tmp, "image-", ".tar");
    OciImageBuilder.write(entries, p);
    return OciArchive.read(p);
  }

  private List<String> violations(OciImageBuilder b, String user) throws IOException {
    OciArchive a = write(b.entries());
    assertEquals(List.of(), a.problems());
    return ImageContract.violations(
        a, a.filesystem(), new ImageContract.Expectation(JAR, user, null, null, Set.of()));
  }

  private static void assertFound(List<String> found, String what, Predicate<String> match) {
    assertTrue(found.stream().anyMatch(match), what + " not found in " + found);
  }

  @Test
  void goodImagePasses() throws IOException {
    OciArchive a = write(good().entries());
    assertEquals(List.of(), a.problems());
    assertEquals(
        List.of("java", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/" + JAR), a.entrypoint());
    assertEquals(List.of(), violations(good(), "0"));
  }

  @Test
  void blobThatDoesNotMatchItsNameIsFound() throws IOException {
    Map<String, byte[]> e = good().entries();
    String layer = e.keySet().stream().filter(k -> k.startsWith("blobs/")).findFirst().get();
    byte[] b = e.get(layer).clone();
    b[b.length - 1] ^= 1;
    e.put(layer, b);
    assertFound(
        write(e).problems(), "digest mismatch", p -> p.contains("not the one its name says"));
  }

  @Test
  void wrongSizeIsFound() throws IOException {
    Map<String, byte[]> e = good().entries();
    String layer = e.keySet().stream().filter(k -> k.startsWith("blobs/")).findFirst().get();
    byte[] grown = java.util.Arrays.copyOf(e.get(layer), e.get(layer).length + 1);
    e.remove(layer);
    e.put(OciImageBuilder.blobName(grown), grown);
    // The manifest still names the old blob: it is missing now.
    assertFound(
        write(e).problems(), "missing blob", p -> p.contains("which the archive does not hold"));
  }

  @Test
  void wrongDiffIdIsFound() throws IOException {
    assertFound(
        write(good().wrongDiffId().entries()).problems(),
        "diff_id mismatch",
        p -> p.contains("but the config's diff_ids[0]"));
  }

  @Test
  void missingLayoutFileIsFound() throws IOException {
    Map<String, byte[]> e = good().entries();
    e.remove("oci-layout");
    assertFound(write(e).problems(), "no oci-layout", p -> p.contains("no oci-layout"));
  }

  @Test
  void escapingDanglingAndLoopingLinksAreFound() throws IOException {
    List<String> v =
        violations(
            good()
                .symlink("opt/java/lib/escape", "../../../../etc/passwd")
                .symlink("opt/java/lib/dangling.so", "libgone.so")
                .symlink("opt/java/lib/a", "b")
                .symlink("opt/java/lib/b", "a")
                .hardlink("opt/java/lib/hard", "opt/java/lib/nothing"),
            "0");
    assertFound(
        v, "escaping link", p -> p.startsWith("/opt/java/lib/escape") && p.contains("outside"));
    assertFound(
        v,
        "dangling link",
        p -> p.startsWith("/opt/java/lib/dangling.so") && p.contains("dangles"));
    assertFound(v, "link loop", p -> p.startsWith("/opt/java/lib/a ") && p.contains("loop"));
    assertFound(v, "hard link to nothing", p -> p.contains("/opt/java/lib/hard"));
    assertEquals(6, v.size(), v.toString()); // the hard link is reported when read and when checked
  }

  @Test
  void secretsAreFoundAlsoInsideJars() throws IOException {
    String key = privateKeyPem();
    List<String> v =
        violations(
            good()
                .file("etc/ssl/private/server.key", key)
                .file("app/lib/extra.jar", jar("keys/leaked.pem", key), 0644)
                .file("root/.m2/settings.xml", "<settings><servers/></settings>")
                .file("home/nonroot/.docker/config.json", "{\"auths\":{}}")
                .file("opt/java/lib/Strings.class", "-----BEGIN PRIVATE KEY-----\" + body"),
            "0");
    assertFound(
        v, "key file", p -> p.contains("/etc/ssl/private/server.key: holds a PEM PRIVATE KEY"));
    assertFound(v, "key in a jar", p -> p.contains("/app/lib/extra.jar!/keys/leaked.pem"));
    assertFound(v, ".m2", p -> p.contains("/root/.m2/settings.xml"));
    assertFound(v, "docker config", p -> p.contains("/home/nonroot/.docker/config.json"));
    assertTrue(
        v.stream().noneMatch(p -> p.contains("Strings.class")),
        "a BEGIN line without a key body is no key: " + v);
    assertTrue(v.stream().noneMatch(p -> p.contains("ca.pem")), "a certificate is no secret: " + v);
  }

  @Test
  void onlyTheKeysNamedAsPublicAreAllowed() throws IOException {
    String demo = privateKeyPem();
    String other = privateKeyPem();
    OciArchive a = write(good().file("app/demo.key", demo).file("app/other.key", other).entries());
    String demoSha = keySha(demo);
    List<String> v =
        ImageContract.violations(
            a,
            a.filesystem(),
            new ImageContract.Expectation(JAR, "0", null, null, Set.of(demoSha)));
    assertEquals(1, v.size(), v.toString());
    assertTrue(
        v.get(0)
            .startsWith(
                "secret: /app/other.key: holds a PEM PRIVATE KEY block (key "
                    + keySha(other)
                    + ")"),
        v.toString());
  }

  private static String keySha(String pem) {
    String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return OciArchive.sha256(Base64.getDecoder().decode(body));
  }

  @Test
  void contractBreachesAreFound() throws IOException {
    List<String> v =
        violations(
            good()
                .file("bin/sh", "ELF".getBytes(StandardCharsets.US_ASCII), 0755)
                .entrypoint(List.of("/bin/sh", "-c", "java -jar /app/" + JAR))
                .cmd(List.of("--help"))
                .env(List.of("PATH=/usr/bin:/bin", "REGISTRY_PASSWORD=x")),
            "65532");
    assertFound(v, "entrypoint", p -> p.startsWith("Entrypoint is"));
    assertFound(v, "cmd", p -> p.startsWith("Cmd is"));
    assertFound(v, "user", p -> p.startsWith("User is \"0\", expected \"65532\""));
    assertFound(v, "PATH", p -> p.startsWith("PATH is"));
    assertFound(v, "java on PATH", p -> p.contains("not the executable /opt/java/bin/java"));
    assertFound(v, "secret env", p -> p.contains("REGISTRY_PASSWORD"));
    assertFound(v, "shell", p -> p.startsWith("/bin/sh is in the image"));
  }

  // ---------------------------------------------------------------------------------------------

  private static String privateKeyPem() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(256);
      byte[] der = g.generateKeyPair().getPrivate().getEncoded();
      return "-----BEGIN PRIVATE KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
          + "\n-----END PRIVATE KEY-----\n";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String certificatePem() {
    return "-----BEGIN CERTIFICATE-----\n"
        + "MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGUtb25seS10ZXN0MAoGCCqGSM49BAMC\n"
        + "-----END CERTIFICATE-----\n";
  }

  private static byte[] jar(String name, String content) {
    try {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      try (ZipOutputStream zip = new ZipOutputStream(buf)) {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(content.getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
      return buf.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
