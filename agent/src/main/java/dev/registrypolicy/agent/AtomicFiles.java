package dev.registrypolicy.agent;

import dev.registrypolicy.common.Causes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * Writes a file so that a reader sees either the old content or the new, never a part, and so that
 * nothing outside the directory handle can be touched: a temp file created exclusively in the same
 * directory with the final mode, written, fsynced, read back through the same open file and
 * verified, renamed over the target ({@code renameat}), checked to be the file written, and the
 * directory fsynced. Unchanged content (with the right mode) is not rewritten; a wrong mode is
 * fixed by writing the file anew, never by chmod of an existing entry.
 *
 * <p>Failures are {@link WriteFailure}s whose text names the file (not the temp file) and the cause
 * in words, so the same cause reads the same on every pass.
 */
final class AtomicFiles {
  static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");
  static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
  static final String TEMP_PREFIX = ".rp-";
  static final String TEMP_SUFFIX = ".tmp";

  /** Room counted for a file's metadata and the last partial block when checking free space. */
  private static final long DEFAULT_BLOCK = 4096;

  private AtomicFiles() {}

  /** What {@link #writeIfChanged} did. */
  enum Outcome {
    UNCHANGED,
    /** Content was right but the mode was not; the file was written anew with the right mode. */
    MODE_FIXED,
    WRITTEN
  }

  /** A write that failed; the message is stable for the same cause and names no temp file. */
  static final class WriteFailure extends IOException {
    private static final long serialVersionUID = 1L;

    WriteFailure(String message) {
      super(message);
    }
  }

