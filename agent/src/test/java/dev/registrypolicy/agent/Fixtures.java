package dev.registrypolicy.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A policy touching every hosts.toml feature, and a credentials bundle for it. */
final class Fixtures {
  static final String NODE_CERTS = "/etc/containerd/certs.d";

  // Real certificates and keys (EC P-256, valid until 2126), made once with openssl so that golden
  // file names (ca-<sha>.crt) stay fixed: NodePlan parses CA and client material.
  /** A self-signed CA certificate. */
  static final String CA_PEM =
      """
      -----BEGIN CERTIFICATE-----
      MIIBmzCCAUGgAwIBAgIUMKJ9DA1zR0vOYw/9dby/8HaAzXIwCgYIKoZIzj0EAwIw
      IjEgMB4GA1UEAwwXcmVnaXN0cnktcG9saWN5IHRlc3QgQ0EwIBcNMjYxMjAyMDEx
      NTU4WhgPMjEyNjExMDgwMTE1NThaMCIxIDAeBgNVBAMMF3JlZ2lzdHJ5LXBvbGlj
      eSB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESdLgNJPwVBvPjUzp
      0S/eUFoFzfVBoQw/gCuIxJ3iG9xmI8E5bXIcpnv7Kr2f5XrYtX+YVS4dhYaWd9LE
      2SrlQaNTMFEwHQYDVR0OBBYEFLonYtNl6nBohTqeqzHRupIzOHFhMB8GA1UdIwQY
      MBaAFLonYtNl6nBohTqeqzHRupIzOHFhMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
      zj0EAwIDSAAwRQIgTfd+m9ERm1lWM7C6RjWNOPY2A1h2OYtDILdUeoKQL94CIQDL
      e/F+6rxW+wbOgfkWRwy2lMxF/pNBWBdcRq+nVwyIFg==
      -----END CERTIFICATE-----
      """;

  /**
   * Another CA, preceded by a text line as "openssl x509 -subject" writes it (allowed outside
   * blocks).
   */
  static final String CA2_PEM =
      """
      subject=CN = registry-policy second test CA
      -----BEGIN CERTIFICATE-----
      MIIBqjCCAU+gAwIBAgIUVcNRGMpZxYh/Xb+xMmMSyZY8k88wCgYIKoZIzj0EAwIw
      KTEnMCUGA1UEAwwecmVnaXN0cnktcG9saWN5IHNlY29uZCB0ZXN0IENBMCAXDTI2
      MTIwMjAxMTU1OFoYDzIxMjYxMTA4MDExNTU4WjApMScwJQYDVQQDDB5yZWdpc3Ry
      eS1wb2xpY3kgc2Vjb25kIHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
      AAS5luro1OKpOQeLgdxsfMLDCuT+QV3YFbt4SBkbJnvX0ClNCIaSQxVoaoYMhdQF
      GEfh+6Q9EPbjE7pZcYWi5JoOo1MwUTAdBgNVHQ4EFgQUL6Ou+nNcTL3zBY4leZ42
      C83ksxAwHwYDVR0jBBgwFoAUL6Ou+nNcTL3zBY4leZ42C83ksxAwDwYDVR0TAQH/
      BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAiM92E32yCCKuE1bfUjwNv9N1CPKg
      duC4vuJAjdnLXJkCIQCOeCvo7npIkPAe7IcSFIvlPaNzbhwnRyE0wgwWtsXa6g==
      -----END CERTIFICATE-----
      """;

  /** A client certificate issued by {@link #CA_PEM}; its key is {@link #CLIENT_KEY}. */
  static final String CLIENT_PEM =
      """
      -----BEGIN CERTIFICATE-----
      MIIBqzCCAVKgAwIBAgIUUD0BbU1GdAUf/ewyoh3YK6QdE4cwCgYIKoZIzj0EAwIw
      IjEgMB4GA1UEAwwXcmVnaXN0cnktcG9saWN5IHRlc3QgQ0EwIBcNMjYxMjAyMDEx
      NTU4WhgPMjEyNjExMDgwMTE1NThaMCQxIjAgBgNVBAMMGXJlZ2lzdHJ5LXBvbGlj
      eSB0ZXN0IG5vZGUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQUS4S0IrHj4OjF
      X36NoaiLEHqN1tcUxqYeh7ul2uzS8IzVkZpPJKXAw3jKYAfcX4a+VomO2AQ4gBG9
      slk0HtLgo2IwYDATBgNVHSUEDDAKBggrBgEFBQcDAjAJBgNVHRMEAjAAMB0GA1Ud
      DgQWBBSwS3v0swzLuQSVzplyKMJA4WduUjAfBgNVHSMEGDAWgBS6J2LTZepwaIU6
      nqsx0bqSMzhxYTAKBggqhkjOPQQDAgNHADBEAiBJ4cA/ybe0codKuWg6Uistyyro
      0osMFp6tDOafbhG3jAIgb/wIsJMRe2cadIh8D06Qg7jd2r/J6thNnqJn33WZcBI=
      -----END CERTIFICATE-----
      """;

  /** The PKCS#8 private key of {@link #CLIENT_PEM}. */
  static final String CLIENT_KEY =
      """
      -----BEGIN PRIVATE KEY-----
      MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvdykbV59gOf2vPxa
      Uaf76yRdE+QwmBeSxef4PyN6YdehRANCAAQUS4S0IrHj4OjFX36NoaiLEHqN1tcU
      xqYeh7ul2uzS8IzVkZpPJKXAw3jKYAfcX4a+VomO2AQ4gBG9slk0HtLg
      -----END PRIVATE KEY-----
      """;

  /** A PKCS#8 private key that belongs to no certificate here. */
  static final String OTHER_KEY =
      """
      -----BEGIN PRIVATE KEY-----
      MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgF84G1El6lGGflp5W
      2TlAnMjm4FB6372ykUYbSLVsx6KhRANCAAQlMeJ9TX5pLmsNcrBN7kn6/IRyttj8
      HPHYxqPtMxHJZu7f/XFVXFNK31Tz9QfD8sv5OTgNzGn7/XiqFs22jJTf
      -----END PRIVATE KEY-----
      """;

  static final String POLICY =
      String.join(
          "\n",
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
    put(
        dir,
        "corp-pull_.dockerconfigjson",
        "{\"auths\":{\"https://registry.corp.example/v1/\":{\"auth\":\"Y29ycHVzZXI6Y29ycC1zZWNyZXQ=\"}}}");
  }

  static void put(Path dir, String name, String content) throws IOException {
    Files.write(dir.resolve(name), content.getBytes(StandardCharsets.UTF_8));
  }
}
