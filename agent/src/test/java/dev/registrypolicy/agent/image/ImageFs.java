package dev.registrypolicy.agent.image;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An image's file system as the layers build it (applied in order, OCI whiteouts honoured), with
 * what the image checks need: every path's kind, mode, owner and link target, the sha256 of every
 * regular file, the content of small ones, and what was found while reading: entries that should
 * not be in an image and anything that looks like a secret.
 *
 * <p>Secrets: a PEM private-key block (a {@code BEGIN … PRIVATE KEY} line followed by base64, in
 * any file or in any entry of a jar or zip), and files by name: Maven's {@code .m2} directory and
 * {@code settings-security.xml}, {@code .netrc}, {@code .git-credentials}, {@code
 * .docker/config.json}, {@code .kube/config}, SSH private keys ({@code id_rsa} …), and key stores
 * ({@code .p12}, {@code .pfx}, {@code .jks}, {@code .keystore}). The JDK's trust store {@code
 * lib/security/cacerts} holds certificates only and is not a finding.
 */
public final class ImageFs {

  /** Largest single file read from a layer. */
  public static final long MAX_FILE_BYTES = 512L << 20;

  /** Files up to this size keep their content ({@link #content}). */
  public static final int KEEP_CONTENT_BYTES = 1 << 20;

  private static final int MAX_SYMLINK_HOPS = 40;
  private static final byte[] PEM_BEGIN = "-----BEGIN ".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_PEM_CHARS = 16 * 1024;
  private static final Pattern PRIVATE_KEY_BLOCK =
      Pattern.compile(
          "-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----[ \\t]*\\r?\\n"
              + "(?:[A-Za-z-]+:[^\\n]*\\n)*\\s*([A-Za-z0-9+/=\\s]{40,}?)-----END \\1-----");
  private static final Set<String> SECRET_NAMES =
      Set.of(
          "settings-security.xml",
          ".netrc",
          ".git-credentials",
          ".npmrc",
          ".pypirc",
          "id_rsa",
          "id_dsa",
          "id_ecdsa",
          "id_ed25519");
  private static final List<String> KEY_STORE_SUFFIXES =
      List.of(".p12", ".pfx", ".jks", ".keystore", ".jceks");

  /** What a path is. */
  public enum Kind {
    FILE,
    DIR,
    SYMLINK,
    HARDLINK,
    OTHER
  }

  /**
   * One path of the image.
   *
   * @param path absolute, normalised, no trailing slash ({@code /} for the root)
   * @param linkTarget for links, the target as written in the tar; else null
   * @param sha256 for regular files, {@code sha256:hex}; else null
   * @param layer index of the layer that wrote it last; -1 for a directory only implied by a path
   */
  public record Node(
      String path,
      Kind kind,
      String linkTarget,
      long size,
      int mode,
      long uid,
      long gid,
      String sha256,
      int layer) {}

  /** Where a path leads when its symlinks are followed. */
  public record Resolution(String path, String problem) {
    public boolean ok() {
      return problem == null;
    }
  }

  private final TreeMap<String, Node> nodes = new TreeMap<>();
  private final Map<String, byte[]> contents = new TreeMap<>();
  private final List<String> entryProblems = new ArrayList<>();
  private final List<String> secrets = new ArrayList<>();

  ImageFs() {
    nodes.put("/", new Node("/", Kind.DIR, null, 0, 0755, 0, 0, null, -1));
  }

