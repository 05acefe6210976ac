package dev.registrypolicy.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Every entry below a directory as the kernel has it, without following a symlink: type, mode,
 * inode, size, modification time, and for regular files a content hash (FIFOs and sockets are never
 * opened). Two equal snapshots mean nothing below was created, removed, written, chmodded or
 * replaced.
 */
final class FsSnapshot {
  private FsSnapshot() {}

  static Map<String, String> of(Path top, Predicate<Path> include) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(top)) {
      for (Path p : s.filter(include).collect(Collectors.toList())) {
        out.put(top.relativize(p).toString(), describe(p));
      }
    }
    return out;
  }

  static String describe(Path p) throws IOException {
    try {
      PosixFileAttributes a =
          Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      String type =
          a.isSymbolicLink()
              ? "link->" + Files.readSymbolicLink(p)
              : a.isDirectory() ? "dir" : a.isRegularFile() ? "file" : "other";
      String content = a.isRegularFile() ? " sha=" + sha(Files.readAllBytes(p)) : "";
      return type
          + " "
          + PosixFilePermissions.toString(a.permissions())
          + " key="
          + a.fileKey()
          + " size="
          + a.size()
          + " mtime="
          + a.lastModifiedTime().toMillis()
          + content;
    } catch (NoSuchFileException e) {
      return "gone";
    }
  }

  static String sha(byte[] b) {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(b))
          .substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs a command; its exit code (output discarded). */
  static int run(Path dir, String... cmd) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    return p.waitFor();
  }
}
