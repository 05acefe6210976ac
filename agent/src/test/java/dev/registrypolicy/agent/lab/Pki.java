package dev.registrypolicy.agent.lab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A throw-away certificate authority for the lab, made with the {@code openssl} command:
 *
 * <ul>
 *   <li>a CA ({@code ca.crt}/{@code ca.key}, basicConstraints CA:TRUE);
 *   <li>a server certificate for CN=127.0.0.1 with SAN IP:127.0.0.1 and DNS:localhost, signed by
 *       the CA — what containerd, Go's TLS stack and Java's HttpClient all check;
 *   <li>optionally a client certificate (extendedKeyUsage clientAuth) signed by the CA;
 *   <li>on request, an RSA token-signing key with a self-signed certificate, for {@link
 *       TokenServer} JWTs (see {@link #tokenSigner()}).
 * </ul>
 *
 * All keys are unencrypted PKCS#8 PEM files inside {@link #dir()}.
 */
public final class Pki {

  private static final Pattern PEM_BLOCK =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;
  private final String openssl;
  private final Path caCert;
  private final Path caKey;
  private final Path serverCert;
  private final Path serverKey;
  private final Path clientCert;
  private final Path clientKey;
  private Path signerCert;
  private Path signerKey;

  private Pki(Path dir, String openssl, boolean withClient) {
    this.dir = dir;
    this.openssl = openssl;
    this.caCert = dir.resolve("ca.crt");
    this.caKey = dir.resolve("ca.key");
    this.serverCert = dir.resolve("server.crt");
    this.serverKey = dir.resolve("server.key");
    this.clientCert = withClient ? dir.resolve("client.crt") : null;
    this.clientKey = withClient ? dir.resolve("client.key") : null;
  }

  /** CA and server certificate in {@code dir} (created if needed). */
  public static Pki create(Path dir) throws IOException {
    return create(dir, false);
  }

  /** CA, server certificate and, if {@code withClientCert}, a client certificate. */
  public static Pki create(Path dir, boolean withClientCert) throws IOException {
    String openssl = LabEnvironment.detect().openssl().map(Path::toString).orElse("openssl");
    Files.createDirectories(dir);
    Pki pki = new Pki(dir, openssl, withClientCert);
    pki.generate();
    return pki;
  }

  private void generate() throws IOException {
    ecKey(caKey);
    openssl(
        "req",
        "-x509",
        "-new",
        "-sha256",
        "-days",
        "3",
        "-key",
        caKey.toString(),
        "-subj",
        "/CN=registry-policy lab CA",
        "-set_serial",
        serial(),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        caCert.toString());
    issue(
        serverKey,
        serverCert,
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            + "basicConstraints=critical,CA:FALSE\n"
            + "keyUsage=critical,digitalSignature,keyEncipherment\n"
            + "extendedKeyUsage=serverAuth\n");
    if (clientCert != null) {
      issue(
          clientKey,
          clientCert,
          "/CN=registry-policy-lab-client",
          "basicConstraints=critical,CA:FALSE\n"
              + "keyUsage=critical,digitalSignature\n"
              + "extendedKeyUsage=clientAuth\n");
    }
  }

  private void issue(Path key, Path cert, String subject, String extensions) throws IOException {
    ecKey(key);
    Path csr = dir.resolve(cert.getFileName() + ".csr");
    Path ext = dir.resolve(cert.getFileName() + ".ext");
    Files.writeString(ext, extensions, StandardCharsets.US_ASCII);
    openssl(
        "req", "-new", "-sha256", "-key", key.toString(), "-subj", subject, "-out", csr.toString());
    openssl(
        "x509",
        "-req",
        "-sha256",
        "-days",
        "3",
        "-in",
        csr.toString(),
        "-CA",
        caCert.toString(),
        "-CAkey",
        caKey.toString(),
        "-set_serial",
        serial(),
        "-extfile",
        ext.toString(),
        "-out",
        cert.toString());
    Files.deleteIfExists(csr);
    Files.deleteIfExists(ext);
  }

  private void ecKey(Path key) throws IOException {
    openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        key.toString());
  }

  /**
   * An RSA-2048 key with a self-signed certificate (no extended key usage), made on first call: the
   * JWT signer of {@link TokenServer}. The registry lists the certificate in its {@code
   * auth.token.rootcertbundle} and the JWT carries it in its {@code x5c} header.
   */
  public synchronized Signer tokenSigner() throws IOException {
    if (signerCert == null) {
      Path key = dir.resolve("token-signer.key");
      Path cert = dir.resolve("token-signer.crt");
      openssl(
          "genpkey",
          "-algorithm",
          "RSA",
          "-pkeyopt",
          "rsa_keygen_bits:2048",
          "-out",
          key.toString());
      openssl(
          "req",
          "-x509",
          "-new",
          "-sha256",
          "-days",
          "3",
          "-key",
          key.toString(),
          "-subj",
          "/CN=registry-policy lab token signer",
          "-set_serial",
          serial(),
          "-out",
          cert.toString());
      signerKey = key;
      signerCert = cert;
    }
    return new Signer(signerCert, signerKey);
  }

  /** Files of the token-signing key pair. */
  public record Signer(Path certificate, Path key) {}

  public Path dir() {
    return dir;
  }

  public Path caCert() {
    return caCert;
  }

  public Path caKey() {
    return caKey;
  }

  public Path serverCert() {
    return serverCert;
  }

  public Path serverKey() {
    return serverKey;
  }

  public Optional<Path> clientCert() {
    return Optional.ofNullable(clientCert);
  }

  public Optional<Path> clientKey() {
    return Optional.ofNullable(clientKey);
  }

  public byte[] caPem() throws IOException {
    return Files.readAllBytes(caCert);
  }

  public byte[] serverCertPem() throws IOException {
    return Files.readAllBytes(serverCert);
  }

  public byte[] serverKeyPem() throws IOException {
    return Files.readAllBytes(serverKey);
  }

  public Optional<byte[]> clientCertPem() throws IOException {
    return clientCert == null ? Optional.empty() : Optional.of(Files.readAllBytes(clientCert));
  }

  public Optional<byte[]> clientKeyPem() throws IOException {
    return clientKey == null ? Optional.empty() : Optional.of(Files.readAllBytes(clientKey));
  }

  /** TLS client context that trusts only the lab CA. */
  public SSLContext clientSslContext() throws IOException {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("lab-ca", readCertificates(caCert).get(0));
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), RANDOM);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot build client TLS context: " + e.getMessage(), e);
    }
  }

  /** TLS server context presenting the server certificate (chain: server, CA). */
  public SSLContext serverSslContext() throws IOException {
    try {
      char[] pass = "lab".toCharArray();
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      List<X509Certificate> chain = new ArrayList<>(readCertificates(serverCert));
      chain.addAll(readCertificates(caCert));
      ks.setKeyEntry("server", readPrivateKey(serverKey), pass, chain.toArray(new Certificate[0]));
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, pass);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, RANDOM);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot build server TLS context: " + e.getMessage(), e);
    }
  }

  /** Certificates of a PEM file, in file order. */
  public static List<X509Certificate> readCertificates(Path pem) throws IOException {
    try (InputStream in = Files.newInputStream(pem)) {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : cf.generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IOException("no certificate in " + pem);
      }
      return out;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot read certificates from " + pem + ": " + e.getMessage(), e);
    }
  }

  /** An unencrypted PKCS#8 private key ({@code BEGIN PRIVATE KEY}), RSA or EC. */
  public static PrivateKey readPrivateKey(Path pem) throws IOException {
    String text = Files.readString(pem, StandardCharsets.US_ASCII);
    Matcher m = PEM_BLOCK.matcher(text);
    while (m.find()) {
      if (!"PRIVATE KEY".equals(m.group(1))) {
        continue;
      }
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      for (String alg : new String[] {"EC", "RSA"}) {
        try {
          return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
          // try the next algorithm
        }
      }
      throw new IOException("unsupported key algorithm in " + pem);
    }
    throw new IOException("no PKCS#8 'PRIVATE KEY' block in " + pem);
  }

  /** DER bytes of the first certificate in a PEM file. */
  public static byte[] certificateDer(Path pem) throws IOException {
    try {
      return readCertificates(pem).get(0).getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IOException(e);
    }
  }

  private static String serial() {
    // Positive, 63 bits: Go rejects negative serial numbers.
    return "0x" + Long.toHexString(RANDOM.nextLong() >>> 1 | 1L);
  }

  private void openssl(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(openssl);
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("openssl timed out: " + cmd);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + cmd, e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          "openssl failed (exit "
              + p.exitValue()
              + "): "
              + String.join(" ", cmd)
              + "\n"
              + out.toString(StandardCharsets.UTF_8));
    }
  }
}
