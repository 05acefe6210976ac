package dev.registrypolicy.agent;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * Writes a file so that a reader sees either the old content or the new, never a part: a temp
 * file in the same directory, fsync, rename over the target, fsync of the directory. Unchanged
 * content is not rewritten.
 */
final class AtomicFiles {
  static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");
  static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
  static final String TEMP_PREFIX = ".rp-";
  static final String TEMP_SUFFIX = ".tmp";

  private AtomicFiles() {}

  /** What {@link #writeIfChanged} did. */
  enum Outcome {
    UNCHANGED,
    /** Content was right; only the permissions were corrected. */
    MODE_FIXED,
    WRITTEN
  }

  /**
   * Makes {@code target} hold {@code content} with the given mode.
   *
   * @param verify checks the bytes as read back from the temp file; returns null if they are
   *     good, else why not (the temp file is then removed and nothing is renamed)
   */
  static Outcome writeIfChanged(Path target, byte[] content, boolean secret, Function<byte[], String> verify)
      throws IOException {
    Set<PosixFilePermission> mode = secret ? PRIVATE : PUBLIC;
    boolean posix = Files.getFileAttributeView(target.getParent(), PosixFileAttributeView.class) != null;
    if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
      byte[] current;
      try {
        current = Files.readAllBytes(target);
      } catch (NoSuchFileException e) {
        current = null;
      }
      if (current != null && java.util.Arrays.equals(current, content)) {
        if (posix && !Files.getPosixFilePermissions(target, LinkOption.NOFOLLOW_LINKS).equals(mode)) {
          Files.setPosixFilePermissions(target, mode);
          return Outcome.MODE_FIXED;
        }
        return Outcome.UNCHANGED;
      }
    }
    Path dir = target.getParent();
    Path tmp = null;
    try {
      tmp = createTemp(dir, target.getFileName().toString(), posix ? PosixFilePermissions.asFileAttribute(mode) : null);
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      if (posix) {
        Files.setPosixFilePermissions(tmp, mode); // the umask may have narrowed the create mode
      }
      if (verify != null) {
        String bad = verify.apply(Files.readAllBytes(tmp));
        if (bad != null) {
          throw new IOException("refusing to install " + target.getFileName() + ": " + bad);
        }
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      tmp = null;
      fsyncDirectory(dir);
      return Outcome.WRITTEN;
    } finally {
      if (tmp != null) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  private static Path createTemp(Path dir, String name, FileAttribute<?> attr) throws IOException {
    for (int i = 0; ; i++) {
      Path p = dir.resolve(TEMP_PREFIX + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TEMP_SUFFIX);
      try {
        return attr == null ? Files.createFile(p) : Files.createFile(p, attr);
      } catch (FileAlreadyExistsException e) {
        if (i > 10) {
          throw e;
        }
      }
    }
  }

  /** Makes a rename durable. File systems that cannot open a directory (e.g. in-memory ones) are skipped. */
  static void fsyncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, EnumSet.of(StandardOpenOption.READ))) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not supported here; the rename itself is still atomic.
    }
  }

  static boolean isTemp(String name) {
    return name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX);
  }
}
