package dev.registrypolicy.common;

/**
 * Durations written as Go's {@code time.ParseDuration} reads them, and printed as Go's {@code
 * time.Duration.String} prints them: {@code 500ms}, {@code 1h30m}, {@code -1.5h}, {@code
 * 2562047h47m16.854775807s}. One rule for every duration the project reads (the policy's {@code
 * dialTimeout}, the agent's and the controller's {@code --resync}).
 *
 * <p>Grammar: an optional sign, then one or more of a decimal number (digits, an optional fraction,
 * at least one digit in all) followed by a unit {@code ns}, {@code us}, {@code µs} (U+00B5), {@code
 * μs} (U+03BC), {@code ms}, {@code s}, {@code m} or {@code h}; or {@code 0} alone. The result is a
 * count of nanoseconds in a signed 64-bit integer: anything past it is refused as out of range (Go
 * refuses the same inputs). Fraction digits past what 63 bits hold are read and ignored, as in Go.
 *
 * <p>One pass over at most {@link #MAX_LENGTH} characters, no regular expression, no recursion.
 * Messages quote the input (durations are not secret), escaped and cut by {@link Redact}.
 */
public final class GoDuration {
  /** Longest text accepted; Go's own longest meaningful form, {@link #MAX}, has 24 characters. */
  public static final int MAX_LENGTH = 64;

  /** The longest duration: 2^63-1 nanoseconds. */
  public static final String MAX = "2562047h47m16.854775807s";

  private static final long TWO_63 = Long.MIN_VALUE; // 2^63 as an unsigned value

  private GoDuration() {}