  /** Applies one layer (an uncompressed tar stream). */
  void apply(int layer, InputStream tar) throws IOException {
    TarArchiveInputStream in = new TarArchiveInputStream(tar);
    TarArchiveEntry e;
    while ((e = in.getNextEntry()) != null) {
      String raw = e.getName();
      String path = normalize(raw);
      if (path == null) {
        entryProblems.add("layer " + layer + ": entry name " + raw + " leaves the image root");
        continue;
      }
      String base = path.substring(path.lastIndexOf('/') + 1);
      if (base.equals(".wh..wh..opq")) {
        removeBelow(parent(path), false);
        continue;
      }
      if (base.startsWith(".wh.")) {
        String gone = join(parent(path), base.substring(4));
        removeBelow(gone, true);
        continue;
      }
      ensureParents(path);
      int mode = e.getMode() & 07777;
      if ((mode & 06000) != 0 && !e.isDirectory()) {
        entryProblems.add(
            "layer "
                + layer
                + ": "
                + path
                + " is setuid/setgid (mode "
                + Integer.toOctalString(mode)
                + ")");
      }
      if (e.isDirectory()) {
        Node old = nodes.get(path);
        if (old != null && old.kind() != Kind.DIR) {
          removeBelow(path, true);
        }
        nodes.put(
            path,
            new Node(
                path, Kind.DIR, null, 0, mode, e.getLongUserId(), e.getLongGroupId(), null, layer));
      } else if (e.isSymbolicLink()) {
        removeBelow(path, true);
        nodes.put(
            path,
            new Node(
                path,
                Kind.SYMLINK,
                e.getLinkName(),
                0,
                mode,
                e.getLongUserId(),
                e.getLongGroupId(),
                null,
                layer));
      } else if (e.isLink()) {
        String target = normalize(e.getLinkName());
        Node t = target == null ? null : nodes.get(target);
        if (t == null || t.kind() != Kind.FILE) {
          entryProblems.add(
              "layer "
                  + layer
                  + ": hard link "
                  + path
                  + " -> "
                  + e.getLinkName()
                  + " names no regular file before it");
        }
        removeBelow(path, true);
        nodes.put(
            path,
            new Node(
                path,
                Kind.HARDLINK,
                e.getLinkName(),
                t == null ? 0 : t.size(),
                mode,
                e.getLongUserId(),
                e.getLongGroupId(),
                t == null ? null : t.sha256(),
                layer));
      } else if (e.isFile()) {
        if (e.getSize() > MAX_FILE_BYTES) {
          throw new IOException(
              "layer "
                  + layer
                  + ": "
                  + path
                  + " is "
                  + e.getSize()
                  + " bytes, more than "
                  + MAX_FILE_BYTES);
        }
        byte[] data = in.readAllBytes();
        scanFile(path, data);
        removeBelow(path, true);
        nodes.put(
            path,
            new Node(
                path,
                Kind.FILE,
                null,
                data.length,
                mode,
                e.getLongUserId(),
                e.getLongGroupId(),
                OciArchive.sha256(data),
                layer));
        if (data.length <= KEEP_CONTENT_BYTES) {
          contents.put(path, data);
        }
      } else {
        entryProblems.add(
            "layer "
                + layer
                + ": "
                + path
                + " is a device, FIFO or other special file (tar type "
                + (char) e.getLinkFlag()
                + ")");
        nodes.put(
            path,
            new Node(
                path,
                Kind.OTHER,
                null,
                0,
                mode,
                e.getLongUserId(),
                e.getLongGroupId(),
                null,
                layer));
      }
    }
    // Whatever follows the end-of-archive blocks (padding) is not the image's.
  }

  /** Every path, sorted. */
  public Map<String, Node> nodes() {
    return java.util.Collections.unmodifiableMap(nodes);
  }

  public Optional<Node> node(String path) {
    return Optional.ofNullable(nodes.get(path));
  }

  /** Content of a regular file of at most {@link #KEEP_CONTENT_BYTES}. */
  public Optional<byte[]> content(String path) {
    return Optional.ofNullable(contents.get(path)).map(byte[]::clone);
  }

  /** Entries that should not be in an image: names leaving the root, setuid files, devices. */
  public List<String> entryProblems() {
    return List.copyOf(entryProblems);
  }

