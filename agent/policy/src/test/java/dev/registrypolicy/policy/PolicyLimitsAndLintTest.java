package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whatever validate accepts, every agent applies; and settings that mean nothing (or leak) on
 * http:// are problems.
 */
class PolicyLimitsAndLintTest {
  private static final String HEAD =
      "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";

  private static List<String> problems(String yaml) {
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyParser.parse(yaml));
    return e.problems().stream().map(Problem::toString).collect(Collectors.toList());
  }

  private static String name(int length) {
    StringBuilder sb = new StringBuilder();
    while (sb.length() < length) {
      sb.append(sb.length() == 0 ? "" : ".")
          .append("a".repeat(Math.min(63, Math.max(1, length - sb.length() - 1))));
    }
    return sb.substring(0, length).endsWith(".")
        ? sb.substring(0, length - 1) + "b"
        : sb.substring(0, length);
  }

  @Test
  void hostDirectoryNames_fitAFileName() throws Exception {
    String n253 = name(253);
    assertEquals(253, n253.length());
    assertEquals(
        List.of(
            "registries[0].host: too long (258 characters; a host's certs.d directory name has at most 255 bytes)"),
        problems(HEAD + "registries:\n  - host: \"" + n253 + ":5000\"\n"));
    // 248 + ":5000" = 253 characters; host_port_ form 254 bytes: fits.
    String n248 = name(248);
    Policy p = PolicyParser.parse(HEAD + "registries:\n  - host: \"" + n248 + ":5000\"\n");
    for (String dir : RegistryHosts.directoryNames(p.registries().get(0).host())) {
      assertTrue(dir.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 255, dir);
    }
    assertEquals(
        List.of(n248 + "_5000_", n248 + ":5000"), RegistryHosts.directoryNames(n248 + ":5000"));
    String n250 = name(250);
    assertEquals(
        List.of(
            "registries[0].host: too long for a certs.d directory name: containerd looks up \"host_port_\", 256 bytes here,"
                + " and a file name has at most 255"),
        problems(HEAD + "registries:\n  - host: \"" + n250 + ":5000\"\n"));
    PolicyParser.parse(HEAD + "registries:\n  - host: \"" + n253 + "\"\n");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a/b",
        "a\\\\b",
        "a\\u0000b",
        "a\\tb",
        "a\\nb",
        "..",
        ".",
        "a..b",
        "\\u00e9.example",
        "a b"
      })
  void hostsThatWouldBreakAFileName_areRefused(String host) {
    assertTrue(
        problems(HEAD + "registries:\n  - host: \"" + host + "\"\n")
            .get(0)
            .startsWith("registries[0].host: "));
  }

  @Test
  void credentialsOverHttp_areAProblem_exceptToLoopback() throws Exception {
    String creds = "credentials: [{name: c, secret: s}]\n";
    assertEquals(
        List.of(
            "registries[0].mirrors[0].credentials: an http:// URL would send the credentials' Authorization header"
                + " unencrypted over the network (use https://, or remove credentials; only loopback hosts may take them over http://)"),
        problems(
            HEAD
                + creds
                + "registries:\n  - host: a.example\n    mirrors: [{url: http://m.example, credentials: c}]\n"));
    assertEquals(
        List.of(
            "registries[0].credentials: an http:// URL would send the credentials' Authorization header"
                + " unencrypted over the network (use https://, or remove credentials; only loopback hosts may take them over http://)"),
        problems(
            HEAD
                + creds
                + "registries:\n  - host: a.example\n    url: http://a.example\n    credentials: c\n"));
    assertEquals(
        1,
        problems(
                HEAD
                    + creds
                    + "registries:\n  - host: a.example\n    mirrors: [{url: 'http://127.evil.example', credentials: c}]\n")
            .size());
    for (String loop :
        List.of("http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:5000")) {
      PolicyParser.parse(
          HEAD
              + creds
              + "registries:\n  - host: a.example\n    mirrors: [{url: '"
              + loop
              + "', credentials: c}]\n");
    }
  }

  @Test
  void tlsSettingsOnHttp_areProblemsThatSayWhatToDo() {
    List<String> got =
        problems(
            HEAD
                + "registries:\n  - host: a.example\n    mirrors:\n      - url: http://m.example\n"
                + "        ca: {secret: ca}\n        clientCert: {secret: tls}\n        skipVerify: true\n");
    assertEquals(
        List.of(
            "registries[0].mirrors[0].ca: has no effect on an http:// URL, which uses no TLS (use https:// or remove ca)",
            "registries[0].mirrors[0].clientCert: has no effect on an http:// URL, which uses no TLS (use https:// or remove clientCert)",
            "registries[0].mirrors[0].skipVerify: has no effect on an http:// URL, which uses no TLS (use https:// or remove skipVerify)"),
        got);
  }

  @Test
  void secretKeysTheBundleCannotName_areProblems() {
    String secret = "s".repeat(240);
    List<String> got =
        problems(
            HEAD
                + "credentials: [{name: c, secret: "
                + secret
                + "}]\nregistries:\n  - host: a.example\n"
                + "    ca: {secret: ca, key: "
                + "k".repeat(252)
                + "}\n");
    assertEquals(2, got.size(), got::toString);
    assertTrue(
        got.get(0).startsWith("credentials[0].secret: the node credentials bundle names this key"),
        got.get(0));
    assertTrue(
        got.get(1).startsWith("registries[0].ca.key: the node credentials bundle names this key"),
        got.get(1));
  }

  @Test
  void dialTimeout_zeroAndNegative_areProblems() {
    assertEquals(
        List.of("registries[0].dialTimeout: must be longer than zero, found \"0s\""),
        problems(HEAD + "registries:\n  - host: a.example\n    dialTimeout: 0s\n"));
    assertEquals(
        List.of("registries[0].dialTimeout: must be longer than zero, found \"-1s\""),
        problems(HEAD + "registries:\n  - host: a.example\n    dialTimeout: -1s\n"));
  }

  @Test
  void yamlErrors_giveLineAndColumn() {
    assertEquals(
        List.of("invalid YAML at line 4, column 1: duplicate key"),
        problems(HEAD + "registries: []\nregistries: []\n"));
    assertEquals(
        List.of("invalid YAML at line 3, column 13: undefined alias"),
        problems(HEAD + "registries: *nope\n"));
    assertEquals(
        List.of("invalid YAML at line 3, column 13: unknown tag"),
        problems(HEAD + "registries: !secret x\n"));
    assertEquals(
        List.of("invalid YAML at line 3, column 13: a number longer than 64 characters"),
        problems(HEAD + "registries: " + "9".repeat(100) + "\n"));
  }

  @Test
  void manyProblems_areCapped() {
    StringBuilder sb = new StringBuilder(HEAD + "registries:\n");
    for (int i = 0; i < 500; i++) {
      sb.append("  - host: 'bad host ").append(i).append("'\n");
    }
    List<String> got = problems(sb.toString());
    assertEquals(PolicyParser.MAX_PROBLEMS + 1, got.size());
    assertEquals("... and 300 more problems (fix these first)", got.get(got.size() - 1));
  }
}
