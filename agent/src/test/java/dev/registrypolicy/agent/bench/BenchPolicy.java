package dev.registrypolicy.agent.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Generated policies of N registries and the credentials bundle they reference. Registries cycle
 * through five shapes so every hosts.toml feature the agent writes is exercised at any size:
 * two mirrors with CA, basic-auth credentials, client certificate and overridePath; a mirror-only
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
          sb.append("      - url: https://pull-through-").append(n).append(".bench.example/v2/reg-").append(n).append('\n');
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

  /** The bundle files ({@code <secret>_<key>}) the policy references, with realistically sized PEMs. */
  static void writeBundle(Path dir) throws IOException {
    Files.createDirectories(dir);
    SplittableRandom rnd = new SplittableRandom(20261122L);
    put(dir, "corp-ca_ca.crt", pem("CERTIFICATE", 1000, rnd));
    put(dir, "corp-ca_second.crt", pem("CERTIFICATE", 1000, rnd));
    put(dir, "client-tls_tls.crt", pem("CERTIFICATE", 900, rnd));
    put(dir, "client-tls_tls.key", pem("PRIVATE KEY", 1200, rnd));
    put(dir, "hub-basic_username", "hubuser");
    put(dir, "hub-basic_password", "hub-bench-pass");
    put(dir, "corp-pull_.dockerconfigjson",
        "{\"auths\":{\"https://registry.corp.example/v1/\":{\"auth\":\"Y29ycHVzZXI6Y29ycC1zZWNyZXQ=\"}}}");
  }

  private static String pem(String type, int bytes, SplittableRandom rnd) {
    byte[] b = new byte[bytes];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) rnd.nextInt(256);
    }
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(b);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  private static void put(Path dir, String name, String content) throws IOException {
    Files.write(dir.resolve(name), content.getBytes(StandardCharsets.UTF_8));
  }
}
