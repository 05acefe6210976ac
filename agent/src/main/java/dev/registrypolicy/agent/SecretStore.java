package dev.registrypolicy.agent;

import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The credentials bundle the DaemonSet mounts: one file per referenced Secret key, named
 * {@code <secret>_<key>} (e.g. {@code corp-ca_ca.crt}, {@code corp-pull_.dockerconfigjson},
 * {@code hub-basic_username}). The controller keeps the bundle Secret in step with the policy, so
 * a new credential never needs a DaemonSet edit. Files are read through kubelet's {@code ..data}
 * symlinks like any other path.
 */
interface SecretStore {
  /** The bytes of a Secret key, or empty when the bundle does not have it. */
  Optional<byte[]> read(SecretKeyRef ref) throws IOException;

  /** A bundle in a directory; a null directory is an empty bundle. */
  static SecretStore directory(Path dir) {
    return ref -> {
      if (dir == null) {
        return Optional.empty();
      }
      String name = ref.bundleKey();
      if (name.contains("/") || name.startsWith("..")) {
        throw new IllegalArgumentException("invalid bundle key");
      }
      try {
        return Optional.of(Files.readAllBytes(dir.resolve(name)));
      } catch (NoSuchFileException e) {
        return Optional.empty();
      }
    };
  }
}
