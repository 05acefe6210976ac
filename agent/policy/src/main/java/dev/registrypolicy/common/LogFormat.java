package dev.registrypolicy.common;

import dev.registrypolicy.policy.LogLine;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one java.util.logging formatter of both jars: one key=value line per record, {@code ts=…
 * level=WARNING logger=LeaderElector msg="…" key=value … error="…"}.
 *
 * <ul>
 *   <li>The project's own records carry a message already shaped by {@link LogLine#format} ({@code
 *       msg=… key=value}) and are written as they are.
 *   <li>A library's record is written as {@code msg="…"} with its parameters filled: JUL {@code
 *       {0}} placeholders through {@link #formatMessage}, and any slf4j {@code {}} or JUL
 *       placeholder left over (slf4j takes a trailing exception out of the arguments, leaving its
 *       {@code {}} unfilled) gets the exception's description, or nothing.
 *   <li>The record's exception becomes {@code error="<cause chain>"}: each cause's own message
 *       once, outermost first, with plain words for the usual network failures ("connection refused
 *       (127.0.0.1:6443)"). A jar can teach it more exception types with a describer (the
 *       controller describes the Kubernetes client's API errors by HTTP code and reason). A stack
 *       trace follows the line only in verbose mode.
 * </ul>
 *
 * Never log credentials: nothing here can tell them apart.
 */
public final class LogFormat extends Formatter {
  private static final int MAX_PART = 300;
  private static final int MAX_CAUSES = 8;

  /** {@code java.net.ConnectException: } and the like at the start of a wrapped message. */
  private static final Pattern CLASS_PREFIX =
      Pattern.compile("^(?:[a-z_][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error)(?::\\s*|$)");

  private static final Pattern EMBEDDED_CLASS =
      Pattern.compile("\\b(?:[a-z_][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error):\\s*");
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\}|\\{\\d+\\}");
  private static final Pattern HOST_PORT =
      Pattern.compile("([\\w.-]*/)?(\\[[0-9a-fA-F:.]+\\]|[\\w.-]+):(\\d{1,5})");

  private final boolean verbose;
  private final Function<Throwable, String> describer;
  private final Object[] errorContext;

  /**
   * @param verbose also print the exception's stack trace after the line
   * @param describer describes one exception of a type the jar knows better (its message alone, not
   *     its causes); returns null for types it does not know, or "" to leave a wrapper out and let
   *     its causes speak
   */
  public LogFormat(boolean verbose, Function<Throwable, String> describer) {
    this(verbose, describer, new Object[0]);
  }

  private LogFormat(boolean verbose, Function<Throwable, String> describer, Object[] errorContext) {
    this.verbose = verbose;
    this.describer = describer == null ? t -> null : describer;
    this.errorContext = errorContext;
  }

  public LogFormat(boolean verbose) {
    this(verbose, null);
  }

  /**
   * A copy that adds these key/value pairs after {@code error=} on every line with an exception
   * (the controller adds {@code server=<API server URL>}, which a library's own line never names).
   */
  public LogFormat withErrorContext(Object... kv) {
    return new LogFormat(verbose, describer, kv.clone());
  }

  @Override
  public String format(LogRecord r) {
    StringBuilder sb = new StringBuilder(160);
    sb.append("ts=")
        .append(r.getInstant())
        .append(" level=")
        .append(r.getLevel().getName())
        .append(" logger=")
        .append(shortName(r.getLoggerName()))
        .append(' ');
    Throwable thrown = r.getThrown();
    String cause = thrown == null ? null : describe(thrown);
    String m = r.getMessage() == null ? "" : r.getMessage();
    if (m.startsWith("msg=")) {
      sb.append(m); // the project's own, already key=value
    } else {
      sb.append(LogLine.format(fill(formatMessage(r), cause)));
    }
    if (cause != null) {
      sb.append(fields("error", cause));
      if (errorContext.length > 0) {
        sb.append(fields(errorContext));
      }
    }
    sb.append('\n');
    if (verbose && thrown != null) {
      StringWriter w = new StringWriter();
      thrown.printStackTrace(new PrintWriter(w));
      sb.append(w);
    }
    return sb.toString();
  }

  /** {@code " key=value key=value"}, values quoted as {@link LogLine} quotes them. */
  public static String fields(Object... kv) {
    String line = LogLine.format("", kv);
    return line.substring(line.indexOf(' ') < 0 ? line.length() : line.indexOf(' '));
  }

  /**
   * The cause chain in words, outermost first, each distinct message once: {@code connection
   * refused (127.0.0.1:6443)}, {@code HTTP 403 Forbidden: leases is forbidden …}. Never a bare
   * class name: an exception without any message is named with where it was thrown.
   */
  public String describe(Throwable t) {
    List<String> parts = new ArrayList<>();
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Throwable c = t; c != null && seen.add(c) && seen.size() <= MAX_CAUSES; c = c.getCause()) {
      String d = describer.apply(c);
      if (d == null) {
        d = builtin(c);
      }
      d = d == null ? "" : truncate(d.strip());
      if (d.isEmpty() || contains(parts, d)) {
        continue;
      }
      parts.add(d);
    }
    if (parts.isEmpty()) {
      return unexplained(t);
    }
    return String.join(": ", parts);
  }

  private static boolean contains(List<String> parts, String d) {
    String lower = d.toLowerCase(Locale.ROOT);
    for (String p : parts) {
      if (p.toLowerCase(Locale.ROOT).contains(lower)) {
        return true;
      }
    }
    return false;
  }

  /** Plain words for the exceptions every jar meets; null when the message is all there is. */
  private static String builtin(Throwable c) {
    String msg = message(c);
    if (c instanceof java.net.ConnectException) {
      String what =
          msg != null && msg.toLowerCase(Locale.ROOT).contains("timed out")
              ? "connection timed out"
              : "connection refused";
      String where = hostPort(msg);
      return where == null ? what : what + " (" + where + ")";
    }
    if (c instanceof java.net.UnknownHostException) {
      return "unknown host" + (msg == null ? "" : " " + msg);
    }
    if (c instanceof java.net.SocketTimeoutException) {
      return "timed out"
          + (msg == null || msg.toLowerCase(Locale.ROOT).contains("timed out")
              ? ""
              : " (" + msg + ")");
    }
    if (c instanceof javax.net.ssl.SSLException) {
      return "TLS failed" + (msg == null ? "" : ": " + msg);
    }
    if (c instanceof java.nio.file.FileSystemException fse) {
      String file = fse.getFile();
      String why = Causes.describe(fse);
      return file == null ? why : why + ": " + file;
    }
    if (c instanceof java.io.FileNotFoundException) {
      return msg == null
          ? "no such file"
          : msg.contains("No such file") ? msg : "no such file: " + msg;
    }
    if (c instanceof InterruptedException) {
      return "interrupted";
    }
    return msg;
  }

  /** The exception's message without the class-name prefixes wrappers put in front of it. */
  private static String message(Throwable c) {
    String m = c.getMessage();
    if (m == null) {
      return null;
    }
    m = m.strip();
    for (Matcher x = CLASS_PREFIX.matcher(m); x.find(); x = CLASS_PREFIX.matcher(m)) {
      m = m.substring(x.end()).strip();
    }
    // Wrappers also put class names in the middle ("PKIX path building failed:
    // sun.security...SunCertPathBuilderException: unable to find ..."): the words stay.
    m = EMBEDDED_CLASS.matcher(m).replaceAll("");
    return m.isEmpty() ? null : m.replaceAll("\\s*\\n\\s*", "; ");
  }

  private static String hostPort(String msg) {
    if (msg == null) {
      return null;
    }
    Matcher m = HOST_PORT.matcher(msg);
    return m.find() ? m.group(2) + ":" + m.group(3) : null;
  }

  /**
   * An exception with no message anywhere in its chain: its kind in words, and where it happened.
   */
  private static String unexplained(Throwable t) {
    String name = t.getClass().getSimpleName().replaceAll("(Exception|Error)$", "");
    String words = name.replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
    StackTraceElement[] st = t.getStackTrace();
    String at =
        st.length == 0
            ? ""
            : " at "
                + st[0].getClassName().substring(st[0].getClassName().lastIndexOf('.') + 1)
                + "."
                + st[0].getMethodName()
                + "("
                + st[0].getFileName()
                + ":"
                + st[0].getLineNumber()
                + ")";
    return "unexpected "
        + (words.isEmpty() ? "failure" : words)
        + " ("
        + t.getClass().getName()
        + ")"
        + at;
  }

  private static String fill(String message, String cause) {
    Matcher m = PLACEHOLDER.matcher(message);
    if (!m.find()) {
      return message;
    }
    String filled = m.replaceAll(Matcher.quoteReplacement(cause == null ? "" : cause)).strip();
    return filled.endsWith(":") ? filled.substring(0, filled.length() - 1) : filled;
  }

  private static String shortName(String logger) {
    if (logger == null || logger.isEmpty()) {
      return "root";
    }
    return logger.substring(logger.lastIndexOf('.') + 1);
  }

  private static String truncate(String s) {
    return s.length() > MAX_PART ? s.substring(0, MAX_PART - 3) + "..." : s;
  }
}
