package dev.registrypolicy.agent;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

/**
 * Why an operation failed, in words a node operator reads: "does not exist", "permission denied",
 * "is a directory", "no space left on device", never a bare exception class name. The path is
 * not included (callers name the file they were working on).
 */
final class Causes {
  private Causes() {}

  /** The cause of an I/O failure, lower case, without the path. */
  static String describe(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "does not exist";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NotDirectoryException) {
      return "is not a directory";
    }
    if (e instanceof DirectoryNotEmptyException) {
      return "is a directory that is not empty";
    }
    if (e instanceof FileAlreadyExistsException) {
      return "already exists";
    }
    if (e instanceof FileSystemLoopException) {
      return "symbolic links form a loop";
    }
    if (e instanceof CharacterCodingException) {
      return "not valid UTF-8";
    }
    if (e instanceof FileSystemException) {
      String reason = ((FileSystemException) e).getReason();
      if (reason != null && !reason.isBlank()) {
        return words(reason);
      }
    }
    String m = e.getMessage();
    if (m != null && !m.isBlank()) {
      return words(m);
    }
    return "input/output error";
  }

  /** The cause of any failure: I/O in words, anything else as its message with what kind of error it was. */
  static String describe(Throwable t) {
    if (t instanceof IOException) {
      return describe((IOException) t);
    }
    if (t instanceof StackOverflowError) {
      return "input nested too deeply to process";
    }
    String m = t.getMessage();
    String kind = t instanceof IllegalArgumentException ? "invalid argument"
        : t instanceof IllegalStateException ? "unexpected state"
        : "internal error (" + t.getClass().getSimpleName() + ")";
    return m == null || m.isBlank() ? kind : kind + ": " + m;
  }

  /** "Is a directory" becomes "is a directory"; other text is kept. */
  private static String words(String s) {
    String t = s.strip();
    if (t.length() > 1 && Character.isUpperCase(t.charAt(0)) && Character.isLowerCase(t.charAt(1))) {
      return t.substring(0, 1).toLowerCase(Locale.ROOT) + t.substring(1);
    }
    return t;
  }
}
