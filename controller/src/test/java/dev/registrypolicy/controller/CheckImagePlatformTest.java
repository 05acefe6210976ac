package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check --image-platform}: the controller's {@code run --image-platform} for check, so both
 * read the same image of an index (ImageContentLabTest proves the agreement on an arm64 index).
 */
class CheckImagePlatformTest {
  @TempDir Path tmp;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int check(String... more) throws Exception {
    Path policy = Files.writeString(tmp.resolve("policy.yaml"), CheckImageContentTest.POLICY);
    Path obj = Files.writeString(tmp.resolve("objects.yaml"), CheckImageContentTest.OBJECTS);
    List<String> args =
        new ArrayList<>(
            List.of("check", "--policy", policy.toString(), "--objects", obj.toString()));
    args.addAll(List.of(more));
    return ControllerMain.run(
        args.toArray(new String[0]),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void needsRegistryAccess() throws Exception {
    assertEquals(2, check("--image-platform", "linux/arm64"));
    assertTrue(err().contains("check: --image-platform needs --registry-access"), err());
    assertEquals("", out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void aPlatformThatIsNotOsArchIsAUsageError() throws Exception {
    assertEquals(2, check("--registry-access", "--image-platform", "arm64"));
    assertTrue(
        err()
            .contains(
                "check: --image-platform: platform \"arm64\" is not os/architecture[/variant],"
                    + " e.g. linux/amd64"),
        err());
    err.reset();
    assertEquals(2, check("--registry-access", "--image-platform", "linux/"));
    assertTrue(err().contains("has an empty or invalid part"), err());
  }

  @Test
  void theHelpNamesIt() throws Exception {
    assertEquals(
        0,
        ControllerMain.run(
            new String[] {"check", "--help"},
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8)));
    String help = out.toString(StandardCharsets.UTF_8) + err();
    assertTrue(help.contains("--image-platform OS/ARCH[/VARIANT]"), help);
  }
}
