package dev.registrypolicy.agent.lab;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One containerd binary found on this machine, with the version it reports.
 *
 * @param version numeric version, e.g. {@code 1.7.24} (suffixes such as {@code ~ds1} dropped)
 * @param binary path of the {@code containerd} executable
 * @param versionLine full output of {@code containerd --version}
 */
public record ContainerdBuild(String version, Path binary, String versionLine)
    implements Comparable<ContainerdBuild> {

  private static final Pattern NUMERIC = Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)");

  public ContainerdBuild {
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(binary, "binary");
    Objects.requireNonNull(versionLine, "versionLine");
    if (!NUMERIC.matcher(version).matches()) {
      throw new IllegalArgumentException("not a numeric version: " + version);
    }
  }

  /**
   * Parses the output of {@code containerd --version}, e.g. {@code containerd
   * github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3} or {@code containerd
   * github.com/containerd/containerd/v2 2.1.9+unknown}.
   */
  public static ContainerdBuild parse(Path binary, String versionOutput) {
    String line = versionOutput.strip();
    String[] words = line.split("\\s+");
    // The third word is the release; fall back to the first x.y.z anywhere in the line.
    Matcher m = words.length >= 3 ? NUMERIC.matcher(words[2]) : NUMERIC.matcher("");
    if (!m.lookingAt()) {
      m = NUMERIC.matcher(line);
      if (!m.find()) {
        throw new IllegalArgumentException("no version in '" + line + "' from " + binary);
      }
    }
    return new ContainerdBuild(m.group(), binary, line);
  }

  public int major() {
    return part(0);
  }

  public int minor() {
    return part(1);
  }

  public int patch() {
    return part(2);
  }

  /**
   * containerd 2.x: config {@code version = 3}, CRI image plugin {@code
   * io.containerd.cri.v1.images}.
   */
  public boolean isV2() {
    return major() >= 2;
  }

  private int part(int i) {
    return Integer.parseInt(version.split("\\.")[i]);
  }

  @Override
  public int compareTo(ContainerdBuild o) {
    for (int i = 0; i < 3; i++) {
      int c = Integer.compare(part(i), o.part(i));
      if (c != 0) {
        return c;
      }
    }
    return binary.toString().compareTo(o.binary.toString());
  }

  @Override
  public String toString() {
    return "containerd " + version + " (" + binary + ")";
  }
}
