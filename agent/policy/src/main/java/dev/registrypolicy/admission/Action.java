package dev.registrypolicy.admission;

import dev.registrypolicy.policy.AdmissionMode;

/**
 * What admission does with a container or a request, least severe first: a request's action is the
 * most severe of its containers'.
 */
public enum Action {
  ALLOW("allow"),
  AUDIT("audit"),
  WARN("warn"),
  DENY("deny");

  private final String wireName;

  Action(String wireName) {
    this.wireName = wireName;
  }

  /**
   * {@code allow}, {@code audit}, {@code warn} or {@code deny}, as {@code check -o json} prints.
   */
  public String wireName() {
    return wireName;
  }

  /** The action a policy mode asks for when its rule is broken. */
  public static Action of(AdmissionMode mode) {
    return switch (mode) {
      case DENY -> DENY;
      case WARN -> WARN;
      case AUDIT -> AUDIT;
    };
  }

  /** The more severe of the two. */
  public Action max(Action other) {
    return compareTo(other) >= 0 ? this : other;
  }
}
