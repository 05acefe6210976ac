package dev.registrypolicy.fakeapi;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The three patch formats: JSON Patch (RFC 6902), JSON merge patch (RFC 7386) and a small strategic
 * merge patch. All return a new document and never modify their arguments.
 */
final class Patches {
  private Patches() {}

  // ---------------------------------------------------------------- JSON Patch (RFC 6902)

  /**
   * Applies a JSON Patch. A malformed patch document answers 400; an operation that cannot be
   * applied (failed test, missing path, bad index) answers 422, as kube-apiserver does.
   */
  static JsonElement jsonPatch(JsonElement doc, JsonElement patch) {
    if (patch == null || !patch.isJsonArray()) {
      throw StatusException.badRequest("json patch must be a JSON array of operations");
    }
    JsonElement root = doc.deepCopy();
    int index = 0;
    for (JsonElement e : patch.getAsJsonArray()) {
      if (!e.isJsonObject()) {
        throw StatusException.badRequest("json patch operation " + index + " is not an object");
      }
      JsonObject op = e.getAsJsonObject();
      String kind = string(op, "op", index);
      List<String> path = pointer(string(op, "path", index));
      switch (kind) {
        case "add":
          root = add(root, path, value(op, index));
          break;
        case "remove":
          root = remove(root, path, index);
          break;
        case "replace":
          root = remove(root, path, index);
          root = add(root, path, value(op, index));
          break;
        case "move":
          {
            List<String> from = pointer(string(op, "from", index));
            if (path.size() > from.size() && path.subList(0, from.size()).equals(from)) {
              throw StatusException.invalid(
                  "json patch operation "
                      + index
                      + " (move): cannot move a value into one of its children");
            }
            JsonElement v = get(root, from, index).deepCopy();
            root = remove(root, from, index);
            root = add(root, path, v);
            break;
          }
        case "copy":
          {
            List<String> from = pointer(string(op, "from", index));
            root = add(root, path, get(root, from, index).deepCopy());
            break;
          }
        case "test":
          {
            JsonElement expected = value(op, index);
            JsonElement actual = find(root, path);
            if (actual == null || !sameJson(actual, expected)) {
              throw StatusException.invalid(
                  "the server rejected our request due to an error in"
                      + " our request: testing value "
                      + op.get("path").getAsString()
                      + " failed");
            }
            break;
          }
        default:
          throw StatusException.badRequest(
              "json patch operation " + index + ": unexpected op \"" + kind + "\"");
      }
      index++;
    }
    return root;
  }

  /** RFC 6901 pointer into reference tokens. */
  static List<String> pointer(String p) {
    List<String> tokens = new ArrayList<>();
    if (p.isEmpty()) {
      return tokens;
    }
    if (!p.startsWith("/")) {
      throw StatusException.badRequest("json pointer \"" + p + "\" must start with /");
    }
    for (String t : p.substring(1).split("/", -1)) {
      tokens.add(t.replace("~1", "/").replace("~0", "~"));
    }
    return tokens;
  }

  private static String string(JsonObject op, String field, int index) {
    JsonElement v = op.get(field);
    if (v == null || !v.isJsonPrimitive()) {
      throw StatusException.badRequest(
          "json patch operation " + index + " has no string \"" + field + "\"");
    }
    return v.getAsString();
  }

  private static JsonElement value(JsonObject op, int index) {
    if (!op.has("value")) {
      throw StatusException.badRequest("json patch operation " + index + " has no \"value\"");
    }
    return op.get("value").deepCopy();
  }

  /** Element at the pointer, or null when any step is missing. */
  private static JsonElement find(JsonElement root, List<String> path) {
    JsonElement cur = root;
    for (String t : path) {
      if (cur != null && cur.isJsonObject()) {
        cur = cur.getAsJsonObject().get(t);
      } else if (cur != null && cur.isJsonArray()) {
        int i = arrayIndex(t, cur.getAsJsonArray().size() - 1, false);
        cur = i < 0 ? null : cur.getAsJsonArray().get(i);
      } else {
        return null;
      }
    }
    return cur;
  }

  private static JsonElement get(JsonElement root, List<String> path, int index) {
    JsonElement v = find(root, path);
    if (v == null) {
      throw missing(path, index);
    }
    return v;
  }

