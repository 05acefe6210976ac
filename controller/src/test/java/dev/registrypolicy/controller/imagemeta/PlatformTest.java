package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** containerd's {@code platforms.Only} matching, case by case from its documentation. */
class PlatformTest {
  static int rank(String want, String candidate) {
    return Platform.parse(want).rank(Platform.parse(candidate));
  }

  @Test
  void amd64_matchesItselfThen386_notArm() {
    assertEquals(0, rank("linux/amd64", "linux/amd64"));
    assertEquals(0, rank("linux/amd64", "linux/x86_64"));
    assertEquals(0, rank("linux/amd64", "linux/amd64/v1"));
    assertEquals(1, rank("linux/amd64", "linux/386"));
    assertEquals(-1, rank("linux/amd64", "linux/arm64"));
    assertEquals(-1, rank("linux/amd64", "windows/amd64"));
    assertEquals(-1, rank("linux/amd64", "linux/amd64/v2"));
  }

  @Test
  void amd64v3_alsoRunsV2AndV1() {
    assertEquals(0, rank("linux/amd64/v3", "linux/amd64/v3"));
    assertEquals(1, rank("linux/amd64/v3", "linux/amd64/v2"));
    assertEquals(2, rank("linux/amd64/v3", "linux/amd64"));
    assertEquals(3, rank("linux/amd64/v3", "linux/386"));
  }

  @Test
  void arm64_isArm64v8_andRunsArm32() {
    assertEquals(0, rank("linux/arm64", "linux/arm64/v8"));
    assertEquals(0, rank("linux/arm64/v8", "linux/arm64"));
    assertEquals(0, rank("linux/arm64", "linux/aarch64"));
    assertTrue(rank("linux/arm64", "linux/arm/v8") > 0);
    assertTrue(rank("linux/arm64", "linux/arm/v7") > rank("linux/arm64", "linux/arm/v8"));
    assertTrue(rank("linux/arm64", "linux/arm/v5") > 0);
    assertEquals(-1, rank("linux/arm64", "linux/amd64"));
  }

  @Test
  void arm64v9_runsV8_afterV9() {
    assertEquals(0, rank("linux/arm64/v9", "linux/arm64/v9"));
    int v8 = rank("linux/arm64/v9", "linux/arm64/v8");
    assertTrue(v8 > 0, "v8 " + v8);
    assertTrue(rank("linux/arm64/v9", "linux/arm64/v8.5") < v8);
    assertEquals(-1, rank("linux/arm64/v8", "linux/arm64/v9"));
  }

  @Test
  void arm_vN_runsOlderVariantsOnly() {
    assertEquals(0, rank("linux/arm/v7", "linux/arm"));
    assertEquals(0, rank("linux/arm/v7", "linux/armhf"));
    assertEquals(1, rank("linux/arm/v7", "linux/arm/v6"));
    assertEquals(2, rank("linux/arm/v7", "linux/arm/v5"));
    assertEquals(-1, rank("linux/arm/v7", "linux/arm/v8"));
  }

  @Test
  void parse_refusesMalformedText() {
    for (String s : new String[] {"linux", "linux/", "/amd64", "a/b/c/d", "linux/amd 64", ""}) {
      assertThrows(IllegalArgumentException.class, () -> Platform.parse(s), s);
    }
    assertEquals("linux/arm64/v8", Platform.parse("linux/arm64/v8").toString());
  }
}
