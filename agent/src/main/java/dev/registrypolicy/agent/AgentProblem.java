package dev.registrypolicy.agent;

import java.util.Objects;

/**
 * One current problem of the node agent: what kind it is, what it is about, and the full text.
 * Identity is all three, so a problem whose text changes is a new problem (logged once more) and a
 * repeated one is the same (logged once). Never holds credentials.
 *
 * @param kind a fixed word such as {@code policy-invalid} or {@code write-failed} (the metric
 *     label)
 * @param subject what it is about, short: a host directory, a policy path, a file (the metric
 *     label)
 * @param detail the full sentence shown in the log and in {@code /healthz}
 */
record AgentProblem(String kind, String subject, String detail) {
  static final String POLICY_UNREADABLE = "policy-unreadable";
  static final String POLICY_INVALID = "policy-invalid";
  static final String CREDENTIALS_UNREADABLE = "credentials-unreadable";
  static final String CREDENTIALS = "credentials";
  static final String FOREIGN = "foreign";
  static final String SHADOWED = "shadowed";
  static final String WRITE_FAILED = "write-failed";
  static final String PASS_FAILED = "pass-failed";
  static final String CONTAINERD = "containerd";
  static final String TOKEN_AUTH = "token-auth";

  AgentProblem {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(detail, "detail");
  }

  @Override
  public String toString() {
    return kind + " " + subject + ": " + detail;
  }
}