  /**
   * Makes {@code name} in {@code dir} hold {@code content} with the mode for {@code secret}.
   *
   * @param store where free space is checked before anything is created (null: not checked)
   * @param verify checks the bytes as read back from the temp file; returns null if they are good,
   *     else why not (the temp file is then removed and nothing is renamed)
   * @throws WriteFailure naming the file and the cause; nothing new is left in {@code dir}
   */
  static Outcome writeIfChanged(
      DirHandle dir,
      String name,
      byte[] content,
      boolean secret,
      Function<byte[], String> verify,
      FileStore store)
      throws IOException {
    Set<PosixFilePermission> mode = secret ? PRIVATE : PUBLIC;
    Path target = dir.name(name);
    BasicFileAttributes current = stage("check", name, () -> dir.stat(target));
    boolean contentRight = false;
    if (current != null && current.isRegularFile() && current.size() == content.length) {
      byte[] bytes = stage("read", name, () -> dir.read(target, content.length));
      contentRight = bytes != null && Arrays.equals(bytes, content);
      if (contentRight && (!dir.posix() || mode.equals(DirHandle.mode(current)))) {
        return Outcome.UNCHANGED;
      }
    }
    checkSpace(store, name, content.length);
    Path tmp = null;
    SeekableByteChannel ch = null;
    try {
      for (int i = 0; ch == null; i++) {
        tmp =
            dir.name(
                TEMP_PREFIX
                    + name
                    + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong())
                    + TEMP_SUFFIX);
        try {
          ch = dir.create(tmp, mode);
        } catch (FileAlreadyExistsException e) {
          tmp = null;
          if (i > 10) {
            throw fail(name, "create the temp file", e);
          }
        } catch (IOException e) {
          tmp = null; // nothing was created
          throw fail(name, "create the temp file", e);
        }
      }
      Path created = tmp;
      BasicFileAttributes made = stage("check the temp file of", name, () -> dir.stat(created));
      if (made == null || !made.isRegularFile() || made.size() != 0) {
        throw new WriteFailure(
            name + ": the temp file was replaced right after it was created; not installed");
      }
      Object key = made.fileKey();
      if (dir.posix() && !mode.equals(DirHandle.mode(made))) {
        fixMode(
            dir, created, key, mode,
            name); // the umask narrowed the mode, or the file system ignored it
      }
      SeekableByteChannel out = ch;
      stage(
          "write",
          name,
          () -> {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
              out.write(buf);
            }
            if (out instanceof FileChannel fc) {
              fc.force(true);
            }
            return null;
          });
      byte[] back =
          stage(
              "read back",
              name,
              () -> {
                out.position(0);
                return DirHandle.readAll(out, content.length);
              });
      if (!Arrays.equals(back, content)) {
        throw new WriteFailure(name + ": read back different bytes than written; not installed");
      }
      if (verify != null) {
        String bad = verify.apply(back);
        if (bad != null) {
          throw new WriteFailure(name + ": refusing to install: " + bad);
        }
      }
      BasicFileAttributes before = stage("check the temp file of", name, () -> dir.stat(created));
      if (!same(before, key, content.length)
          || (dir.posix() && !mode.equals(DirHandle.mode(before)))) {
        throw new WriteFailure(
            name + ": the temp file was replaced before the rename; not installed");
      }
      stage(
          "rename into place",
          name,
          () -> {
            dir.rename(created, target);
            return null;
          });
      tmp = null;
      BasicFileAttributes after = stage("check", name, () -> dir.stat(target));
      if (!same(after, key, content.length)) {
        // Something else was renamed in: it is not ours to leave under our name.
        try {
          dir.deleteFile(target);
        } catch (IOException e) {
          // reported below; the next pass sees the wrong content and writes again
        }
        throw new WriteFailure(
            name + ": the temp file was replaced during the rename; removed what was renamed in");
      }
      dir.fsync();
      return contentRight ? Outcome.MODE_FIXED : Outcome.WRITTEN;
    } finally {
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException e) {
          // the data was forced (or the write failed and is reported)
        }
      }
      if (tmp != null) {
        try {
          dir.deleteFile(tmp);
        } catch (IOException e) {
          // gone already, or a later pass removes the leftover temp file
        }
      }
    }
  }

  /** Whether {@code a} is a regular file with the given key (where keys exist) and size. */
  private static boolean same(BasicFileAttributes a, Object key, long size) {
    return a != null
        && a.isRegularFile()
        && a.size() == size
        && (key == null || Objects.equals(key, a.fileKey()));
  }

  /**
   * Sets the mode of the temp file just created, only when it is still the file created (same key,
   * a regular file) and, where the file system reports a link count, has no other name: a hard link
   * to a file elsewhere swapped in under the temp name is never chmodded. The path-based link count
   * can only refuse: if the directory's path no longer leads here, the random temp name is not
   * found there.
   */
  private static void fixMode(
      DirHandle dir, Path tmp, Object key, Set<PosixFilePermission> mode, String name)
      throws IOException {
    BasicFileAttributes now = stage("check the temp file of", name, () -> dir.stat(tmp));
    if (!same(now, key, 0)) {
      throw new WriteFailure(
          name + ": the temp file was replaced right after it was created; not installed");
    }
    Path viaPath = dir.path().resolve(tmp);
    try {
      Object links = Files.getAttribute(viaPath, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
      Object viaKey =
          Files.readAttributes(viaPath, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
              .fileKey();
      if (!(links instanceof Integer n) || n != 1 || !Objects.equals(viaKey, key)) {
        throw new WriteFailure(
            name + ": the temp file was replaced right after it was created; not installed");
      }
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      // no link count here: the key check above stands alone
    } catch (NoSuchFileException e) {
      throw new WriteFailure(name + ": the directory was moved while being written; not installed");
    }
    stage(
        "set the mode of",
        name,
        () -> {
          dir.setMode(tmp, mode);
          return null;
        });
  }

  /** Refuses before creating anything when the file system has no room for the file. */
  private static void checkSpace(FileStore store, String name, int size) throws WriteFailure {
    if (store == null) {
      return;
    }
    long block;
    try {
      block = store.getBlockSize();
    } catch (UnsupportedOperationException | IOException e) {
      block = DEFAULT_BLOCK;
    }
    long free;
    try {
      free = store.getUnallocatedSpace();
    } catch (IOException e) {
      return; // unknown: the write itself will tell
    }
    if (free < size + block) {
      throw new WriteFailure(
          name
              + ": cannot write: no space left on device ("
              + size
              + " bytes needed); nothing created");
    }
  }

  /** One step of a write, whose failure is reported as {@code name: cannot <what>: <cause>}. */
  private interface Step<T> {
    T run() throws IOException;
  }

  private static <T> T stage(String what, String name, Step<T> step) throws IOException {
    try {
      return step.run();
    } catch (WriteFailure e) {
      throw e;
    } catch (IOException e) {
      throw fail(name, what, e);
    }
  }

  private static WriteFailure fail(String name, String what, IOException e) {
    return new WriteFailure(name + ": cannot " + what + ": " + Causes.describe(e));
  }

  /**
   * Makes a rename durable. File systems that cannot open a directory (e.g. in-memory ones) are
   * skipped.
   */
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
