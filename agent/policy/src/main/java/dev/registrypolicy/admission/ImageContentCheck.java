package dev.registrypolicy.admission;

import dev.registrypolicy.common.Redact;
import dev.registrypolicy.policy.AdmissionRule.ImageMetadataRule;
import dev.registrypolicy.policy.AdmissionRule.OnError;
import dev.registrypolicy.policy.AdmissionRule.Platform;
import dev.registrypolicy.policy.AdmissionRule.RequiredLabel;
import dev.registrypolicy.policy.ImageRef;
import java.util.Locale;
import java.util.Objects;

/**
 * One image-content rule on one container: a pure function of the rule, the container's effective
 * securityContext run-as settings, its reference and what fetching the image's metadata gave.
 *
 * <p>Checks in a fixed order, the first broken one reported: {@code requireKnownDigest} (a "not
 * found" lookup), then on the metadata {@code denyRunAsRoot}, {@code allowedPlatforms}, {@code
 * maxSize}, {@code requiredLabels}. A lookup that failed otherwise (or "not found" without {@code
 * requireKnownDigest}) follows the rule's {@code onError}.
 */
public final class ImageContentCheck {
  /**
   * Longest label value compared with a required value glob; a longer value does not match. Bounds
   * the work a hostile image config can cause (a glob with {@code ?} costs up to pattern length
   * times value length).
   */
  public static final int MAX_LABEL_VALUE_COMPARED = 4_096;

  /** Longest failure reason a message carries. */
  static final int MAX_REASON_CHARS = 300;

  private ImageContentCheck() {}

  /** How the rule came out for the container. */
  public enum Decision {
    /** Every check passed. */
    PASS,
    /** A check failed: a finding with the rule's action. */
    BROKEN,
    /**
     * The metadata could not be had and {@code onError: Deny}: a finding with the rule's action.
     */
    ERROR_DENIED,
    /** The metadata could not be had and {@code onError: Allow}: passed, no finding. */
    ERROR_ALLOWED
  }

  /**
   * The outcome.
   *
   * @param decision what happened
   * @param what for {@link Decision#BROKEN} and {@link Decision#ERROR_DENIED}, the text after the
   *     image in the finding's message ({@code runs as root (config user "")}); else null
   */
  public record Outcome(Decision decision, String what) {
    public Outcome {
      Objects.requireNonNull(decision, "decision");
    }

    static final Outcome PASS = new Outcome(Decision.PASS, null);

    /** Whether it gives a finding. */
    public boolean finding() {
      return what != null;
    }
  }

  /**
   * Evaluates one rule.
   *
   * @param rule the rule's {@code imageMetadata}
   * @param runAs the container's effective run-as settings ({@link Workload#runAs(int)})
   * @param ref the container's image
   * @param lookup what fetching the image's metadata gave
   */
  public static Outcome evaluate(
      ImageMetadataRule rule, RunAs runAs, ImageRef ref, MetadataLookup lookup) {
    if (!lookup.ok()) {
      if (lookup.failure() == MetadataFailure.NOT_FOUND && rule.requireKnownDigest()) {
        return new Outcome(Decision.BROKEN, notFound(ref));
      }
      if (rule.onError() == OnError.ALLOW) {
        return new Outcome(Decision.ERROR_ALLOWED, null);
      }
      return new Outcome(
          Decision.ERROR_DENIED,
          "could not be checked ("
              + lookup.failure().words()
              + ": "
              + oneLine(lookup.reason(), MAX_REASON_CHARS)
              + "; onError "
              + rule.onError().wireName()
              + ")");
    }
    ImageMetadata md = lookup.metadata();
    if (rule.denyRunAsRoot()) {
      if (runAs.forcesRoot()) {
        return new Outcome(Decision.BROKEN, "runs as root (securityContext runAsUser 0)");
      }
      if (!runAs.forcesNonRoot() && isRootUser(md.user())) {
        return new Outcome(
            Decision.BROKEN, "runs as root (config user " + Redact.quote(md.user()) + ")");
      }
    }
    if (!rule.allowedPlatforms().isEmpty() && !platformAllowed(rule, md)) {
      StringBuilder allowed = new StringBuilder();
      for (Platform p : rule.allowedPlatforms()) {
        allowed.append(allowed.length() == 0 ? "" : ", ").append(p);
      }
      String found =
          md.os() + "/" + md.architecture() + (md.variant().isEmpty() ? "" : "/" + md.variant());
      return new Outcome(
          Decision.BROKEN,
          "is for platform "
              + Redact.quote(found)
              + ", not one of the allowed platforms "
              + allowed);
    }
    Long max = rule.maxSizeBytes();
    if (max != null && md.sizeBytes() > max) {
      return new Outcome(
          Decision.BROKEN,
          "is "
              + humanBytes(md.sizeBytes())
              + " ("
              + md.sizeBytes()
              + " bytes of layers), over the maxSize of "
              + humanBytes(max)
              + " ("
              + max
              + " bytes)");
    }
    for (RequiredLabel l : rule.requiredLabels()) {
      String v = md.labels().get(l.key());
      if (v == null) {
        return new Outcome(Decision.BROKEN, "lacks the required label " + Redact.quote(l.key()));
      }
      if (l.value() != null && (v.length() > MAX_LABEL_VALUE_COMPARED || !l.value().matches(v))) {
        return new Outcome(
            Decision.BROKEN,
            "has label "
                + Redact.quote(l.key())
                + " = "
                + Redact.quote(v)
                + ", which does not match "
                + Redact.quote(l.value().pattern())
                + (v.length() > MAX_LABEL_VALUE_COMPARED
                    ? " (values over " + MAX_LABEL_VALUE_COMPARED + " characters never match)"
                    : ""));
      }
    }
    return Outcome.PASS;
  }

  private static boolean platformAllowed(ImageMetadataRule rule, ImageMetadata md) {
    for (Platform p : rule.allowedPlatforms()) {
      if (p.matches(md.os(), md.architecture(), md.variant())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether an image config's {@code User} ({@code user}, {@code uid}, {@code user:group}, {@code
   * uid:gid}) runs as root: the user part (before the first {@code :}) empty (the runtime's default
   * user, root), {@code root}, or a number equal to 0 ({@code 0}, {@code 00}). A non-zero number or
   * any other name is not root (the name is not looked up in the image's {@code /etc/passwd}).
   */
  public static boolean isRootUser(String user) {
    int colon = user.indexOf(':');
    String u = colon < 0 ? user : user.substring(0, colon);
    if (u.isEmpty() || u.equals("root")) {
      return true;
    }
    for (int i = 0; i < u.length(); i++) {
      if (u.charAt(i) != '0') {
        return false;
      }
    }
    return true;
  }

  private static String notFound(ImageRef ref) {
    if (ref.hasDigest()) {
      return "is not in its registry (digest " + Redact.quote(ref.digest()) + " not found)";
    }
    return "is not in its registry (tag " + Redact.quote(ref.effectiveTag()) + " not found)";
  }

  /**
   * {@code n} bytes in binary units with one decimal ({@code 2.3 GiB}), or {@code n B} under 1 KiB.
   */
  public static String humanBytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** Text on one line: invisible characters as {@code ?}, at most {@code max} characters. */
  static String oneLine(String s, int max) {
    StringBuilder b = new StringBuilder(Math.min(s.length(), max + 3));
    for (int i = 0; i < s.length() && b.length() < max; i++) {
      char c = s.charAt(i);
      b.append(Redact.isInvisible(c) ? '?' : c);
    }
    if (s.length() > max) {
      b.append("...");
    }
    return b.toString();
  }
}
