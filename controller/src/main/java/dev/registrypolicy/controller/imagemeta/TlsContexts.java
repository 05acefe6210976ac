package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.common.EitherTrust;
import dev.registrypolicy.common.TrustAll;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The TLS settings containerd applies to one hosts.toml host, as a JDK {@link SSLContext}: {@code
 * ca} is added to the system pool (containerd docs/hosts.md: "ca … added to the system pool"),
 * {@code client} is the certificate presented, {@code skip_verify} accepts any certificate and host
 * name. The agent does the same for its probe ({@code RegistryProbe}); that code lives in the
 * agent's jar, which the controller does not depend on, so the trust-manager pair is repeated here.
 * PEM keys are read with Bouncy Castle (already the controller's, for the webhook's certificates).
 */
final class TlsContexts {
  private TlsContexts() {}

  /** TLS material that cannot be used; the message names the Secret key, never its content. */
  static final class BadTlsException extends Exception {
    private static final long serialVersionUID = 1L;

    BadTlsException(String message) {
      super(message);
    }
  }

  static SSLContext build(
      List<byte[]> caPems,
      byte[] clientCertPem,
      byte[] clientKeyPem,
      boolean skipVerify,
      String what)
      throws BadTlsException {
    try {
      X509ExtendedTrustManager tm = skipVerify ? new TrustAll() : trust(caPems, what);
      KeyManager[] kms = null;
      if (clientCertPem != null && clientKeyPem != null) {
        kms = keyManagers(clientCertPem, clientKeyPem, what);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kms, new TrustManager[] {tm}, new SecureRandom());
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new BadTlsException(what + ": TLS setup failed (" + e.getClass().getSimpleName() + ")");
    }
  }

  private static X509ExtendedTrustManager trust(List<byte[]> caPems, String what)
      throws GeneralSecurityException, BadTlsException {
    X509ExtendedTrustManager system = x509(null);
    List<X509Certificate> extra = new ArrayList<>();
    for (byte[] pem : caPems) {
      extra.addAll(certificates(pem, what + " ca"));
    }
    if (extra.isEmpty()) {
      return system;
    }
    KeyStore ks = emptyStore();
    for (int i = 0; i < extra.size(); i++) {
      ks.setCertificateEntry("ca-" + i, extra.get(i));
    }
    return new EitherTrust(system, x509(ks));
  }

  static List<X509Certificate> certificates(byte[] pem, String what) throws BadTlsException {
    List<X509Certificate> out = new ArrayList<>();
    try {
      for (Certificate c :
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem))) {
        out.add((X509Certificate) c);
      }
    } catch (CertificateException | RuntimeException e) {
      throw new BadTlsException(what + " is not PEM-encoded X.509 certificates");
    }
    if (out.isEmpty()) {
      throw new BadTlsException(what + " holds no certificate");
    }
    return out;
  }

  private static KeyManager[] keyManagers(byte[] certPem, byte[] keyPem, String what)
      throws GeneralSecurityException, BadTlsException {
    List<X509Certificate> chain = certificates(certPem, what + " client certificate");
    PrivateKey key = privateKey(keyPem, what);
    char[] password = "registry-policy".toCharArray(); // an in-memory store only
    KeyStore ks = emptyStore();
    ks.setKeyEntry("client", key, password, chain.toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    return kmf.getKeyManagers();
  }

  private static PrivateKey privateKey(byte[] pem, String what) throws BadTlsException {
    try (PEMParser p =
        new PEMParser(
            new InputStreamReader(new ByteArrayInputStream(pem), StandardCharsets.UTF_8))) {
      Object o = p.readObject();
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
      if (o instanceof PEMKeyPair pair) {
        return conv.getPrivateKey(pair.getPrivateKeyInfo());
      }
      if (o instanceof PrivateKeyInfo info) {
        return conv.getPrivateKey(info);
      }
    } catch (IOException | RuntimeException e) {
      // falls through: parser text could quote the key
    }
    throw new BadTlsException(
        what + " client key is not an unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1)");
  }

  private static KeyStore emptyStore() throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException("cannot create an in-memory key store", e);
    }
    return ks;
  }

  private static X509ExtendedTrustManager x509(KeyStore ks) throws GeneralSecurityException {
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X509 trust manager available");
  }
}
