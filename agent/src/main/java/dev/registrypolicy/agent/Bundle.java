package dev.registrypolicy.agent;

import dev.registrypolicy.common.Causes;
import dev.registrypolicy.common.Hashes;
import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The credentials bundle's content as the API server gave it (the Secret's data, decoded), and the
 * one content hash used for both sources, so a mounted directory and a Secret with the same entries
 * hash the same: SHA-256 over the entries in name order, each {@code name NUL bytes NUL}, counting
 * only bundle keys ({@code <secret>_<key>}) and {@link NodeCredentialsBundle#REVISION_KEY}.
 *
 * @param entries bundle key to bytes (the revision entry included), sorted
 */
record Bundle(SortedMap<String, byte[]> entries) {
  static final Bundle EMPTY = new Bundle(new TreeMap<>());

  /** Longest revision value read (the report's contract allows 128 characters). */
  private static final int MAX_REVISION = 128;

  Bundle {
    entries = Collections.unmodifiableSortedMap(new TreeMap<>(entries));
  }

  /** Whether a data key belongs in the bundle's content (credentials and the revision). */
  static boolean counts(String name) {
    return NodeCredentialsBundle.isValidKey(name)
        || NodeCredentialsBundle.REVISION_KEY.equals(name);
  }

  String hash() {
    MessageDigest md = Hashes.sha256();
    for (Map.Entry<String, byte[]> e : entries.entrySet()) {
      entry(md, e.getKey(), e.getValue());
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** The bundle's revision entry, when present and well-formed; never a credential. */
  String revision() {
    return revision(entries.get(NodeCredentialsBundle.REVISION_KEY));
  }

  /** Credentials by reference, as {@link SecretStore#directory} reads them from files. */
  SecretStore store() {
    return (SecretKeyRef ref) ->
        Optional.ofNullable(entries.get(NodeCredentialsBundle.key(ref.secret(), ref.key())))
            .map(byte[]::clone);
  }

  static String revision(byte[] value) {
    if (value == null || value.length == 0 || value.length > MAX_REVISION) {
      return null;
    }
    String s = new String(value, StandardCharsets.UTF_8).trim();
    return s.matches("[-._a-zA-Z0-9]{1,128}") ? s : null;
  }

  /** The hash of a mounted bundle directory, computed as {@link #hash} (null dir: empty). */
  static String directoryHash(Path dir) {
    MessageDigest md = Hashes.sha256();
    if (dir != null && Files.isDirectory(dir)) {
      TreeMap<String, Path> names = new TreeMap<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
        for (Path p : ds) {
          String n = p.getFileName().toString();
          if (counts(n)) {
            names.put(n, p);
          }
        }
      } catch (IOException e) {
        md.update(("unreadable: " + Causes.describe(e)).getBytes(StandardCharsets.UTF_8));
      }
      for (Map.Entry<String, Path> e : names.entrySet()) {
        byte[] b;
        if (!Files.isRegularFile(e.getValue())) {
          b = "\0not a file".getBytes(StandardCharsets.UTF_8);
        } else {
          try (InputStream in = Files.newInputStream(e.getValue())) {
            b = in.readNBytes(SecretStore.MAX_BYTES + 1);
          } catch (IOException x) {
            b = ("\0error: " + Causes.describe(x)).getBytes(StandardCharsets.UTF_8);
          }
        }
        entry(md, e.getKey(), b);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** The revision file of a mounted bundle, or null. */
  static String directoryRevision(Path dir) {
    if (dir == null) {
      return null;
    }
    Path f = dir.resolve(NodeCredentialsBundle.REVISION_KEY);
    if (!Files.isRegularFile(f)) {
      return null;
    }
    try (InputStream in = Files.newInputStream(f)) {
      return revision(in.readNBytes(MAX_REVISION + 1));
    } catch (IOException e) {
      return null;
    }
  }

  private static void entry(MessageDigest md, String name, byte[] value) {
    md.update(name.getBytes(StandardCharsets.UTF_8));
    md.update((byte) 0);
    md.update(value);
    md.update((byte) 0);
  }
}
