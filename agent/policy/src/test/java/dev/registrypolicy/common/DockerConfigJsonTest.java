package dev.registrypolicy.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DockerConfigJsonTest {
  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(bytes(s));
  }

  private static String decodeBasic(String header) {
    assertTrue(header.startsWith("Basic "), header);
    return new String(Base64.getDecoder().decode(header.substring(6)), StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "pa:ss",
        "p\\ss",
        "p\"ss",
        "\u00fcber-\u4e2d\u6587-\ud83d\ude00",
        "a b",
        "x:y:z",
        "'",
        "{}",
        "\\u0041"
      })
  void anyPassword_worksFromAuthAndFromUsernamePassword(String password) throws Exception {
    String viaAuth = "{\"auths\":{\"r.example\":{\"auth\":\"" + b64("robot:" + password) + "\"}}}";
    assertEquals(
        "robot:" + password,
        decodeBasic(
            DockerConfigJson.parse(bytes(viaAuth))
                .lookup("r.example")
                .orElseThrow()
                .authorization()));
    String json =
        new String(
            DockerConfigJson.of(
                    List.of(DockerConfigJson.Entry.basic("r.example", "robot", password)))
                .toJson(),
            StandardCharsets.UTF_8);
    DockerConfigJson.Entry back =
        DockerConfigJson.parse(bytes(json)).lookup("r.example").orElseThrow();
    assertEquals(password, back.password());
    assertEquals("robot:" + password, decodeBasic(back.authorization()));
    assertEquals(
        "robot:" + password,
        decodeBasic(DockerConfigJson.basicAuthorization(bytes("robot"), bytes(password))));
  }

  @Test
  void aPasswordThatIsNotUnicodeIsRefusedNotRewritten() throws Exception {
    for (String pw : new String[] {"pw\\ud800", "\\udfffpw", "a\\ud83d"}) {
      byte[] json =
          ("{\"auths\":{\"r.example\":{\"username\":\"u\",\"password\":\"" + pw + "\"}}}")
              .getBytes(StandardCharsets.UTF_8);
      DockerConfigJson.Entry e = DockerConfigJson.parse(json).lookup("r.example").orElseThrow();
      InvalidDockerConfigException x =
          assertThrows(InvalidDockerConfigException.class, e::authorization, pw);
      assertTrue(x.getMessage().contains("not Unicode text"), x.getMessage());
      assertFalse(x.getMessage().contains("pw"), x.getMessage());
    }
  }

  @Test
  void basicAuthorization_usesTheBytesAsGiven() {
    byte[] pw = {(byte) 0xff, 0, '\\', ':'};
    String header = DockerConfigJson.basicAuthorization(bytes("u"), pw);
    byte[] decoded = Base64.getDecoder().decode(header.substring(6));
    assertEquals(
        List.of((byte) 'u', (byte) ':', (byte) 0xff, (byte) 0, (byte) '\\', (byte) ':'),
        List.of(decoded[0], decoded[1], decoded[2], decoded[3], decoded[4], decoded[5]));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "registry.corp.example                     | registry.corp.example       | true",
        "https://registry.corp.example/v1/         | registry.corp.example       | true",
        "Registry.Corp.Example                     | registry.corp.example       | true",
        "registry.corp.example:5000                | registry.corp.example:5000  | true",
        "registry.corp.example                     | registry.corp.example:5000  | false",
        "registry.corp.example:5000                | registry.corp.example       | false",
        "https://index.docker.io/v1/               | docker.io                   | true",
        "docker.io                                 | docker.io                   | true",
        "registry-1.docker.io                      | docker.io                   | true",
        "index.docker.io                           | index.docker.io             | true",
        "*.corp.example                            | registry.corp.example       | true",
        "*.corp.example                            | a.b.corp.example            | false",
        "reg*.corp.example                         | registry.corp.example       | true",
        "registry.corp.example/team                | registry.corp.example       | true",
        "registry.corp.example.evil                | registry.corp.example       | false",
        "[::1]:5000                                | [::1]:5000                  | true",
      })
  void lookup_matchesKeysAsKubeletDoes(String key, String host, boolean match) throws Exception {
    String json = "{\"auths\":{\"" + key + "\":{\"auth\":\"" + b64("u:p") + "\"}}}";
    assertEquals(
        match, DockerConfigJson.parse(bytes(json)).lookup(host).isPresent(), key + " for " + host);
  }

  @Test
  void lookup_prefersExactKeysOverWildcards() throws Exception {
    String json =
        "{\"auths\":{\"*.corp.example\":{\"auth\":\""
            + b64("wild:1")
            + "\"},\"registry.corp.example\":{\"auth\":\""
            + b64("exact:2")
            + "\"}}}";
    assertEquals(
        "exact:2",
        decodeBasic(
            DockerConfigJson.parse(bytes(json))
                .lookup("registry.corp.example")
                .orElseThrow()
                .authorization()));
  }

  @Test
  void authorization_registryTokenIsBearer_andOddTokensAreRefused() throws Exception {
    DockerConfigJson c =
        DockerConfigJson.parse(bytes("{\"auths\":{\"r\":{\"registrytoken\":\"tok.en-1\"}}}"));
    assertEquals("Bearer tok.en-1", c.lookup("r").orElseThrow().authorization());
    DockerConfigJson bad =
        DockerConfigJson.parse(
            bytes("{\"auths\":{\"r\":{\"registrytoken\":\"tok\\nX-Evil: 1\"}}}"));
    InvalidDockerConfigException e =
        assertThrows(
            InvalidDockerConfigException.class,
            () -> bad.lookup("r").orElseThrow().authorization());
    assertFalse(e.getMessage().contains("X-Evil"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "[]",
        "null",
        "{}",
        "{\"auths\": []}",
        "{\"auths\": {\"r\": 1}}",
        "{\"auths\":",
        "{'auths': {}",
        "{\"auths\": {\"r\": {\"auth\": \"S3cr3tPW\"}}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]"
      })
  void parse_badValues_areRefusedWithoutEchoingThem(String json) {
    InvalidDockerConfigException e =
        assertThrows(InvalidDockerConfigException.class, () -> DockerConfigJson.parse(bytes(json)));
    assertFalse(e.getMessage().contains("S3cr3tPW"), e.getMessage());
    assertTrue(e.getMessage().startsWith(".dockerconfigjson"), e.getMessage());
  }

  @Test
  void parse_notUtf8_andTooLarge_sayWhat() {
    InvalidDockerConfigException e =
        assertThrows(
            InvalidDockerConfigException.class,
            () -> DockerConfigJson.parse(new byte[] {'{', (byte) 0xc3, '}'}));
    assertEquals(".dockerconfigjson is not valid UTF-8 at byte 1 (line 1)", e.getMessage());
    e =
        assertThrows(
            InvalidDockerConfigException.class,
            () -> DockerConfigJson.parse(new byte[DockerConfigJson.MAX_BYTES + 1]));
    assertTrue(e.getMessage().contains("more than a Secret holds"), e.getMessage());
  }

  @Test
  void authorization_authThatIsNotUserColonPassword_isRefusedWithoutTheValue() throws Exception {
    for (String auth : List.of("!!!not-base64", b64("nocolon"), b64(":emptyuser"))) {
      DockerConfigJson c =
          DockerConfigJson.parse(bytes("{\"auths\":{\"r\":{\"auth\":\"" + auth + "\"}}}"));
      InvalidDockerConfigException e =
          assertThrows(
              InvalidDockerConfigException.class,
              () -> c.lookup("r").orElseThrow().authorization());
      assertFalse(
          e.getMessage().contains(auth) || e.getMessage().contains("nocolon"), e.getMessage());
    }
  }

  @Test
  void toString_showsKeysOnly() throws Exception {
    DockerConfigJson c =
        DockerConfigJson.parse(
            bytes(
                "{\"auths\":{\"https://u:S3cr3tPW@r.example\":{\"username\":\"robot\","
                    + "\"password\":\"S3cr3tPW\",\"auth\":\""
                    + b64("robot:S3cr3tPW")
                    + "\"}}}"));
    String s = c + " " + c.entries();
    assertFalse(
        s.contains("S3cr3tPW") || s.contains("robot") || s.contains(b64("robot:S3cr3tPW")), s);
  }

  @Test
  void parse_randomBytes_onlyEverThrowsItsOwnException() {
    Random r = new Random(20261202);
    String[] pieces = {
      "{",
      "}",
      "[",
      "]",
      "\"auths\"",
      ":",
      ",",
      "\"auth\"",
      "\"r\"",
      "\"x\"",
      "1",
      "null",
      "\\",
      "\"",
      "\u00e9"
    };
    for (int i = 0; i < 5_000; i++) {
      StringBuilder sb = new StringBuilder();
      for (int k = r.nextInt(30); k > 0; k--) {
        sb.append(pieces[r.nextInt(pieces.length)]);
      }
      try {
        DockerConfigJson c = DockerConfigJson.parse(bytes(sb.toString()));
        for (DockerConfigJson.Entry e : c.entries()) {
          try {
            e.authorization();
          } catch (InvalidDockerConfigException expected) {
            // fine
          }
        }
      } catch (InvalidDockerConfigException expected) {
        // fine
      }
    }
  }
}
