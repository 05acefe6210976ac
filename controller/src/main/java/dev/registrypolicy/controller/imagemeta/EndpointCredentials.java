package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.common.DockerConfigJson;
import dev.registrypolicy.common.InvalidDockerConfigException;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.util.Optional;

/**
 * The {@code Authorization} value for a policy credentials reference used with one registry host,
 * resolved as the agent resolves it for hosts.toml (agent {@code Credentials}): a {@code
 * kubernetes.io/dockerconfigjson} Secret's {@code auths} entry for the host (or the entry the
 * reference names), matched as kubelet matches ({@link DockerConfigJson#lookup}), else a {@code
 * kubernetes.io/basic-auth} Secret's {@code username} and {@code password}. Messages name the
 * credentials entry and the Secret, never a value.
 */
final class EndpointCredentials {
  private EndpointCredentials() {}

  /** Credentials that cannot be used; the message is safe to log and return. */
  static final class BadCredentialsException extends Exception {
    private static final long serialVersionUID = 1L;

    BadCredentialsException(String message) {
      super(message);
    }
  }

  /** {@code Basic …} or {@code Bearer …} for {@code ref} used with {@code host}. */
  static String authorization(CredentialRef ref, String host, SecretBytes secrets)
      throws BadCredentialsException, IOException {
    Optional<byte[]> cfg = secrets.read(new SecretKeyRef(ref.secret(), DockerConfigJson.KEY));
    if (cfg.isPresent()) {
      String want = ref.registry() != null ? ref.registry() : host;
      try {
        Optional<DockerConfigJson.Entry> entry = DockerConfigJson.parse(cfg.get()).lookup(want);
        if (entry.isEmpty()) {
          throw new BadCredentialsException(
              "credentials "
                  + ref.name()
                  + ": Secret "
                  + ref.secret()
                  + " has no auths entry for "
                  + DockerConfigJson.registryHost(want));
        }
        return entry.get().authorization();
      } catch (InvalidDockerConfigException e) {
        throw new BadCredentialsException(
            "credentials " + ref.name() + ": Secret " + ref.secret() + ": " + e.getMessage());
      }
    }
    Optional<byte[]> user =
        secrets.read(new SecretKeyRef(ref.secret(), DockerConfigJson.USERNAME_KEY));
    Optional<byte[]> pass =
        secrets.read(new SecretKeyRef(ref.secret(), DockerConfigJson.PASSWORD_KEY));
    if (user.isPresent() && pass.isPresent()) {
      return DockerConfigJson.basicAuthorization(user.get(), pass.get());
    }
    throw new BadCredentialsException(
        "credentials "
            + ref.name()
            + ": Secret "
            + ref.secret()
            + " has neither "
            + DockerConfigJson.KEY
            + " nor username and password");
  }
}