  /** A text that is not a Go duration; the message says why and quotes the text. */
  public static final class InvalidDurationException extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidDurationException(String message) {
      super(message);
    }
  }

  /**
   * A command-line duration flag: a Go duration from {@code min} to {@code max} inclusive. Both
   * jars parse their duration flags with this, so {@code 500ms} and {@code 1h30m} mean the same
   * everywhere.
   *
   * @throws InvalidDurationException with a message that names the range when the text is not a
   *     duration or lies outside it
   */
  public static java.time.Duration parseBetween(
      String text, java.time.Duration min, java.time.Duration max) throws InvalidDurationException {
    long nanos = parse(text);
    if (nanos < min.toNanos() || nanos > max.toNanos()) {
      throw new InvalidDurationException(
          "duration "
              + Redact.quote(text)
              + " is out of range: want "
              + format(min.toNanos())
              + " to "
              + format(max.toNanos()));
    }
    return java.time.Duration.ofNanos(nanos);
  }

  /**
   * The number of nanoseconds {@code text} stands for.
   *
   * @throws InvalidDurationException for anything Go's {@code time.ParseDuration} refuses, and for
   *     text longer than {@link #MAX_LENGTH}; never any other exception (null included)
   */
  public static long parse(String text) throws InvalidDurationException {
    if (text == null) {
      throw new InvalidDurationException("invalid duration: no text");
    }
    if (text.length() > MAX_LENGTH) {
      throw new InvalidDurationException(
          "invalid duration " + Redact.quote(text) + ": longer than " + MAX_LENGTH + " characters");
    }
    int i = 0;
    int n = text.length();
    boolean neg = false;
    if (n > 0 && (text.charAt(0) == '-' || text.charAt(0) == '+')) {
      neg = text.charAt(0) == '-';
      i++;
    }
    if (n - i == 1 && text.charAt(i) == '0') {
      return 0;
    }
    if (i == n) {
      throw invalid(text, "no number");
    }
    long total = 0; // unsigned, at most 2^63
    while (i < n) {
      char c = text.charAt(i);
      if (!(c == '.' || isDigit(c))) {
        throw invalid(text, "expected a number at " + Redact.quote(String.valueOf(c)));
      }
      long whole = 0; // unsigned, at most 2^63
      int start = i;
      while (i < n && isDigit(text.charAt(i))) {
        if (Long.compareUnsigned(whole, Long.divideUnsigned(TWO_63, 10)) > 0) {
          throw outOfRange(text);
        }
        whole = whole * 10 + (text.charAt(i) - '0');
        if (Long.compareUnsigned(whole, TWO_63) > 0) {
          throw outOfRange(text);
        }
        i++;
      }
      boolean pre = i != start;
      long fraction = 0;
      double scale = 1;
      boolean post = false;
      if (i < n && text.charAt(i) == '.') {
        i++;
        int fstart = i;
        boolean full = false;
        while (i < n && isDigit(text.charAt(i))) {
          if (!full) {
            if (Long.compareUnsigned(fraction, Long.MAX_VALUE / 10) > 0) {
              full = true;
            } else {
              long y = fraction * 10 + (text.charAt(i) - '0');
              if (Long.compareUnsigned(y, TWO_63) > 0) {
                full = true;
              } else {
                fraction = y;
                scale *= 10;
              }
            }
          }
          i++;
        }
        post = i != fstart;
      }
      if (!pre && !post) {
        throw invalid(text, "a number needs a digit");
      }
      int ustart = i;
      while (i < n && !(text.charAt(i) == '.' || isDigit(text.charAt(i)))) {
        i++;
      }
      if (ustart == i) {
        throw new InvalidDurationException(
            "invalid duration "
                + Redact.quote(text)
                + ": missing unit (want ns, us, ms, s, m or h)");
      }
      long unit = unit(text, ustart, i);
      if (unit == 0) {
        throw new InvalidDurationException(
            "invalid duration "
                + Redact.quote(text)
                + ": unknown unit "
                + Redact.quote(text.substring(ustart, i))
                + " (want ns, us, ms, s, m or h)");
      }
      if (Long.compareUnsigned(whole, Long.divideUnsigned(TWO_63, unit)) > 0) {
        throw outOfRange(text);
      }
      long v = whole * unit;
      if (fraction != 0) {
        // Go: v += uint64(float64(f) * (float64(unit) / scale)); the sum stays below 2^64.
        v += (long) (unsignedToDouble(fraction) * ((double) unit / scale));
        if (Long.compareUnsigned(v, TWO_63) > 0) {
          throw outOfRange(text);
        }
      }
      total += v;
      if (Long.compareUnsigned(total, TWO_63) > 0) {
        throw outOfRange(text);
      }
    }
    if (neg) {
      return -total; // 2^63 becomes Long.MIN_VALUE, as in Go
    }
    if (total == TWO_63) {
      throw outOfRange(text);
    }
    return total;
  }

  /**
   * Go's spelling of a duration: {@code 0s}, {@code 1.5µs}, {@code 500ms}, {@code 1h30m0s}, {@code
   * -2m3.4s}. {@code parse(format(n)) == n} for every {@code n}.
   */
  public static String format(long nanos) {
    char[] buf = new char[32];
    int w = buf.length;
    long u = nanos < 0 ? -nanos : nanos; // Long.MIN_VALUE stays 2^63 read as unsigned
    boolean neg = nanos < 0;
    if (Long.compareUnsigned(u, 1_000_000_000L) < 0) {
      int prec;
      buf[--w] = 's';
      if (u == 0) {
        buf[--w] = '0';
        return new String(buf, w, buf.length - w);
      } else if (u < 1_000L) {
        prec = 0;
        buf[--w] = 'n';
      } else if (u < 1_000_000L) {
        prec = 3;
        buf[--w] = '\u00b5';
      } else {
        prec = 6;
        buf[--w] = 'm';
      }
      long[] state = {u};
      w = fraction(buf, w, state, prec);
      w = integer(buf, w, state[0]);
    } else {
      buf[--w] = 's';
      long[] state = {u};
      w = fraction(buf, w, state, 9);
      u = state[0];
      w = integer(buf, w, Long.remainderUnsigned(u, 60));
      u = Long.divideUnsigned(u, 60);
      if (u > 0) {
        buf[--w] = 'm';
        w = integer(buf, w, u % 60);
        u /= 60;
        if (u > 0) {
          buf[--w] = 'h';
          w = integer(buf, w, u);
        }
      }
    }
    if (neg) {
      buf[--w] = '-';
    }
    return new String(buf, w, buf.length - w);
  }

  /**
   * Writes the fraction of state[0] / 10^prec (trailing zeros and a bare point left out); state[0]
   * becomes the integer part.
   */
  private static int fraction(char[] buf, int w, long[] state, int prec) {
    long v = state[0];
    boolean print = false;
    for (int i = 0; i < prec; i++) {
      long digit = Long.remainderUnsigned(v, 10);
      print = print || digit != 0;
      if (print) {
        buf[--w] = (char) ('0' + digit);
      }
      v = Long.divideUnsigned(v, 10);
    }
    if (print) {
      buf[--w] = '.';
    }
    state[0] = v;
    return w;
  }

  private static int integer(char[] buf, int w, long v) {
    if (v == 0) {
      buf[--w] = '0';
      return w;
    }
    while (v != 0) {
      buf[--w] = (char) ('0' + Long.remainderUnsigned(v, 10));
      v = Long.divideUnsigned(v, 10);
    }
    return w;
  }

  private static long unit(String s, int from, int to) {
    return switch (s.substring(from, to)) {
      case "ns" -> 1L;
      case "us", "\u00b5s", "\u03bcs" -> 1_000L;
      case "ms" -> 1_000_000L;
      case "s" -> 1_000_000_000L;
      case "m" -> 60_000_000_000L;
      case "h" -> 3_600_000_000_000L;
      default -> 0;
    };
  }

  private static double unsignedToDouble(long v) {
    return v >= 0 ? (double) v : 0x1p63; // only 2^63 itself is "negative" here
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static InvalidDurationException invalid(String text, String why) {
    return new InvalidDurationException(
        "invalid duration "
            + Redact.quote(text)
            + ": "
            + why
            + " (want a Go duration such as 500ms, 2s or 1h30m)");
  }

  private static InvalidDurationException outOfRange(String text) {
    return new InvalidDurationException(
        "duration " + Redact.quote(text) + " is out of range (at most " + MAX + ")");
  }
}
