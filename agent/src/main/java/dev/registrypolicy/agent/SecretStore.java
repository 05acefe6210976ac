package dev.registrypolicy.agent;

import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The credentials bundle the DaemonSet mounts: one file per referenced Secret key, named by the
 * bundle key contract ({@link NodeCredentialsBundle}: {@code <secret>_<key>}, e.g. {@code
 * corp-ca_ca.crt}, {@code corp-pull_.dockerconfigjson}, {@code hub-basic_username}). The controller
 * keeps the bundle Secret in step with the policy, so a new credential never needs a DaemonSet
 * edit. Files are read through kubelet's {@code ..data} symlinks like any other path.
 */
interface SecretStore {
  /** A Secret holds at most 1 MiB (the API server's limit), so no bundle file is larger. */
  int MAX_BYTES = 1 << 20;

  /** The bytes of a Secret key, or empty when the bundle does not have it. */
  Optional<byte[]> read(SecretKeyRef ref) throws IOException;

  /** A bundle in a directory; a null directory is an empty bundle. */
  static SecretStore directory(Path dir) {
    return ref -> {
      if (dir == null) {
        return Optional.empty();
      }
      String name = NodeCredentialsBundle.key(ref.secret(), ref.key());
      if (!NodeCredentialsBundle.isValidKey(name)) {
        // The parser refuses such references; one built otherwise is never resolved as a path.
        throw new IOException(
            "Secret "
                + ref.secret()
                + " key "
                + ref.key()
                + " cannot be a file of the credentials bundle (not a valid bundle key)");
      }
      Path file = dir.resolve(name);
      if (Files.isDirectory(file)) {
        throw new FileSystemException(name, null, "is a directory, not a file");
      }
      if (Files.exists(file) && !Files.isRegularFile(file)) {
        throw new FileSystemException(
            name, null, "is not a regular file (a FIFO, socket or device); never opened");
      }
      try (InputStream in = Files.newInputStream(file)) {
        byte[] b = in.readNBytes(MAX_BYTES + 1);
        if (b.length > MAX_BYTES) {
          throw new FileSystemException(
              name, null, "larger than " + (MAX_BYTES >> 20) + " MiB, a Secret's size limit");
        }
        return Optional.of(b);
      } catch (NoSuchFileException e) {
        return Optional.empty();
      }
    };
  }
}
