package dev.registrypolicy.policy;

import dev.registrypolicy.common.Redact;

/**
 * An image reference or repository prefix that cannot be parsed. The message has the form {@code
 * invalid reference "Foo/bar": repository name must be lowercase}: the input is echoed in quotes,
 * with user info, query and fragment masked by the project's redaction rule ({@code
 * dev.registrypolicy.common.Redact}), with control and other invisible characters escaped, and cut
 * to about 200 characters, so the message is safe to log as one line.
 */
public final class InvalidImageRefException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Longest part of the input echoed in the message. */
  static final int ECHO_MAX = 200;

  private final String input;
  private final String reason;

  /**
   * @param input the text that was refused, or null
   * @param reason what is wrong with it, lowercase and without a trailing period
   */
  public InvalidImageRefException(String input, String reason) {
    this("reference", input, reason);
  }

  /**
   * @param what what the input was meant to be ({@code reference}, {@code repository prefix})
   */
  InvalidImageRefException(String what, String input, String reason) {
    super(
        "invalid "
            + what
            + " "
            + echo(dev.registrypolicy.common.Redact.hide(input))
            + ": "
            + shownReason(input, reason));
    this.input = input;
    this.reason = shownReason(input, reason);
  }

  /** The reason as it may be shown: without quoted parts of an input the redaction rule changes. */
  private static String shownReason(String input, String reason) {
    return dev.registrypolicy.common.Redact.hidesSomething(input) ? withoutQuotes(reason) : reason;
  }

  /**
   * A reason with its quoted parts of the input left out: when the input holds something the
   * redaction rule hides, a part of it quoted on its own could show the hidden text.
   */
  static String withoutQuotes(String reason) {
    StringBuilder sb = new StringBuilder();
    boolean inQuote = false;
    for (int i = 0; i < reason.length(); i++) {
      char c = reason.charAt(i);
      if (inQuote) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inQuote = false;
        }
      } else if (c == '"') {
        inQuote = true;
        sb.append("(not shown)");
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  /** The input that was refused, exactly as given (may be null). */
  public String input() {
    return input;
  }

  /**
   * What is wrong with the input, without the echoed input (and without quoted parts of it when it
   * holds something secret-looking).
   */
  public String reason() {
    return reason;
  }

  /** The input in double quotes, escaped and shortened for messages; {@code null} for null. */
  static String echo(String s) {
    if (s == null) {
      return "null";
    }
    int end = s.length();
    boolean cut = false;
    if (end > ECHO_MAX) {
      end = ECHO_MAX;
      if (Character.isHighSurrogate(s.charAt(end - 1))) {
        end--;
      }
      cut = true;
    }
    StringBuilder sb = new StringBuilder(end + 16);
    sb.append('"');
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (Redact.isInvisible(c)) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
    if (cut) {
      sb.append("... (").append(s.length()).append(" characters)");
    }
    return sb.toString();
  }
}
