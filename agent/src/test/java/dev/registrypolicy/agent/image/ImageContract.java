package dev.registrypolicy.agent.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The image contract both images are built to (see the project's image section in the agent's and
 * the controller's README): the jar at {@code /app/<jar>} run by the entrypoint {@code [java, <JVM
 * flags>, -jar, /app/<jar>]} with no Cmd, {@code java} found on the image's PATH in {@code
 * /opt/java/bin}, the given user, {@code /etc/passwd} and {@code /etc/group} with root (0) and
 * nonroot (65532), no shell and no {@code sleep}, no link that leaves the image or dangles, no
 * special files or setuid bits, and nothing that looks like a secret in the files or the config's
 * environment.
 *
 * <p>{@link #violations} lists every breach (empty: the image keeps the contract).
 */
public final class ImageContract {

  /** Paths no image of ours may have: a shell or a sleep would be a way in or a crutch. */
  static final List<String> FORBIDDEN =
      List.of(
          "/bin/sh",
          "/bin/bash",
          "/bin/ash",
          "/bin/dash",
          "/usr/bin/sh",
          "/usr/bin/bash",
          "/bin/busybox",
          "/usr/bin/busybox",
          "/bin/sleep",
          "/usr/bin/sleep");

  private static final Pattern SECRET_ENV =
      Pattern.compile("(?i).*(password|passwd|secret|token|credential|api_?key|private_?key).*");

  /**
   * What one image must be.
   *
   * @param jarName the jar's file name under {@code /app}
   * @param user the config's {@code User}
   * @param builtJar the jar the build made (its bytes must be the image's), or null
   * @param runtime the jlinked runtime the build made (its {@code release} file must be the image's
   *     {@code /opt/java/release}), or null
   * @param publicKeys private keys that are public by design (e.g. the agent demo's), each as
   *     {@code sha256:<hex>} of its DER bytes: found, they are not a secret; every other key is
   */
  public record Expectation(
      String jarName, String user, Path builtJar, Path runtime, Set<String> publicKeys) {
    public Expectation {
      publicKeys = Set.copyOf(publicKeys);
    }
  }

  private ImageContract() {}

  public static List<String> violations(OciArchive image, ImageFs fs, Expectation want)
      throws IOException {
    List<String> out = new ArrayList<>();
    String jar = "/app/" + want.jarName();

    List<String> ep = image.entrypoint();
    if (ep.size() < 3
        || !ep.get(0).equals("java")
        || !ep.get(ep.size() - 2).equals("-jar")
        || !ep.get(ep.size() - 1).equals(jar)) {
      out.add("Entrypoint is " + ep + ", expected [java, <JVM flags>..., -jar, " + jar + "]");
    } else {
      for (String flag : ep.subList(1, ep.size() - 2)) {
        if (!flag.startsWith("-")) {
          out.add("Entrypoint element " + flag + " between java and -jar is not a JVM flag");
        }
      }
    }
    if (!image.cmd().isEmpty()) {
      out.add("Cmd is " + image.cmd() + ": the image must run the jar with only the args given");
    }
    if (!want.user().equals(image.user())) {
      out.add("User is \"" + image.user() + "\", expected \"" + want.user() + "\"");
    }

    Map<String, String> env = image.env();
    String path = env.getOrDefault("PATH", "");
    if (!path.startsWith("/opt/java/bin")) {
      out.add("PATH is \"" + path + "\", expected it to start with /opt/java/bin");
    }
    boolean javaFound = false;
    for (String dir : path.split(":")) {
      if (dir.isEmpty()) {
        continue;
      }
      ImageFs.Resolution r = fs.resolve(dir + "/java");
      Optional<ImageFs.Node> n = r.ok() ? fs.node(r.path()) : Optional.empty();
      if (n.isPresent() && n.get().kind() == ImageFs.Kind.FILE && (n.get().mode() & 0111) != 0) {
        javaFound = dir.equals("/opt/java/bin");
        break;
      }
    }
    if (!javaFound) {
      out.add("the entrypoint's java is not the executable /opt/java/bin/java on the image's PATH");
    }
    for (String name : env.keySet()) {
      if (SECRET_ENV.matcher(name).matches()) {
        out.add("config Env sets " + name + ", which looks like a credential");
      }
    }

    Optional<ImageFs.Node> jarNode = fs.node(jar);
    if (jarNode.isEmpty() || jarNode.get().kind() != ImageFs.Kind.FILE) {
      out.add(jar + " is not a regular file in the image");
    } else if (want.builtJar() != null) {
      String built = OciArchive.sha256(Files.readAllBytes(want.builtJar()));
      if (!built.equals(jarNode.get().sha256())) {
        out.add(
            jar
                + " is "
                + jarNode.get().sha256()
                + ", not the built "
                + want.builtJar()
                + " "
                + built);
      }
    }
    if (want.runtime() != null) {
      Path release = want.runtime().resolve("release");
      Optional<byte[]> inImage = fs.content("/opt/java/release");
      if (inImage.isEmpty()) {
        out.add("/opt/java/release is missing: /opt/java is not a jlinked runtime");
      } else if (!Arrays.equals(inImage.get(), Files.readAllBytes(release))) {
        out.add("/opt/java/release differs from the built runtime's " + release);
      }
    }

    String passwd = text(fs, "/etc/passwd");
    String group = text(fs, "/etc/group");
    if (!Pattern.compile("(?m)^root:[^:]*:0:0:").matcher(passwd).find()) {
      out.add("/etc/passwd has no root (0:0) entry");
    }
    if (!Pattern.compile("(?m)^nonroot:[^:]*:65532:65532:").matcher(passwd).find()) {
      out.add("/etc/passwd has no nonroot (65532:65532) entry");
    }
    if (!Pattern.compile("(?m)^root:[^:]*:0:").matcher(group).find()) {
      out.add("/etc/group has no root (0) entry");
    }
    if (!Pattern.compile("(?m)^nonroot:[^:]*:65532:").matcher(group).find()) {
      out.add("/etc/group has no nonroot (65532) entry");
    }

    for (String f : FORBIDDEN) {
      if (fs.node(f).isPresent()) {
        out.add(f + " is in the image: no shell and no sleep");
      }
    }
    out.addAll(fs.entryProblems());
    out.addAll(fs.linkProblems());
    for (String s : fs.secrets()) {
      if (want.publicKeys().stream().noneMatch(k -> s.endsWith("(key " + k + ")"))) {
        out.add("secret: " + s);
      }
    }
    return out;
  }

  private static String text(ImageFs fs, String path) {
    ImageFs.Resolution r = fs.resolve(path);
    return r.ok()
        ? fs.content(r.path()).map(b -> new String(b, StandardCharsets.UTF_8)).orElse("")
        : "";
  }
}
