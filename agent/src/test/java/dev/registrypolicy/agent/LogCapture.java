package dev.registrypolicy.agent;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects the agent's own log lines (the key=value text) while open, FINE included. */
final class LogCapture extends Handler implements AutoCloseable {
  /** One captured line and when it was logged. */
  record Line(long millis, Level level, String text) {}

  private final Logger logger = Logger.getLogger("dev.registrypolicy.agent");
  private final Level before;
  final List<Line> lines = new CopyOnWriteArrayList<>();

  LogCapture() {
    before = logger.getLevel();
    logger.setLevel(Level.FINE);
    setLevel(Level.ALL);
    logger.addHandler(this);
  }

  @Override
  public void publish(LogRecord r) {
    lines.add(new Line(r.getMillis(), r.getLevel(), r.getMessage()));
  }

  List<Line> matching(String... parts) {
    return lines.stream()
        .filter(
            l -> {
              for (String p : parts) {
                if (!l.text().contains(p)) {
                  return false;
                }
              }
              return true;
            })
        .toList();
  }

  @Override
  public void flush() {}

  @Override
  public void close() {
    logger.removeHandler(this);
    logger.setLevel(before);
  }
}
