package dev.registrypolicy.controller;

import dev.registrypolicy.common.LogFormat;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * Writes each distinct failure once. A record with an exception is a failure of its source (the
 * logger and the message, e.g. an informer for one resource type, or leader election); the same
 * source failing again with the same cause (every informer or election retry) is only counted, and
 * at most every {@code every} a {@code still failing} line gives the count. When the source works
 * again ({@link #recovered}) one {@code recovered} line says so. A different cause is a new failure
 * and is written in full. Records without an exception pass unchanged.
 */
final class RepeatedFailures extends Handler {
  /** Distinct failures tracked at once; the oldest is forgotten beyond this (bounded memory). */
  static final int MAX_TRACKED = 256;

  private final Handler out;
  private final LogFormat format;
  private final long everyNanos;
  private final LongSupplier nanoTime;
  private final Map<String, Failure> failing = new LinkedHashMap<>();

  private static final class Failure {
    final String logger;
    final String message;
    final String cause;
    final Instant since;
    long repeats;
    long lastWritten;

    Failure(String logger, String message, String cause, Instant since, long now) {
      this.logger = logger;
      this.message = message;
      this.cause = cause;
      this.since = since;
      this.lastWritten = now;
    }
  }

  RepeatedFailures(Handler out, LogFormat format, Duration every, LongSupplier nanoTime) {
    this.out = out;
    this.format = format;
    this.everyNanos = every.toNanos();
    this.nanoTime = nanoTime;
    setLevel(out.getLevel());
  }

  @Override
  public void publish(LogRecord r) {
    if (!isLoggable(r)) {
      return;
    }
    if (r.getThrown() == null) {
      out.publish(r);
      return;
    }
    String logger = r.getLoggerName() == null ? "" : r.getLoggerName();
    String message = r.getMessage() == null ? "" : r.getMessage();
    String cause = format.describe(r.getThrown());
    String source = logger + "\n" + message;
    LogRecord write = r;
    synchronized (this) {
      long now = nanoTime.getAsLong();
      Failure f = failing.get(source);
      if (f != null && f.cause.equals(cause)) {
        f.repeats++;
        if (now - f.lastWritten < everyNanos) {
          return;
        }
        f.lastWritten = now;
        write =
            line(
                Level.WARNING,
                logger,
                "still failing",
                "failure",
                summary(message),
                "repeats",
                f.repeats,
                "since",
                f.since);
      } else {
        failing.remove(source); // re-inserted last: the map's order is the eviction order
        failing.put(source, new Failure(logger, message, cause, r.getInstant(), now));
        if (failing.size() > MAX_TRACKED) {
          Iterator<String> oldest = failing.keySet().iterator();
          oldest.next();
          oldest.remove();
        }
      }
    }
    out.publish(write);
  }

  /**
   * The sources of this logger whose message starts with {@code messageStart} work again: one
   * {@code recovered} line for each that was failing, and the next failure is written in full.
   */
  void recovered(String logger, String messageStart) {
    java.util.List<LogRecord> lines = new java.util.ArrayList<>();
    synchronized (this) {
      for (Iterator<Failure> it = failing.values().iterator(); it.hasNext(); ) {
        Failure f = it.next();
        if (f.logger.equals(logger) && f.message.startsWith(messageStart)) {
          it.remove();
          lines.add(
              line(
                  Level.INFO,
                  logger,
                  "recovered",
                  "failure",
                  summary(f.message),
                  "repeats",
                  f.repeats,
                  "since",
                  f.since));
        }
      }
    }
    lines.forEach(out::publish);
  }

  /**
   * How often the failing sources of this logger whose message starts so repeated, in all; -1 if
   * none is failing.
   */
  synchronized long repeats(String logger, String messageStart) {
    return failing.values().stream()
        .filter(f -> f.logger.equals(logger) && f.message.startsWith(messageStart))
        .mapToLong(f -> f.repeats)
        .reduce(Long::sum)
        .orElse(-1);
  }

  private static LogRecord line(Level level, String logger, String msg, Object... kv) {
    LogRecord l = new LogRecord(level, Log.kv(msg, kv));
    l.setLoggerName(logger);
    return l;
  }

  /**
   * The failing line's message as a value: the project's own {@code msg=…} lines without their key.
   */
  private static String summary(String message) {
    if (!message.startsWith("msg=")) {
      return message;
    }
    String m = message.substring(4);
    if (!m.startsWith("\"")) {
      return m;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 1; i < m.length(); i++) { // the quoted msg value unescaped, then its fields
      char c = m.charAt(i);
      if (c == '\\' && i + 1 < m.length()) {
        sb.append(m.charAt(++i));
      } else if (c == '"') {
        sb.append(m.substring(i + 1));
        break;
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  @Override
  public void flush() {
    out.flush();
  }

  @Override
  public void close() {
    out.close();
  }
}
