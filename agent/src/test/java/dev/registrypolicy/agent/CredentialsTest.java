package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CredentialsTest {
  @TempDir Path bundle;

  private String decoded(String header) {
    assertTrue(header.startsWith("Basic "), header);
    return new String(Base64.getDecoder().decode(header.substring(6)), StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(strings = {"p\\ss", "p\"ss", "pa:ss", "\u00fcber\ud83d\ude00", "a b", "\\\\\\"})
  void basicAuthSecret_anyPasswordWorks(String password) throws Exception {
    Files.write(bundle.resolve("hub-basic_username"), "robot".getBytes(StandardCharsets.UTF_8));
    Files.write(bundle.resolve("hub-basic_password"), password.getBytes(StandardCharsets.UTF_8));
    String h =
        Credentials.authorization(
            new CredentialRef("hub", "hub-basic", null),
            "docker.io",
            SecretStore.directory(bundle));
    assertEquals("robot:" + password, decoded(h));
  }

  @ParameterizedTest
  @ValueSource(strings = {"p\\ss", "p\"ss", "pa:ss", "\u00fcber\ud83d\ude00"})
  void dockerConfigJson_anyPasswordWorks(String password) throws Exception {
    String json =
        "{\"auths\":{\"https://registry.corp.example/v1/\":{\"username\":\"robot\",\"password\":"
            + new com.google.gson.JsonPrimitive(password)
            + "}}}";
    Files.write(
        bundle.resolve("corp-pull_.dockerconfigjson"), json.getBytes(StandardCharsets.UTF_8));
    String h =
        Credentials.authorization(
            new CredentialRef("corp", "corp-pull", "registry.corp.example"),
            "ignored.example",
            SecretStore.directory(bundle));
    assertEquals("robot:" + password, decoded(h));
  }

  @Test
  void missingEntry_namesTheSecretAndHost_notAValue() throws IOException {
    Files.write(
        bundle.resolve("corp-pull_.dockerconfigjson"),
        "{\"auths\":{\"other.example\":{\"auth\":\"dTpTM2NyM3RQVw==\"}}}"
            .getBytes(StandardCharsets.UTF_8));
    Credentials.CredentialException e =
        assertThrows(
            Credentials.CredentialException.class,
            () ->
                Credentials.authorization(
                    new CredentialRef("corp", "corp-pull", null),
                    "registry.corp.example:5000",
                    SecretStore.directory(bundle)));
    assertEquals(
        "credentials corp: Secret corp-pull has no auths entry for registry.corp.example:5000"
            + " (set registry in the credentials entry to pick another)",
        e.getMessage());
    Files.write(
        bundle.resolve("corp-pull_.dockerconfigjson"),
        "{\"auths\": S3cr3tPW".getBytes(StandardCharsets.UTF_8));
    e =
        assertThrows(
            Credentials.CredentialException.class,
            () ->
                Credentials.authorization(
                    new CredentialRef("corp", "corp-pull", null),
                    "registry.corp.example",
                    SecretStore.directory(bundle)));
    assertTrue(
        e.getMessage()
            .startsWith("credentials corp: Secret corp-pull: .dockerconfigjson is not valid JSON"),
        e.getMessage());
    assertFalse(e.getMessage().contains("S3cr3tPW"), e.getMessage());
  }

  @Test
  void secretStore_refusesKeysThatAreNoBundleFileName() {
    SecretStore store = SecretStore.directory(bundle);
    IOException e =
        assertThrows(
            IOException.class, () -> store.read(new SecretKeyRef("a", "../../etc/passwd")));
    assertTrue(e.getMessage().contains("not a valid bundle key"), e.getMessage());
  }
}
