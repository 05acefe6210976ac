package dev.registrypolicy.controller.webhook;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;
import dev.registrypolicy.common.Redact;
import java.io.EOFException;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RFC 8259 JSON, strictly (gson's streaming reader in {@link Strictness#STRICT} mode), into plain
 * values: {@code Map<String, Object>} (insertion order), {@code List<Object>}, {@code String},
 * {@code Long} (integers that fit) or {@code Double}, {@code Boolean} and null. Duplicate keys,
 * trailing data and nesting deeper than {@link #MAX_DEPTH} are refused; error messages give the
 * position, never the text.
 */
final class StrictJson {
  /**
   * Deepest nesting accepted. A Pod is about 10 levels deep and a CronJob's pod template about 15;
   * the AdmissionReview envelope adds 3. 64 leaves room for deep annotations-free objects while
   * bounding the parser's recursion.
   */
  static final int MAX_DEPTH = 64;

  private StrictJson() {}

  /** Parses one JSON value that makes up the whole input. */
  static Object parse(Reader in) throws InvalidReviewException {
    JsonReader r = new JsonReader(in);
    r.setStrictness(Strictness.STRICT);
    r.setNestingLimit(MAX_DEPTH);
    try {
      Object v = value(r);
      if (r.peek() != JsonToken.END_DOCUMENT) {
        throw new InvalidReviewException("body is not one JSON value: data after it");
      }
      return v;
    } catch (EOFException e) {
      throw new InvalidReviewException("body is not complete JSON: it ends too early");
    } catch (MalformedJsonException | IllegalStateException | NumberFormatException e) {
      throw new InvalidReviewException("body is not valid JSON: " + where(e.getMessage()));
    } catch (IOException e) {
      throw new InvalidReviewException(
          "body could not be read ("
              + (e.getMessage() == null ? "the connection failed" : Redact.value(e.getMessage()))
              + "); the review is refused as malformed");
    }
  }

  private static Object value(JsonReader r) throws IOException, InvalidReviewException {
    switch (r.peek()) {
      case BEGIN_OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        r.beginObject();
        while (r.hasNext()) {
          String key = r.nextName();
          Object v = value(r);
          if (m.containsKey(key)) {
            throw new InvalidReviewException(
                "body is not valid JSON: a key appears twice in one object at " + path(r));
          }
          m.put(key, v);
        }
        r.endObject();
        return m;
      }
      case BEGIN_ARRAY -> {
        List<Object> l = new ArrayList<>();
        r.beginArray();
        while (r.hasNext()) {
          l.add(value(r));
        }
        r.endArray();
        return l;
      }
      case STRING -> {
        return r.nextString();
      }
      case NUMBER -> {
        String n = r.nextString();
        if (n.indexOf('.') < 0 && n.indexOf('e') < 0 && n.indexOf('E') < 0) {
          try {
            return Long.parseLong(n);
          } catch (NumberFormatException tooBig) {
            // falls through to a double
          }
        }
        return Double.parseDouble(n);
      }
      case BOOLEAN -> {
        return r.nextBoolean();
      }
      case NULL -> {
        r.nextNull();
        return null;
      }
      default -> throw new InvalidReviewException("body is not valid JSON at " + path(r));
    }
  }

  private static String path(JsonReader r) {
    return r.getPath();
  }

  /** gson's message names the position ("... at line 1 column 5 path $.a"); keep only that. */
  private static String where(String message) {
    if (message == null) {
      return "syntax error";
    }
    int at = message.indexOf(" at line ");
    String what = at > 0 ? message.substring(0, at) : message;
    String pos = at > 0 ? message.substring(at + 1) : "";
    int nl = pos.indexOf('\n');
    if (nl >= 0) {
      pos = pos.substring(0, nl);
    }
    // gson's own wording for the kind of error is fixed text; it never quotes the input.
    int see = what.indexOf("\nSee ");
    if (see >= 0) {
      what = what.substring(0, see);
    }
    return pos.isEmpty() ? what : what + " " + pos;
  }
}
