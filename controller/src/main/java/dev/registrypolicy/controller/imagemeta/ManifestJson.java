package dev.registrypolicy.controller.imagemeta;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.Strictness;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.registrypolicy.common.Redact;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads manifests, indexes and image configs with Gson's tree API (no reflection binding). Every
 * field this client uses is type-checked; unknown fields are ignored, as the OCI image spec asks.
 */
final class ManifestJson {
  private ManifestJson() {}

  /**
   * Gson's own JsonElement adapter (no reflection), reading RFC 8259 JSON strictly: {@code
   * JsonParser.parseReader} would switch the reader to lenient mode.
   */
  private static final TypeAdapter<JsonElement> ELEMENT = new Gson().getAdapter(JsonElement.class);

  /** Deepest JSON nesting read; manifests and configs need about 5. */
  static final int MAX_DEPTH = 32;

  /** Most entries an index may list, and layers a manifest may list. */
  static final int MAX_ENTRIES = 10_000;

  /** A content descriptor: media type, digest, size. */
  record Descriptor(String mediaType, String digest, long size) {}

  /** An index entry with its platform. */
  record Entry(Descriptor descriptor, Platform platform) {}

  /** A manifest or an index, as parsed. */
  sealed interface Parsed permits Index, Image {}

  /** An image index or manifest list. */
  record Index(List<Entry> manifests) implements Parsed {}

  /** An image manifest: its config descriptor and the sum of its layer sizes. */
  record Image(Descriptor config, long layerBytes) implements Parsed {}

  /** What an image config says. */
  record Config(
      String user, Map<String, String> labels, String os, String architecture, String variant) {}

  /**
   * Parses a manifest GET's body.
   *
   * @param contentType the response's Content-Type, without parameters
   */
  static Parsed manifest(String body, String contentType) throws BadContentException {
    JsonObject o = object(body, "manifest");
    String declared = string(o, "mediaType", "manifest");
    if (contentType.startsWith(MediaTypes.DOCKER_SCHEMA1)
        || (declared != null && declared.startsWith(MediaTypes.DOCKER_SCHEMA1))) {
      throw new BadContentException(
          "the registry served a Docker schema 1 manifest, which has no image config (push the"
              + " image again with a current client)");
    }
    String mt = declared != null ? declared : contentType;
    if (declared != null
        && !contentType.isEmpty()
        && !contentType.equals("application/json")
        && !contentType.equals(declared)) {
      throw new BadContentException(
          "the manifest's mediaType "
              + Redact.quote(declared)
              + " differs from the Content-Type "
              + Redact.quote(contentType));
    }
    if (mt.isEmpty() || mt.equals("application/json")) {
      // An OCI manifest may omit mediaType; its shape tells (image-spec manifest.md,
      // image-index.md)
      mt = o.has("manifests") ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST;
    }
    JsonElement sv = o.get("schemaVersion");
    if (sv == null
        || !sv.isJsonPrimitive()
        || !sv.getAsJsonPrimitive().isNumber()
        || sv.getAsInt() != 2) {
      throw new BadContentException("the manifest's schemaVersion is not 2");
    }
    if (MediaTypes.isIndex(mt)) {
      return index(o);
    }
    if (MediaTypes.isManifest(mt)) {
      return image(o);
    }
    throw new BadContentException(
        "the registry served " + Redact.quote(mt) + ", not an image manifest or index");
  }

  private static Index index(JsonObject o) throws BadContentException {
    JsonElement m = o.get("manifests");
    if (m == null || !m.isJsonArray()) {
      throw new BadContentException("the index has no \"manifests\" array");
    }
    if (m.getAsJsonArray().size() > MAX_ENTRIES) {
      throw new BadContentException("the index lists more than " + MAX_ENTRIES + " manifests");
    }
    List<Entry> out = new ArrayList<>();
    int i = 0;
    for (JsonElement e : m.getAsJsonArray()) {
      String where = "manifests[" + i++ + "]";
      if (!e.isJsonObject()) {
        throw new BadContentException("the index's " + where + " is not an object");
      }
      JsonObject d = e.getAsJsonObject();
      Descriptor desc = descriptor(d, where);
      JsonElement p = d.get("platform");
      Platform platform = null;
      if (p != null && !p.isJsonNull()) {
        if (!p.isJsonObject()) {
          throw new BadContentException("the index's " + where + ".platform is not an object");
        }
        JsonObject po = p.getAsJsonObject();
        String os = string(po, "os", where + ".platform");
        String arch = string(po, "architecture", where + ".platform");
        if (os != null && arch != null) {
          platform = new Platform(os, arch, string(po, "variant", where + ".platform"));
        }
      }
      out.add(new Entry(desc, platform));
    }
    return new Index(List.copyOf(out));
  }

