package dev.registrypolicy.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RedactTest {
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "https://u:p@ss@h/x             | https://***@h/x",
        "https://u:p@ss w@h             | https://***@h",
        "https://h/x?token=SECRET       | https://h/x?***",
        "https://u:p@h#SECRET@x         | https://***",
        "h/x?token=p@ss                 | ***",
        "https://u:p@h/x?token=T        | https://***@h/x?***",
        "https://h/x?a=1#frag           | https://h/x?***",
        "https://u:pa/ss@h/x            | https://***@h/x",
        "u:S3cr3t@registry.example/x    | ***@registry.example/x",
        "registry.example/x?token=PW    | registry.example/x?***",
        "registry.example/x?a&b=PW      | registry.example/x?***",
        "ngin?                          | ngin?",
        "docker.io/library/*            | docker.io/library/*",
        "https://h.example:5000/v2      | https://h.example:5000/v2",
        "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef | nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "u:PW@reg/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef | ***@reg/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "PW@sha256:short                | ***@sha256:short",
      })
  void value_hidesUserInfoQueryAndFragment(String text, String want) {
    assertEquals(want, Redact.value(text));
  }

  @Test
  void value_escapesControlAndInvisibleCharacters_andCutsLongValues() {
    assertEquals("a\\u000ab\\u202ec\\u0000", Redact.value("a\nb\u202ec\u0000"));
    assertEquals("\\\"q\\\\", Redact.value("\"q\\"));
    assertEquals(
        "\u00e9\ud83d\ude00",
        Redact.value("\u00e9\ud83d\ude00"),
        "a surrogate pair is one visible character");
    assertEquals("\\ud83d", Redact.value("\ud83d"), "a lone surrogate is escaped");
    String longText = "x".repeat(5000);
    assertEquals("x".repeat(Redact.MAX_SHOWN) + "... (5000 characters)", Redact.value(longText));
    assertEquals("\"***@h\"", Redact.quote("secret@h"));
    assertEquals("null", Redact.quote(null));
  }

  @Test
  void value_neverShowsThePasswordWhateverItHolds() {
    String[] passwords = {
      "S3cr3t", "p@ss", "pa/ss", "pa:ss", "pa?ss", "pa#ss", "p\\ss", "p\"ss", "\u00fcber", "p ss"
    };
    String[] shapes = {
      "u:%s@h", "https://u:%s@h/x", "http://%s@h", "h/x?token=%s", "h/x#%s", "h?x=1&token=%s"
    };
    for (String pw : passwords) {
      for (String shape : shapes) {
        String text = String.format(shape, pw);
        String shown = Redact.value(text);
        assertFalse(
            shown.contains(pw) || shown.contains(Redact.value(pw)),
            () -> text + " shown as " + shown);
        assertTrue(Redact.hidesSomething(text), text);
      }
    }
  }
}
