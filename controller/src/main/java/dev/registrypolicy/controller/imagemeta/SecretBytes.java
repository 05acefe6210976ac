package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/**
 * Where the policy's Secret references ({@code ca}, {@code clientCert}, {@code credentials}) are
 * read from: a key of a Secret in the policy's namespace, as bytes. The same shape as the agent's
 * credentials bundle reader; in the controller it is backed by the Secrets informer of the policy
 * namespace (or an API read), in tests by a map. Implementations never log the bytes.
 */
@FunctionalInterface
public interface SecretBytes {
  /** The bytes of {@code ref}, or empty when the Secret or the key does not exist. */
  Optional<byte[]> read(SecretKeyRef ref) throws IOException;

  /** Nothing: every reference is missing. */
  static SecretBytes none() {
    return ref -> Optional.empty();
  }

  /**
   * From a lookup of a Secret's data by name (e.g. the policy namespace's Secrets informer: {@code
   * name -> lister.get(name).map(V1Secret::getData)}); a missing Secret is an empty result.
   */
  static SecretBytes fromSecretData(
      java.util.function.Function<String, Optional<Map<String, byte[]>>> dataByName) {
    return ref ->
        dataByName
            .apply(ref.secret())
            .flatMap(data -> Optional.ofNullable(data == null ? null : data.get(ref.key())));
  }

  /** From a map of Secret name → (key → bytes). */
  static SecretBytes of(Map<String, Map<String, byte[]>> secrets) {
    Map<String, Map<String, byte[]>> copy = Map.copyOf(secrets);
    return ref -> Optional.ofNullable(copy.getOrDefault(ref.secret(), Map.of()).get(ref.key()));
  }
}
