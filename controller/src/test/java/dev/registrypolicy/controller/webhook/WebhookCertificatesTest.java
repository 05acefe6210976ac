package dev.registrypolicy.controller.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/** Self-managed and cert-manager serving certificates, and reloads a client sees. */
class WebhookCertificatesTest {
  static final List<String> NAMES = List.of("localhost", "registry-policy-webhook.rp.svc");

  /** An in-memory Secret that counts writes. */
  static final class MemoryStore implements SecretStore {
    Map<String, byte[]> data;
    int version;
    int writes;

    @Override
    public Optional<Stored> read() {
      return data == null ? Optional.empty() : Optional.of(new Stored(data, "" + version));
    }

    @Override
    public void create(Map<String, byte[]> d) throws ConflictException {
      if (data != null) {
        throw new ConflictException("exists");
      }
      data = new HashMap<>(d);
      version++;
      writes++;
    }

    @Override
    public void replace(Map<String, byte[]> d, String rv) throws ConflictException {
      if (!rv.equals("" + version)) {
        throw new ConflictException("stale");
      }
      data = new HashMap<>(d);
      version++;
      writes++;
    }
  }

  static BigInteger peerSerial(int port, TlsMaterial trust) throws Exception {
    try (SSLSocket s =
        (SSLSocket)
            WebhookTesting.trusting(trust.caCertificates())
                .getSocketFactory()
                .createSocket("localhost", port)) {
      s.startHandshake();
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  @Test
  void selfModeCreatesOnceThenWritesNothingAtSteadyState() throws Exception {
    MemoryStore store = new MemoryStore();
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    TlsMaterial first = WebhookCertificates.ensure(store, NAMES, t0);
    assertEquals(1, store.writes);
    assertEquals(
        Map.of("tls.crt", 1, "tls.key", 1, "ca.crt", 1, "ca.key", 1).keySet(), store.data.keySet());
    for (int i = 1; i <= 5; i++) {
      TlsMaterial again =
          WebhookCertificates.ensure(store, NAMES, t0.plus(Duration.ofDays(30L * i)));
      assertEquals(first.certificate(), again.certificate());
    }
    assertEquals(1, store.writes, "no writes while nothing is due");
    X509Certificate c = first.certificate();
    assertEquals("EC", c.getPublicKey().getAlgorithm());
    assertTrue(
        c.getSubjectAlternativeNames().stream().anyMatch(n -> n.get(1).equals(NAMES.get(1))));
    assertEquals(1, first.caCertificates().size());
    c.verify(first.caCertificates().get(0).getPublicKey());
  }

  @Test
  void servingCertificateIsRenewedWithAThirdLeftBySameCa() throws Exception {
    MemoryStore store = new MemoryStore();
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    TlsMaterial first = WebhookCertificates.ensure(store, NAMES, t0);
    Instant due = t0.plus(Duration.ofDays(250)); // 365 - 250 < 365/3
    TlsMaterial renewed = WebhookCertificates.ensure(store, NAMES, due);
    assertEquals(2, store.writes);
    assertNotEquals(first.certificate(), renewed.certificate());
    assertEquals(first.caCertificates(), renewed.caCertificates());
    renewed.certificate().verify(first.caCertificates().get(0).getPublicKey());
  }

  @Test
  void caRolloverKeepsTheOldCaUntilItExpires() throws Exception {
    MemoryStore store = new MemoryStore();
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    TlsMaterial first = WebhookCertificates.ensure(store, NAMES, t0);
    X509Certificate oldCa = first.caCertificates().get(0);
    // Renew the serving certificate whenever due (every 250 days) until the CA is due (~40 months).
    Instant t = t0;
    TlsMaterial m = first;
    while (!WebhookCertificates.dueForRenewal(oldCa, t)) {
      t = t.plus(Duration.ofDays(250));
      m = WebhookCertificates.ensure(store, NAMES, t);
    }
    assertEquals(2, m.caCertificates().size(), "new CA first, old CA kept");
    assertEquals(oldCa, m.caCertificates().get(1));
    X509Certificate newCa = m.caCertificates().get(0);
    // The serving certificate is not yet signed by the new CA (it may not be in caBundles yet).
    m.certificate().verify(oldCa.getPublicKey());
    // The serving certificate is due already; once the new CA is an hour old, it signs it.
    assertEquals(
        m.certificate(), WebhookCertificates.ensure(store, NAMES, t.plusSeconds(60)).certificate());
    Instant later = t.plus(Duration.ofHours(2));
    TlsMaterial next = WebhookCertificates.ensure(store, NAMES, later);
    next.certificate().verify(newCa.getPublicKey());
    assertTrue(next.caCertificates().contains(oldCa), "old CA stays until it expires");
    // After the old CA expired it leaves the bundle.
    TlsMaterial after =
        WebhookCertificates.ensure(store, NAMES, oldCa.getNotAfter().toInstant().plusSeconds(1));
    assertEquals(List.of(newCa), after.caCertificates());
  }

  @Test
  void damagedSecretIsReplacedWhole() throws Exception {
    MemoryStore store = new MemoryStore();
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    WebhookCertificates.ensure(store, NAMES, t0);
    store.data.put("tls.key", "garbage".getBytes(StandardCharsets.UTF_8));
    TlsMaterial fixed = WebhookCertificates.ensure(store, NAMES, t0.plusSeconds(60));
    assertEquals(2, store.writes);
    assertTrue(fixed.certificate().getNotAfter().toInstant().isAfter(t0));
  }

  @Test
  void keyNeverInToStringOrErrors() throws Exception {
    MemoryStore store = new MemoryStore();
    TlsMaterial m = WebhookCertificates.ensure(store, NAMES, Instant.now());
    String key = new String(store.data.get("tls.key"), StandardCharsets.UTF_8);
    String body = key.lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
    assertFalse(m.toString().contains(body));
    assertFalse(store.read().orElseThrow().toString().contains(body));
    assertFalse(
        WebhookCertificates.plan(store.data, NAMES, Instant.now()).toString().contains(body));
    TlsMaterial.InvalidTlsMaterialException e =
        assertThrows(
            TlsMaterial.InvalidTlsMaterialException.class,
            () ->
                TlsMaterial.fromPem(
                    m.certificatePem(), key.replace(body, body.substring(0, 20)), m.caBundlePem()));
    assertFalse(e.getMessage().contains(body.substring(0, 20)), e.getMessage());
    // A key of another certificate is refused.
    TlsMaterial other = WebhookTesting.localhostTls();
    assertThrows(
        TlsMaterial.InvalidTlsMaterialException.class,
        () -> TlsMaterial.fromPem(other.certificatePem(), key, m.caBundlePem()));
  }

  @Test
  void aClientSeesTheNewCertificateAfterARotationWithoutRestart() throws Exception {
    MemoryStore store = new MemoryStore();
    Instant t0 = Instant.now();
    TlsMaterial first = WebhookCertificates.ensure(store, NAMES, t0);
    PolicySource.Holder none = new PolicySource.Holder();
    try (WebhookServer server =
        WebhookServer.start(
            "127.0.0.1",
            0,
            ServerLimits.DEFAULTS,
            n -> Optional.empty(),
            none,
            Evaluator.MODEL,
            WebhookMetrics.unregistered(),
            first)) {
      assertEquals(first.certificate().getSerialNumber(), peerSerial(server.port(), first));
      // Force a renewal as if 250 days had passed (the new certificate is valid from t0 - 5 min).
      store.data.remove("tls.crt");
      TlsMaterial second = WebhookCertificates.ensure(store, NAMES, t0);
      assertNotEquals(first.certificate(), second.certificate());
      server.reload(second);
      assertEquals(second.certificate().getSerialNumber(), peerSerial(server.port(), second));
      assertEquals(second, server.tls());
    }
  }

  @Test
  void secretModeServesCertManagersSecretAndNeverWrites() throws Exception {
    // A Secret as cert-manager issues it: tls.crt, tls.key, ca.crt (no ca.key), made elsewhere.
    Map<String, byte[]> issued =
        new HashMap<>(WebhookCertificates.plan(Map.of(), NAMES, Instant.now()).data());
    issued.remove("ca.key");
    MemoryStore store = new MemoryStore();
    store.data = issued;
    TlsMaterial m = WebhookCertificates.read(store, "rp/registry-policy-webhook-tls");
    assertEquals(0, store.writes);
    try (WebhookServer server =
        WebhookServer.start(
            "127.0.0.1",
            0,
            ServerLimits.DEFAULTS,
            n -> Optional.empty(),
            new PolicySource.Holder(),
            Evaluator.MODEL,
            WebhookMetrics.unregistered(),
            m)) {
      assertEquals(m.certificate().getSerialNumber(), peerSerial(server.port(), m));
      // cert-manager renews: the Secret changes, the server reloads it.
      Map<String, byte[]> renewed =
          new HashMap<>(WebhookCertificates.plan(Map.of(), NAMES, Instant.now()).data());
      renewed.remove("ca.key");
      store.data = renewed;
      TlsMaterial n = WebhookCertificates.read(store, "rp/registry-policy-webhook-tls");
      server.reload(n);
      assertEquals(n.certificate().getSerialNumber(), peerSerial(server.port(), n));
    }
    assertEquals(0, store.writes);
    MemoryStore empty = new MemoryStore();
    TlsMaterial.InvalidTlsMaterialException e =
        assertThrows(
            TlsMaterial.InvalidTlsMaterialException.class,
            () -> WebhookCertificates.read(empty, "rp/registry-policy-webhook-tls"));
    assertEquals("Secret rp/registry-policy-webhook-tls does not exist (yet)", e.getMessage());
  }
}
