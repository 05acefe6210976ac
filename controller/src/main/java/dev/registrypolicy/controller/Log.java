package dev.registrypolicy.controller;

import dev.registrypolicy.common.LogFormat;
import dev.registrypolicy.policy.LogLine;
import java.io.PrintStream;
import java.time.Duration;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * key=value log lines on stderr through the shared {@link LogFormat}; each distinct failure once
 * ({@link RepeatedFailures}). Never pass credentials.
 */
final class Log {
  /** How often a failure that keeps repeating is counted in a {@code still failing} line. */
  static final Duration STILL_FAILING_EVERY = Duration.ofMinutes(5);

  /** Libraries whose INFO lines repeat at every retry and say nothing our own lines do not. */
  private static final String[] CHATTY = {
    "io.kubernetes.client.informer.cache.ReflectorRunnable",
    "io.kubernetes.client.informer.cache.Controller",
  };

  private static volatile RepeatedFailures failures;

  /** Strong references: JUL holds loggers weakly, and a collected logger loses its level. */
  private static final Logger[] QUIETED = new Logger[CHATTY.length];

  private Log() {}

  /** One line per record on stderr: {@code ts=… level=INFO logger=Reconciler msg=… key=value}. */
  static void configure(Level level) {
    configure(level, false, null, System.err);
  }

  /**
   * @param verbose also stack traces, and the libraries' retry chatter
   * @param server the API server URL, added to every line with an error (null: none yet)
   * @param err where the lines go
   */
  static synchronized void configure(Level level, boolean verbose, String server, PrintStream err) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    LogFormat format = new LogFormat(verbose, ApiErrors::describe);
    if (server != null) {
      format = format.withErrorContext("server", server);
    }
    Handler console =
        new StreamHandler(err, format) {
          @Override
          public synchronized void publish(LogRecord record) {
            super.publish(record);
            flush(); // one line at a time, as it happens
          }

          @Override
          public synchronized void close() {
            flush(); // never closes the stream it was given
          }
        };
    console.setLevel(level);
    RepeatedFailures r =
        new RepeatedFailures(console, format, STILL_FAILING_EVERY, System::nanoTime);
    root.addHandler(r);
    root.setLevel(level);
    for (int i = 0; i < CHATTY.length; i++) {
      QUIETED[i] = Logger.getLogger(CHATTY[i]);
      QUIETED[i].setLevel(verbose ? null : Level.WARNING);
    }
    failures = r;
  }

  /** See {@link RepeatedFailures#recovered}; nothing when logging is not configured. */
  static void recovered(String logger, String messageStart) {
    RepeatedFailures r = failures;
    if (r != null) {
      r.recovered(logger, messageStart);
    }
  }

  /** See {@link RepeatedFailures#repeats}; -1 when logging is not configured. */
  static long repeats(String logger, String messageStart) {
    RepeatedFailures r = failures;
    return r == null ? -1 : r.repeats(logger, messageStart);
  }

  /** An exception's cause chain in words (for messages that are not log lines). */
  static String describe(Throwable t) {
    return new LogFormat(false, ApiErrors::describe).describe(t);
  }

  static String kv(String msg, Object... kv) {
    return LogLine.format(msg, kv);
  }
}
