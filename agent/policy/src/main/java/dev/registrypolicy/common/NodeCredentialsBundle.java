package dev.registrypolicy.common;

import java.util.List;

/**
 * The node credentials bundle: one Secret ({@link #SECRET_NAME}, in the policy's namespace) that
 * the controller writes and the agent's DaemonSet mounts as a directory. It holds every Secret key
 * the registries section references, each under the data key (and so the file name) {@code
 * <secret>_<key>}: {@code corp-ca_ca.crt}, {@code corp-pull_.dockerconfigjson}, {@code
 * hub-basic_username}. Secret names are DNS subdomains (no {@code _}), so the first {@code _}
 * always separates the two parts.
 *
 * <p>This is the one definition both sides use; the names are those deployed so far.
 */
public final class NodeCredentialsBundle {
  /** The bundle Secret's name. */
  public static final String SECRET_NAME = "registry-policy-node-credentials";

  /**
   * The bundle's one key that is not a credential: an opaque revision the controller changes
   * whenever the rest of the bundle changes and keeps otherwise, so agents can report which bundle
   * they applied ({@link NodeReport#bundleRevision}) without a hash of secret content leaving the
   * Secret. It holds no {@code _}, so no {@link #key} can collide with it.
   */
  public static final String REVISION_KEY = "revision";

  /** Keys of a credentials Secret that are copied into the bundle, when present. */
  public static final List<String> CREDENTIAL_KEYS =
      List.of(DockerConfigJson.KEY, DockerConfigJson.USERNAME_KEY, DockerConfigJson.PASSWORD_KEY);

  /** Longest data key a Secret may have (Kubernetes' limit); file names allow 255 bytes. */
  public static final int MAX_KEY_LENGTH = 253;

  private NodeCredentialsBundle() {}

  /** The bundle key of key {@code key} of Secret {@code secret}: {@code <secret>_<key>}. */
  public static String key(String secret, String key) {
    return secret + "_" + key;
  }

  /**
   * Why {@code secret}/{@code key} cannot be carried in the bundle, or null if it can: the joined
   * name must be a valid Secret data key (at most 253 of {@code [-._a-zA-Z0-9]}).
   */
  public static String problem(String secret, String key) {
    String k = key(secret, key);
    if (k.length() > MAX_KEY_LENGTH) {
      return "the node credentials bundle names this key \"<secret>_<key>\", "
          + k.length()
          + " characters, and a Secret key has at most "
          + MAX_KEY_LENGTH
          + " (use a shorter Secret name or key)";
    }
    return isValidKey(k) ? null : "the node credentials bundle cannot name this key";
  }

  /**
   * Whether {@code bundleKey} is a well-formed bundle key, safe to use as a file name in the bundle
   * directory: {@code <secret>_<key>}, only {@code [-._a-zA-Z0-9]}, at most 253 characters, not
   * starting with {@code .}.
   */
  public static boolean isValidKey(String bundleKey) {
    if (bundleKey == null
        || bundleKey.isEmpty()
        || bundleKey.length() > MAX_KEY_LENGTH
        || bundleKey.charAt(0) == '.'
        || bundleKey.indexOf('_') <= 0) {
      return false;
    }
    for (int i = 0; i < bundleKey.length(); i++) {
      char c = bundleKey.charAt(i);
      if (!((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_')) {
        return false;
      }
    }
    return true;
  }
}
