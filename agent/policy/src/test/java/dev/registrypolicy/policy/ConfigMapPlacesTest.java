package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A YAML error inside a ConfigMap's policy.yaml is placed in the file the user named. */
class ConfigMapPlacesTest {
  private static final String MANIFEST =
      String.join(
          "\n",
          "apiVersion: v1", // 1
          "kind: ConfigMap", // 2
          "metadata:", // 3
          "  name: registry-policy", // 4
          "  namespace: registry-policy", // 5
          "data:", // 6
          "  policy.yaml: |", // 7
          "    apiVersion: registry-policy.dev/v1alpha1", // 8 (policy.yaml line 1)
          "    kind: RegistryPolicy", // 9
          "    registries:", // 10
          "      - host: ghcr.io", // 11
          "        mirrors: [oops", // 12 (policy.yaml line 5)
          "");

  @Test
  void aSyntaxErrorNamesTheFilesLineAndThePolicysLine() {
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyDocument.parse(MANIFEST));
    String all = e.problems().toString();
    assertTrue(all.contains(" of the file (line "), all);
    String bare =
        MANIFEST.substring(MANIFEST.indexOf("    apiVersion")).replaceAll("(?m)^    ", "");
    PolicyException inner = assertThrows(PolicyException.class, () -> PolicyDocument.parse(bare));
    String innerAll = inner.problems().toString();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("at line (\\d+), column (\\d+)").matcher(innerAll);
    assertTrue(m.find(), innerAll);
    int line = Integer.parseInt(m.group(1));
    int col = Integer.parseInt(m.group(2));
    assertTrue(
        all.contains(
            "at line "
                + (line + 7)
                + ", column "
                + (col + 4)
                + " of the file (line "
                + line
                + " of its policy.yaml)"),
        all);
    assertEquals(1, e.problems().size(), all);
  }
}
