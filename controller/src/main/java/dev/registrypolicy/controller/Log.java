package dev.registrypolicy.controller;

import dev.registrypolicy.policy.LogLine;

/** key=value log lines; never pass credentials. */
final class Log {
  private Log() {}

  /** One line per record on stderr: {@code ts=… level=INFO logger=Reconciler msg=… key=value}. */
  static void configure(java.util.logging.Level level) {
    java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
    for (java.util.logging.Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    java.util.logging.Handler h = new java.util.logging.ConsoleHandler();
    h.setLevel(level);
    h.setFormatter(new java.util.logging.Formatter() {
      @Override
      public String format(java.util.logging.LogRecord r) {
        String logger = r.getLoggerName() == null ? "" : r.getLoggerName().substring(r.getLoggerName().lastIndexOf('.') + 1);
        String m = r.getMessage() == null ? "" : r.getMessage();
        return "ts=" + r.getInstant() + " level=" + r.getLevel().getName() + " logger=" + logger + " "
            + (m.startsWith("msg=") ? m : LogLine.format(m)) + "\n";
      }
    });
    root.addHandler(h);
    root.setLevel(level);
  }

  static String kv(String msg, Object... kv) {
    return LogLine.format(msg, kv);
  }
}
