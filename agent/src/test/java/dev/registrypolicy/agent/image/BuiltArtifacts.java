package dev.registrypolicy.agent.image;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;

/**
 * What the build made that the image tests check, named by system properties the module's failsafe
 * configuration sets: {@code rp.image.archive} (the OCI archive), {@code rp.jlink.runtime} (the
 * jlinked runtime) and {@code rp.app.jar} (the shaded jar). A missing one fails the test: the image
 * tests run after {@code package} and prove what it made.
 */
public final class BuiltArtifacts {

  private BuiltArtifacts() {}

  public static Path imageArchive() {
    return existing("rp.image.archive", "the OCI image archive");
  }

  public static Path jlinkRuntime() {
    Path r = existing("rp.jlink.runtime", "the jlinked runtime");
    if (!Files.isExecutable(r.resolve("bin/java"))) {
      fail(r + "/bin/java is not an executable: not a Java runtime");
    }
    return r;
  }

  public static Path appJar() {
    return existing("rp.app.jar", "the application jar");
  }

  /** The image tag: the jar's Implementation-Version without {@code -SNAPSHOT}. */
  public static String imageTag() {
    try (JarFile jar = new JarFile(appJar().toFile())) {
      String v = jar.getManifest().getMainAttributes().getValue("Implementation-Version");
      if (v == null || v.isBlank()) {
        fail(appJar() + " has no Implementation-Version in its manifest");
      }
      return v.replace("-SNAPSHOT", "");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + appJar() + ": " + e.getMessage(), e);
    }
  }

  private static Path existing(String property, String what) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      fail(
          "system property "
              + property
              + " (the path of "
              + what
              + ") is not set; the image tests run through the module's failsafe configuration"
              + " (./mvnw verify)");
    }
    Path p = Path.of(value);
    if (!Files.exists(p)) {
      fail(what + " " + p + " does not exist; ./mvnw package builds it");
    }
    return p;
  }
}
