package dev.registrypolicy.agent;

import dev.registrypolicy.common.Causes;
import dev.registrypolicy.common.Hashes;
import dev.registrypolicy.policy.Capability;
import dev.registrypolicy.policy.ClientCertRef;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.Endpoint;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.Registry;
import dev.registrypolicy.policy.RegistryHosts;
import dev.registrypolicy.policy.SecretKeyRef;
import dev.registrypolicy.policy.UpstreamMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What certs.d should hold for a policy: per host directory, hosts.toml and the CA and client
 * certificate files it points at. Pure apart from reading the credentials bundle; writes nothing. A
 * host whose Secrets are missing or unusable is held ({@link Plan#held}), not the whole node: CA
 * and client certificate files must hold X.509 certificates only (they are written world-readable,
 * so a private key in them is refused), a client key must be a private key that belongs to its
 * certificate ({@link Pem}).
 */
final class NodePlan {
  static final String HOSTS_TOML = "hosts.toml";

  /**
   * Present in every directory the agent manages, so ownership survives a hand-edited hosts.toml.
   */
  static final String OWNER_FILE = ".registry-policy-managed";

  private NodePlan() {}

  /** A file's intended content and whether it holds credentials or keys (mode 0600). */
  static final class FileSpec {
    private final byte[] content;
    private final boolean secret;

    /**
     * Takes {@code content} as it is, without a copy: the planner hands over arrays nobody changes,
     * and one CA read once is shared by every host that names it (a plan of many hosts must not
     * hold a copy per host).
     */
    FileSpec(byte[] content, boolean secret) {
      this.content = content;
      this.secret = secret;
    }

    byte[] content() {
      return content.clone();
    }

    boolean sameContent(byte[] other) {
      return Arrays.equals(content, other);
    }

    boolean secret() {
      return secret;
    }

    int size() {
      return content.length;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof FileSpec f && f.secret == secret && Arrays.equals(f.content, content);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(content) * 31 + (secret ? 1 : 0);
    }

    @Override
    public String toString() {
      return "FileSpec[" + content.length + " bytes" + (secret ? ", 0600" : "") + "]";
    }
  }

  /** One host directory: its name under certs.d and its files by name. */
  record HostDir(String name, HostsToml hostsToml, SortedMap<String, FileSpec> files) {
    HostDir {
      files = Collections.unmodifiableSortedMap(new TreeMap<>(files));
    }
  }

  /**
   * Everything the node should have, by directory name. {@code held} names the host directories
   * whose inputs are incomplete (a referenced Secret key is missing or unusable), with why: each is
   * left as it is on the node, or given the files of the last good plan ({@link #keepingFrom}),
   * while every other host is applied. containerd reads each host directory on its own, so one
   * missing Secret never holds back the others.
   */
  record Plan(
      String policySha256, SortedMap<String, HostDir> dirs, SortedMap<String, List<String>> held) {
    Plan {
      dirs = Collections.unmodifiableSortedMap(new TreeMap<>(dirs));
      SortedMap<String, List<String>> h = new TreeMap<>();
      held.forEach((k, v) -> h.put(k, List.copyOf(v)));
      held = Collections.unmodifiableSortedMap(h);
    }

    Plan(String policySha256, SortedMap<String, HostDir> dirs) {
      this(policySha256, dirs, new TreeMap<>());
    }

    int fileCount() {
      return dirs.values().stream().mapToInt(d -> d.files().size()).sum();
    }

    /**
     * This plan with each held host given its directory from {@code previous} (the last plan
     * applied), so a held host keeps its last good files, re-asserted like any other. A held host
     * that {@code previous} does not have stays out of {@link #dirs} and is left alone on the node.
     */
    Plan keepingFrom(Plan previous) {
      if (previous == null || held.isEmpty()) {
        return this;
      }
      SortedMap<String, HostDir> merged = new TreeMap<>(dirs);
      for (String name : held.keySet()) {
        HostDir old = previous.dirs().get(name);
        if (old != null) {
          merged.put(name, old);
        }
      }
      return new Plan(policySha256, merged, held);
    }
  }

  /**
   * Plans the node files.
   *
   * @param nodeCertsDir the certs directory as containerd on the node sees it (paths in hosts.toml
   *     are absolute and must be valid on the node, not inside the agent's container)
   */
  static Plan plan(Policy policy, SecretStore secrets, String nodeCertsDir) throws IOException {
    SortedMap<String, HostDir> dirs = new TreeMap<>();
    SortedMap<String, List<String>> held = new TreeMap<>();
    // Each Secret key is read, and each certificate file checked, once per plan however many
    // hosts name it.
    Shared shared = new Shared(secrets);
    String marker = HostsToml.MARKER_PREFIX + "; policy-sha256=" + policy.sha256().substring(0, 12);
    String base =
        nodeCertsDir.endsWith("/")
            ? nodeCertsDir.substring(0, nodeCertsDir.length() - 1)
            : nodeCertsDir;
    for (Registry r : policy.registries()) {
      String dirName = r.hostDirectory();
      List<String> problems = new ArrayList<>();
      Builder b =
          new Builder(
              policy, shared, base + "/" + dirName, problems, "registries[" + r.host() + "]");
      HostsToml toml;
      if (r.upstreamMode() == UpstreamMode.NEVER) {
        // The last mirror is the server (tried after the [host] tables), so the upstream is never
        // contacted and no mirror is tried twice. A single mirror must still have a [host."…"]
        // table (containerd 1.6, 1.7 < 1.7.32), so it appears twice.
        List<HostsToml.Host> hosts = new ArrayList<>();
        for (int i = 0; i < r.mirrors().size(); i++) {
          hosts.add(b.host(r.mirrors().get(i), true, "mirrors[" + i + "]"));
        }
        HostsToml.Host last = hosts.get(hosts.size() - 1);
        HostsToml.Host rootHost =
            new HostsToml.Host(
                null,
                last.capabilities(),
                last.ca(),
                last.client(),
                last.skipVerify(),
                last.overridePath(),
                last.dialTimeout(),
                last.authorization());
        if (hosts.size() > 1) {
          hosts.remove(hosts.size() - 1);
        }
        toml = new HostsToml(marker, last.url(), rootHost, hosts);
      } else {
        HostsToml.Host up = r.upstream() == null ? null : b.host(r.upstream(), false, "upstream");
        List<HostsToml.Host> hosts = new ArrayList<>();
        for (int i = 0; i < r.mirrors().size(); i++) {
          hosts.add(b.host(r.mirrors().get(i), true, "mirrors[" + i + "]"));
        }
        String server = r.upstreamUrl() == null ? null : r.upstreamUrl().toString();
        if (hosts.isEmpty() && server != null) {
          // Every file needs a [host."…"] table (containerd 1.6, 1.7 < 1.7.32): the registry
          // itself.
          hosts.add(
              new HostsToml.Host(
                  server,
                  List.of("pull", "resolve", "push"),
                  up == null ? List.of() : up.ca(),
                  up == null ? List.of() : up.client(),
                  up != null && up.skipVerify(),
                  false,
                  up == null ? null : up.dialTimeout(),
                  up == null ? null : up.authorization()));
        }
        toml = new HostsToml(marker, server, up == null || up.isEmpty() ? null : up, hosts);
      }
      String text = toml.render();
      String bad = toml.verify(text);
      if (bad != null) {
        problems.add(b.path + ": rendered hosts.toml failed verification: " + bad);
      }
      if (!problems.isEmpty()) {
        held.put(dirName, problems);
        continue;
      }
      b.files.put(
          HOSTS_TOML, new FileSpec(text.getBytes(StandardCharsets.UTF_8), toml.hasCredentials()));
      b.files.put(
          OWNER_FILE, new FileSpec((r.host() + "\n").getBytes(StandardCharsets.UTF_8), false));
      dirs.put(dirName, new HostDir(dirName, toml, b.files));
    }
    return new Plan(policy.sha256(), dirs, held);
  }

  /** Collects one host directory's files while turning endpoints into hosts.toml settings. */
  private static final class Builder {
    final Policy policy;
    final SecretStore secrets;
    final Shared shared;
    final String nodeDir;
    final List<String> problems;
    final String path;
    final SortedMap<String, FileSpec> files = new TreeMap<>();

    Builder(Policy policy, Shared shared, String nodeDir, List<String> problems, String path) {
      this.policy = policy;
      this.shared = shared;
      this.secrets = shared;
      this.nodeDir = nodeDir;
      this.problems = problems;
      this.path = path;
    }

    HostsToml.Host host(Endpoint e, boolean withCapabilities, String where) throws IOException {
      List<String> ca = new ArrayList<>();
      for (int i = 0; i < e.ca().size(); i++) {
        SecretKeyRef ref = e.ca().get(i);
        String at = where + ".ca" + (e.ca().size() > 1 ? "[" + i + "]" : "");
        byte[] pem = read(ref, at);
        if (pem == null) {
          continue;
        }
        // The CA file is world-readable (0644): it must be certificates and nothing else, so what
        // is written is the certificates re-encoded, never the Secret's text as it came (text
        // outside PEM blocks could hold a damaged key block).
        try {
          pem = shared.certificates(pem);
        } catch (Pem.BadPem bad) {
          problems.add(
              path
                  + "."
                  + at
                  + ": Secret "
                  + ref.secret()
                  + " key "
                  + ref.key()
                  + " is not a usable CA certificate file: "
                  + bad.getMessage());
          continue;
        }
        String name = "ca-" + sha8(pem) + ".crt";
        files.put(name, new FileSpec(pem, false));
        if (!ca.contains(nodeDir + "/" + name)) {
          ca.add(nodeDir + "/" + name);
        }
      }
      List<List<String>> client = new ArrayList<>();
      ClientCertRef cc = e.clientCert();
      if (cc != null) {
        String at = where + ".clientCert";
        byte[] cert = read(cc.cert(), at);
        byte[] key = read(cc.key(), at);
        byte[] certFile = null;
        if (cert != null && key != null && clientPair(cc, cert, key, at)) {
          try {
            certFile = shared.certificates(cert); // world-readable too: certificates only
          } catch (Pem.BadPem checkedAbove) {
            certFile = null;
          }
        }
        if (certFile != null) {
          cert = certFile;
          String id = sha8(concat(cert, key));
          files.put("client-" + id + ".crt", new FileSpec(cert, false));
          files.put("client-" + id + ".key", new FileSpec(key, true));
          client.add(
              List.of(nodeDir + "/client-" + id + ".crt", nodeDir + "/client-" + id + ".key"));
        }
      }
      String authorization = null;
      if (e.credentials() != null) {
        Optional<CredentialRef> ref = policy.credential(e.credentials());
        String host = e.url() == null ? null : e.url().getRawAuthority();
        if (ref.isPresent() && host != null) {
          try {
            authorization =
                Credentials.authorization(
                    ref.get(),
                    RegistryHosts.normalize(host) == null ? host : RegistryHosts.normalize(host),
                    secrets);
          } catch (Credentials.CredentialException ex) {
            problems.add(path + "." + where + ".credentials: " + ex.getMessage());
          } catch (IOException ex) {
            problems.add(
                path
                    + "."
                    + where
                    + ".credentials: Secret "
                    + ref.get().secret()
                    + " in the credentials bundle cannot be read: "
                    + Causes.describe(ex));
          }
        } else if (host == null) {
          problems.add(
              path
                  + "."
                  + where
                  + ".credentials: the catch-all registry has no single host to send credentials to");
        }
      }
      List<String> caps = null;
      if (withCapabilities) {
        caps = new ArrayList<>();
        for (Capability c : e.orderedCapabilities()) {
          caps.add(c.wireName());
        }
      }
      return new HostsToml.Host(
          e.url() == null ? null : e.url().toString(),
          caps,
          ca,
          client,
          e.skipVerify(),
          e.overridePath(),
          e.dialTimeout(),
          authorization);
    }

    /**
     * Whether a client certificate and key are usable: the certificate file (world-readable) holds
     * certificates only, the key file one private key, and the key belongs to the certificate. Adds
     * a problem for each thing that is wrong; never quotes the material.
     */
    private boolean clientPair(ClientCertRef cc, byte[] cert, byte[] key, String at) {
      String certAt =
          path + "." + at + ".certKey: Secret " + cc.cert().secret() + " key " + cc.cert().key();
      String keyAt =
          path + "." + at + ".keyKey: Secret " + cc.key().secret() + " key " + cc.key().key();
      X509Certificate leaf = null;
      String certBad = null;
      try {
        leaf = Pem.certificates(cert).get(0);
      } catch (Pem.BadPem bad) {
        certBad = bad.getMessage();
      }
      PrivateKey privateKey = null;
      String keyBad = null;
      try {
        privateKey = Pem.privateKey(key, leaf == null ? null : leaf.getPublicKey().getAlgorithm());
      } catch (Pem.BadPem bad) {
        keyBad = bad.getMessage();
      }
      if (certBad != null && keyBad != null && looksSwapped(cert, key)) {
        problems.add(
            path
                + "."
                + at
                + ": certKey (Secret "
                + cc.cert().secret()
                + " key "
                + cc.cert().key()
                + ") holds the private key and keyKey (Secret "
                + cc.key().secret()
                + " key "
                + cc.key().key()
                + ") the certificate: swap certKey and keyKey");
        return false;
      }
      if (certBad != null) {
        problems.add(certAt + " is not a usable client certificate file: " + certBad);
      }
      if (keyBad != null) {
        problems.add(keyAt + " is not a usable client key file: " + keyBad);
      }
      if (leaf != null && privateKey != null && !Pem.matches(leaf.getPublicKey(), privateKey)) {
        problems.add(
            keyAt
                + " is not the private key of the client certificate in "
                + certAt.substring(certAt.indexOf("Secret "))
                + ": give the key that belongs to that certificate");
        return false;
      }
      return certBad == null && keyBad == null;
    }

    private static boolean looksSwapped(byte[] cert, byte[] key) {
      try {
        Pem.privateKey(cert, null);
        Pem.certificates(key);
        return true;
      } catch (Pem.BadPem notSwapped) {
        return false;
      }
    }

    private byte[] read(SecretKeyRef ref, String where) {
      Optional<byte[]> v;
      try {
        v = secrets.read(ref);
      } catch (IOException e) {
        // One unreadable bundle entry holds its own host, not the node.
        problems.add(unreadable(where, ref, e));
        return null;
      }
      if (v.isEmpty()) {
        problems.add(
            path
                + "."
                + where
                + ": Secret "
                + ref.secret()
                + " key "
                + ref.key()
                + " is not in the credentials bundle (file "
                + ref.bundleKey()
                + ")");
        return null;
      }
      return v.get();
    }

    /** Why one Secret key of the bundle could not be read, at the policy path that needs it. */
    private String unreadable(String where, SecretKeyRef ref, IOException e) {
      return path
          + "."
          + where
          + ": Secret "
          + ref.secret()
          + " key "
          + ref.key()
          + " cannot be read from the credentials bundle (file "
          + ref.bundleKey()
          + "): "
          + Causes.describe(e);
    }
  }

  /**
   * What one plan reads and checks once, however many hosts name it: each Secret key's bytes (or
   * why they cannot be read), and each certificate file's re-encoded certificates (or why it is not
   * one). A CA bundle shared by every registry is then held in memory once.
   */
  private static final java.util.regex.Pattern CERTIFICATE_BLOCK =
      java.util.regex.Pattern.compile(
          "-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]*-----END CERTIFICATE-----");

  /**
   * What a world-readable certificate file gets for a Secret's {@code pem}: the bytes as they came
   * when they are nothing but certificate blocks (names and bytes stay what they were), otherwise
   * the certificates re-encoded, so no text outside PEM blocks (a key with a damaged {@code BEGIN}
   * line, say) is ever written there.
   *
   * @throws Pem.BadPem when {@code pem} is not certificates only
   */
  static byte[] certificateFile(byte[] pem) throws Pem.BadPem {
    List<java.security.cert.X509Certificate> parsed = Pem.certificates(pem);
    String rest =
        CERTIFICATE_BLOCK
            .matcher(new String(pem, java.nio.charset.StandardCharsets.US_ASCII))
            .replaceAll("")
            .strip();
    return rest.isEmpty() ? pem : Pem.encodeCertificates(parsed);
  }

  private static final class Shared implements SecretStore {

    private final SecretStore store;
    private final Map<SecretKeyRef, Object> reads = new HashMap<>();
    private final IdentityHashMap<byte[], Object> certs = new IdentityHashMap<>();

    Shared(SecretStore store) {
      this.store = store;
    }

    @Override
    public Optional<byte[]> read(SecretKeyRef ref) throws IOException {
      Object r = reads.get(ref);
      if (r == null) {
        try {
          r = store.read(ref);
        } catch (IOException e) {
          r = e;
        }
        reads.put(ref, r);
      }
      if (r instanceof IOException e) {
        throw e;
      }
      @SuppressWarnings("unchecked")
      Optional<byte[]> bytes = (Optional<byte[]>) r;
      return bytes;
    }

    /** The certificates of {@code pem}, PEM-encoded anew; the same array for the same input. */
    byte[] certificates(byte[] pem) throws Pem.BadPem {
      Object r = certs.get(pem);
      if (r == null) {
        try {
          r = certificateFile(pem);
        } catch (Pem.BadPem bad) {
          r = bad;
        }
        certs.put(pem, r);
      }
      if (r instanceof Pem.BadPem bad) {
        throw bad;
      }
      return (byte[]) r;
    }
  }

  static String sha8(byte[] b) {
    return Hashes.sha256Hex(b).substring(0, 8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
