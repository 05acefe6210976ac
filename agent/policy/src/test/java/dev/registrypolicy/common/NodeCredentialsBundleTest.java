package dev.registrypolicy.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NodeCredentialsBundleTest {
  @Test
  void key_isTheDeployedName() {
    // The names the agent's DaemonSet has read so far (agent Fixtures, README): unchanged.
    assertEquals("corp-ca_ca.crt", NodeCredentialsBundle.key("corp-ca", "ca.crt"));
    assertEquals(
        "corp-pull_.dockerconfigjson",
        NodeCredentialsBundle.key("corp-pull", DockerConfigJson.KEY));
    assertEquals("hub-basic_username", NodeCredentialsBundle.key("hub-basic", "username"));
    assertEquals("registry-policy-node-credentials", NodeCredentialsBundle.SECRET_NAME);
    assertEquals(
        List.of(".dockerconfigjson", "username", "password"),
        NodeCredentialsBundle.CREDENTIAL_KEYS);
  }

  @Test
  void problem_whenTheJoinedKeyIsNoSecretKey() {
    assertNull(NodeCredentialsBundle.problem("a".repeat(235), DockerConfigJson.KEY));
    assertTrue(
        NodeCredentialsBundle.problem("a".repeat(236), DockerConfigJson.KEY)
            .contains("254 characters"));
  }

  @Test
  void isValidKey_refusesWhatCouldLeaveTheDirectory() {
    for (String bad :
        List.of(
            "",
            "..",
            "._x",
            "a/b_c",
            "a\\b_c",
            "a_b\u0000",
            "noseparator",
            "_x",
            "a_" + "b".repeat(252))) {
      assertFalse(NodeCredentialsBundle.isValidKey(bad), bad);
    }
    assertTrue(NodeCredentialsBundle.isValidKey("corp-ca_ca.crt"));
  }
}
