package dev.registrypolicy.controller;

/** key=value log lines; never pass credentials. */
final class Log {
  private Log() {}

  static String kv(String msg, Object... kv) {
    StringBuilder sb = new StringBuilder("msg=").append(q(msg));
    for (int i = 0; i + 1 < kv.length; i += 2) {
      sb.append(' ').append(kv[i]).append('=').append(q(String.valueOf(kv[i + 1])));
    }
    return sb.toString();
  }

  private static String q(String v) {
    boolean plain = !v.isEmpty() && v.chars().allMatch(c -> c > ' ' && c != '"' && c != '=' && c < 0x7f);
    return plain ? v : '"' + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
  }
}
