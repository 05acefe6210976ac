package dev.registrypolicy.agent.bench;

import dev.registrypolicy.agent.BenchAccess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Generated policies of N registries and the credentials bundle they reference. Registries cycle
 * through five shapes so every hosts.toml feature the agent writes is exercised at any size: two
 * mirrors with CA, basic-auth credentials, client certificate and overridePath; a mirror-only
 * registry (upstream Never) with a CA; a host:port registry with CA and dockerconfigjson
 * credentials; a registry with skipVerify; and a bare registry reached directly.
 */
final class BenchPolicy {
  private BenchPolicy() {}

  /** The bare policy.yaml text for {@code hosts} registries. */
  static String policy(int hosts) {
    StringBuilder sb = new StringBuilder();
    sb.append("apiVersion: registry-policy.dev/v1alpha1\n");
    sb.append("kind: RegistryPolicy\n");
    sb.append("credentials:\n");
    sb.append("  - {name: hub, secret: hub-basic}\n");
    sb.append("  - {name: corp, secret: corp-pull, registry: registry.corp.example}\n");
    sb.append("registries:\n");
    for (int i = 0; i < hosts; i++) {
      String n = String.format(Locale.ROOT, "%03d", i);
      switch (i % 5) {
        case 0:
          sb.append("  - host: reg-").append(n).append(".bench.example\n");
          sb.append("    mirrors:\n");
          sb.append("      - url: https://mirror-").append(n).append(".bench.example\n");
          sb.append("        dialTimeout: 2s\n");
          sb.append("        ca: {secret: corp-ca}\n");
          sb.append("        credentials: hub\n");
          sb.append("      - url: https://pull-through-")
              .append(n)
              .append(".bench.example/v2/reg-")
              .append(n)
              .append('\n');
          sb.append("        overridePath: true\n");
          sb.append("        capabilities: [pull]\n");
          sb.append("        clientCert: {secret: client-tls}\n");
          sb.append("        ca: [{secret: corp-ca}, {secret: corp-ca, key: second.crt}]\n");
          break;
        case 1:
          sb.append("  - host: reg-").append(n).append(".bench.example\n");
          sb.append("    upstream: Never\n");
          sb.append("    mirrors:\n");
          sb.append("      - url: https://mirror-").append(n).append(".bench.example\n");
          sb.append("        ca: {secret: corp-ca}\n");
          break;
        case 2:
          sb.append("  - host: reg-").append(n).append(".bench.example:5000\n");
          sb.append("    ca: {secret: corp-ca}\n");
          sb.append("    credentials: corp\n");
          break;
        case 3:
          sb.append("  - host: reg-").append(n).append(".bench.example\n");
          sb.append("    url: https://reg-").append(n).append(".bench.example\n");
          sb.append("    skipVerify: true\n");
          break;
        default:
          sb.append("  - host: reg-").append(n).append(".bench.example\n");
          sb.append("    url: https://reg-").append(n).append(".bench.example\n");
          break;
      }
    }
    return sb.toString();
  }

  /**
   * The bundle files ({@code <secret>_<key>}) the policy references, with real certificates and
   * key.
   */
  static void writeBundle(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<String> pem = BenchAccess.realPem();
    put(dir, "corp-ca_ca.crt", pem.get(0));
    put(dir, "corp-ca_second.crt", pem.get(1));
    put(dir, "client-tls_tls.crt", pem.get(2));
    put(dir, "client-tls_tls.key", pem.get(3));
    put(dir, "hub-basic_username", "hubuser");
    put(dir, "hub-basic_password", "hub-bench-pass");
    put(
        dir,
        "corp-pull_.dockerconfigjson",
        "{\"auths\":{\"https://registry.corp.example/v1/\":{\"auth\":\"Y29ycHVzZXI6Y29ycC1zZWNyZXQ=\"}}}");
  }

  private static void put(Path dir, String name, String content) throws IOException {
    Files.write(dir.resolve(name), content.getBytes(StandardCharsets.UTF_8));
  }
}
