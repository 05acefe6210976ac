package dev.registrypolicy.agent;

import dev.registrypolicy.common.DockerConfigJson;
import dev.registrypolicy.common.InvalidDockerConfigException;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.util.Optional;

/**
 * Turns a credentials reference into the {@code Authorization} header containerd sends to a
 * registry host. Reads {@code kubernetes.io/dockerconfigjson} Secrets (the {@code auths} entry for
 * the host, matched as kubelet does: {@link DockerConfigJson}) and {@code kubernetes.io/basic-auth}
 * Secrets ({@code username}, {@code password}, used as the bytes they are). Errors name the Secret
 * and key, never a value.
 */
final class Credentials {
  private Credentials() {}

  /** A problem resolving credentials; the message is safe to log. */
  static final class CredentialException extends Exception {
    private static final long serialVersionUID = 1L;

    CredentialException(String message) {
      super(message);
    }
  }

  /**
   * The header value ({@code Basic …} or {@code Bearer …}) for {@code ref} used with registry host
   * {@code host} (the entry looked up in a dockerconfigjson unless the reference names one).
   */
  static String authorization(CredentialRef ref, String host, SecretStore store)
      throws CredentialException, IOException {
    Optional<byte[]> cfg = store.read(new SecretKeyRef(ref.secret(), DockerConfigJson.KEY));
    if (cfg.isPresent()) {
      String want = ref.registry() != null ? ref.registry() : host;
      try {
        Optional<DockerConfigJson.Entry> entry = DockerConfigJson.parse(cfg.get()).lookup(want);
        if (entry.isEmpty()) {
          throw new CredentialException(
              "credentials "
                  + ref.name()
                  + ": Secret "
                  + ref.secret()
                  + " has no auths entry for "
                  + DockerConfigJson.registryHost(want)
                  + " (set registry in the credentials entry to pick another)");
        }
        return entry.get().authorization();
      } catch (InvalidDockerConfigException e) {
        throw new CredentialException(
            "credentials " + ref.name() + ": Secret " + ref.secret() + ": " + e.getMessage());
      }
    }
    Optional<byte[]> user =
        store.read(new SecretKeyRef(ref.secret(), DockerConfigJson.USERNAME_KEY));
    Optional<byte[]> pass =
        store.read(new SecretKeyRef(ref.secret(), DockerConfigJson.PASSWORD_KEY));
    if (user.isPresent() && pass.isPresent()) {
      return DockerConfigJson.basicAuthorization(user.get(), pass.get());
    }
    throw new CredentialException(
        "credentials "
            + ref.name()
            + ": Secret "
            + ref.secret()
            + " is not in the credentials bundle (want key "
            + DockerConfigJson.KEY
            + ", or username and password)");
  }
}
