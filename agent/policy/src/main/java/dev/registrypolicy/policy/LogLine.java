package dev.registrypolicy.policy;

/**
 * The project's one log-line shape, {@code msg="wrote file" path=docker.io/hosts.toml}: keys and
 * values in pairs, values quoted when they hold spaces, quotes, {@code =} or non-ASCII, control
 * characters escaped. A pure formatter (the model itself never logs); never pass credentials.
 */
public final class LogLine {
  private LogLine() {}

  public static String format(String msg, Object... kv) {
    StringBuilder sb = new StringBuilder("msg=").append(value(msg));
    for (int i = 0; i + 1 < kv.length; i += 2) {
      sb.append(' ').append(kv[i]).append('=').append(value(String.valueOf(kv[i + 1])));
    }
    return sb.toString();
  }

  static String value(String v) {
    boolean plain = !v.isEmpty();
    for (int i = 0; i < v.length() && plain; i++) {
      char c = v.charAt(i);
      plain = c > ' ' && c != '"' && c != '=' && c != '\\' && c < 0x7f;
    }
    if (plain) {
      return v;
    }
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c == '\n') {
        sb.append("\\n");
      } else if (c < ' ') {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }
}
