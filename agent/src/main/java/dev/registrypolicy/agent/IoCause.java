package dev.registrypolicy.agent;

import java.io.IOException;
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
 * Why a file-system operation failed, in words and without any file name: "permission denied",
 * "no space left on device", "file name too long". The caller names the host directory and the
 * file, so the same cause gives the same text on every pass (a temp file's random name never
 * appears), and one problem is logged once.
 */
final class IoCause {
  private IoCause() {}

  static String of(IOException e) {
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
    if (e instanceof FileSystemException) {
      return reason((FileSystemException) e, "file system error");
    }
    return words(e.getMessage(), "input/output error");
  }

  private static String reason(FileSystemException e, String fallback) {
    return words(e.getReason(), fallback);
  }

  /** An operating-system message (strerror) in lower case; the JDK's "NOFOLLOW_LINKS" remark in words. */
  private static String words(String text, String fallback) {
    if (text == null || text.isBlank()) {
      return fallback;
    }
    String t = text.strip();
    if (t.startsWith("Too many levels of symbolic links")) {
      return "is a symbolic link (not followed)";
    }
    if (t.length() > 200) {
      t = t.substring(0, 200);
    }
    return t.substring(0, 1).toLowerCase(Locale.ROOT) + t.substring(1);
  }
}
