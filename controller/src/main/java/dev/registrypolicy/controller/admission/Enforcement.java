package dev.registrypolicy.controller.admission;

import java.util.Locale;

/**
 * Which plane enforces the policy's admission section: the setting {@code --admission-enforcement}.
 */
public enum Enforcement {
  /**
   * ValidatingAdmissionPolicy when the API server serves admissionregistration.k8s.io/v1
   * validatingadmissionpolicies (GA in Kubernetes 1.30), else the validating webhook; also the
   * webhook for a policy whose ValidatingAdmissionPolicy objects are too big or were rejected.
   */
  AUTO,
  /** ValidatingAdmissionPolicy only. */
  POLICY,
  /** The validating webhook only. */
  WEBHOOK,
  /** Both: a request must pass each. */
  BOTH;

  /** One help line per value, for the run command's help. */
  public static final String HELP =
      "  --admission-enforcement auto|policy|webhook|both\n"
          + "                       what enforces the admission section: auto (default) uses"
          + " ValidatingAdmissionPolicy\n"
          + "                       when the API server serves it (Kubernetes >= 1.30), else the"
          + " validating webhook";

  /** The flag's value for this setting. */
  public String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a flag value (case as written: {@code auto}, {@code policy}, {@code webhook}, {@code
   * both}).
   *
   * @throws IllegalArgumentException with a message naming the value and the allowed ones
   */
  public static Enforcement parse(String value) {
    for (Enforcement e : values()) {
      if (e.flagValue().equals(value)) {
        return e;
      }
    }
    throw new IllegalArgumentException(
        "--admission-enforcement wants auto, policy, webhook or both, not \""
            + (value == null ? "" : printable(value))
            + "\"");
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints().limit(64).forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return s.codePointCount(0, s.length()) > 64 ? b + "..." : b.toString();
  }
}
