package dev.registrypolicy.agent;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * PEM files as containerd reads them for hosts.toml {@code ca} and {@code client}: certificates
 * ({@code CERTIFICATE} blocks, parsed with the JDK's X.509 {@link CertificateFactory}) and
 * unencrypted private keys in the three forms Go's TLS stack reads: PKCS#8 ({@code PRIVATE KEY}),
 * PKCS#1 RSA ({@code RSA PRIVATE KEY}) and SEC1 EC ({@code EC PRIVATE KEY}).
 *
 * <p>Each reader accepts only the blocks that belong in its file and says which one does not: a
 * private key in a certificate file is an error, because certificate files are written
 * world-readable. Text outside blocks is ignored, as Go's PEM decoder does. Messages name block
 * types and positions, never content.
 *
 * <p>Limits: input is at most {@link #MAX_BYTES} bytes (a Kubernetes Secret holds at most 1 MiB)
 * and is scanned once, front to back.
 */
final class Pem {
  static final int MAX_BYTES = 1024 * 1024;

  private static final String BEGIN = "-----BEGIN ";
  private static final String END = "-----END ";
  private static final String DASHES = "-----";
  private static final Set<String> KEY_TYPES =
      Set.of("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY");

  /** openssl writes the curve before a SEC1 key ({@code ecparam -genkey}); Go skips it too. */
  private static final String EC_PARAMETERS = "EC PARAMETERS";

  private Pem() {}

  /** Why a PEM text is unusable; the message never quotes the content. */
  static final class BadPem extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    BadPem(String message) {
      super(message);
    }
  }

  /** One block: its type (the label after BEGIN) and its decoded bytes. */
  @SuppressWarnings(
      "ArrayRecordComponent") // decoded bytes go straight to the JDK parsers; never compared or
  // hashed, and a copy would leave key material in memory twice
  record Block(String type, byte[] der) {
    @Override
    public String toString() {
      return "Block[" + type + ", " + der.length + " bytes]";
    }
  }

  /** Every block in order. Throws for an unterminated block, headers, or invalid base64. */
  static List<Block> blocks(byte[] pem) throws BadPem {
    if (pem.length > MAX_BYTES) {
      throw new BadPem("it is larger than " + MAX_BYTES / 1024 + " KiB");
    }
    // PEM is ASCII; anything else can only be text between blocks, or makes base64 invalid below.
    String s = new String(pem, StandardCharsets.ISO_8859_1);
    List<Block> out = new ArrayList<>();
    int pos = 0;
    while (true) {
      int b = s.indexOf(BEGIN, pos);
      if (b < 0) {
        return out;
      }
      int labelStart = b + BEGIN.length();
      int labelEnd = s.indexOf(DASHES, labelStart);
      int eol = s.indexOf('\n', labelStart);
      if (labelEnd < 0 || (eol >= 0 && eol < labelEnd)) {
        throw new BadPem("block " + (out.size() + 1) + " has a broken BEGIN line");
      }
      String type = s.substring(labelStart, labelEnd);
      if (!type.matches("[A-Z0-9 ]{1,64}")) {
        throw new BadPem("block " + (out.size() + 1) + " has a broken BEGIN line");
      }
      String end = END + type + DASHES;
      int bodyStart = labelEnd + DASHES.length();
      int e = s.indexOf(end, bodyStart);
      if (e < 0) {
        throw new BadPem("block " + (out.size() + 1) + " (" + type + ") has no END line");
      }
      String body = s.substring(bodyStart, e);
      if (body.indexOf(':') >= 0) {
        // RFC 1421 headers, e.g. "Proc-Type: 4,ENCRYPTED" of a legacy encrypted key
        throw new BadPem(
            "block "
                + (out.size() + 1)
                + " ("
                + type
                + ") has headers (Proc-Type/DEK-Info: an "
                + "encrypted key?), which containerd cannot read");
      }
      if (body.indexOf(BEGIN) >= 0) {
        throw new BadPem(
            "block " + (out.size() + 1) + " (" + type + ") has no END line before the next BEGIN");
      }
      byte[] der;
      try {
        // the MIME decoder skips characters outside the alphabet: check them first
        if (!body.chars()
            .allMatch(c -> isBase64(c) || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
          throw new IllegalArgumentException("invalid character");
        }
        der = Base64.getMimeDecoder().decode(body);
      } catch (IllegalArgumentException ex) {
        throw new BadPem("block " + (out.size() + 1) + " (" + type + ") is not valid base64");
      }
      if (der.length == 0) {
        throw new BadPem("block " + (out.size() + 1) + " (" + type + ") is empty");
      }
      out.add(new Block(type, der));
      pos = e + end.length();
    }
  }

  private static boolean isBase64(int c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '+'
        || c == '/'
        || c == '=';
  }

  /** "block 2 (PRIVATE KEY)" or, for key blocks, a phrase that says what it is. */
  private static String describe(int index, Block b) {
    if (KEY_TYPES.contains(b.type()) || b.type().endsWith("PRIVATE KEY")) {
      return "a private key (block " + index + ", " + b.type() + ")";
    }
    return "a " + b.type() + " block (block " + index + ")";
  }

  /**
   * All certificates of a certificate file (a CA bundle, or a client certificate with its chain):
   * at least one, every block a {@code CERTIFICATE} that parses as X.509, nothing else.
   */
  /**
   * Certificates as PEM text: one {@code CERTIFICATE} block each, base64 in 64-character lines,
   * nothing else. What the agent writes to a world-readable file.
   */
  static byte[] encodeCertificates(List<X509Certificate> certs) throws BadPem {
    StringBuilder sb = new StringBuilder();
    java.util.Base64.Encoder b64 = java.util.Base64.getMimeEncoder(64, new byte[] {'\n'});
    for (X509Certificate c : certs) {
      try {
        sb.append("-----BEGIN CERTIFICATE-----\n")
            .append(b64.encodeToString(c.getEncoded()))
            .append("\n-----END CERTIFICATE-----\n");
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new BadPem("a certificate cannot be encoded again");
      }
    }
    return sb.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  static List<X509Certificate> certificates(byte[] pem) throws BadPem {
    List<Block> blocks = blocks(pem);
    if (blocks.isEmpty()) {
      throw new BadPem("it holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)");
    }
    CertificateFactory cf;
    try {
      cf = CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new BadPem("this JVM has no X.509 certificate support");
    }
    List<X509Certificate> certs = new ArrayList<>();
    for (int i = 0; i < blocks.size(); i++) {
      Block b = blocks.get(i);
      if (!"CERTIFICATE".equals(b.type())) {
        throw new BadPem(
            "it holds "
                + describe(i + 1, b)
                + "; only CERTIFICATE blocks belong in a certificate file");
      }
      try {
        certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(b.der())));
      } catch (CertificateException | RuntimeException e) {
        throw new BadPem("block " + (i + 1) + " (CERTIFICATE) is not a valid X.509 certificate");
      }
    }
    return certs;
  }

  /**
   * The one unencrypted private key of a key file: PKCS#8, PKCS#1 (RSA) or SEC1 (EC); an {@code EC
   * PARAMETERS} block before it is allowed, any other block is not.
   *
   * @param algorithmHint the certificate's key algorithm, tried first for PKCS#8; may be null
   */
  static PrivateKey privateKey(byte[] pem, String algorithmHint) throws BadPem {
    List<Block> blocks = blocks(pem);
    Block key = null;
    int keyIndex = 0;
    for (int i = 0; i < blocks.size(); i++) {
      Block b = blocks.get(i);
      if ("ENCRYPTED PRIVATE KEY".equals(b.type())) {
        throw new BadPem(
            "the key is encrypted (block "
                + (i + 1)
                + ", ENCRYPTED PRIVATE KEY), which containerd "
                + "cannot read: store it unencrypted");
      }
      if (KEY_TYPES.contains(b.type())) {
        if (key != null) {
          throw new BadPem(
              "it holds more than one private key (blocks " + keyIndex + " and " + (i + 1) + ")");
        }
        key = b;
        keyIndex = i + 1;
      } else if (!EC_PARAMETERS.equals(b.type())) {
        throw new BadPem(
            "it holds " + describe(i + 1, b) + "; only the private key belongs in a key file");
      }
    }
    if (key == null) {
      throw new BadPem(
          "it holds no private key (no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)");
    }
    try {
      return switch (key.type()) {
        case "RSA PRIVATE KEY" -> pkcs8(Der.rsaPkcs1ToPkcs8(key.der()), "RSA");
        case "EC PRIVATE KEY" -> pkcs8(Der.ecSec1ToPkcs8(key.der()), "EC");
        default -> pkcs8(key.der(), algorithmHint);
      };
    } catch (BadPem e) {
      throw new BadPem("block " + keyIndex + " (" + key.type() + ") " + e.getMessage());
    }
  }

  private static PrivateKey pkcs8(byte[] der, String algorithmHint) throws BadPem {
    List<String> algorithms = new ArrayList<>();
    if (algorithmHint != null) {
      algorithms.add(algorithmHint);
    }
    for (String a : List.of("RSA", "EC", "Ed25519", "Ed448")) {
      if (!algorithms.contains(a)) {
        algorithms.add(a);
      }
    }
    for (String a : algorithms) {
      try {
        return KeyFactory.getInstance(a).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException | RuntimeException e) {
        // try the next algorithm; the key itself never reaches a message
      }
    }
    throw new BadPem("is not a readable RSA, EC or EdDSA private key");
  }

  /**
   * Whether {@code key} is the private half of {@code publicKey}: one signature made and checked,
   * so it works the same for RSA, EC and EdDSA. Keys of different algorithms never match.
   */
  static boolean matches(PublicKey publicKey, PrivateKey key) {
    String alg = key.getAlgorithm();
    if (!alg.equals(publicKey.getAlgorithm())) {
      return false;
    }
    String sig;
    switch (alg) {
      case "RSA" -> sig = "SHA256withRSA";
      case "EC" -> sig = "SHA256withECDSA";
      case "Ed25519", "Ed448", "EdDSA" -> sig = alg;
      default -> {
        return true; // an algorithm without a known signature: not checked here, the TLS handshake
        // will
      }
    }
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature s = Signature.getInstance(sig);
      s.initSign(key);
      s.update(challenge);
      byte[] signed = s.sign();
      Signature v = Signature.getInstance(sig);
      v.initVerify(publicKey);
      v.update(challenge);
      return v.verify(signed);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** The few DER operations needed to turn PKCS#1 and SEC1 keys into PKCS#8. */
  static final class Der {
    private static final byte[] RSA_ALGORITHM = {
      0x30,
      0x0d,
      0x06,
      0x09,
      0x2a,
      (byte) 0x86,
      0x48,
      (byte) 0x86,
      (byte) 0xf7,
      0x0d,
      0x01,
      0x01,
      0x01,
      0x05,
      0x00
    };
    private static final byte[] EC_PUBLIC_KEY_OID = {
      0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01
    };
    private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};

    private Der() {}

    static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
      return tlv(0x30, concat(VERSION_0, RSA_ALGORITHM, tlv(0x04, pkcs1)));
    }

    static byte[] ecSec1ToPkcs8(byte[] sec1) throws BadPem {
      byte[] curveOid = sec1CurveOid(sec1);
      byte[] algorithm = tlv(0x30, concat(EC_PUBLIC_KEY_OID, curveOid));
      return tlv(0x30, concat(VERSION_0, algorithm, tlv(0x04, sec1)));
    }

    /** The named-curve OID (whole TLV) from SEC1's {@code parameters [0]}. */
    static byte[] sec1CurveOid(byte[] sec1) throws BadPem {
      try {
        int[] p = {0};
        if ((sec1[p[0]++] & 0xff) != 0x30) {
          throw new BadPem("is not a DER sequence");
        }
        int end = Math.min(length(sec1, p) + p[0], sec1.length);
        while (p[0] < end) {
          int tag = sec1[p[0]++] & 0xff;
          int len = length(sec1, p);
          if (tag == 0xa0) {
            int q = p[0];
            if ((sec1[q] & 0xff) != 0x06) {
              throw new BadPem("uses explicit curve parameters, which are not supported");
            }
            if (len > sec1.length - q) {
              throw new BadPem("is not valid DER");
            }
            byte[] oid = new byte[len];
            System.arraycopy(sec1, q, oid, 0, len);
            return oid;
          }
          p[0] += len;
        }
      } catch (ArrayIndexOutOfBoundsException e) {
        throw new BadPem("is not valid DER");
      }
      throw new BadPem("names no curve");
    }

    private static int length(byte[] d, int[] p) throws BadPem {
      int b = d[p[0]++] & 0xff;
      if (b < 0x80) {
        return b;
      }
      int n = b & 0x7f;
      if (n == 0 || n > 3) {
        throw new BadPem("has an unsupported DER length");
      }
      int len = 0;
      for (int i = 0; i < n; i++) {
        len = (len << 8) | (d[p[0]++] & 0xff);
      }
      return len;
    }

    static byte[] tlv(int tag, byte[] value) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(value.length + 6);
      out.write(tag);
      int len = value.length;
      if (len < 0x80) {
        out.write(len);
      } else if (len < 0x100) {
        out.write(0x81);
        out.write(len);
      } else if (len < 0x10000) {
        out.write(0x82);
        out.write(len >> 8);
        out.write(len);
      } else {
        out.write(0x83);
        out.write(len >> 16);
        out.write(len >> 8);
        out.write(len);
      }
      out.write(value, 0, value.length);
      return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (byte[] p : parts) {
        out.write(p, 0, p.length);
      }
      return out.toByteArray();
    }
  }
}
