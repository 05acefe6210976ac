package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Aliases cannot make a small file stand for more text than a large one could hold outright, and
 * text that is not Unicode never gets past the parser: what validate accepts, every agent can
 * render and write.
 */
class ExpansionLimitsTest {
  private static final String HEAD =
      "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";

  @Test
  void aliasedTextCountsAsWhatItRepeats() {
    StringBuilder sb = new StringBuilder(HEAD).append("x-mirrors: &m\n");
    for (int i = 0; i < 11; i++) {
      sb.append("  - url: https://m")
          .append(i)
          .append(".example/")
          .append("p".repeat(2_000))
          .append('\n');
    }
    sb.append("registries:\n");
    for (int r = 0; r < 900; r++) {
      sb.append("  - host: r").append(r).append(".example\n    mirrors: *m\n");
    }
    byte[] file = sb.toString().getBytes(StandardCharsets.UTF_8);
    assertTrue(file.length < 100_000, "a small file");
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyDocument.parse(file));
    String all = e.problems().toString();
    assertTrue(
        all.contains("characters of text in one document (aliases count as what they repeat)"),
        all);
  }

  @Test
  void anUnpairedSurrogateEscapeIsRefusedWithItsPlace() {
    for (String v : new String[] {"\\ud800", "\\udfff", "a\\ud83d", "\\ude00b"}) {
      String yaml =
          HEAD
              + "registries:\n  - host: r.example\n    mirrors:\n      - url: \"https://m.example/"
              + v
              + "\"\n";
      PolicyException e = assertThrows(PolicyException.class, () -> PolicyDocument.parse(yaml), v);
      String all = e.problems().toString();
      assertTrue(all.contains("at line 6, column") && all.contains("unpaired surrogate"), all);
    }
    // A pair written as two escapes is one character and fine.
    String ok =
        HEAD
            + "registries:\n  - host: r.example\n    mirrors:\n      - url: \"https://m.example/\\ud83d\\ude00\"\n";
    try {
      PolicyDocument.parse(ok);
    } catch (PolicyException e) {
      assertTrue(!e.problems().toString().contains("surrogate"), e.problems().toString());
    }
  }
}
