package dev.registrypolicy.policy;

/** What happens to a workload that breaks an admission rule (ValidatingAdmissionPolicy actions). */
public enum AdmissionMode {
  /** Reject the request. */
  DENY("Deny"),
  /** Admit it with a warning shown to the client. */
  WARN("Warn"),
  /** Admit it and record the violation in the audit log. */
  AUDIT("Audit");

  private final String wireName;

  AdmissionMode(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static AdmissionMode fromWire(String s) {
    for (AdmissionMode m : values()) {
      if (m.wireName.equals(s)) {
        return m;
      }
    }
    return null;
  }
}
