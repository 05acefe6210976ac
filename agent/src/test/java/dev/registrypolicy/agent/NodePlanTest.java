package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.policy.PolicyDocument;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CA and client material is checked before anything is planned: a certificate file (written
 * world-readable) holds certificates only, a key file one private key that belongs to its
 * certificate. A host whose material is wrong is held with a problem naming the policy path and the
 * Secret key; every other host is planned.
 */
class NodePlanTest {
  static final Set<String> USES_CORP_CA =
      Set.of("docker.io", "gcr.io", "registry.corp.example:5000");
  static final Set<String> ALL =
      Set.of(
          "_default",
          "docker.io",
          "gcr.io",
          "ghcr.io",
          "lab.corp.example",
          "registry.corp.example:5000");

  final Map<String, byte[]> bundle = new HashMap<>();

  NodePlanTest() {
    put("corp-ca_ca.crt", Fixtures.CA_PEM);
    put("corp-ca_second.crt", Fixtures.CA2_PEM);
    put("client-tls_tls.crt", Fixtures.CLIENT_PEM);
    put("client-tls_tls.key", Fixtures.CLIENT_KEY);
    put("hub-basic_username", "hubuser");
    put("hub-basic_password", "hub-secret-pass");
    put(
        "corp-pull_.dockerconfigjson",
        "{\"auths\":{\"https://registry.corp.example/v1/\":{\"auth\":\"Y29ycHVzZXI6Y29ycC1zZWNyZXQ=\"}}}");
  }

  void put(String bundleKey, String content) {
    bundle.put(bundleKey, content.getBytes(StandardCharsets.UTF_8));
  }

  Plan plan() throws Exception {
    SecretStore store = ref -> Optional.ofNullable(bundle.get(ref.bundleKey())).map(byte[]::clone);
    return NodePlan.plan(PolicyDocument.parse(Fixtures.POLICY), store, Fixtures.NODE_CERTS);
  }

  /** No file that is not 0600 holds key material, in any planned directory. */
  static void assertNoKeyInAWorldReadableFile(Plan p) {
    for (NodePlan.HostDir d : p.dirs().values()) {
      d.files()
          .forEach(
              (name, spec) -> {
                String text = new String(spec.content(), StandardCharsets.ISO_8859_1);
                if (!spec.secret()) {
                  assertFalse(
                      text.contains("PRIVATE KEY"),
                      d.name() + "/" + name + " is world-readable and holds a key");
                }
              });
    }
  }

  /** Problems never quote PEM content. */
  static void assertQuotesNothing(Plan p) {
    for (List<String> problems : p.held().values()) {
      for (String problem : problems) {
        PemTest.assertQuotesNothing(problem);
        assertFalse(problem.contains("hub-secret-pass"), problem);
      }
    }
  }

  @Test
  void realMaterialPlansEveryHost() throws Exception {
    Plan p = plan();
    assertEquals(Map.of(), p.held());
    assertEquals(ALL, p.dirs().keySet());
    assertNoKeyInAWorldReadableFile(p);
  }

  @Test
  void anUnreadableBundleEntryHoldsOnlyTheHostsThatUseIt(@TempDir Path dir) throws Exception {
    for (Map.Entry<String, byte[]> e : bundle.entrySet()) {
      Files.write(dir.resolve(e.getKey()), e.getValue());
    }
    // A directory, and a file over a Secret's size limit, where two Secret keys should be.
    Files.delete(dir.resolve("corp-ca_ca.crt"));
    Files.createDirectory(dir.resolve("corp-ca_ca.crt"));
    Files.write(dir.resolve("hub-basic_password"), new byte[SecretStore.MAX_BYTES + 1]);
    Plan p =
        NodePlan.plan(
            PolicyDocument.parse(Fixtures.POLICY), SecretStore.directory(dir), Fixtures.NODE_CERTS);
    assertTrue(p.held().keySet().containsAll(USES_CORP_CA), p.held()::toString);
    assertTrue(p.dirs().containsKey("ghcr.io"), "a host that needs neither is planned");
    String all = p.held().toString();
    assertTrue(
        all.contains(
            "key ca.crt cannot be read from the credentials bundle (file corp-ca_ca.crt): is a directory, not a file"),
        all);
    assertTrue(all.contains("larger than 1 MiB"), all);
  }

