package dev.registrypolicy.controller.imagemeta;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Content digests ({@code algorithm:hex}) as the OCI image spec defines them: {@code sha256} and
 * {@code sha512} are registered (and {@code sha384} is accepted by the image reference grammar
 * {@code ImageRef} follows); the hex is lowercase and of the algorithm's length. Anything else is
 * not a digest this client can verify, so it is refused rather than trusted.
 */
final class Digests {
  private Digests() {}

  /** Whether {@code digest} is well formed and of an algorithm this client can verify. */
  static boolean isVerifiable(String digest) {
    return digest != null && javaAlgorithm(digest) != null && hexOk(digest);
  }

  /** The digest of {@code bytes} with the algorithm {@code like} names ({@code sha256:…}). */
  static String of(byte[] bytes, String like) {
    String alg = javaAlgorithm(like);
    if (alg == null) {
      throw new IllegalArgumentException("not a verifiable digest algorithm");
    }
    try {
      return like.substring(0, like.indexOf(':') + 1)
          + HexFormat.of().formatHex(MessageDigest.getInstance(alg).digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + alg, e);
    }
  }

  /** {@code sha256:<hex>} of {@code bytes}. */
  static String sha256(byte[] bytes) {
    return of(bytes, "sha256:");
  }

  private static String javaAlgorithm(String digest) {
    int colon = digest.indexOf(':');
    if (colon < 0) {
      return null;
    }
    return switch (digest.substring(0, colon)) {
      case "sha256" -> "SHA-256";
      case "sha384" -> "SHA-384";
      case "sha512" -> "SHA-512";
      default -> null;
    };
  }

  private static boolean hexOk(String digest) {
    int colon = digest.indexOf(':');
    int want =
        switch (digest.substring(0, colon)) {
          case "sha256" -> 64;
          case "sha384" -> 96;
          default -> 128;
        };
    String hex = digest.substring(colon + 1);
    return hex.length() == want
        && hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
}
