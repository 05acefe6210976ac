package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.policy.LogLine;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The webhook's serving certificate.
 *
 * <p><b>self</b> (default): the controller keeps a CA and a serving certificate for {@code
 * <service>.<namespace>.svc} in the TLS Secret ({@code tls.crt}, {@code tls.key}, {@code ca.crt},
 * plus {@code ca.key}, the CA's key, which only the controller reads). Keys are ECDSA P-256: a key
 * pair takes about a millisecond to make (RSA 2048: tens to hundreds), handshakes cost the server
 * less, and the API server's Go TLS client and Java's both accept it.
 *
 * <ul>
 *   <li>The CA lives {@link #CA_LIFETIME} (5 years): its rollover is the one step that needs two
 *       phases, so it should be rare, yet happen within a product's life so the path is used; its
 *       key sits in the same Secret as the serving key, so a longer life does not widen who can
 *       read it.
 *   <li>The serving certificate lives {@link #SERVING_LIFETIME} (1 year) and is renewed when less
 *       than a third of it remains (after 8 months), which the server picks up without a restart.
 *   <li>When less than a third of the CA's life remains, a new CA is made and put first in {@code
 *       ca.crt}, the old one kept there until it expires. The new CA signs a serving certificate
 *       only once it is {@link #CA_PROPAGATION} old (or when no usable serving certificate exists),
 *       by which time the controller has put the new bundle into the webhook configurations'
 *       caBundle.
 * </ul>
 *
 * <p><b>secret</b>: tls.crt, tls.key and ca.crt come from a Secret someone else (cert-manager)
 * issues; the controller only reads it.
 */
public final class WebhookCertificates {
  public static final String TLS_CRT = "tls.crt";
  public static final String TLS_KEY = "tls.key";
  public static final String CA_CRT = "ca.crt";
  public static final String CA_KEY = "ca.key";

  static final Duration CA_LIFETIME = Duration.ofDays(5 * 365);
  static final Duration SERVING_LIFETIME = Duration.ofDays(365);
  static final Duration CA_PROPAGATION = Duration.ofHours(1);

  /** Certificates start this much before now, so a node whose clock lags still accepts them. */
  static final Duration BACKDATE = Duration.ofMinutes(5);

  private static final Logger LOG = Logger.getLogger(WebhookCertificates.class.getName());
  private static final SecureRandom RANDOM = new SecureRandom();

  private WebhookCertificates() {}

  /**
   * The DNS names the API server may use for the Service: {@code <svc>.<ns>.svc} (what a service
   * reference resolves to) and {@code <svc>.<ns>.svc.cluster.local}.
   */
  public static List<String> dnsNames(WebhookSettings s) {
    return List.of(s.serviceHost(), s.serviceHost() + ".cluster.local");
  }

  /** What {@link #plan} decided. */
  enum Change {
    NONE,
    CREATED,
    SERVING_RENEWED,
    CA_ROLLED
  }

  /**
   * The Secret data to hold.
   *
   * @param data the data (the current data when nothing changes)
   * @param change what changed
   * @param reason why, for the log line
   */
  record Plan(Map<String, byte[]> data, Change change, String reason) {
    Plan {
      data = Map.copyOf(data);
    }

    @Override
    public String toString() {
      return "Plan[" + change + ", " + reason + "]";
    }
  }

  /**
   * Self mode, one step: reads the Secret, plans, writes if needed (creating it, or replacing it at
   * the version read), and returns the material to serve. On a conflict (another replica wrote
   * first) it reads again, at most 3 times.
   */
  public static TlsMaterial ensure(SecretStore store, List<String> dnsNames, Instant now)
      throws IOException, GeneralSecurityException {
    for (int attempt = 1; ; attempt++) {
      Optional<SecretStore.Stored> current = store.read();
      Plan plan = plan(current.map(SecretStore.Stored::data).orElse(Map.of()), dnsNames, now);
      try {
        if (plan.change() != Change.NONE) {
          if (current.isEmpty()) {
            store.create(plan.data());
          } else {
            store.replace(plan.data(), current.get().resourceVersion());
          }
          LOG.info(
              LogLine.format(
                  "webhook TLS Secret written", "change", plan.change(), "reason", plan.reason()));
        }
        return material(plan.data());
      } catch (SecretStore.ConflictException e) {
        if (attempt >= 3) {
          throw e;
        }
      } catch (TlsMaterial.InvalidTlsMaterialException e) {
        throw new GeneralSecurityException("planned TLS material is unusable: " + e.getMessage());
      }
    }
  }

  /**
   * Secret mode: the material in the Secret (cert-manager's {@code tls.crt}, {@code tls.key},
   * {@code ca.crt}), never written.
   */
  public static TlsMaterial read(SecretStore store, String secretDescription)
      throws IOException, TlsMaterial.InvalidTlsMaterialException {
    Optional<SecretStore.Stored> s = store.read();
    if (s.isEmpty()) {
      throw new TlsMaterial.InvalidTlsMaterialException(
          "Secret " + secretDescription + " does not exist (yet)");
    }
    return material(s.get().data());
  }

  /** The material in Secret data with tls.crt, tls.key and ca.crt. */
  public static TlsMaterial material(Map<String, byte[]> data)
      throws TlsMaterial.InvalidTlsMaterialException {
    return TlsMaterial.fromPem(text(data, TLS_CRT), text(data, TLS_KEY), text(data, CA_CRT));
  }

  private static String text(Map<String, byte[]> data, String key)
      throws TlsMaterial.InvalidTlsMaterialException {
    byte[] b = data.get(key);
    if (b == null || b.length == 0) {
      throw new TlsMaterial.InvalidTlsMaterialException("the Secret has no " + key);
    }
    return new String(b, StandardCharsets.UTF_8);
  }

  /** Pure apart from key generation: what the Secret should hold at {@code now}. */
  static Plan plan(Map<String, byte[]> current, List<String> dnsNames, Instant now)
      throws GeneralSecurityException {
    // 1. The CA: usable if ca.key matches the first certificate of ca.crt and it is not expired.
    List<X509Certificate> bundle;
    PrivateKey caKey;
    X509Certificate ca;
    try {
      bundle = TlsMaterial.certificates(text(current, CA_CRT), CA_CRT);
      caKey = TlsMaterial.privateKey(text(current, CA_KEY));
      ca = bundle.get(0);
      TlsMaterial.fromPem(pem(List.of(ca)), text(current, CA_KEY), pem(List.of(ca)));
      if (!now.isBefore(ca.getNotAfter().toInstant())) {
        throw new TlsMaterial.InvalidTlsMaterialException("the CA has expired");
      }
    } catch (TlsMaterial.InvalidTlsMaterialException e) {
      return fresh(dnsNames, now, current.isEmpty() ? "no Secret yet" : e.getMessage());
    }
    Change change = Change.NONE;
    String reason = "certificates are current";
    List<X509Certificate> trusted = new ArrayList<>();
    for (X509Certificate c : bundle) {
      if (now.isBefore(c.getNotAfter().toInstant())) {
        trusted.add(c); // expired CAs leave the bundle
      }
    }
    if (trusted.size() != bundle.size()) {
      change = Change.CA_ROLLED;
      reason = "expired CA removed from the bundle";
    }
    if (dueForRenewal(ca, now)) {
      KeyPair k = keyPair();
      X509Certificate next = caCertificate(k, now);
      trusted.add(0, next);
      ca = next;
      caKey = k.getPrivate();
      change = Change.CA_ROLLED;
      reason = "CA has less than a third of its lifetime left; new CA added, old one kept";
    }
    // 2. The serving certificate.
    Optional<String> servingProblem = servingProblem(current, trusted, dnsNames, now);
    boolean caReady =
        !now.isBefore(ca.getNotBefore().toInstant().plus(BACKDATE).plus(CA_PROPAGATION));
    Map<String, byte[]> data = new LinkedHashMap<>(current);
    if (servingProblem.isPresent()) {
      issueServing(data, ca, caKey, dnsNames, now);
      change = change == Change.NONE ? Change.SERVING_RENEWED : change;
      reason = reason.equals("certificates are current") ? servingProblem.get() : reason;
    } else if (caReady && dueForRenewal(serving(current), now)) {
      issueServing(data, ca, caKey, dnsNames, now);
      change = change == Change.NONE ? Change.SERVING_RENEWED : change;
      reason =
          change == Change.SERVING_RENEWED
              ? "serving certificate has less than a third of its lifetime left"
              : reason;
    }
    if (change == Change.NONE) {
      return new Plan(current, Change.NONE, reason);
    }
    data.put(CA_CRT, bytes(pem(trusted)));
    data.put(CA_KEY, bytes(pem(caKey)));
    return new Plan(data, change, reason);
  }

  private static Plan fresh(List<String> dnsNames, Instant now, String why)
      throws GeneralSecurityException {
    KeyPair k = keyPair();
    X509Certificate ca = caCertificate(k, now);
    Map<String, byte[]> data = new LinkedHashMap<>();
    issueServing(data, ca, k.getPrivate(), dnsNames, now);
    data.put(CA_CRT, bytes(pem(List.of(ca))));
    data.put(CA_KEY, bytes(pem(k.getPrivate())));
    return new Plan(data, Change.CREATED, "new CA and serving certificate: " + why);
  }

  /** Why the stored serving certificate cannot be served, or empty. */
  private static Optional<String> servingProblem(
      Map<String, byte[]> current,
      List<X509Certificate> trusted,
      List<String> dnsNames,
      Instant now) {
    X509Certificate cert;
    try {
      TlsMaterial m =
          TlsMaterial.fromPem(text(current, TLS_CRT), text(current, TLS_KEY), pem(trusted));
      cert = m.certificate();
    } catch (TlsMaterial.InvalidTlsMaterialException e) {
      return Optional.of(e.getMessage());
    }
    if (!now.isBefore(cert.getNotAfter().toInstant())) {
      return Optional.of("serving certificate has expired");
    }
    boolean signed = false;
    for (X509Certificate c : trusted) {
      try {
        cert.verify(c.getPublicKey());
        signed = true;
      } catch (GeneralSecurityException e) {
        // try the next CA
      }
    }
    if (!signed) {
      return Optional.of("serving certificate is not signed by a CA in ca.crt");
    }
    try {
      List<String> names = new ArrayList<>();
      if (cert.getSubjectAlternativeNames() != null) {
        for (List<?> san : cert.getSubjectAlternativeNames()) {
          if (Integer.valueOf(GeneralName.dNSName).equals(san.get(0))) {
            names.add((String) san.get(1));
          }
        }
      }
      if (!names.containsAll(dnsNames)) {
        return Optional.of("serving certificate does not name " + dnsNames);
      }
    } catch (java.security.cert.CertificateParsingException e) {
      return Optional.of("serving certificate's names cannot be read");
    }
    return Optional.empty();
  }

  private static X509Certificate serving(Map<String, byte[]> current)
      throws GeneralSecurityException {
    try {
      return TlsMaterial.certificates(text(current, TLS_CRT), TLS_CRT).get(0);
    } catch (TlsMaterial.InvalidTlsMaterialException e) {
      throw new GeneralSecurityException(e.getMessage());
    }
  }

  /** Less than a third of its lifetime left. */
  static boolean dueForRenewal(X509Certificate c, Instant now) {
    long start = c.getNotBefore().toInstant().toEpochMilli();
    long end = c.getNotAfter().toInstant().toEpochMilli();
    return end - now.toEpochMilli() < (end - start) / 3;
  }

  private static void issueServing(
      Map<String, byte[]> data,
      X509Certificate ca,
      PrivateKey caKey,
      List<String> dnsNames,
      Instant now)
      throws GeneralSecurityException {
    KeyPair k = keyPair();
    Instant notAfter = now.plus(SERVING_LIFETIME);
    if (notAfter.isAfter(ca.getNotAfter().toInstant())) {
      notAfter = ca.getNotAfter().toInstant();
    }
    GeneralName[] sans =
        dnsNames.stream()
            .map(n -> new GeneralName(GeneralName.dNSName, n))
            .toArray(GeneralName[]::new);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              ca,
              serial(),
              Date.from(now.minus(BACKDATE)),
              Date.from(notAfter),
              new X500Name("CN=" + dnsNames.get(0)),
              k.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(k.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
      X509Certificate cert = sign(b, caKey);
      data.put(TLS_CRT, bytes(pem(List.of(cert))));
      data.put(TLS_KEY, bytes(pem(k.getPrivate())));
    } catch (IOException e) {
      throw new GeneralSecurityException("serving certificate could not be built", e);
    }
  }

  private static X509Certificate caCertificate(KeyPair k, Instant now)
      throws GeneralSecurityException {
    X500Name name = new X500Name("CN=registry-policy-webhook-ca-" + now.getEpochSecond());
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              name,
              serial(),
              Date.from(now.minus(BACKDATE)),
              Date.from(now.plus(CA_LIFETIME)),
              name,
              k.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(k.getPublic()));
      return sign(b, k.getPrivate());
    } catch (IOException e) {
      throw new GeneralSecurityException("CA certificate could not be built", e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("certificate could not be signed", e);
    }
  }

  static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  static String pem(Object... objects) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      for (Object o : objects) {
        if (o instanceof List<?> l) {
          for (Object e : l) {
            w.writeObject(e);
          }
        } else if (o instanceof PrivateKey k) {
          w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null)); // PKCS#8
        } else {
          w.writeObject(o);
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
