package dev.registrypolicy.common;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Strict UTF-8 decoding that says where the input stops being UTF-8. */
public final class Utf8 {
  private Utf8() {}

  /** Bytes that are not UTF-8; the message is {@code not valid UTF-8 at byte N (line L)}. */
  public static final class MalformedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final long offset;

    MalformedException(long offset, long line) {
      super("not valid UTF-8 at byte " + offset + " (line " + line + ")");
      this.offset = offset;
    }

    /** Offset of the first byte that is not UTF-8, counting from 0. */
    public long offset() {
      return offset;
    }
  }

  /**
   * The text of {@code bytes}, which must be UTF-8 throughout (no replacement characters are
   * invented). A leading byte order mark is dropped.
   */
  public static String decode(byte[] bytes) throws MalformedException {
    int start =
        bytes.length >= 3
                && (bytes[0] & 0xff) == 0xef
                && (bytes[1] & 0xff) == 0xbb
                && (bytes[2] & 0xff) == 0xbf
            ? 3
            : 0;
    CharsetDecoder d =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, start, bytes.length - start);
    CharBuffer out = CharBuffer.allocate(8192); // checked in chunks: the text is made once, below
    CoderResult r;
    do {
      out.clear();
      r = d.decode(in, out, true);
    } while (r.isOverflow());
    if (r.isError()) {
      int at = in.position();
      long line = 1;
      for (int i = 0; i < at; i++) {
        if (bytes[i] == '\n') {
          line++;
        }
      }
      throw new MalformedException(at, line);
    }
    return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
  }

  /**
   * Whether {@code s} holds a UTF-16 surrogate without its partner (from an escape such as {@code
   * \\ud800}): such text is not Unicode, and encoding it would silently turn it into "?".
   */
  public static boolean hasLoneSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }
}
