package dev.registrypolicy.agent;

import dev.registrypolicy.policy.Policy;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the agent's fast path reaches the API server, as a pod does in a cluster: {@code
 * KUBERNETES_SERVICE_HOST}/{@code KUBERNETES_SERVICE_PORT}, the ServiceAccount's CA and projected
 * token ({@code /var/run/secrets/kubernetes.io/serviceaccount/}), the product namespace and the
 * node name ({@code NODE_NAME}, from the downward API). {@code REGISTRY_POLICY_API_SERVER} (a URL,
 * http allowed) and {@code REGISTRY_POLICY_API_TOKEN_FILE} replace the first two outside a pod
 * (tests, benchmarks). The token is never read here: {@link KubeClient} reads the file for every
 * request, so a rotated token is used from the next request on.
 *
 * @param server the API server's base URL
 * @param tokenFile the projected ServiceAccount token
 * @param caFile the CA that signs the API server's certificate (https only; may be absent)
 * @param namespace where the policy ConfigMap, the bundle Secret and the report Lease live
 * @param node this node's name, or null (then no report Lease)
 */
record ApiConfig(URI server, Path tokenFile, Path caFile, String namespace, String node) {
  /** The ServiceAccount directory kubelet mounts into every pod that automounts a token. */
  static final Path SERVICE_ACCOUNT_DIR = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

  /** The configuration found, or why there is none (the fast path is then off). */
  record Found(ApiConfig config, String whyNot) {}

  static Found fromEnvironment(Map<String, String> env, Path serviceAccountDir) {
    String node = blankToNull(env.get("NODE_NAME"));
    String explicit = blankToNull(env.get("REGISTRY_POLICY_API_SERVER"));
    URI server;
    if (explicit != null) {
      try {
        server = URI.create(explicit);
      } catch (IllegalArgumentException e) {
        return new Found(null, "REGISTRY_POLICY_API_SERVER is not a URL");
      }
      if ((!"http".equals(server.getScheme()) && !"https".equals(server.getScheme()))
          || server.getHost() == null) {
        return new Found(null, "REGISTRY_POLICY_API_SERVER is not an http(s) URL with a host");
      }
    } else {
      String host = blankToNull(env.get("KUBERNETES_SERVICE_HOST"));
      String port = blankToNull(env.get("KUBERNETES_SERVICE_PORT"));
      if (host == null || port == null) {
        return new Found(null, "KUBERNETES_SERVICE_HOST/PORT not set (not running in a pod)");
      }
      if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535) {
        return new Found(null, "KUBERNETES_SERVICE_PORT is not a port number");
      }
      try {
        server =
            URI.create("https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port);
      } catch (IllegalArgumentException e) {
        return new Found(null, "KUBERNETES_SERVICE_HOST is not a host name or address");
      }
    }
    String tokenEnv = blankToNull(env.get("REGISTRY_POLICY_API_TOKEN_FILE"));
    Path token = tokenEnv != null ? Path.of(tokenEnv) : serviceAccountDir.resolve("token");
    if (!Files.isRegularFile(token)) {
      return new Found(
          null, "no ServiceAccount token at " + token + " (automountServiceAccountToken off?)");
    }
    return new Found(
        new ApiConfig(server, token, serviceAccountDir.resolve("ca.crt"), Policy.NAMESPACE, node),
        null);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
