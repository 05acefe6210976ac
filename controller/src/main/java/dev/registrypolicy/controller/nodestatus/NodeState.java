package dev.registrypolicy.controller.nodestatus;

/** Where one node stands; the metric label values are this fixed set (no node names). */
public enum NodeState {
  /** Its agent reports the current policy and bundle. */
  CURRENT("current"),
  /** Its agent reports another policy or bundle. */
  BEHIND("behind"),
  /** Its report Lease was not renewed in time. */
  NOT_REPORTING("not_reporting"),
  /** The node has no report Lease at all. */
  NO_REPORT("no_report");

  private final String label;

  NodeState(String label) {
    this.label = label;
  }

  /** The metric label value. */
  public String label() {
    return label;
  }
}
