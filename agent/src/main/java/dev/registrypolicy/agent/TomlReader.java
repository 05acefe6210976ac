package dev.registrypolicy.agent;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.dataformat.toml.TomlFactory;
import java.io.IOException;
import java.io.Reader;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads TOML 1.0 text into plain values: tables are {@code Map<String, Object>} in document order,
 * arrays {@code List<Object>}, and scalars String, Long (BigInteger beyond 64 bits), BigDecimal or
 * Double (nan, inf), Boolean; dates and times stay text.
 *
 * <p>The parser is jackson-dataformat-toml's, used through its streaming API only (no object
 * mapper, no data binding, nothing reflective); agent/README.md, "Reading TOML", says why this one.
 * It reads TOML 1.0 as containerd's Go parsers do: dotted keys, all string forms and escapes.
 *
 * <p>Limits, enforced by the parser while it reads: {@link #MAX_CHARS} characters and {@link
 * #MAX_DEPTH} levels of nested tables, inline tables and arrays. Messages never quote the input.
 */
final class TomlReader {
  /** Largest text read: 256 KiB, about 25 times containerd's full default config.toml. */
  static final int MAX_CHARS = 256 * 1024;

  /** Deepest nesting of tables and arrays read (containerd's files use fewer than ten levels). */
  static final int MAX_DEPTH = 64;

  /** Thread-safe and reused. */
  private static final TomlFactory TOML = factory(MAX_CHARS);

  /** For the agent's own rendered hosts.toml ({@link HostsToml#VERIFY_MAX_CHARS}). */
  private static final TomlFactory TOML_LARGE = factory(HostsToml.VERIFY_MAX_CHARS);

  private static TomlFactory factory(int maxChars) {
    return TomlFactory.builder()
        .streamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(MAX_DEPTH)
                .maxDocumentLength(maxChars)
                .maxStringLength(maxChars)
                .maxNumberLength(100)
                .build())
        .build();
  }

  private TomlReader() {}

  /**
   * The text was not read. {@code invalid}: it is not TOML 1.0 ({@code line} and {@code column},
   * 1-based, say where the parser noticed, 0 when unknown); otherwise it is beyond the limits above
   * or the parser failed on it. {@code reason} is lowercase and never quotes the input.
   */
  static final class NotRead extends Exception {
    private static final long serialVersionUID = 1L;
    final boolean invalid;
    final int line;
    final int column;
    final String reason;

    NotRead(boolean invalid, int line, int column, String reason) {
      super(reason, null, false, false);
      this.invalid = invalid;
      this.line = line;
      this.column = column;
      this.reason = reason;
    }

    /** " at line L, column C", or "" when the position is unknown. */
    String where() {
      if (line < 1) {
        return "";
      }
      return " at line " + line + (column >= 1 ? ", column " + column : "");
    }
  }

  /** Parses {@code text} (a leading byte-order mark is skipped) into its top-level table. */
  static Map<String, Object> read(String text) throws NotRead {
    return read(text, MAX_CHARS);
  }

  /**
   * As {@link #read(String)} with another size limit: the agent's own rendered hosts.toml may be
   * larger than a config.toml (long headers, many mirrors) and is checked whole.
   */
  static Map<String, Object> read(String text, int maxChars) throws NotRead {
    if (text.length() > maxChars) {
      throw new NotRead(
          false, 0, 0, "it is larger than " + maxChars / 1024 + " KiB, the most the agent reads");
    }
    String t = text.startsWith("\uFEFF") ? text.substring(1) : text;
    TomlFactory factory = maxChars <= MAX_CHARS ? TOML : TOML_LARGE;
    try (JsonParser p = factory.createParser(new WholePairs(t))) {
      JsonToken first = p.nextToken();
      if (first == null) {
        return Map.of();
      }
      Object root = value(p, first);
      if (!(root instanceof Map)) {
        throw new NotRead(true, 0, 0, "no top-level table");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) root;
      return m;
    } catch (StreamConstraintsException e) {
      String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
      throw new NotRead(
          false,
          0,
          0,
          m.contains("nesting") || m.contains("depth")
              ? "it nests tables or arrays more than "
                  + MAX_DEPTH
                  + " levels deep, more than the agent reads"
              : "it holds a document or value larger than "
                  + maxChars / 1024
                  + " KiB, the most the agent reads");
    } catch (JsonProcessingException e) {
      JsonLocation l = e.getLocation();
      throw new NotRead(
          true, l == null ? 0 : l.getLineNr(), l == null ? 0 : l.getColumnNr(), reason(e));
    } catch (IOException | RuntimeException e) {
      // reading from a String, so not I/O: a fault of the parser on this input
      throw new NotRead(false, 0, 0, "the agent's TOML parser failed on it");
    }
  }

  /** The parser's own words, first letter lowercase, no trailing period, never the input. */
  private static String reason(JsonProcessingException e) {
    String m = e.getOriginalMessage();
    m = m == null ? "" : m.lines().findFirst().orElse("").strip();
    while (m.endsWith(".")) {
      m = m.substring(0, m.length() - 1);
    }
    if (m.isEmpty()) {
      return "the parser gave no reason";
    }
    if ("Duplicate key".equals(m)) {
      // the parser notices at the token after the value
      return "duplicate key: the key-value pair just before this position sets a key that is already set";
    }
    return m.substring(0, 1).toLowerCase(Locale.ROOT) + m.substring(1);
  }

  /**
   * Hands the text to the parser in chunks that never end between the two halves of a surrogate
   * pair: the parser's lexer drops a pair that straddles two reads (seen at its 4000-character
   * buffer boundary), which would change a value holding a character beyond U+FFFF.
   */
  static final class WholePairs extends Reader {
    private final String s;
    private int pos;

    WholePairs(String s) {
      this.s = s;
    }

    @Override
    public int read(char[] buf, int off, int len) {
      if (len == 0) {
        return 0;
      }
      if (pos >= s.length()) {
        return -1;
      }
      int n = Math.min(len, s.length() - pos);
      if (n > 1 && Character.isHighSurrogate(s.charAt(pos + n - 1))) {
        n--; // keep the pair for the next read
      }
      s.getChars(pos, pos + n, buf, off);
      pos += n;
      return n;
    }

    @Override
    public void close() {
      // nothing to release
    }
  }

  /** One value from the parser's token stream; nesting is bounded by {@link #MAX_DEPTH}. */
  private static Object value(JsonParser p, JsonToken t) throws IOException {
    return switch (t) {
      case START_OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String key = p.currentName();
          m.put(key, value(p, p.nextToken()));
        }
        yield m;
      }
      case START_ARRAY -> {
        List<Object> l = new ArrayList<>();
        for (JsonToken x = p.nextToken();
            x != JsonToken.END_ARRAY && x != null;
            x = p.nextToken()) {
          l.add(value(p, x));
        }
        yield l;
      }
      case VALUE_STRING -> p.getText();
      case VALUE_NUMBER_INT -> {
        Number n = p.getNumberValue();
        yield n instanceof BigInteger big && big.bitLength() >= 64 ? n : (Object) n.longValue();
      }
      case VALUE_NUMBER_FLOAT -> p.getNumberValue();
      case VALUE_TRUE -> true;
      case VALUE_FALSE -> false;
      default -> p.getText();
    };
  }
}
