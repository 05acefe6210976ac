package dev.registrypolicy.controller.imagemeta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.SecretKeyRef;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SecretBytesTest {
  @Test
  void fromSecretData_readsTheKey_andMissingSecretsOrKeysAreEmpty() throws Exception {
    SecretBytes s =
        SecretBytes.fromSecretData(
            name ->
                name.equals("ca")
                    ? Optional.of(Map.of("ca.crt", new byte[] {1, 2}))
                    : Optional.empty());
    assertArrayEquals(new byte[] {1, 2}, s.read(new SecretKeyRef("ca", "ca.crt")).orElseThrow());
    assertTrue(s.read(new SecretKeyRef("ca", "other")).isEmpty());
    assertTrue(s.read(new SecretKeyRef("nope", "ca.crt")).isEmpty());
    assertTrue(SecretBytes.none().read(new SecretKeyRef("ca", "ca.crt")).isEmpty());
  }
}
