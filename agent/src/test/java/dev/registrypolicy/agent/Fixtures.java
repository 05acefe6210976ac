package dev.registrypolicy.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A policy touching every hosts.toml feature, and a credentials bundle for it. */
final class Fixtures {
  static final String NODE_CERTS = "/etc/containerd/certs.d";
  static final String CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfakeCAforTests\n-----END CERTIFICATE-----\n";
  static final String CA2_PEM = "-----BEGIN CERTIFICATE-----\nMIIBsecondCA\n-----END CERTIFICATE-----\n";
  static final String CLIENT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBclientCert\n-----END CERTIFICATE-----\n";
  static final String CLIENT_KEY = "-----BEGIN PRIVATE KEY-----\nMIIBclientKey\n-----END PRIVATE KEY-----\n";

  static final String POLICY = String.join("\n",
      "apiVersion: registry-policy.dev/v1alpha1",
      "kind: RegistryPolicy",
      "credentials:",
      "  - {name: hub, secret: hub-basic}",
      "  - {name: corp, secret: corp-pull, registry: registry.corp.example}",
      "registries:",
      "  - host: docker.io",
      "    mirrors:",
      "      - url: https://hub-mirror.corp.example",
      "        dialTimeout: 2s",
      "        ca: {secret: corp-ca}",
      "        credentials: hub",
      "      - url: https://pull-through.corp.example/v2/dockerhub",
      "        overridePath: true",
      "        capabilities: [pull]",
      "        clientCert: {secret: client-tls}",
      "        ca: [{secret: corp-ca}, {secret: corp-ca, key: second.crt}]",
      "  - host: ghcr.io",
      "    upstream: Never",
      "    mirrors:",
      "      - url: https://ghcr-mirror.corp.example",
      "        capabilities: [pull, resolve, push]",
      "  - host: gcr.io",
      "    upstream: Never",
      "    mirrors:",
      "      - url: https://gcr-mirror-a.corp.example",
      "      - url: https://gcr-mirror-b.corp.example",
      "        dialTimeout: 500ms",
      "        ca: {secret: corp-ca}",
      "  - host: registry.corp.example:5000",
      "    ca: {secret: corp-ca}",
      "    credentials: corp",
      "  - host: lab.corp.example",
      "    url: https://lab.corp.example",
      "    skipVerify: true",
      "  - host: \"*\"",
      "    mirrors: [{url: https://cache.corp.example}]",
      "");

  private Fixtures() {}

  static void writeBundle(Path dir) throws IOException {
    Files.createDirectories(dir);
    put(dir, "corp-ca_ca.crt", CA_PEM);
    put(dir, "corp-ca_second.crt", CA2_PEM);
    put(dir, "client-tls_tls.crt", CLIENT_PEM);
    put(dir, "client-tls_tls.key", CLIENT_KEY);
    put(dir, "hub-basic_username", "hubuser");
    put(dir, "hub-basic_password", "hub-secret-pass");
    put(dir, "corp-pull_.dockerconfigjson",
        "{\"auths\":{\"https://registry.corp.example/v1/\":{\"auth\":\"Y29ycHVzZXI6Y29ycC1zZWNyZXQ=\"}}}");
  }

  static void put(Path dir, String name, String content) throws IOException {
    Files.write(dir.resolve(name), content.getBytes(StandardCharsets.UTF_8));
  }
}
