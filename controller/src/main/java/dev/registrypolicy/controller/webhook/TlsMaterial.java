package dev.registrypolicy.controller.webhook;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The webhook's serving certificate chain, its private key and the CA bundle the API server trusts
 * it by: the {@code tls.crt}, {@code tls.key} and {@code ca.crt} of a {@code kubernetes.io/tls}
 * Secret. Checked when built: the key matches the first certificate. The key never appears in
 * {@link #toString}, logs or messages.
 */
public final class TlsMaterial {
  private final List<X509Certificate> chain;
  private final PrivateKey key;
  private final String certPem;
  private final String caBundlePem;
  private final List<X509Certificate> caBundle;

  private TlsMaterial(
      List<X509Certificate> chain,
      PrivateKey key,
      String certPem,
      String caBundlePem,
      List<X509Certificate> caBundle) {
    this.chain = List.copyOf(chain);
    this.key = key;
    this.certPem = certPem;
    this.caBundlePem = caBundlePem;
    this.caBundle = List.copyOf(caBundle);
  }

  /**
   * Reads PEM text: {@code certPem} one or more CERTIFICATE blocks (serving certificate first),
   * {@code keyPem} a PKCS#8, SEC1 (EC) or PKCS#1 (RSA) private key, {@code caPem} one or more
   * CERTIFICATE blocks.
   *
   * @throws InvalidTlsMaterialException naming the key ({@code tls.crt}, ...) that is wrong; never
   *     quoting it
   */
  public static TlsMaterial fromPem(String certPem, String keyPem, String caPem)
      throws InvalidTlsMaterialException {
    Objects.requireNonNull(certPem, "certPem");
    Objects.requireNonNull(keyPem, "keyPem");
    Objects.requireNonNull(caPem, "caPem");
    List<X509Certificate> chain = certificates(certPem, "tls.crt");
    List<X509Certificate> ca = certificates(caPem, "ca.crt");
    PrivateKey key = privateKey(keyPem);
    if (!matches(key, chain.get(0))) {
      throw new InvalidTlsMaterialException(
          "tls.key is not the private key of the first certificate in tls.crt");
    }
    return new TlsMaterial(chain, key, certPem, caPem, ca);
  }

  /** The serving certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  public Instant notAfter() {
    return certificate().getNotAfter().toInstant();
  }

  /** PEM of the CA certificates (what a webhook configuration's {@code caBundle} carries). */
  public String caBundlePem() {
    return caBundlePem;
  }

  /** The CA bundle's certificates. */
  public List<X509Certificate> caCertificates() {
    return caBundle;
  }

  /** PEM of the serving chain ({@code tls.crt}). */
  public String certificatePem() {
    return certPem;
  }

  /** An in-memory PKCS#12 key store holding the key and chain under alias {@code webhook}. */
  KeyStore keyStore(char[] password) throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, password);
    } catch (IOException e) {
      throw new GeneralSecurityException("empty key store could not be created", e);
    }
    ks.setKeyEntry("webhook", key, password, chain.toArray(new Certificate[0]));
    return ks;
  }

  /** Serial number and expiry of the serving certificate; no key material. */
  @Override
  public String toString() {
    return "TlsMaterial[serial="
        + certificate().getSerialNumber().toString(16)
        + ", notAfter="
        + notAfter()
        + ", caCertificates="
        + caBundle.size()
        + "]";
  }

  static List<X509Certificate> certificates(String pem, String what)
      throws InvalidTlsMaterialException {
    Collection<? extends Certificate> certs;
    try {
      certs =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.UTF_8)));
    } catch (CertificateException e) {
      throw new InvalidTlsMaterialException(what + " is not PEM-encoded X.509 certificates");
    }
    List<X509Certificate> out = new ArrayList<>();
    for (Certificate c : certs) {
      out.add((X509Certificate) c);
    }
    if (out.isEmpty()) {
      throw new InvalidTlsMaterialException(what + " holds no certificate");
    }
    return out;
  }

  static PrivateKey privateKey(String pem) throws InvalidTlsMaterialException {
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      Object o = p.readObject();
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
      if (o instanceof PEMKeyPair pair) {
        // SEC1 keys may carry no public key, so only the private part is converted.
        return conv.getPrivateKey(pair.getPrivateKeyInfo());
      }
      if (o instanceof PrivateKeyInfo info) {
        return conv.getPrivateKey(info);
      }
    } catch (IOException | RuntimeException e) {
      // falls through: the message must not carry parser text that could quote the key
    }
    throw new InvalidTlsMaterialException(
        "tls.key is not an unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1)");
  }

  private static boolean matches(PrivateKey key, X509Certificate cert) {
    String alg =
        switch (key.getAlgorithm()) {
          case "EC", "ECDSA" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          case "Ed25519", "EdDSA" -> "Ed25519";
          default -> null;
        };
    if (alg == null) {
      return false;
    }
    try {
      byte[] probe = "registry-policy webhook key check".getBytes(StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** TLS material that cannot be used; the message names the Secret key, never its content. */
  public static final class InvalidTlsMaterialException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidTlsMaterialException(String message) {
      super(message);
    }
  }
}
