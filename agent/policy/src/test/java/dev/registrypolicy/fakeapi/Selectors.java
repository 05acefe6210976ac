package dev.registrypolicy.fakeapi;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Label and field selectors in the query-string syntax the API server accepts. */
final class Selectors {
  private Selectors() {}

  private static final Pattern LABEL_KEY =
      Pattern.compile(
          "([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
  private static final Pattern LABEL_VALUE =
      Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?");
  private static final Pattern SET_TERM =
      Pattern.compile("(\\S+?)\\s+(in|notin)\\s*\\(([^()]*)\\)");
  private static final Pattern NUMBER = Pattern.compile("-?[0-9]+");

  /** A parsed selector; an empty or absent selector matches everything. */
  interface Selector extends Predicate<JsonObject> {}

  static Selector everything() {
    return o -> true;
  }

  /** Parses a label selector; throws a 400 StatusException when it is malformed. */
  static Selector labels(String text) {
    if (text == null || text.isBlank()) {
      return everything();
    }
    List<Predicate<JsonObject>> reqs = new ArrayList<>();
    for (String raw : splitTopLevel(text)) {
      String term = raw.trim();
      if (term.isEmpty()) {
        throw bad(text, "empty requirement");
      }
      reqs.add(labelTerm(text, term));
    }
    return o -> {
      JsonObject labels = labelsOf(o);
      for (Predicate<JsonObject> r : reqs) {
        if (!r.test(labels)) {
          return false;
        }
      }
      return true;
    };
  }

  private static Predicate<JsonObject> labelTerm(String whole, String term) {
    Matcher m = SET_TERM.matcher(term);
    if (m.matches()) {
      String key = key(whole, m.group(1));
      Set<String> values = new LinkedHashSet<>();
      for (String v : m.group(3).split(",", -1)) {
        values.add(value(whole, v.trim()));
      }
      boolean in = m.group(2).equals("in");
      return in
          ? l -> l.has(key) && values.contains(l.get(key).getAsString())
          : l -> !l.has(key) || !values.contains(l.get(key).getAsString());
    }
    if (term.startsWith("!")) {
      String key = key(whole, term.substring(1).trim());
      return l -> !l.has(key);
    }
    int i;
    if ((i = term.indexOf("!=")) >= 0) {
      String key = key(whole, term.substring(0, i).trim());
      String v = value(whole, term.substring(i + 2).trim());
      return l -> !l.has(key) || !l.get(key).getAsString().equals(v);
    }
    if ((i = term.indexOf("==")) >= 0) {
      String key = key(whole, term.substring(0, i).trim());
      String v = value(whole, term.substring(i + 2).trim());
      return l -> l.has(key) && l.get(key).getAsString().equals(v);
    }
    if ((i = term.indexOf('=')) >= 0) {
      String key = key(whole, term.substring(0, i).trim());
      String v = value(whole, term.substring(i + 1).trim());
      return l -> l.has(key) && l.get(key).getAsString().equals(v);
    }
    if ((i = term.indexOf('>')) >= 0 || (i = term.indexOf('<')) >= 0) {
      boolean greater = term.charAt(i) == '>';
      String key = key(whole, term.substring(0, i).trim());
      String v = term.substring(i + 1).trim();
      if (!NUMBER.matcher(v).matches()) {
        throw bad(whole, "for 'gt', 'lt' operators, the value must be an integer");
      }
      long bound = Long.parseLong(v);
      return l -> {
        if (!l.has(key)) {
          return false;
        }
        String actual = l.get(key).getAsString();
        if (!NUMBER.matcher(actual).matches()) {
          return false;
        }
        long n = Long.parseLong(actual);
        return greater ? n > bound : n < bound;
      };
    }
    String key = key(whole, term);
    return l -> l.has(key);
  }

  /** Parses a field selector; only keys the resource type declares are accepted, as upstream. */
  static Selector fields(String text, ResourceType type) {
    if (text == null || text.isBlank()) {
      return everything();
    }
    List<Predicate<JsonObject>> reqs = new ArrayList<>();
    for (String raw : text.split(",", -1)) {
      String term = raw.trim();
      int i;
      boolean negate;
      int opLen;
      if ((i = term.indexOf("!=")) >= 0) {
        negate = true;
        opLen = 2;
      } else if ((i = term.indexOf("==")) >= 0) {
        negate = false;
        opLen = 2;
      } else if ((i = term.indexOf('=')) >= 0) {
        negate = false;
        opLen = 1;
      } else {
        throw StatusException.badRequest(
            "invalid selector: '" + text + "'; can't understand '" + term + "'");
      }
      String field = term.substring(0, i).trim();
      String v = term.substring(i + opLen).trim();
      if (!type.allowsField(field)) {
        throw StatusException.badRequest("field label not supported: " + field);
      }
      reqs.add(o -> negate != v.equals(fieldValue(o, field)));
    }
    return o -> {
      for (Predicate<JsonObject> r : reqs) {
        if (!r.test(o)) {
          return false;
        }
      }
      return true;
    };
  }

  /**
   * The name a field selector restricts to ({@code metadata.name=x} or {@code ==x}), or null: what
   * the API server takes as the request's name for authorizing list and watch
   * (kubernetes/kubernetes#63469).
   */
  static String nameTerm(String text) {
    if (text == null || text.isBlank()) {
      return null;
    }
    for (String raw : text.split(",", -1)) {
      String term = raw.trim();
      if (term.contains("!=")) {
        continue;
      }
      int i = term.indexOf("==");
      int opLen = 2;
      if (i < 0) {
        i = term.indexOf('=');
        opLen = 1;
      }
      if (i > 0 && term.substring(0, i).trim().equals("metadata.name")) {
        return term.substring(i + opLen).trim();
      }
    }
    return null;
  }

  /** Value of a dotted field path as a string, "" when absent (how the server compares). */
  static String fieldValue(JsonObject o, String dotted) {
    JsonElement cur = o;
    for (String part : dotted.split("\\.")) {
      if (cur == null || !cur.isJsonObject()) {
        return "";
      }
      cur = cur.getAsJsonObject().get(part);
    }
    if (cur == null || cur.isJsonNull()) {
      return "";
    }
    return cur.isJsonPrimitive() ? cur.getAsString() : cur.toString();
  }

  private static JsonObject labelsOf(JsonObject o) {
    JsonElement meta = o.get("metadata");
    if (meta != null && meta.isJsonObject()) {
      JsonElement l = meta.getAsJsonObject().get("labels");
      if (l != null && l.isJsonObject()) {
        return l.getAsJsonObject();
      }
    }
    return new JsonObject();
  }

  /** Splits on commas that are not inside parentheses. */
  static List<String> splitTopLevel(String s) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == ',' && depth == 0) {
        out.add(s.substring(start, i));
        start = i + 1;
      }
    }
    out.add(s.substring(start));
    return out;
  }

  private static String key(String whole, String k) {
    if (!LABEL_KEY.matcher(k).matches()) {
      throw bad(whole, "invalid label key \"" + k + "\"");
    }
    return k;
  }

  private static String value(String whole, String v) {
    if (!LABEL_VALUE.matcher(v).matches()) {
      throw bad(whole, "invalid label value: \"" + v + "\"");
    }
    return v;
  }

  private static StatusException bad(String whole, String why) {
    return StatusException.badRequest(
        "unable to parse requirement: " + why + " (selector \"" + whole + "\")");
  }
}
