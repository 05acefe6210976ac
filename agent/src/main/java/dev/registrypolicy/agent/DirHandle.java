package dev.registrypolicy.agent;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An open directory that every operation is made relative to, never following a symlink: the JDK's
 * {@link SecureDirectoryStream} (on Linux an open file descriptor with {@code openat}, {@code
 * fstatat(AT_SYMLINK_NOFOLLOW)}, {@code renameat}, {@code unlinkat}; Jimfs has the same). The
 * directory is checked once, when it is opened; renaming or replacing its path afterwards (say, by
 * a symlink to another directory) does not move any later operation with it.
 *
 * <p>Names are single path components; an entry that is a symlink is never opened, read, written,
 * chmodded or descended into (the kernel refuses with {@code ELOOP}); deleting one removes the
 * link. An entry is stat'ed before it is opened for reading, and only a regular file or a directory
 * is opened: opening a FIFO would block. The window between that stat and the open is the one place
 * a swap can still land; what it can do there is make one read fail or, for a FIFO, wait.
 */
final class DirHandle implements Closeable {
  private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
  private static final Set<OpenOption> READ = Set.of(StandardOpenOption.READ, NOFOLLOW);
  private static final Set<OpenOption> CREATE =
      Set.of(
          StandardOpenOption.CREATE_NEW,
          StandardOpenOption.READ,
          StandardOpenOption.WRITE,
          NOFOLLOW);

  private final Path path;
  private final SecureDirectoryStream<Path> stream;
  private final boolean posix;
  private final Object key;

  private DirHandle(Path path, SecureDirectoryStream<Path> stream) throws IOException {
    this.path = path;
    this.stream = stream;
    this.posix = stream.getFileAttributeView(PosixFileAttributeView.class) != null;
    this.key = stream.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
  }

  /**
   * Opens a directory by path, following symlinks in the path itself (certs.d is given by the
   * operator, not by anyone who can write into it).
   *
   * @throws IOException also when the file system offers no directory handles
   */
  static DirHandle open(Path dir) throws IOException {
    @SuppressWarnings(
        "StreamResourceLeak") // owned by the returned DirHandle, closed by its close(); closed here
    // on every failure
    DirectoryStream<Path> ds = Files.newDirectoryStream(dir);
    if (!(ds instanceof SecureDirectoryStream)) {
      ds.close();
      throw new FileSystemException(
          dir.toString(),
          null,
          "the file system offers no directory handles (openat); nothing can be written safely");
    }
    try {
      @SuppressWarnings("unchecked")
      SecureDirectoryStream<Path> sds = (SecureDirectoryStream<Path>) ds;
      return new DirHandle(dir, sds);
    } catch (IOException | RuntimeException e) {
      ds.close();
      throw e;
    }
  }

  /** Where this directory was when it was opened (for messages; never used to reach it again). */
  Path path() {
    return path;
  }

  /**
   * The directory's identity (device and inode) as opened, or null where the file system has none.
   */
  Object key() {
    return key;
  }

  boolean posix() {
    return posix;
  }

  /** The permissions in {@code a}, or null where the file system has none. */
  static Set<PosixFilePermission> mode(BasicFileAttributes a) {
    return a instanceof PosixFileAttributes posix ? posix.permissions() : null;
  }

  /** A name of one component in this directory's file system. */
  Path name(String name) {
    return path.getFileSystem().getPath(name);
  }

