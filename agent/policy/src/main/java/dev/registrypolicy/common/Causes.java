package dev.registrypolicy.common;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.util.Locale;

/**
 * Why an operation failed, in words an operator reads ("permission denied", "no space left on
 * device", "file name too long"), never a bare exception class name, and without any file name: the
 * caller names the object it was working on, so the same cause gives the same text on every pass (a
 * temp file's random name never appears) and one problem is logged once. The one place both jars
 * turn exceptions into words; {@link LogFormat} builds on it for log lines.
 */
public final class Causes {
  private static final int MAX = 200;

  private Causes() {}

  /** The cause of an I/O failure, lower case, without the path. */
  public static String describe(IOException e) {
    if (e instanceof AccessDeniedException) {
      return reason((FileSystemException) e, "permission denied");
    }
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof FileAlreadyExistsException) {
      return "already exists";
    }
    if (e instanceof DirectoryNotEmptyException) {
      return "directory not empty";
    }
    if (e instanceof NotDirectoryException) {
      return "not a directory";
    }
    if (e instanceof NotLinkException) {
      return "not a symbolic link";
    }
    if (e instanceof FileSystemLoopException) {
      return "is a symbolic link (not followed)";
    }
    if (e instanceof AtomicMoveNotSupportedException) {
      return "cannot rename across file systems";
    }
    if (e instanceof CharacterCodingException) {
      return "not valid UTF-8";
    }
    if (e instanceof FileSystemException fse) {
      return reason(fse, "file system error");
    }
    return words(e.getMessage(), "input/output error");
  }

  /**
   * The cause of any failure: I/O in words (also when wrapped), anything else as its message with
   * what kind of error it was.
   */
  public static String describe(Throwable t) {
    if (t instanceof IOException io) {
      return describe(io);
    }
    if (t instanceof java.io.UncheckedIOException unchecked) {
      return describe(unchecked.getCause());
    }
    if (t instanceof StackOverflowError) {
      return "input nested too deeply to process";
    }
    if (t instanceof OutOfMemoryError) {
      return "out of memory";
    }
    String kind =
        t instanceof IllegalArgumentException
            ? "invalid argument"
            : t instanceof IllegalStateException
                ? "unexpected state"
                : "internal error (" + t.getClass().getSimpleName() + ")";
    String m = t.getMessage();
    return m == null || m.isBlank() ? kind : kind + ": " + words(m, "");
  }

  /**
   * What kind of failure {@code t} is, in words, without its message: for failures of code that may
   * have put data in the message (a supplier, a renderer). I/O causes are the operating system's
   * words and carry no file names, so they are given as {@link #describe(IOException)}.
   */
  public static String kind(Throwable t) {
    if (t instanceof IOException io) {
      return describe(io);
    }
    if (t instanceof StackOverflowError) {
      return "input nested too deeply to process";
    }
    if (t instanceof OutOfMemoryError) {
      return "out of memory";
    }
    return t instanceof IllegalArgumentException
        ? "invalid argument (" + t.getClass().getSimpleName() + ")"
        : t instanceof IllegalStateException
            ? "unexpected state (" + t.getClass().getSimpleName() + ")"
            : "internal error (" + t.getClass().getSimpleName() + ")";
  }

  private static String reason(FileSystemException e, String fallback) {
    return words(e.getReason(), fallback);
  }

  /** An operating-system message (strerror) in lower case; the JDK's symlink remark in words. */
  private static String words(String text, String fallback) {
    if (text == null || text.isBlank()) {
      return fallback;
    }
    String t = text.strip();
    if (t.startsWith("Too many levels of symbolic links")) {
      return "is a symbolic link (not followed)";
    }
    if (t.length() > MAX) {
      t = t.substring(0, MAX);
    }
    if (t.length() > 1
        && Character.isUpperCase(t.charAt(0))
        && Character.isLowerCase(t.charAt(1))) {
      return t.substring(0, 1).toLowerCase(Locale.ROOT) + t.substring(1);
    }
    return t;
  }
}
