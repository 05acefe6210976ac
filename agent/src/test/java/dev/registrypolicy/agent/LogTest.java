package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What --verbose turns on, and that every line stays key=value. */
class LogTest {
  private final PrintStream original = System.err;
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

  @AfterEach
  void restore() {
    System.setErr(original);
    Log.configure(Level.INFO);
  }

  private String run(Level level, Runnable r) {
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    Log.configure(level); // the console handler binds System.err now
    r.run();
    return captured.toString(StandardCharsets.UTF_8);
  }

  @Test
  void verbose_showsTheAgentsDebugLinesButNotLibraryNoise() {
    String out =
        run(
            Level.FINE,
            () -> {
              Log.debug("pass", "reason", "resync", "outcome", "unchanged");
              Logger.getLogger("some.library").fine("library detail");
            });
    assertTrue(
        out.contains("level=FINE logger=agent msg=pass reason=resync outcome=unchanged"), out);
    assertFalse(out.contains("library detail"), out);
  }

  @Test
  void withoutVerbose_noDebugLines() {
    String out = run(Level.INFO, () -> Log.debug("pass", "reason", "resync"));
    assertFalse(out.contains("msg=pass"), out);
  }

  @Test
  void aLibrarysLineIsKeyValueWithItsParametersFilledIn() {
    String out =
        run(
            Level.INFO,
            () ->
                Logger.getLogger("some.library").log(Level.WARNING, "listening on {0}", "port 1"));
    assertTrue(out.contains("level=WARNING logger=library msg=\"listening on port 1\""), out);
  }
}