  private static Image image(JsonObject o) throws BadContentException {
    JsonElement c = o.get("config");
    if (c == null || !c.isJsonObject()) {
      throw new BadContentException("the manifest has no \"config\" descriptor");
    }
    Descriptor config = descriptor(c.getAsJsonObject(), "config");
    JsonElement layers = o.get("layers");
    if (layers == null || !layers.isJsonArray()) {
      throw new BadContentException("the manifest has no \"layers\" array");
    }
    if (layers.getAsJsonArray().size() > MAX_ENTRIES) {
      throw new BadContentException("the manifest lists more than " + MAX_ENTRIES + " layers");
    }
    long sum = 0;
    int i = 0;
    for (JsonElement l : layers.getAsJsonArray()) {
      String where = "layers[" + i++ + "]";
      if (!l.isJsonObject()) {
        throw new BadContentException("the manifest's " + where + " is not an object");
      }
      try {
        sum = Math.addExact(sum, descriptor(l.getAsJsonObject(), where).size());
      } catch (ArithmeticException e) {
        throw new BadContentException("the manifest's layer sizes add up to more than 2^63 bytes");
      }
    }
    return new Image(config, sum);
  }

  /** Parses an image config blob. */
  static Config config(String body) throws BadContentException {
    JsonObject o = object(body, "image config");
    String os = string(o, "os", "config");
    String arch = string(o, "architecture", "config");
    String variant = string(o, "variant", "config");
    String user = "";
    Map<String, String> labels = new TreeMap<>();
    JsonElement c = o.get("config");
    if (c != null && !c.isJsonNull()) {
      if (!c.isJsonObject()) {
        throw new BadContentException("the image config's \"config\" is not an object");
      }
      JsonObject co = c.getAsJsonObject();
      String u = string(co, "User", "config.config");
      user = u == null ? "" : u;
      JsonElement l = co.get("Labels");
      if (l != null && !l.isJsonNull()) {
        if (!l.isJsonObject()) {
          throw new BadContentException("the image config's config.Labels is not an object");
        }
        for (Map.Entry<String, JsonElement> e : l.getAsJsonObject().entrySet()) {
          JsonElement v = e.getValue();
          if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
            throw new BadContentException(
                "the image config's label " + Redact.quote(e.getKey()) + " is not a string");
          }
          labels.put(e.getKey(), v.getAsString());
        }
      }
    }
    if (os == null || arch == null) {
      throw new BadContentException("the image config has no \"os\" or \"architecture\"");
    }
    return new Config(user, labels, os, arch, variant == null ? "" : variant);
  }

  private static Descriptor descriptor(JsonObject d, String where) throws BadContentException {
    String mt = string(d, "mediaType", where);
    String digest = string(d, "digest", where);
    JsonElement size = d.get("size");
    if (mt == null || digest == null || size == null) {
      throw new BadContentException(where + " lacks mediaType, digest or size");
    }
    if (!Digests.isVerifiable(digest)) {
      throw new BadContentException(
          where + "'s digest " + Redact.quote(digest) + " is not a sha256/sha384/sha512 digest");
    }
    long n;
    try {
      if (!size.isJsonPrimitive() || !size.getAsJsonPrimitive().isNumber()) {
        throw new NumberFormatException();
      }
      n = size.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
    } catch (NumberFormatException | ArithmeticException e) {
      throw new BadContentException(where + "'s size is not a whole number");
    }
    if (n < 0) {
      throw new BadContentException(where + "'s size is negative");
    }
    return new Descriptor(mt, digest, n);
  }

  private static JsonObject object(String body, String what) throws BadContentException {
    JsonElement root;
    try {
      JsonReader reader = new JsonReader(new StringReader(body));
      reader.setStrictness(Strictness.STRICT);
      reader.setNestingLimit(MAX_DEPTH);
      root = ELEMENT.read(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw new BadContentException("the " + what + " has data after its JSON value");
      }
    } catch (IOException | RuntimeException | StackOverflowError e) {
      // Gson's messages may quote the input: say where only.
      throw new BadContentException("the " + what + " is not valid JSON");
    }
    if (!root.isJsonObject()) {
      throw new BadContentException("the " + what + " is not a JSON object");
    }
    return root.getAsJsonObject();
  }

  /** A string field, null when absent or JSON null; an error when of another type. */
  private static String string(JsonObject o, String key, String where) throws BadContentException {
    JsonElement e = o.get(key);
    if (e == null || e.isJsonNull()) {
      return null;
    }
    if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
      throw new BadContentException(where + "." + key + " is not a string");
    }
    return e.getAsString();
  }
}
