package dev.registrypolicy.agent;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.RegistryHosts;
import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a credentials reference into the {@code Authorization} header containerd sends to a
 * registry host. Reads {@code kubernetes.io/dockerconfigjson} Secrets (the {@code auths} entry
 * for the host) and {@code kubernetes.io/basic-auth} Secrets ({@code username}, {@code password}).
 * Errors name the Secret and key, never a value.
 */
final class Credentials {
  static final String DOCKERCONFIGJSON = ".dockerconfigjson";

  private Credentials() {}

  /** A problem resolving credentials; the message is safe to log. */
  static final class CredentialException extends Exception {
    private static final long serialVersionUID = 1L;

    CredentialException(String message) {
      super(message);
    }
  }

  /**
   * The header value ({@code Basic …} or {@code Bearer …}) for {@code ref} used with registry
   * host {@code host} (the entry looked up in a dockerconfigjson unless the reference names one).
   */
  static String authorization(CredentialRef ref, String host, SecretStore store) throws CredentialException, IOException {
    SecretKeyRef json = new SecretKeyRef(ref.secret(), DOCKERCONFIGJSON);
    Optional<byte[]> cfg = store.read(json);
    if (cfg.isPresent()) {
      return fromDockerConfig(ref, ref.registry() != null ? ref.registry() : host, cfg.get());
    }
    Optional<byte[]> user = store.read(new SecretKeyRef(ref.secret(), "username"));
    Optional<byte[]> pass = store.read(new SecretKeyRef(ref.secret(), "password"));
    if (user.isPresent() && pass.isPresent()) {
      return basic(new String(user.get(), StandardCharsets.UTF_8), new String(pass.get(), StandardCharsets.UTF_8));
    }
    throw new CredentialException("credentials " + ref.name() + ": Secret " + ref.secret()
        + " is not in the credentials bundle (want key " + DOCKERCONFIGJSON + ", or username and password)");
  }

  private static String fromDockerConfig(CredentialRef ref, String host, byte[] bytes) throws CredentialException {
    JsonObject auths;
    try {
      JsonElement root = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
      JsonElement a = root.isJsonObject() ? root.getAsJsonObject().get("auths") : null;
      if (a == null || !a.isJsonObject()) {
        throw new CredentialException("credentials " + ref.name() + ": Secret " + ref.secret() + " key "
            + DOCKERCONFIGJSON + " has no \"auths\" object");
      }
      auths = a.getAsJsonObject();
    } catch (RuntimeException e) {
      throw new CredentialException("credentials " + ref.name() + ": Secret " + ref.secret() + " key "
          + DOCKERCONFIGJSON + " is not valid JSON");
    }
    String want = RegistryHosts.authKeyHost(host);
    for (Map.Entry<String, JsonElement> e : auths.entrySet()) {
      if (!RegistryHosts.authKeyHost(e.getKey()).equals(want) || !e.getValue().isJsonObject()) {
        continue;
      }
      JsonObject entry = e.getValue().getAsJsonObject();
      String token = string(entry, "registrytoken");
      if (token != null) {
        return "Bearer " + token;
      }
      String user = string(entry, "username");
      String pass = string(entry, "password");
      if (user != null && pass != null) {
        return basic(user, pass);
      }
      String auth = string(entry, "auth");
      if (auth != null) {
        try {
          String decoded = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
          if (decoded.indexOf(':') > 0) {
            return "Basic " + Base64.getEncoder().encodeToString(decoded.getBytes(StandardCharsets.UTF_8));
          }
        } catch (IllegalArgumentException ignored) {
          // reported below without the value
        }
        throw new CredentialException("credentials " + ref.name() + ": the auths entry for " + want
            + " in Secret " + ref.secret() + " has an \"auth\" that is not base64 of user:password");
      }
      throw new CredentialException("credentials " + ref.name() + ": the auths entry for " + want
          + " in Secret " + ref.secret() + " has no auth, username/password or registrytoken");
    }
    throw new CredentialException("credentials " + ref.name() + ": Secret " + ref.secret() + " has no auths entry for "
        + want + " (set registry in the credentials entry to pick another)");
  }

  private static String string(JsonObject o, String key) {
    JsonElement e = o.get(key);
    return e != null && e.isJsonPrimitive() && !e.getAsString().isEmpty() ? e.getAsString() : null;
  }

  static String basic(String user, String pass) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + pass).getBytes(StandardCharsets.UTF_8));
  }
}
