package dev.registrypolicy.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GoDurationTest {
  private static final long S = 1_000_000_000L;
  private static final long MIN = 60 * S;

  /**
   * Go's own table of accepted durations (time package, parseDurationTests), plus overflow edges.
   */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "0|0",
        "5s|5000000000",
        "30s|30000000000",
        "1478s|1478000000000",
        "-5s|-5000000000",
        "+5s|5000000000",
        "-0|0",
        "+0|0",
        "5.0s|5000000000",
        "5.6s|5600000000",
        "5.s|5000000000",
        ".5s|500000000",
        "1.0s|1000000000",
        "1.00s|1000000000",
        "1.004s|1004000000",
        "1.0040s|1004000000",
        "100.00100s|100001000000",
        "10ns|10",
        "11us|11000",
        "12\u00b5s|12000",
        "12\u03bcs|12000",
        "13ms|13000000",
        "14s|14000000000",
        "15m|900000000000",
        "16h|57600000000000",
        "3h30m|12600000000000",
        "10.5s4m|250500000000",
        "-2m3.4s|-123400000000",
        "1h2m3s4ms5us6ns|3723004005006",
        "39h9m14.425s|140954425000000",
        "52763797000ns|52763797000",
        "0.3333333333333333333h|1200000000000",
        "9007199254740993ns|9007199254740993",
        "9223372036854775807ns|9223372036854775807",
        "9223372036854775.807us|9223372036854775807",
        "9223372036s854ms775us807ns|9223372036854775807",
        "-9223372036854775808ns|-9223372036854775808",
        "-9223372036854775.808us|-9223372036854775808",
        "-9223372036s854ms775us808ns|-9223372036854775808",
        "-2562047h47m16.854775808s|-9223372036854775808",
        "0.100000000000000000000h|360000000000",
        "0.830103483285477580700h|2988372539827",
        // edges this project relies on
        "2562047h|9223369200000000000",
        "2562047.7h|9223371720000000000",
        "2562047h47m16.854775807s|9223372036854775807",
        "2562047h47m16.8547758079999s|9223372036854775807",
        "0.000000000000000000000000001h1ns|1",
        "0.1ns|0",
        "1.s|1000000000",
        "1h30m|5400000000000",
      })
  void parse_acceptsWhatGoAccepts(String text, long nanos) throws Exception {
    assertEquals(nanos, GoDuration.parse(text), text);
  }

  /** Go's table of rejected durations, plus inputs that overflow int64 nanoseconds. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "3",
        "-",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",
        "\u0085\u0085",
        "\u00ffff",
        "hello \u00ffff world",
        "1 s",
        "1s ",
        " 1s",
        "1e3s",
        "0x1s",
        "1.2.3s",
        "--1s",
        "+-1s",
        "1sm",
        "1m1"
      })
  void parse_refusesWhatGoRefuses(String text) {
    GoDuration.InvalidDurationException e =
        assertThrows(GoDuration.InvalidDurationException.class, () -> GoDuration.parse(text));
    assertTrue(e.getMessage().startsWith("invalid duration"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "9223372036854775808ns",
        "9223372036854775.808us",
        "9223372036854ms775us808ns",
        "-9223372036854775809ns",
        "2562047h47m16.854775808s",
        "2562048h",
        "2562047.9999999h",
        "3000000h",
        "99999999999999999999s",
        "2000000h2000000h",
        "1h9223372036854775807ns",
        "9999999999999999h",
        "18446744073709551616ns",
        "-2562047h47m16.854775809s"
      })
  void parse_overflow_isOutOfRange(String text) {
    GoDuration.InvalidDurationException e =
        assertThrows(GoDuration.InvalidDurationException.class, () -> GoDuration.parse(text));
    assertEquals(
        "duration \"" + text + "\" is out of range (at most 2562047h47m16.854775807s)",
        e.getMessage());
  }

  @Test
  void parse_refusesLongInputBeforeReadingIt_andNull() {
    String many = "1ns".repeat(100);
    GoDuration.InvalidDurationException e =
        assertThrows(GoDuration.InvalidDurationException.class, () -> GoDuration.parse(many));
    assertTrue(e.getMessage().contains("longer than " + GoDuration.MAX_LENGTH), e.getMessage());
    assertThrows(GoDuration.InvalidDurationException.class, () -> GoDuration.parse(null));
  }

  @Test
  void parse_unknownUnit_namesIt() {
    GoDuration.InvalidDurationException e =
        assertThrows(GoDuration.InvalidDurationException.class, () -> GoDuration.parse("3d"));
    assertEquals(
        "invalid duration \"3d\": unknown unit \"d\" (want ns, us, ms, s, m or h)", e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "0|0s",
        "1|1ns",
        "1100|1.1\u00b5s",
        "2200000|2.2ms",
        "3300000000|3.3s",
        "240000000000|4m0s",
        "18300000000000|5h5m0s",
        "-1|-1ns",
        "-60000000000|-1m0s",
        "9223372036854775807|2562047h47m16.854775807s",
        "-9223372036854775808|-2562047h47m16.854775808s",
        "5400000000000|1h30m0s",
        "500000000|500ms"
      })
  void format_isGoDurationString(long nanos, String text) {
    assertEquals(text, GoDuration.format(nanos));
  }

  @Test
  void format_thenParse_roundTrips() throws Exception {
    Random r = new Random(20261202);
    for (int i = 0; i < 20_000; i++) {
      long n =
          switch (i % 4) {
            case 0 -> r.nextLong();
            case 1 -> r.nextInt();
            case 2 -> (long) r.nextInt(100_000) * MIN;
            default -> r.nextInt(1000) * S + r.nextInt(1000);
          };
      assertEquals(n, GoDuration.parse(GoDuration.format(n)), () -> "format " + n);
    }
    assertEquals(Long.MIN_VALUE, GoDuration.parse(GoDuration.format(Long.MIN_VALUE)));
    assertFalse(GoDuration.format(Long.MAX_VALUE).length() > GoDuration.MAX_LENGTH);
  }
}
