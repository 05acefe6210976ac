package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line: --version, --help everywhere, exit codes, one message per bad flag, no Java in
 * messages.
 */
class AgentMainTest {
  /** A Java exception or error class name, as a message must never show one. */
  static final Pattern JAVA_NAME =
      Pattern.compile("[A-Z][A-Za-z]+(Exception|Error)\\b|java\\.[a-z]+\\.");

  @TempDir Path tmp;
  Path policy;
  Path certs;
  String out;
  String err;

  @BeforeEach
  void setUp() throws Exception {
    policy = tmp.resolve("policy.yaml");
    Files.writeString(policy, AgentLoopTest.POLICY);
    certs = Files.createDirectories(tmp.resolve("certs.d"));
  }

  int main(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code =
        AgentMain.run(
            args,
            new PrintStream(o, true, StandardCharsets.UTF_8),
            new PrintStream(e, true, StandardCharsets.UTF_8));
    out = o.toString(StandardCharsets.UTF_8);
    err = e.toString(StandardCharsets.UTF_8);
    assertFalse(JAVA_NAME.matcher(out + err).find(), () -> "Java in a message: " + out + err);
    return code;
  }

  List<String> errorLines() {
    List<String> l = new ArrayList<>();
    for (String s : err.split("\n")) {
      if (s.startsWith("registry-policy-agent: ")) {
        l.add(s);
      }
    }
    return l;
  }

  @Test
  void versionAndHelp() {
    assertEquals(AgentMain.OK, main("--version"));
    assertTrue(out.startsWith("registry-policy-agent "), out);
    assertEquals(AgentMain.OK, main("--help"));
    assertTrue(out.contains("usage: registry-policy-agent"), out);
    assertEquals(AgentMain.OK, main("--policy", "x", "--help"), "--help wins over other flags");
    assertEquals(AgentMain.OK, main("demo", "--help"));
    assertTrue(out.contains("usage: registry-policy-agent demo"), out);
    assertEquals(AgentMain.USAGE, main("demo", "--bogus"));
    assertEquals(AgentMain.USAGE, main("--version", "--once"));
  }

  @Test
  void oneMessagePerBadFlag() {
    assertEquals(
        AgentMain.USAGE,
        main(
            "--bogus",
            "--resync",
            "fast",
            "--listen",
            "nohostport",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString()));
    assertEquals(3, errorLines().size(), err);
    assertEquals(AgentMain.USAGE, main("--certs-dir"));
    assertEquals(
        List.of(
            "registry-policy-agent: --certs-dir needs a value",
            "registry-policy-agent: --policy is required"),
        errorLines(),
        "a missing value is one message, not also \"required\"");
    assertEquals(
        AgentMain.USAGE,
        main(
            "--once",
            "--once=yes",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString()));
    assertEquals(1, errorLines().size(), err);
  }

  @Test
  void certsDirThatDoesNotExist_isAUsageErrorAndIsNotCreated() {
    Path missing = tmp.resolve("nonexistent/certs.d");
    assertEquals(
        AgentMain.USAGE,
        main("--once", "--policy", policy.toString(), "--certs-dir", missing.toString()));
    assertTrue(err.contains("does not exist"), err);
    assertFalse(Files.exists(missing.getParent()), "nothing created");
    assertEquals(AgentMain.USAGE, main("--cleanup", "--certs-dir", missing.toString()));
    assertEquals(
        AgentMain.USAGE,
        main("--once", "--policy", policy.toString(), "--certs-dir", policy.toString()));
    assertTrue(err.contains("is not a directory"), err);
  }

  @Test
  void namedInputsThatAreNotWhatTheyShouldBe() throws Exception {
    assertEquals(
        AgentMain.USAGE,
        main(
            "--once",
            "--policy",
            tmp.resolve("nope.yaml").toString(),
            "--certs-dir",
            certs.toString()));
    assertTrue(err.contains("does not exist"), err);
    assertEquals(
        AgentMain.USAGE,
        main("--once", "--policy", tmp.toString(), "--certs-dir", certs.toString()));
    assertTrue(err.contains("is a directory"), err);
    assertEquals(
        AgentMain.USAGE,
        main(
            "--once",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString(),
            "--secrets-dir",
            policy.toString()));
    assertEquals(
        AgentMain.USAGE,
        main(
            "--once",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString(),
            "--containerd-config",
            tmp.toString()));
    assertEquals(
        AgentMain.USAGE,
        main(
            "--once",
            "--policy",
            policy.toString(),
            "--certs-dir",
            certs.toString(),
            "--node-certs-dir",
            "relative/path"));
  }

  @Test
  void everyFlagValueParsesSafely() {
    for (String v :
        List.of(
            "9999999999999999h",
            "99999999999999999999999999s",
            "25h",
            "99ms",
            "0s",
            "-1s",
            "",
            "s",
            "1d",
            "9".repeat(10_000) + "s")) {
      assertEquals(
          AgentMain.USAGE,
          main("--resync", v, "--policy", policy.toString(), "--certs-dir", certs.toString()),
          v.length() > 40 ? v.substring(0, 40) : v);
      assertEquals(1, errorLines().size(), err);
      assertTrue(err.length() < 2_000, "the message does not echo a huge value whole");
    }
    for (String v :
        List.of(
            "0.0.0.0",
            ":9741",
            "0.0.0.0:",
            "0.0.0.0:65536",
            "0.0.0.0:-1",
            "0.0.0.0:http",
            "no-such-host.invalid:9741",
            "[::1]:99999")) {
      assertEquals(
          AgentMain.USAGE,
          main("--listen", v, "--policy", policy.toString(), "--certs-dir", certs.toString()),
          v);
      assertEquals(1, errorLines().size(), err);
    }
    assertEquals(java.time.Duration.ofHours(24), AgentMain.duration("24h"));
    assertEquals(java.time.Duration.ofMillis(100), AgentMain.duration("100ms"));
    // Go durations, parsed as the controller parses its own --resync
    assertEquals(java.time.Duration.ofMillis(1500), AgentMain.duration("1.5s"));
    assertEquals(java.time.Duration.ofMinutes(90), AgentMain.duration("1h30m"));
  }

  @Test
  void listenAcceptsIpv6InBrackets() throws Exception {
    AgentMain.Flags f =
        AgentMain.parse(
            List.of(
                "--listen",
                "[::1]:0",
                "--policy",
                policy.toString(),
                "--certs-dir",
                certs.toString()));
    assertTrue(f.listen().getAddress().isLoopbackAddress());
  }

  @Test
  void exitCodes() throws Exception {
    assertEquals(
        AgentMain.OK,
        main("--once", "--policy", policy.toString(), "--certs-dir", certs.toString()));
    Files.write(policy, new byte[] {'a', ':', ' ', (byte) 0xff, '\n'});
    assertEquals(
        AgentMain.FAILED,
        main("--once", "--policy", policy.toString(), "--certs-dir", certs.toString()),
        "the command ran and found a problem");
    Files.writeString(policy, "kind: nope\n");
    assertEquals(
        AgentMain.FAILED,
        main("--once", "--policy", policy.toString(), "--certs-dir", certs.toString()));
    assertEquals(AgentMain.OK, main("--cleanup", "--certs-dir", certs.toString()));
  }

  @Test
  void demo_exitsZeroAndItsSecondPassWritesNothing() {
    assertEquals(AgentMain.OK, main("demo"), err + out);
    assertTrue(
        out.contains("second pass, nothing changed: applied, files written: 0, problems: []"), out);
    assertTrue(out.contains("first pass: applied, problems: []"), out);
  }
}
