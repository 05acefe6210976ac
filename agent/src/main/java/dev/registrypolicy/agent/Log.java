package dev.registrypolicy.agent;

import dev.registrypolicy.common.LogFormat;
import dev.registrypolicy.policy.LogLine;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One-line key=value logging on java.util.logging: {@code ts=… level=INFO msg="wrote hosts.toml"
 * host=ghcr.io}. Callers pass keys and values in pairs; values are quoted when they contain spaces
 * or quotes. Never pass credentials: nothing here can tell them apart.
 */
final class Log {
  private static final Logger LOGGER = Logger.getLogger("dev.registrypolicy.agent");

  private Log() {}

  /**
   * Routes the agent's logger to stderr in key=value form (called once by the CLI); stack traces
   * only with --verbose.
   */
  static void configure(Level level) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    Handler h = new ConsoleHandler();
    h.setLevel(level);
    h.setFormatter(new LogFormat(level.intValue() < Level.INFO.intValue()));
    root.addHandler(h);
    // --verbose is about the agent's own lines; libraries and the JDK stay at INFO.
    root.setLevel(level.intValue() < Level.INFO.intValue() ? Level.INFO : level);
    LOGGER.setLevel(level);
  }

  static void info(String msg, Object... kv) {
    log(Level.INFO, msg, kv);
  }

  static void warn(String msg, Object... kv) {
    log(Level.WARNING, msg, kv);
  }

  static void error(String msg, Object... kv) {
    log(Level.SEVERE, msg, kv);
  }

  static void debug(String msg, Object... kv) {
    log(Level.FINE, msg, kv);
  }

  static void log(Level level, String msg, Object... kv) {
    if (!LOGGER.isLoggable(level)) {
      return;
    }
    LOGGER.log(level, format(msg, kv));
  }

  static String format(String msg, Object... kv) {
    return LogLine.format(msg, kv);
  }
}