  private static JsonElement add(JsonElement root, List<String> path, JsonElement value) {
    if (path.isEmpty()) {
      return value;
    }
    JsonElement parent = find(root, path.subList(0, path.size() - 1));
    String last = path.get(path.size() - 1);
    if (parent != null && parent.isJsonObject()) {
      parent.getAsJsonObject().add(last, value);
    } else if (parent != null && parent.isJsonArray()) {
      JsonArray a = parent.getAsJsonArray();
      if (last.equals("-")) {
        a.add(value);
      } else {
        int i = arrayIndex(last, a.size(), true);
        List<JsonElement> items = new ArrayList<>();
        a.forEach(items::add);
        items.add(i, value);
        while (a.size() > 0) {
          a.remove(a.size() - 1);
        }
        items.forEach(a::add);
      }
    } else {
      throw StatusException.invalid(
          "the server rejected our request due to an error in our"
              + " request: add operation does not apply: doc is missing path: \""
              + render(path)
              + "\"");
    }
    return root;
  }

  private static JsonElement remove(JsonElement root, List<String> path, int index) {
    if (path.isEmpty()) {
      throw StatusException.invalid("json patch operation " + index + ": cannot remove the root");
    }
    JsonElement parent = find(root, path.subList(0, path.size() - 1));
    String last = path.get(path.size() - 1);
    if (parent != null && parent.isJsonObject() && parent.getAsJsonObject().has(last)) {
      parent.getAsJsonObject().remove(last);
      return root;
    }
    if (parent != null && parent.isJsonArray()) {
      int i = arrayIndex(last, parent.getAsJsonArray().size() - 1, false);
      if (i >= 0) {
        parent.getAsJsonArray().remove(i);
        return root;
      }
    }
    throw missing(path, index);
  }

  /** Index in [0, max], or -1 (or a 422 when strict) if the token is not such an index. */
  private static int arrayIndex(String token, int max, boolean strict) {
    boolean ok = token.matches("0|[1-9][0-9]{0,8}");
    int i = ok ? Integer.parseInt(token) : -1;
    if (!ok || i > max) {
      if (strict) {
        throw StatusException.invalid(
            "the server rejected our request due to an error in our"
                + " request: array index \""
                + token
                + "\" out of bounds");
      }
      return -1;
    }
    return i;
  }

  private static StatusException missing(List<String> path, int index) {
    return StatusException.invalid(
        "the server rejected our request due to an error in our"
            + " request: json patch operation "
            + index
            + ": doc is missing path: \""
            + render(path)
            + "\"");
  }

  private static String render(List<String> path) {
    StringBuilder sb = new StringBuilder();
    for (String t : path) {
      sb.append('/').append(t.replace("~", "~0").replace("/", "~1"));
    }
    return sb.toString();
  }

