package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;

/**
 * Whatever an Authorization header value is, hosts.toml holds it so that TOML 1.0 parsers read it
 * back unchanged: the agent's own reader (which {@link HostsToml#verify} uses) and tomlj, an
 * independent one. containerd's Go parsers read TOML 1.0 basic strings by the same rules.
 */
class HostsTomlTest {
  static final String MARKER = HostsToml.MARKER_PREFIX + "; policy-sha256=0123456789ab";

  static HostsToml withHeader(String url, String authorization) {
    HostsToml.Host h =
        new HostsToml.Host(
            url,
            List.of("pull", "resolve"),
            List.of("/etc/containerd/certs.d/x/ca.crt"),
            List.of(),
            false,
            false,
            "2s",
            authorization);
    HostsToml.Host root =
        new HostsToml.Host(null, null, List.of(), List.of(), false, false, null, authorization);
    return new HostsToml(MARKER, "https://registry.example", root, List.of(h));
  }

  /** Characters TOML treats specially, control characters, and text from every Unicode plane. */
  static final String HARD =
      "\\\"'#[]{}=.,\n\r\t\b\f\u0000\u0001\u001b\u001f\u007f\u0080\u00e9\u2028\u2029\uFEFF\uFFFD"
          + "\uFFFF\uD83D\uDE00\uDBFF\uDFFF abcXYZ019+/-_:~";

  static String randomValue(Random rnd, int maxLength) {
    int n = rnd.nextInt(maxLength + 1);
    StringBuilder sb = new StringBuilder(n);
    while (sb.length() < n) {
      switch (rnd.nextInt(5)) {
        case 0 ->
            sb.append(
                new String[] {
                      "\\u0041", "\\U0001F600", "\\\\", "\\\"", "\"\"\"", "'''", "\\n", "\\"
                    }
                    [rnd.nextInt(8)]);
        case 1 -> sb.append((char) rnd.nextInt(0x80)); // any ASCII, controls included
        case 2 ->
            sb.appendCodePoint(0x10000 + rnd.nextInt(0x10FFFF - 0x10000)); // supplementary planes
        case 3 -> {
          char c = (char) (0x80 + rnd.nextInt(0xD800 - 0x80)); // BMP below the surrogates
          sb.append(c);
        }
        default -> {
          int i = rnd.nextInt(HARD.length());
          char c = HARD.charAt(i);
          if (Character.isHighSurrogate(c)) {
            sb.append(c).append(HARD.charAt(i + 1));
          } else if (!Character.isLowSurrogate(c)) {
            sb.append(c);
          }
        }
      }
    }
    return sb.toString();
  }

  /** The header value as two independent TOML 1.0 parsers read it from the rendered text. */
  static void assertReadsBack(String value) throws Exception {
    HostsToml t = withHeader("https://mirror.example:5000/v2", value);
    String text = t.render();
    assertTrue(text.chars().allMatch(c -> c < 0x80), "hosts.toml is ASCII");
    assertNull(t.verify(text), () -> "verify failed for a value of length " + value.length());
    String url = "https://mirror.example:5000/v2";

    Map<String, Object> ours = TomlReader.read(text);
    assertEquals(value, ((Map<?, ?>) ours.get("header")).get("Authorization"));
    Map<?, ?> host = (Map<?, ?>) ((Map<?, ?>) ours.get("host")).get(url);
    assertEquals(value, ((Map<?, ?>) host.get("header")).get("Authorization"));

    TomlParseResult other =
        Toml.parse(new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
    assertTrue(other.errors().isEmpty(), () -> "tomlj: " + other.errors());
    assertEquals(value, other.getString(List.of("header", "Authorization")));
    assertEquals(value, other.getString(List.of("host", url, "header", "Authorization")));
  }

  @Test
  void registryTokenWithBackslashesAndQuotes() throws Exception {
    for (String token :
        List.of(
            "a\\b",
            "ends with \\",
            "\\\\",
            "\\u0041",
            "\\U0001F600",
            "q\"uote\\\"",
            "\\n\\t",
            "C:\\Users\\robot",
            "\"\"\"",
            "'''",
            "tab\there")) {
      assertReadsBack("Bearer " + token);
    }
  }

  @Test
  void everyControlCharacterAndSpecialCharacter() throws Exception {
    StringBuilder all = new StringBuilder();
    for (char c = 0; c < 0x20; c++) {
      all.append(c);
    }
    all.append('\u007f').append(HARD);
    assertReadsBack(all.toString());
    for (int i = 0; i < all.length(); i++) {
      char c = all.charAt(i);
      if (!Character.isSurrogate(c)) {
        assertReadsBack("x" + c + "y");
      }
    }
  }

  @Test
  void generatedValuesReadBackUnchanged() throws Exception {
    Random rnd = new Random(20261202L);
    for (int i = 0; i < 1500; i++) {
      assertReadsBack("Bearer " + randomValue(rnd, 120));
    }
    // Basic credentials from arbitrary password bytes are base64, and read back too
    for (int i = 0; i < 200; i++) {
      byte[] secret = new byte[rnd.nextInt(64)];
      rnd.nextBytes(secret);
      assertReadsBack("Basic " + Base64.getEncoder().encodeToString(secret));
    }
  }

  @Test
  void veryLongValues() throws Exception {
    Random rnd = new Random(7);
    assertReadsBack("Bearer " + randomValue(rnd, 0).concat("\\".repeat(40_000)));
    assertReadsBack("Bearer " + "eyJ".repeat(10_000));
    String big = randomValue(rnd, 30_000);
    assertReadsBack(big);
  }

  @Test
  void anUnpairedSurrogateIsReportedByKeyNeverByValue() {
    for (String bad : List.of("Bearer \uD800", "Bearer x\uDC00y", "\uDBFF")) {
      HostsToml t = withHeader("https://mirror.example", bad);
      String why = t.verify(t.render());
      assertTrue(
          why != null && why.startsWith("the value of header.Authorization is not Unicode text"),
          why);
      assertFalse(why.contains("Bearer"), why);
    }
  }

  @Test
  void verifyNamesTheDifferenceNotTheValue() {
    HostsToml t = withHeader("https://mirror.example", "Bearer s3cr3t\\token");
    String text = t.render();
    assertNull(t.verify(text));
    String changed = text.replace("s3cr3t\\\\token", "s3cr3t\\\\tokeN");
    assertEquals("key header differs after parsing", t.verify(changed));
    assertEquals("marker line missing", t.verify(text.substring(1)));
    String broken = t.verify(text + "garbage line\n");
    assertTrue(broken.startsWith("does not parse as TOML at line "), broken);
    List<String> all = new ArrayList<>(List.of(t.verify(changed), broken));
    for (String s : all) {
      assertFalse(s.contains("s3cr3t"), s);
    }
  }

  @Test
  void hostOrderIsChecked() {
    HostsToml.Host a =
        new HostsToml.Host(
            "https://a.example", null, List.of(), List.of(), false, false, null, null);
    HostsToml.Host b =
        new HostsToml.Host(
            "https://b.example", null, List.of(), List.of(), false, false, null, null);
    HostsToml ab = new HostsToml(MARKER, null, null, List.of(a, b));
    HostsToml ba = new HostsToml(MARKER, null, null, List.of(b, a));
    assertNull(ab.verify(ab.render()));
    assertEquals("host order differs", ab.verify(ba.render()));
  }
}
