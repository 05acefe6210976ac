package dev.registrypolicy.controller.imagemeta;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * An OCI platform ({@code os}, {@code architecture}, {@code variant}) and the matching containerd
 * does when it picks a manifest from an index for a node: {@code platforms.Only(p)} (containerd's
 * default platform matcher), which normalizes both sides and accepts, in this order of preference,
 * the platform itself and the platforms it can also run (amd64/vN → amd64/vN-1 … → 386; arm/vN →
 * arm/vN-1 … v5; arm64/v9.x → arm64/v9.{x-1..0}, arm64/v8.{x+5..0} → arm/v8 … v5). Source:
 * containerd/platforms {@code compare.go} ({@code platformVector}, {@code Only}) and {@code
 * database.go} ({@code normalizeOS}, {@code normalizeArch}), as vendored in moby/moby.
 *
 * @param os e.g. {@code linux}
 * @param architecture e.g. {@code amd64}
 * @param variant e.g. {@code v8}, or "" for none
 */
public record Platform(String os, String architecture, String variant) {
  /** The default platform of a node: linux/amd64. */
  public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", "");

  public Platform {
    Objects.requireNonNull(os, "os");
    Objects.requireNonNull(architecture, "architecture");
    variant = variant == null ? "" : variant;
  }

  /**
   * Parses {@code os/arch[/variant]} ({@code linux/arm64/v8}).
   *
   * @throws IllegalArgumentException naming the text when it has not two or three non-empty parts
   */
  public static Platform parse(String spec) {
    String[] p = spec == null ? new String[0] : spec.split("/", -1);
    if (p.length < 2 || p.length > 3) {
      throw new IllegalArgumentException(
          "platform \"" + spec + "\" is not os/architecture[/variant], e.g. linux/amd64");
    }
    for (String part : p) {
      if (part.isEmpty()
          || !part.chars()
              .allMatch(
                  c ->
                      c < 0x7f
                          && (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-'))) {
        throw new IllegalArgumentException(
            "platform \"" + spec + "\" has an empty or invalid part (letters, digits, . _ -)");
      }
    }
    return new Platform(p[0], p[1], p.length == 3 ? p[2] : "");
  }

  /** containerd's normalization: lowercase, aliases ({@code x86_64}, {@code aarch64}, …). */
  Platform normalize() {
    String o = os.isEmpty() ? "linux" : os.toLowerCase(Locale.ROOT); // normalizeOS: "" = runtime OS
    if (o.equals("macos")) {
      o = "darwin";
    }
    String a = architecture.toLowerCase(Locale.ROOT);
    String v = variant.toLowerCase(Locale.ROOT);
    switch (a) {
      case "i386" -> {
        a = "386";
        v = "";
      }
      case "x86_64", "x86-64", "amd64" -> {
        a = "amd64";
        if (v.equals("v1")) {
          v = "";
        }
      }
      case "aarch64", "arm64" -> {
        a = "arm64";
        switch (v) {
          case "8", "v8", "v8.0" -> v = "";
          case "9", "9.0", "v9.0" -> v = "v9";
          default -> {}
        }
      }
      case "armhf" -> {
        a = "arm";
        v = "v7";
      }
      case "armel" -> {
        a = "arm";
        v = "v6";
      }
      case "arm" -> {
        switch (v) {
          case "", "7" -> v = "v7";
          case "5", "6", "8" -> v = "v" + v;
          default -> {}
        }
      }
      default -> {}
    }
    return new Platform(o, a, v);
  }

  /**
   * arm64 variant → (majors, highest minor per major), containerd's {@code arm64variantToVersion}.
   */
  private static final Map<String, int[][]> ARM64 = arm64Table();

  private static Map<String, int[][]> arm64Table() {
    Map<String, int[][]> m = new java.util.HashMap<>();
    m.put("v8", new int[][] {{8}, {0}});
    for (int i = 0; i <= 9; i++) {
      m.put("v8." + i, new int[][] {{8}, {i}});
    }
    int[][] v9 = {{9, 8}, {0, 5}};
    m.put("v9", v9);
    for (int i = 0; i <= 7; i++) {
      m.put("v9." + i, new int[][] {{9, 8}, {i, Math.min(i + 5, 9)}});
    }
    return Map.copyOf(m);
  }

  /** The platforms this one accepts, best first (containerd's {@code platformVector}). */
  List<Platform> vector() {
    // containerd's Ordered wraps each entry in NewMatcher, which normalizes it (amd64/v1 → amd64)
    return vectorOf(normalize()).stream().map(Platform::normalize).toList();
  }

  private static List<Platform> vectorOf(Platform p) {
    List<Platform> out = new ArrayList<>();
    out.add(p);
    switch (p.architecture) {
      case "amd64" -> {
        Integer n = version(p.variant);
        if (n != null && n > 1) {
          for (int i = n - 1; i >= 1; i--) {
            out.add(new Platform(p.os, "amd64", "v" + i));
          }
        }
        out.add(new Platform(p.os, "386", ""));
      }
      case "arm" -> {
        Integer n = version(p.variant);
        if (n != null && n > 5) {
          for (int i = n - 1; i >= 5; i--) {
            out.add(new Platform(p.os, "arm", "v" + i));
          }
        }
      }
      case "arm64" -> {
        out.clear();
        String variant = p.variant.isEmpty() ? "v8" : p.variant;
        int[][] versions = ARM64.get(variant);
        if (versions != null) {
          for (int i = 0; i < versions[0].length; i++) {
            int major = versions[0][i];
            for (int minor = versions[1][i]; minor >= 0; minor--) {
              String v = minor == 0 ? "v" + major : "v" + major + "." + minor;
              // matchers compare normalized platforms: arm64/v8 normalizes to arm64 with no variant
              out.add(new Platform(p.os, "arm64", v).normalize());
            }
          }
        }
        String armVariant = variant.startsWith("v8") || variant.startsWith("v9") ? "v8" : variant;
        out.addAll(vectorOf(new Platform(p.os, "arm", armVariant).normalize()));
      }
      default -> {}
    }
    return out;
  }

  private static Integer version(String variant) {
    String s = variant.startsWith("v") ? variant.substring(1) : variant;
    if (s.isEmpty() || s.length() > 3 || !s.chars().allMatch(Character::isDigit)) {
      return null;
    }
    return Integer.parseInt(s);
  }

  /**
   * How well {@code candidate} (an index entry's platform) suits this platform: 0 is best, -1 means
   * it does not match at all.
   */
  int rank(Platform candidate) {
    Platform c = candidate.normalize();
    List<Platform> v = vector();
    for (int i = 0; i < v.size(); i++) {
      if (v.get(i).equals(c)) {
        return i;
      }
    }
    return -1;
  }

  /** {@code os/architecture[/variant]}. */
  @Override
  public String toString() {
    return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
  }
}