  /** The entry's attributes without following a symlink, or null when there is none. */
  BasicFileAttributes stat(Path name) throws IOException {
    try {
      if (posix) {
        return stream
            .getFileAttributeView(name, PosixFileAttributeView.class, NOFOLLOW)
            .readAttributes();
      }
      return stream
          .getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW)
          .readAttributes();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /**
   * Opens a subdirectory without following a symlink: only an entry that is a directory when
   * stat'ed is opened, and the opened directory must be the one stat'ed (same key).
   *
   * @throws NotDirectoryException when the entry is not a directory (a symlink included)
   * @throws NoSuchFileException when there is no entry
   */
  DirHandle openDir(Path name) throws IOException {
    BasicFileAttributes a = stat(name);
    if (a == null) {
      throw new NoSuchFileException(name.toString());
    }
    if (!a.isDirectory()) {
      throw new NotDirectoryException(name.toString());
    }
    SecureDirectoryStream<Path> sub = stream.newDirectoryStream(name, NOFOLLOW);
    DirHandle h;
    try {
      h = new DirHandle(path.resolve(name), sub);
    } catch (IOException | RuntimeException e) {
      sub.close();
      throw e;
    }
    if (!Objects.equals(h.key, a.fileKey())) {
      h.close();
      throw new FileSystemException(name.toString(), null, "replaced while being opened");
    }
    return h;
  }

  /** The names in this directory now (each call lists it anew). */
  List<Path> list() throws IOException {
    List<Path> out = new ArrayList<>();
    try (SecureDirectoryStream<Path> again = stream.newDirectoryStream(name("."), NOFOLLOW)) {
      for (Path p : again) {
        out.add(p.getFileName());
      }
    }
    return out;
  }

  /**
   * Reads a regular file, at most {@code max} bytes (one more tells the caller it is longer).
   *
   * @return null when there is no such entry or it is not a regular file
   */
  byte[] read(Path name, int max) throws IOException {
    BasicFileAttributes a = stat(name);
    if (a == null || !a.isRegularFile()) {
      return null;
    }
    try (SeekableByteChannel ch = stream.newByteChannel(name, READ)) {
      return readAll(ch, max);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /** Up to {@code max + 1} bytes from the channel's current position. */
  static byte[] readAll(SeekableByteChannel ch, int max) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(max + 1);
    while (buf.hasRemaining() && ch.read(buf) >= 0) {
      // fill
    }
    byte[] out = new byte[buf.position()];
    buf.flip().get(out);
    return out;
  }

  /**
   * Creates a new regular file exclusively ({@code O_CREAT|O_EXCL|O_NOFOLLOW}) with the given mode
   * (narrowed by the umask; some file systems ignore it: the caller checks), open for reading and
   * writing.
   */
  SeekableByteChannel create(Path name, Set<PosixFilePermission> mode) throws IOException {
    if (posix) {
      return stream.newByteChannel(name, CREATE, PosixFilePermissions.asFileAttribute(mode));
    }
    return stream.newByteChannel(name, CREATE);
  }

  /**
   * Sets an entry's mode without following a symlink. The JDK opens the entry ({@code
   * O_RDONLY|O_NOFOLLOW}) and uses {@code fchmod}; callers check right before that the entry is the
   * regular file they created.
   */
  void setMode(Path name, Set<PosixFilePermission> mode) throws IOException {
    stream.getFileAttributeView(name, PosixFileAttributeView.class, NOFOLLOW).setPermissions(mode);
  }

  /**
   * Renames an entry within this directory ({@code renameat}); replaces a target that is not a
   * directory.
   */
  void rename(Path from, Path to) throws IOException {
    stream.move(from, stream, to);
  }

  /** Removes a non-directory entry ({@code unlinkat}); a symlink is removed, not its target. */
  void deleteFile(Path name) throws IOException {
    stream.deleteFile(name);
  }

  /** Removes an empty subdirectory ({@code unlinkat(AT_REMOVEDIR)}); fails on a symlink. */
  void deleteDirectory(Path name) throws IOException {
    stream.deleteDirectory(name);
  }

  /**
   * Makes this directory's entries durable: fsync of the directory opened through the handle
   * ({@code openat(fd, ".")}). Skipped where the file system cannot open a directory as a file
   * (in-memory ones); a rename is atomic either way.
   */
  void fsync() {
    try (SeekableByteChannel ch = stream.newByteChannel(name("."), READ)) {
      if (ch instanceof FileChannel fc) {
        fc.force(true);
      }
    } catch (IOException | UnsupportedOperationException e) {
      // not supported here
    }
  }

  @Override
  public void close() {
    try {
      stream.close();
    } catch (IOException e) {
      // closing a directory descriptor cannot lose data
    }
  }
}