  /**
   * What looks like a secret, one line each: the path and kind, and for a private key the sha256 of
   * its DER bytes (never the content).
   */
  public List<String> secrets() {
    return List.copyOf(secrets);
  }

  private static String keyFinding(String where, PemKey k) {
    return where + ": holds a PEM " + k.type() + " block (key " + k.sha256() + ")";
  }

  /**
   * Every symlink that points outside the image (its target climbs above the root) or dangles (no
   * such path in the image, also after following further links), and every hard link to nothing.
   */
  public List<String> linkProblems() {
    List<String> out = new ArrayList<>();
    for (Node n : nodes.values()) {
      if (n.kind() == Kind.SYMLINK) {
        String t = n.linkTarget();
        if (t == null || t.isEmpty()) {
          out.add(n.path() + " is a symlink with an empty target");
          continue;
        }
        String start = t.startsWith("/") ? t : join(parent(n.path()), t);
        Resolution r = resolve(start, 0);
        if (!r.ok()) {
          out.add(n.path() + " -> " + t + ": " + r.problem());
        }
      } else if (n.kind() == Kind.HARDLINK) {
        String t = normalize(n.linkTarget());
        if (t == null || !nodes.containsKey(t)) {
          out.add(
              n.path() + " is a hard link to " + n.linkTarget() + ", which is not in the image");
        }
      }
    }
    return out;
  }

  /** Follows symlinks along {@code path} as the kernel would inside the image. */
  public Resolution resolve(String path) {
    return resolve(path, 0);
  }

  private Resolution resolve(String path, int hops) {
    if (hops > MAX_SYMLINK_HOPS) {
      return new Resolution(null, "more than " + MAX_SYMLINK_HOPS + " symlinks (a loop)");
    }
    String cur = "/";
    String[] parts = path.split("/");
    for (int i = 0; i < parts.length; i++) {
      String c = parts[i];
      if (c.isEmpty() || c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        if (cur.equals("/")) {
          return new Resolution(null, "points outside the image (climbs above /)");
        }
        cur = parent(cur);
        continue;
      }
      String next = join(cur, c);
      Node n = nodes.get(next);
      if (n == null) {
        return new Resolution(null, "dangles: " + next + " is not in the image");
      }
      boolean last = i == parts.length - 1;
      if (n.kind() == Kind.SYMLINK) {
        String t = n.linkTarget();
        Resolution r = resolve(t.startsWith("/") ? t : join(cur, t), hops + 1);
        if (!r.ok()) {
          return new Resolution(null, "via " + next + " -> " + t + ": " + r.problem());
        }
        cur = r.path();
      } else {
        cur = next;
      }
      Node now = nodes.get(cur);
      if (!last && (now == null || now.kind() != Kind.DIR)) {
        return new Resolution(null, "dangles: " + cur + " is not a directory");
      }
    }
    return new Resolution(cur, null);
  }

  // ---------------------------------------------------------------------------------------------

  private void scanFile(String path, byte[] data) throws IOException {
    String lower = path.toLowerCase(Locale.ROOT);
    String base = lower.substring(lower.lastIndexOf('/') + 1);
    if (lower.contains("/.m2/") || lower.endsWith("/.m2")) {
      secrets.add(path + ": a Maven .m2 file (settings and credentials live there)");
    }
    if (SECRET_NAMES.contains(base)) {
      secrets.add(path + ": a credentials file by name");
    }
    if (lower.endsWith("/.docker/config.json") || lower.endsWith("/.kube/config")) {
      secrets.add(path + ": a registry or cluster credentials file by name");
    }
    for (String suffix : KEY_STORE_SUFFIXES) {
      if (base.endsWith(suffix)) {
        secrets.add(path + ": a key store (" + suffix + ")");
      }
    }
    privateKeyBlock(data).ifPresent(k -> secrets.add(keyFinding(path, k)));
    if (isZip(data)) {
      scanZip(path, data);
    }
  }