  /** JSON equality that treats 1 and 1.0 alike. */
  static boolean sameJson(JsonElement a, JsonElement b) {
    if (a.isJsonPrimitive()
        && b.isJsonPrimitive()
        && a.getAsJsonPrimitive().isNumber()
        && b.getAsJsonPrimitive().isNumber()) {
      return a.getAsBigDecimal().compareTo(b.getAsBigDecimal()) == 0;
    }
    if (a.isJsonObject() && b.isJsonObject()) {
      JsonObject x = a.getAsJsonObject();
      JsonObject y = b.getAsJsonObject();
      if (!x.keySet().equals(y.keySet())) {
        return false;
      }
      for (String k : x.keySet()) {
        if (!sameJson(x.get(k), y.get(k))) {
          return false;
        }
      }
      return true;
    }
    if (a.isJsonArray() && b.isJsonArray()) {
      JsonArray x = a.getAsJsonArray();
      JsonArray y = b.getAsJsonArray();
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!sameJson(x.get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    return a.equals(b);
  }

  // ---------------------------------------------------------- merge patch (RFC 7386)

  static JsonElement mergePatch(JsonElement target, JsonElement patch) {
    if (patch == null || !patch.isJsonObject()) {
      return patch == null ? JsonNull.INSTANCE : patch.deepCopy();
    }
    JsonObject out =
        target != null && target.isJsonObject()
            ? target.getAsJsonObject().deepCopy()
            : new JsonObject();
    for (Map.Entry<String, JsonElement> e : patch.getAsJsonObject().entrySet()) {
      if (e.getValue().isJsonNull()) {
        out.remove(e.getKey());
      } else {
        out.add(e.getKey(), mergePatch(out.get(e.getKey()), e.getValue()));
      }
    }
    return out;
  }

  // ------------------------------------------------------------- strategic merge patch

  /**
   * List fields that merge instead of being replaced, keyed by "Kind:dotted.path" or
   * "*:dotted.path". The value is the merge key, or "" for a list of scalars merged as a set. Every
   * other list is replaced whole - notably {@code ServiceAccount.imagePullSecrets}, which upstream
   * declares without a merge key.
   */
  private static final Map<String, String> MERGE_KEYS =
      Map.of(
          "*:metadata.ownerReferences", "uid",
          "*:metadata.finalizers", "",
          "*:metadata.managedFields", "manager",
          "ServiceAccount:secrets", "name");

  static JsonElement strategicMergePatch(JsonElement target, JsonElement patch, String kind) {
    JsonElement r = strategic(target, patch, kind, "");
    return r == null ? new JsonObject() : r;
  }

  /** Returns null when the patch asks to delete the value. */
  private static JsonElement strategic(
      JsonElement target, JsonElement patch, String kind, String path) {
    if (!patch.isJsonObject()) {
      return patch.deepCopy();
    }
    JsonObject p = patch.getAsJsonObject();
    String directive = p.has("$patch") ? p.get("$patch").getAsString() : null;
    if ("delete".equals(directive)) {
      return null;
    }
    if ("replace".equals(directive)) {
      return withoutDirectives(p);
    }
    JsonObject out =
        target != null && target.isJsonObject()
            ? target.getAsJsonObject().deepCopy()
            : new JsonObject();
    for (Map.Entry<String, JsonElement> e : p.entrySet()) {
      String key = e.getKey();
      JsonElement v = e.getValue();
      if (key.startsWith("$deleteFromPrimitiveList/")) {
        String field = key.substring("$deleteFromPrimitiveList/".length());
        JsonElement cur = out.get(field);
        if (cur != null && cur.isJsonArray() && v.isJsonArray()) {
          JsonArray kept = new JsonArray();
          for (JsonElement item : cur.getAsJsonArray()) {
            if (!contains(v.getAsJsonArray(), item)) {
              kept.add(item);
            }
          }
          out.add(field, kept);
        }
        continue;
      }
      if (key.startsWith("$")) {
        continue;
      }
      String childPath = path.isEmpty() ? key : path + "." + key;
      if (v.isJsonNull()) {
        out.remove(key);
      } else if (v.isJsonArray()) {
        out.add(key, mergeList(out.get(key), v.getAsJsonArray(), kind, childPath));
      } else {
        JsonElement merged = strategic(out.get(key), v, kind, childPath);
        if (merged == null) {
          out.remove(key);
        } else {
          out.add(key, merged);
        }
      }
    }
    if (p.has("$retainKeys") && p.get("$retainKeys").isJsonArray()) {
      Set<String> keep = new HashSet<>();
      p.getAsJsonArray("$retainKeys").forEach(k -> keep.add(k.getAsString()));
      out.keySet().removeIf(k -> !keep.contains(k));
    }
    return out;
  }

  private static JsonElement mergeList(
      JsonElement existing, JsonArray patch, String kind, String path) {
    String mergeKey = MERGE_KEYS.get(kind + ":" + path);
    if (mergeKey == null) {
      mergeKey = MERGE_KEYS.get("*:" + path);
    }
    if (mergeKey == null || existing == null || !existing.isJsonArray()) {
      JsonArray out = new JsonArray();
      for (JsonElement item : patch) {
        if (item.isJsonObject() && item.getAsJsonObject().has("$patch")) {
          continue;
        }
        out.add(item.isJsonObject() ? withoutDirectives(item.getAsJsonObject()) : item.deepCopy());
      }
      return out;
    }
    JsonArray out = existing.getAsJsonArray().deepCopy();
    if (mergeKey.isEmpty()) {
      for (JsonElement item : patch) {
        if (!contains(out, item)) {
          out.add(item.deepCopy());
        }
      }
      return out;
    }
    for (JsonElement item : patch) {
      if (!item.isJsonObject() || !item.getAsJsonObject().has(mergeKey)) {
        out.add(item.deepCopy());
        continue;
      }
      JsonObject po = item.getAsJsonObject();
      JsonElement keyValue = po.get(mergeKey);
      int at = -1;
      for (int i = 0; i < out.size(); i++) {
        JsonElement cur = out.get(i);
        if (cur.isJsonObject() && keyValue.equals(cur.getAsJsonObject().get(mergeKey))) {
          at = i;
          break;
        }
      }
      boolean delete = po.has("$patch") && "delete".equals(po.get("$patch").getAsString());
      if (delete) {
        if (at >= 0) {
          out.remove(at);
        }
      } else if (at >= 0) {
        out.set(at, strategic(out.get(at), po, kind, path));
      } else {
        out.add(withoutDirectives(po));
      }
    }
    return out;
  }

  private static boolean contains(JsonArray a, JsonElement v) {
    for (JsonElement x : a) {
      if (sameJson(x, v)) {
        return true;
      }
    }
    return false;
  }

  private static JsonObject withoutDirectives(JsonObject o) {
    JsonObject out = new JsonObject();
    for (Map.Entry<String, JsonElement> e : o.entrySet()) {
      if (!e.getKey().startsWith("$")) {
        JsonElement v = e.getValue();
        out.add(
            e.getKey(), v.isJsonObject() ? withoutDirectives(v.getAsJsonObject()) : v.deepCopy());
      }
    }
    return out;
  }
}