  @Test
  void textOutsideCertificateBlocksIsNeverWrittenToAWorldReadableFile() throws Exception {
    // A key whose BEGIN line is damaged is not a PEM block, so the certificate check passes; what
    // is written must still be the certificate alone.
    String damagedKey = Fixtures.CLIENT_KEY.replace("-----BEGIN", "----BEGIN");
    put("corp-ca_ca.crt", damagedKey + Fixtures.CA_PEM);
    put("client-tls_tls.crt", Fixtures.CLIENT_PEM + damagedKey);
    Plan p = plan();
    assertNoKeyInAWorldReadableFile(p);
    for (NodePlan.HostDir d : p.dirs().values()) {
      for (Map.Entry<String, NodePlan.FileSpec> f : d.files().entrySet()) {
        if (!f.getValue().secret()) {
          String text = new String(f.getValue().content(), StandardCharsets.US_ASCII);
          assertFalse(
              text.contains("PRIVATE KEY")
                  || text.contains(damagedKey.lines().skip(1).findFirst().orElseThrow()),
              d.name() + "/" + f.getKey());
        }
      }
    }
  }

  @Test
  void aCaFileHoldingAKeyIsHeldAndNeverWritten() throws Exception {
    put("corp-ca_ca.crt", Fixtures.CLIENT_KEY + Fixtures.CA_PEM);
    Plan p = plan();
    assertEquals(USES_CORP_CA, p.held().keySet());
    assertEquals(
        Set.of("_default", "ghcr.io", "lab.corp.example"),
        p.dirs().keySet(),
        "the other hosts are planned");
    String gcr = String.join("\n", p.held().get("gcr.io"));
    assertEquals(
        "registries[gcr.io].mirrors[1].ca: Secret corp-ca key ca.crt is not a usable CA certificate file: "
            + "it holds a private key (block 1, PRIVATE KEY); only CERTIFICATE blocks belong in a certificate file",
        gcr);
    String docker = String.join("\n", p.held().get("docker.io"));
    assertTrue(
        docker.contains(
            "registries[docker.io].mirrors[1].ca[0]: Secret corp-ca key ca.crt is not a usable CA"),
        docker);
    assertNoKeyInAWorldReadableFile(p);
    assertQuotesNothing(p);
  }

  @Test
  void aPlaceholderThatIsNoCertificateIsHeld() throws Exception {
    // what the demo writes as its CA
    put(
        "corp-ca_second.crt",
        "-----BEGIN CERTIFICATE-----\nZGVtbyBwbGFjZWhvbGRlcg==\n-----END CERTIFICATE-----\n");
    Plan p = plan();
    assertEquals(Set.of("docker.io"), p.held().keySet());
    assertEquals(
        List.of(
            "registries[docker.io].mirrors[1].ca[1]: Secret corp-ca key second.crt is not a usable CA "
                + "certificate file: block 1 (CERTIFICATE) is not a valid X.509 certificate"),
        p.held().get("docker.io"));
    put("corp-ca_second.crt", "not pem at all");
    assertTrue(
        plan()
            .held()
            .get("docker.io")
            .get(0)
            .endsWith("it holds no PEM certificate (no -----BEGIN " + "CERTIFICATE----- block)"));
  }

  @Test
  void swappedCertKeyAndKeyKeyAreNamedAsSuch() throws Exception {
    put("client-tls_tls.crt", Fixtures.CLIENT_KEY);
    put("client-tls_tls.key", Fixtures.CLIENT_PEM);
    Plan p = plan();
    assertEquals(Set.of("docker.io"), p.held().keySet());
    assertEquals(
        List.of(
            "registries[docker.io].mirrors[1].clientCert: certKey (Secret client-tls key tls.crt) holds "
                + "the private key and keyKey (Secret client-tls key tls.key) the certificate: swap certKey and keyKey"),
        p.held().get("docker.io"));
    assertNoKeyInAWorldReadableFile(p);
  }

