package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PemTest {
  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The base64 bodies of every fixture PEM, none of which may appear in a message. */
  static final List<String> BODIES =
      List.of(
              Fixtures.CA_PEM,
              Fixtures.CA2_PEM,
              Fixtures.CLIENT_PEM,
              Fixtures.CLIENT_KEY,
              Fixtures.OTHER_KEY)
          .stream()
          .map(p -> p.substring(p.indexOf("-----\n") + 6, p.indexOf("-----\n") + 36))
          .toList();

  static Pem.BadPem badCertificates(String pem) {
    Pem.BadPem e = assertThrows(Pem.BadPem.class, () -> Pem.certificates(b(pem)));
    assertQuotesNothing(e.getMessage());
    return e;
  }

  static Pem.BadPem badKey(String pem) {
    Pem.BadPem e = assertThrows(Pem.BadPem.class, () -> Pem.privateKey(b(pem), null));
    assertQuotesNothing(e.getMessage());
    return e;
  }

  static void assertQuotesNothing(String message) {
    for (String body : BODIES) {
      assertFalse(message.contains(body), message);
    }
    assertFalse(message.contains("Exception"), message);
  }

  @Test
  void certificatesReadEveryCertificateAndIgnoreTextBetweenBlocks() throws Exception {
    List<X509Certificate> one = Pem.certificates(b(Fixtures.CA_PEM));
    assertEquals(1, one.size());
    assertEquals("CN=registry-policy test CA", one.get(0).getSubjectX500Principal().getName());
    assertEquals(
        1, Pem.certificates(b(Fixtures.CA2_PEM)).size(), "text before a block is not a block");
    List<X509Certificate> bundle =
        Pem.certificates(b(Fixtures.CA_PEM + "\n# next\n" + Fixtures.CA2_PEM));
    assertEquals(2, bundle.size());
    assertEquals(
        2,
        Pem.certificates(b((Fixtures.CA_PEM + Fixtures.CLIENT_PEM).replace("\n", "\r\n"))).size(),
        "CRLF line ends");
  }

  @Test
  void keyMaterialInACertificateFileIsNamed() {
    assertEquals(
        "it holds a private key (block 2, PRIVATE KEY); only CERTIFICATE blocks belong in a certificate file",
        badCertificates(Fixtures.CA_PEM + Fixtures.CLIENT_KEY).getMessage());
    assertEquals(
        "it holds a private key (block 1, PRIVATE KEY); only CERTIFICATE blocks belong in a certificate file",
        badCertificates(Fixtures.CLIENT_KEY + Fixtures.CLIENT_PEM).getMessage());
    for (String type :
        List.of(
            "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY")) {
      String key = Fixtures.CLIENT_KEY.replace("PRIVATE KEY", type);
      assertTrue(
          badCertificates(Fixtures.CA_PEM + key)
              .getMessage()
              .startsWith("it holds a private key (block 2, " + type),
          type);
    }
    assertTrue(
        badCertificates(Fixtures.CA_PEM + Fixtures.CA_PEM.replace("CERTIFICATE", "PUBLIC KEY"))
            .getMessage()
            .startsWith("it holds a PUBLIC KEY block (block 2)"));
  }

  @Test
  void thingsThatAreNotCertificates() {
    assertEquals(
        "it holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)",
        badCertificates("").getMessage());
    assertEquals(
        "it holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)",
        badCertificates("just text\n").getMessage());
    // the former test fixture: valid base64, not a certificate
    assertEquals(
        "block 1 (CERTIFICATE) is not a valid X.509 certificate",
        badCertificates(
                "-----BEGIN CERTIFICATE-----\nMIIBfakeCAforTests\n-----END CERTIFICATE-----\n")
            .getMessage());
    // the demo's placeholder
    assertEquals(
        "block 1 (CERTIFICATE) is not a valid X.509 certificate",
        badCertificates(
                "-----BEGIN CERTIFICATE-----\nZGVtbyBwbGFjZWhvbGRlcg==\n-----END CERTIFICATE-----\n")
            .getMessage());
    assertEquals(
        "block 1 (CERTIFICATE) is not valid base64",
        badCertificates(Fixtures.CA_PEM.replace("MIIB", "MI*B")).getMessage());
    assertEquals(
        "block 1 (CERTIFICATE) has no END line",
        badCertificates(Fixtures.CA_PEM.replace("-----END CERTIFICATE-----", "")).getMessage());
    assertEquals(
        "block 1 (CERTIFICATE) has no END line",
        badCertificates(Fixtures.CA_PEM.replace("END CERTIFICATE", "END CERTIFICATES"))
            .getMessage());
    assertEquals(
        "block 1 (CERTIFICATE) has no END line before the next BEGIN",
        badCertificates(
                Fixtures.CA_PEM.replace("-----END CERTIFICATE-----\n", "") + Fixtures.CA_PEM)
            .getMessage());
    assertEquals(
        "block 1 has a broken BEGIN line",
        badCertificates("-----BEGIN CERTIFICATE\nAAAA\n").getMessage());
    assertEquals(
        "block 1 (CERTIFICATE) is empty",
        badCertificates("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").getMessage());
    assertTrue(
        badCertificates(
                Fixtures.CA_PEM.replace("-----\nMIIB", "-----\nProc-Type: 4,ENCRYPTED\n\nMIIB"))
            .getMessage()
            .contains("has headers"));
    assertEquals(
        "it is larger than 1024 KiB", badCertificates("#".repeat(Pem.MAX_BYTES + 1)).getMessage());
  }

  @Test
  void privateKeysAndWhatDoesNotBelongInAKeyFile() throws Exception {
    PrivateKey k = Pem.privateKey(b(Fixtures.CLIENT_KEY), null);
    assertEquals("EC", k.getAlgorithm());
    String ecParams =
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    assertEquals("EC", Pem.privateKey(b(ecParams + Fixtures.CLIENT_KEY), "EC").getAlgorithm());

    assertEquals(
        "it holds a CERTIFICATE block (block 1); only the private key belongs in a key file",
        badKey(Fixtures.CLIENT_PEM + Fixtures.CLIENT_KEY).getMessage());
    assertEquals(
        "it holds a CERTIFICATE block (block 1); only the private key belongs in a key file",
        badKey(Fixtures.CLIENT_PEM).getMessage(),
        "certKey and keyKey swapped: the key file holds the certificate");
    assertEquals(
        "it holds no private key (no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)",
        badKey("").getMessage());
    assertEquals(
        "it holds more than one private key (blocks 1 and 2)",
        badKey(Fixtures.CLIENT_KEY + Fixtures.OTHER_KEY).getMessage());
    assertTrue(
        badKey(Fixtures.CLIENT_KEY.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"))
            .getMessage()
            .startsWith("the key is encrypted (block 1, ENCRYPTED PRIVATE KEY)"));
    assertEquals(
        "block 1 (PRIVATE KEY) is not a readable RSA, EC or EdDSA private key",
        badKey("-----BEGIN PRIVATE KEY-----\nMIIBclientKeyXYZ\n-----END PRIVATE KEY-----\n")
            .getMessage());
    assertTrue(
        badKey("-----BEGIN EC PRIVATE KEY-----\nMIIBclientKey\n-----END EC PRIVATE KEY-----\n")
            .getMessage()
            .startsWith("block 1 (EC PRIVATE KEY) "));
    assertTrue(
        badKey("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
            .getMessage()
            .startsWith("block 1 (RSA PRIVATE KEY) "));
  }

  @Test
  void keyMatchesItsCertificateOnly() throws Exception {
    X509Certificate client = Pem.certificates(b(Fixtures.CLIENT_PEM)).get(0);
    assertTrue(Pem.matches(client.getPublicKey(), Pem.privateKey(b(Fixtures.CLIENT_KEY), "EC")));
    assertFalse(Pem.matches(client.getPublicKey(), Pem.privateKey(b(Fixtures.OTHER_KEY), "EC")));
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(1024);
    var pair = rsa.generateKeyPair();
    assertFalse(
        Pem.matches(client.getPublicKey(), pair.getPrivate()), "another algorithm never matches");
    assertTrue(Pem.matches(pair.getPublic(), pair.getPrivate()));
    String rsaPem =
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder().encodeToString(pair.getPrivate().getEncoded())
            + "\n-----END PRIVATE KEY-----\n";
    assertEquals("RSA", Pem.privateKey(b(rsaPem), null).getAlgorithm());
  }

  /** Hostile input: mutated PEM texts only ever give a BadPem with a safe message. */
  @Test
  void mutatedPemNeverThrowsAnythingElse() {
    Random rnd = new Random(20261202L);
    String alphabet = "-=+/ABCDEFGHIJKLMNOPQRSTUVWXYZabc019\n\r :\u00e9\u0000";
    List<String> bases =
        List.of(
            Fixtures.CA_PEM,
            Fixtures.CA2_PEM,
            Fixtures.CLIENT_PEM + Fixtures.CA_PEM,
            Fixtures.CLIENT_KEY);
    int bad = 0;
    for (int n = 0; n < 3000; n++) {
      StringBuilder sb = new StringBuilder(bases.get(rnd.nextInt(bases.size())));
      for (int e = 0, edits = 1 + rnd.nextInt(3); e < edits && sb.length() > 0; e++) {
        int at = rnd.nextInt(sb.length());
        switch (rnd.nextInt(3)) {
          case 0 -> sb.deleteCharAt(at);
          case 1 -> sb.insert(at, alphabet.charAt(rnd.nextInt(alphabet.length())));
          default -> sb.setCharAt(at, alphabet.charAt(rnd.nextInt(alphabet.length())));
        }
      }
      byte[] in = b(sb.toString());
      try {
        Pem.certificates(in);
      } catch (Pem.BadPem e) {
        bad++;
        assertQuotesNothing(e.getMessage());
      }
      try {
        Pem.privateKey(in, null);
      } catch (Pem.BadPem e) {
        assertQuotesNothing(e.getMessage());
      }
    }
    assertTrue(bad > 1000, "only " + bad + " mutations were rejected");
  }
}
