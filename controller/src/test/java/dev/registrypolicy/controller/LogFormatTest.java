package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.common.LogFormat;
import io.kubernetes.client.openapi.ApiException;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared formatter with the controller's API describer: causes in words, placeholders filled.
 */
class LogFormatTest {
  private static final Pattern BARE_CLASS =
      Pattern.compile("\\b[A-Z][A-Za-z]+(Exception|Error)\\b");
  private final LogFormat format = new LogFormat(false, ApiErrors::describe);

  private static LogRecord record(String logger, String msg, Throwable t, Object... params) {
    LogRecord r = new LogRecord(Level.WARNING, msg);
    r.setLoggerName(logger);
    r.setThrown(t);
    r.setParameters(params.length == 0 ? null : params);
    return r;
  }

  /** The failures the controller meets, as the client wraps them, and what the line must say. */
  static Stream<Arguments> causes() {
    ConnectException refused = new ConnectException("Failed to connect to /127.0.0.1:6443");
    refused.initCause(new ConnectException("Connection refused"));
    ApiException forbidden =
        new ApiException(
            403,
            Map.of(),
            "{\"kind\":\"Status\",\"status\":\"Failure\","
                + "\"message\":\"leases.coordination.k8s.io \\\"x\\\" is forbidden: User \\\"u\\\" cannot get resource\","
                + "\"reason\":\"Forbidden\",\"code\":403}");
    return Stream.of(
        Arguments.of(new ApiException(refused), "connection refused (127.0.0.1:6443)"),
        Arguments.of(
            forbidden,
            "HTTP 403 Forbidden: leases.coordination.k8s.io \"x\" is forbidden: User \"u\" cannot get resource"),
        Arguments.of(new ApiException(500, Map.of(), "not json"), "HTTP 500: not json"),
        Arguments.of(
            new IOException("wrapper", new NoSuchFileException("/nope/config")),
            "wrapper: no such file or directory: /nope/config"),
        Arguments.of(new RuntimeException("java.io.IOException: Is a directory"), "Is a directory"),
        Arguments.of(
            new javax.net.ssl.SSLHandshakeException(
                "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException:"
                    + " unable to find valid certification path to requested target"),
            "TLS failed: PKIX path building failed: unable to find valid certification path to"
                + " requested target"),
        Arguments.of(
            new javax.net.ssl.SSLHandshakeException("Received fatal alert: handshake_failure"),
            "TLS failed: Received fatal alert: handshake_failure"),
        Arguments.of(new InterruptedException(), "interrupted"));
  }

  @ParameterizedTest
  @MethodSource("causes")
  void theCauseChainInWords(Throwable t, String expected) {
    assertEquals(expected, format.describe(t));
    String line = format.format(record("io.kubernetes.client.Some", "failed", t));
    assertTrue(
        line.contains(
            "error="
                + (expected.matches("[!-~&&[^\"=\\\\]]+")
                    ? expected
                    : "\"" + expected.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")),
        line);
    assertFalse(BARE_CLASS.matcher(line).find(), line);
    assertFalse(line.contains("HTTP response headers"), line);
  }

  @Test
  void anExceptionWithoutAnyMessageSaysWhereNotJustItsName() {
    String d = format.describe(new NullPointerException());
    assertTrue(
        d.startsWith("unexpected null pointer (java.lang.NullPointerException) at LogFormatTest."),
        d);
  }

  @Test
  void libraryPlaceholdersAreFilled() {
    Throwable t = new InterruptedException("sleep interrupted");
    String slf4j =
        format.format(
            record(
                "io.kubernetes.client.informer.cache.ProcessorListener",
                "processor interrupted: {}",
                t));
    assertTrue(
        slf4j.contains(
            "logger=ProcessorListener msg=\"processor interrupted: interrupted\" error=interrupted"),
        slf4j);
    String jul = format.format(record("some.library", "listening on {0}", null, "port 1"));
    assertTrue(jul.contains("logger=library msg=\"listening on port 1\""), jul);
    String noArgs = format.format(record("some.library", "lost {0}", null));
    assertTrue(noArgs.contains("msg=lost"), noArgs);
    for (String line : List.of(slf4j, jul, noArgs)) {
      assertFalse(line.contains("{}") || line.contains("{0}"), line);
    }
  }

  @Test
  void ownLinesStayAsTheyAreWithTheErrorAndItsContextAfter() {
    LogFormat withServer = format.withErrorContext("server", "https://10.0.0.1:6443");
    String line =
        withServer.format(
            record(
                "dev.registrypolicy.controller.Controller",
                Log.kv("reconcile failed", "key", "ns/a"),
                new ApiException(new ConnectException("Connection refused"))));
    assertTrue(
        line.matches(
            "ts=\\S+ level=WARNING logger=Controller msg=\"reconcile failed\" key=ns/a "
                + "error=\"connection refused\" server=https://10.0.0.1:6443\n"),
        line);
  }

  @Test
  void stackTraceOnlyWhenVerbose() {
    Throwable t = new IllegalStateException("boom");
    assertFalse(format.format(record("x", "m", t)).contains("\tat "));
    assertTrue(new LogFormat(true).format(record("x", "m", t)).contains("\tat "));
  }
}