  private void scanZip(String path, byte[] data) throws IOException {
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(data))) {
      ZipEntry z;
      while ((z = zip.getNextEntry()) != null) {
        if (z.isDirectory()) {
          continue;
        }
        String name = z.getName();
        String lower = name.toLowerCase(Locale.ROOT);
        String base = lower.substring(lower.lastIndexOf('/') + 1);
        if (SECRET_NAMES.contains(base) || lower.contains(".m2/")) {
          secrets.add(path + "!/" + name + ": a credentials file by name");
        }
        byte[] entry = zip.readNBytes((int) Math.min(MAX_FILE_BYTES, Integer.MAX_VALUE - 8));
        privateKeyBlock(entry).ifPresent(k -> secrets.add(keyFinding(path + "!/" + name, k)));
      }
    }
  }

  /** A PEM private key found in a file: its type and the sha256 of its DER bytes. */
  record PemKey(String type, String sha256) {}

  /** The first PEM private-key block with a base64 body in {@code data}, if any. */
  static Optional<PemKey> privateKeyBlock(byte[] data) {
    for (int i = indexOf(data, PEM_BEGIN, 0); i >= 0; i = indexOf(data, PEM_BEGIN, i + 1)) {
      int end = Math.min(data.length, i + MAX_PEM_CHARS);
      String window = new String(data, i, end - i, StandardCharsets.ISO_8859_1);
      Matcher m = PRIVATE_KEY_BLOCK.matcher(window);
      if (m.lookingAt()) {
        String body = m.group(2).replaceAll("\\s", "");
        String sha;
        try {
          sha = OciArchive.sha256(Base64.getDecoder().decode(body));
        } catch (IllegalArgumentException e) {
          sha = "undecodable";
        }
        return Optional.of(new PemKey(m.group(1), sha));
      }
    }
    return Optional.empty();
  }

  private static int indexOf(byte[] data, byte[] needle, int from) {
    outer:
    for (int i = from; i <= data.length - needle.length; i++) {
      if (data[i] != needle[0]) {
        continue;
      }
      for (int j = 1; j < needle.length; j++) {
        if (data[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static boolean isZip(byte[] d) {
    return d.length > 4 && d[0] == 'P' && d[1] == 'K' && d[2] == 3 && d[3] == 4;
  }

  private void ensureParents(String path) {
    for (String p = parent(path); !p.equals("/"); p = parent(p)) {
      if (nodes.containsKey(p)) {
        return;
      }
      nodes.put(p, new Node(p, Kind.DIR, null, 0, 0755, 0, 0, null, -1));
    }
  }

  /** Removes {@code path} (if {@code self}) and everything below it. */
  private void removeBelow(String path, boolean self) {
    String prefix = path.equals("/") ? "/" : path + "/";
    Iterator<String> it =
        nodes.subMap(prefix, true, prefix + Character.MAX_VALUE, true).keySet().iterator();
    while (it.hasNext()) {
      String p = it.next();
      if (!p.equals("/")) {
        it.remove();
        contents.remove(p);
      }
    }
    if (self && !path.equals("/")) {
      nodes.remove(path);
      contents.remove(path);
    }
  }

  /**
   * A tar entry name as an absolute path without {@code .}, empty segments or a trailing slash;
   * null if a {@code ..} would leave the root.
   */
  static String normalize(String name) {
    if (name == null) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (String s : name.split("/")) {
      if (s.isEmpty() || s.equals(".")) {
        continue;
      }
      if (s.equals("..")) {
        if (out.isEmpty()) {
          return null;
        }
        out.remove(out.size() - 1);
        continue;
      }
      out.add(s);
    }
    return "/" + String.join("/", out);
  }

  static String parent(String path) {
    int i = path.lastIndexOf('/');
    return i <= 0 ? "/" : path.substring(0, i);
  }

  static String join(String dir, String rel) {
    return dir.equals("/") ? "/" + rel : dir + "/" + rel;
  }
}
