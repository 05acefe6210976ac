package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.common.LogFormat;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** Each distinct failure once; repeats counted; a new cause written; recovery said once. */
class RepeatedFailuresTest {
  private final List<String> lines = new ArrayList<>();
  private final AtomicLong now = new AtomicLong();
  private final LogFormat format = new LogFormat(false, ApiErrors::describe);
  private final RepeatedFailures handler =
      new RepeatedFailures(
          new Handler() {
            @Override
            public void publish(LogRecord r) {
              lines.add(format.format(r).strip());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
          },
          format,
          Duration.ofMinutes(5),
          now::get);

  private void fail(String logger, String msg, String cause) {
    LogRecord r = new LogRecord(Level.WARNING, msg);
    r.setLoggerName(logger);
    r.setThrown(new ConnectException(cause));
    handler.publish(r);
  }

  @Test
  void repeatsAreCountedNotWritten_untilTheIntervalGivesOneStillFailingLine() {
    for (int i = 0; i < 50; i++) {
      fail("a.Lib", "list failed", "Connection refused");
      now.addAndGet(Duration.ofSeconds(1).toNanos());
    }
    assertEquals(1, lines.size(), lines::toString);
    assertTrue(lines.get(0).contains("error=\"connection refused\""), lines::toString);
    assertEquals(49, handler.repeats("a.Lib", "list"));
    now.addAndGet(Duration.ofMinutes(5).toNanos());
    fail("a.Lib", "list failed", "Connection refused");
    assertEquals(2, lines.size(), lines::toString);
    assertTrue(
        lines.get(1).contains("msg=\"still failing\" failure=\"list failed\" repeats=50"),
        lines::toString);
  }

  @Test
  void anotherSourceOrAnotherCauseIsWrittenInFull() {
    fail("a.Lib", "list failed", "Connection refused");
    fail("a.Lib", "watch failed", "Connection refused");
    fail("b.Other", "list failed", "Connection refused");
    fail("a.Lib", "list failed", "Connection timed out");
    fail("a.Lib", "list failed", "Connection timed out");
    assertEquals(4, lines.size(), lines::toString);
    assertTrue(lines.get(3).contains("error=\"connection timed out\""), lines::toString);
  }

  @Test
  void recoveryIsOneLineAndTheNextFailureIsWrittenAgain() {
    fail("a.Lib", "list failed", "Connection refused");
    fail("a.Lib", "list failed", "Connection refused");
    handler.recovered("a.Lib", "list");
    handler.recovered("a.Lib", "list"); // nothing was failing any more
    assertEquals(2, lines.size(), lines::toString);
    assertTrue(
        lines
            .get(1)
            .contains("level=INFO logger=Lib msg=recovered failure=\"list failed\" repeats=1"),
        lines::toString);
    assertEquals(-1, handler.repeats("a.Lib", "list"));
    fail("a.Lib", "list failed", "Connection refused");
    assertEquals(3, lines.size(), lines::toString);
  }

  @Test
  void linesWithoutAnExceptionPassUnchanged() {
    LogRecord r = new LogRecord(Level.INFO, Log.kv("leading"));
    for (int i = 0; i < 3; i++) {
      handler.publish(r);
    }
    assertEquals(3, lines.size());
  }

  @Test
  void memoryIsBounded() {
    for (int i = 0; i < RepeatedFailures.MAX_TRACKED * 3; i++) {
      fail("a.Lib", "failed #" + i + ";", "Connection refused");
    }
    assertEquals(-1, handler.repeats("a.Lib", "failed #0;"), "the oldest sources were forgotten");
    assertEquals(
        0,
        handler.repeats("a.Lib", "failed #" + (RepeatedFailures.MAX_TRACKED * 3 - 1) + ";"),
        "the newest is kept");
  }
}