  @Test
  void aCombinedCertificateFileIsHeldAndAForeignKeyToo() throws Exception {
    put("client-tls_tls.crt", Fixtures.CLIENT_PEM + Fixtures.CLIENT_KEY);
    Plan p = plan();
    assertEquals(
        List.of(
            "registries[docker.io].mirrors[1].clientCert.certKey: Secret client-tls key tls.crt is not a "
                + "usable client certificate file: it holds a private key (block 2, PRIVATE KEY); only CERTIFICATE blocks "
                + "belong in a certificate file"),
        p.held().get("docker.io"));

    put("client-tls_tls.crt", Fixtures.CLIENT_PEM);
    put("client-tls_tls.key", Fixtures.OTHER_KEY);
    assertEquals(
        List.of(
            "registries[docker.io].mirrors[1].clientCert.keyKey: Secret client-tls key tls.key is not the "
                + "private key of the client certificate in Secret client-tls key tls.crt: give the key that belongs to that "
                + "certificate"),
        plan().held().get("docker.io"));

    put("client-tls_tls.key", Fixtures.CLIENT_PEM + Fixtures.CLIENT_KEY);
    assertEquals(
        List.of(
            "registries[docker.io].mirrors[1].clientCert.keyKey: Secret client-tls key tls.key is not a "
                + "usable client key file: it holds a CERTIFICATE block (block 1); only the private key belongs in a key file"),
        plan().held().get("docker.io"));
  }

  @Test
  void aRegistryTokenWithBackslashesIsWrittenAndReadsBack() throws Exception {
    String token = "tok\\en\\\"with\\u0041\\\\escapes\\";
    String json =
        "{\"auths\":{\"registry.corp.example\":{\"registrytoken\":"
            + new com.google.gson.JsonPrimitive(token)
            + "}}}";
    bundle.put("corp-pull_.dockerconfigjson", json.getBytes(StandardCharsets.UTF_8));
    Plan p = plan();
    assertEquals(Map.of(), p.held());
    NodePlan.HostDir d = p.dirs().get("registry.corp.example:5000");
    String text = new String(d.files().get(NodePlan.HOSTS_TOML).content(), StandardCharsets.UTF_8);
    Map<String, Object> read = TomlReader.read(text);
    assertEquals("Bearer " + token, ((Map<?, ?>) read.get("header")).get("Authorization"));
    assertTrue(d.files().get(NodePlan.HOSTS_TOML).secret(), "a file with credentials is 0600");
  }

  /**
   * Every combination of material in the four PEM Secret keys: key material never lands in a
   * world-readable file, problems never quote material, and a host is held exactly when its
   * material is wrong.
   */
  @Test
  void anyMaterialInAnySlotKeepsKeysOutOfWorldReadableFiles() throws Exception {
    List<String> material =
        List.of(
            Fixtures.CA_PEM,
            Fixtures.CA2_PEM,
            Fixtures.CLIENT_PEM,
            Fixtures.CLIENT_KEY,
            Fixtures.OTHER_KEY,
            Fixtures.CA_PEM + Fixtures.CLIENT_KEY,
            Fixtures.CLIENT_KEY + Fixtures.CLIENT_PEM,
            "junk",
            "-----BEGIN CERTIFICATE-----\nMIIBfakeCAforTests\n-----END CERTIFICATE-----\n");
    List<String> slots =
        List.of("corp-ca_ca.crt", "corp-ca_second.crt", "client-tls_tls.crt", "client-tls_tls.key");
    Random rnd = new Random(20261202L);
    int held = 0;
    for (int n = 0; n < 250; n++) {
      for (String slot : slots) {
        put(slot, material.get(rnd.nextInt(material.size())));
      }
      Plan p = plan();
      assertNoKeyInAWorldReadableFile(p);
      assertQuotesNothing(p);
      held += p.held().size();
      assertTrue(
          p.dirs().keySet().containsAll(Set.of("_default", "ghcr.io", "lab.corp.example")),
          "never held");
      boolean caOk = isCertificates(bundle.get("corp-ca_ca.crt"));
      boolean secondOk = isCertificates(bundle.get("corp-ca_second.crt"));
      boolean clientOk = isCertificates(bundle.get("client-tls_tls.crt")) && keyMatches();
      assertEquals(caOk, !p.held().containsKey("gcr.io"));
      assertEquals(caOk && secondOk && clientOk, !p.held().containsKey("docker.io"));
    }
    assertTrue(held > 100, "only " + held + " holds");
  }

  private static boolean isCertificates(byte[] pem) {
    try {
      Pem.certificates(pem);
      return true;
    } catch (Pem.BadPem e) {
      return false;
    }
  }

  private boolean keyMatches() {
    try {
      var cert = Pem.certificates(bundle.get("client-tls_tls.crt")).get(0);
      return Pem.matches(
          cert.getPublicKey(), Pem.privateKey(bundle.get("client-tls_tls.key"), null));
    } catch (Pem.BadPem e) {
      return false;
    }
  }
}
