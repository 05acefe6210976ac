package dev.registrypolicy.agent.bench;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * A certs.d directory as the harness sees it: waiting for, checking, wiping and fingerprinting
 * files.
 */
final class CertsTree {
  private final Path root;

  /** Expected content by path relative to {@link #root}. */
  private final Map<String, byte[]> expected;

  private final Set<String> secret;

  /** The hosts.toml paths, in the order the agent writes them (sorted directory names). */
  private final List<String> hostsTomls = new ArrayList<>();

  CertsTree(Path root, Map<String, byte[]> expected, Set<String> secret) {
    this.root = root;
    this.expected = new TreeMap<>(expected);
    this.secret = secret;
    for (String rel : this.expected.keySet()) {
      if (rel.endsWith("/hosts.toml")) {
        hostsTomls.add(rel);
      }
    }
  }

  Path root() {
    return root;
  }

  int hostCount() {
    return hostsTomls.size();
  }

  int expectedFileCount() {
    return expected.size();
  }

  /**
   * Polls until every hosts.toml holds its expected bytes; returns System.nanoTime() at the poll
   * that saw the last one right, or -1 on timeout. Files already seen right are not read again (the
   * agent renames complete files into place, so a file once right stays right until the next wipe).
   */
  long awaitHostsToml(long pollNanos, long timeoutNanos) {
    long deadline = System.nanoTime() + timeoutNanos;
    int next = 0;
    while (true) {
      while (next < hostsTomls.size() && matches(hostsTomls.get(next))) {
        next++;
      }
      long now = System.nanoTime();
      if (next == hostsTomls.size()) {
        return now;
      }
      if (now > deadline) {
        return -1;
      }
      LockSupport.parkNanos(pollNanos);
    }
  }

  private boolean matches(String rel) {
    try {
      return Arrays.equals(Files.readAllBytes(root.resolve(rel)), expected.get(rel));
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Problems with the tree: missing, wrong or extra files, wrong modes. Empty when it is exactly
   * the plan.
   */
  List<String> verify() throws IOException {
    List<String> bad = new ArrayList<>();
    Set<PosixFilePermission> pub = PosixFilePermissions.fromString("rw-r--r--");
    Set<PosixFilePermission> priv = PosixFilePermissions.fromString("rw-------");
    for (Map.Entry<String, byte[]> e : expected.entrySet()) {
      Path p = root.resolve(e.getKey());
      if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        bad.add("missing " + e.getKey());
        continue;
      }
      if (!Arrays.equals(Files.readAllBytes(p), e.getValue())) {
        bad.add("content differs " + e.getKey());
      }
      Set<PosixFilePermission> want = secret.contains(e.getKey()) ? priv : pub;
      if (!Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS).equals(want)) {
        bad.add(
            "mode "
                + PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS))
                + " "
                + e.getKey());
      }
    }
    for (String rel : files().keySet()) {
      if (!expected.containsKey(rel)) {
        bad.add("extra " + rel);
      }
    }
    return bad;
  }

  /** Every regular file under the root, with its inode, size and mtime in nanoseconds. */
  Map<String, String> files() throws IOException {
    Map<String, String> out = new TreeMap<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            if (attrs.isRegularFile()) {
              Object ino = Files.getAttribute(file, "unix:ino", LinkOption.NOFOLLOW_LINKS);
              long mtimeNanos =
                  attrs.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS);
              out.put(
                  root.relativize(file).toString(),
                  "ino=" + ino + " size=" + attrs.size() + " mtime=" + mtimeNanos);
            }
            return FileVisitResult.CONTINUE;
          }
        });
    return out;
  }

  /**
   * {@code rm -rf certs.d/*}: removes every entry under the root. Like rm, it does not retry an
   * entry that changed under it (the agent may already be rewriting); returns how many such errors
   * it saw.
   */
  int wipe() throws IOException {
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        entries.add(p);
      }
    }
    int errors = 0;
    for (Path p : entries) {
      errors += deleteRecursively(p);
    }
    return errors;
  }

  /** Deletes a file or directory tree, tolerating entries that vanish or appear meanwhile. */
  static int deleteRecursively(Path top) throws IOException {
    int[] errors = {0};
    if (!Files.exists(top, LinkOption.NOFOLLOW_LINKS)) {
      return 0;
    }
    Files.walkFileTree(
        top,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.deleteIfExists(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
            if (!(exc instanceof NoSuchFileException)) {
              errors[0]++;
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
            try {
              Files.deleteIfExists(dir);
            } catch (DirectoryNotEmptyException e) {
              errors[0]++;
            }
            return FileVisitResult.CONTINUE;
          }
        });
    return errors[0];
  }
}
