package dev.registrypolicy.agent.image;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An OCI image archive ({@code oci-layout}, {@code index.json}, {@code blobs/sha256/…} in one tar,
 * as Jib's {@code buildTar} writes it with the OCI format), read into memory and checked against
 * the OCI image layout: index → manifest → config, every blob's sha256 against its name and every
 * descriptor's size, and each layer's uncompressed sha256 against the config's {@code diff_ids}.
 *
 * <p>The tar is read with commons-compress (ustar, PAX and GNU long names); layers are decompressed
 * with the JDK's gzip. Limits: {@link #MAX_ARCHIVE_BYTES} for the archive, {@link
 * ImageFs#MAX_FILE_BYTES} for one file in a layer.
 */
public final class OciArchive {

  public static final long MAX_ARCHIVE_BYTES = 1L << 30;
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";

  private static final Pattern BLOB_NAME = Pattern.compile("blobs/sha256/[0-9a-f]{64}");
  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");

  /** A content descriptor (OCI image spec, descriptor.md). */
  public record Descriptor(String mediaType, String digest, long size) {

    /** The blob's path inside the archive. */
    public String blobPath() {
      return "blobs/sha256/" + digest.substring("sha256:".length());
    }
  }

  private final Path source;
  private final Map<String, byte[]> entries;
  private final List<String> problems;
  private final JsonObject index;
  private final Descriptor manifestDescriptor;
  private final JsonObject manifest;
  private final Descriptor configDescriptor;
  private final JsonObject config;
  private final List<Descriptor> layers;

  private OciArchive(Path source, Map<String, byte[]> entries) {
    this.source = source;
    this.entries = Collections.unmodifiableMap(entries);
    List<String> found = new ArrayList<>();
    checkLayout(found);
    checkBlobNames(found);
    this.index = json("index.json", found);
    this.manifestDescriptor = onlyManifest(found);
    this.manifest =
        manifestDescriptor == null ? null : blobJson(manifestDescriptor, "manifest", found);
    this.configDescriptor =
        manifest == null ? null : descriptor(manifest.get("config"), "manifest config", found);
    if (configDescriptor != null && !OCI_CONFIG.equals(configDescriptor.mediaType())) {
      found.add(
          "manifest config mediaType is "
              + configDescriptor.mediaType()
              + ", expected "
              + OCI_CONFIG);
    }
    if (manifest != null && !OCI_MANIFEST.equals(string(manifest, "mediaType"))) {
      found.add(
          "manifest mediaType is " + string(manifest, "mediaType") + ", expected " + OCI_MANIFEST);
    }
    this.config = configDescriptor == null ? null : blobJson(configDescriptor, "config", found);
    this.layers = manifest == null ? List.of() : layerDescriptors(found);
    this.problems = found;
  }

  /** Reads the archive; a file that is not a readable tar is an {@link IOException}. */
  public static OciArchive read(Path tar) throws IOException {
    long size = Files.size(tar);
    if (size > MAX_ARCHIVE_BYTES) {
      throw new IOException(
          tar + " is " + size + " bytes, more than the " + MAX_ARCHIVE_BYTES + " this test reads");
    }
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        String name = e.getName();
        while (name.startsWith("./")) {
          name = name.substring(2);
        }
        if (e.isDirectory()) {
          continue;
        }
        if (!e.isFile()) {
          throw new IOException(
              tar
                  + ": entry "
                  + name
                  + " is not a regular file (tar type "
                  + e.getLinkFlag()
                  + ")");
        }
        if (entries.put(name, in.readAllBytes()) != null) {
          throw new IOException(tar + ": entry " + name + " appears twice");
        }
      }
    }
    if (entries.isEmpty()) {
      throw new IOException(tar + " holds no file: not an OCI archive");
    }
    return new OciArchive(tar, entries);
  }

  /** Everything wrong with the layout, the JSON documents and the blobs; empty when valid. */
  public List<String> problems() {
    return List.copyOf(problems);
  }

  public Path source() {
    return source;
  }

  /** File names in the archive, in archive order. */
  public List<String> names() {
    return List.copyOf(entries.keySet());
  }

  /** The bytes of an archive entry. */
  public Optional<byte[]> entry(String name) {
    return Optional.ofNullable(entries.get(name)).map(byte[]::clone);
  }

  /** The bytes of the blob a descriptor names. */
  public byte[] blob(Descriptor d) {
    byte[] b = entries.get(d.blobPath());
    if (b == null) {
      throw new IllegalStateException("no blob " + d.digest() + " in " + source);
    }
    return b.clone();
  }

  public JsonObject index() {
    return requireValid(index).deepCopy();
  }

  public Descriptor manifestDescriptor() {
    return requireValid(manifestDescriptor);
  }

  public JsonObject manifest() {
    return requireValid(manifest).deepCopy();
  }

  public Descriptor configDescriptor() {
    return requireValid(configDescriptor);
  }

  public JsonObject config() {
    return requireValid(config).deepCopy();
  }

  public List<Descriptor> layers() {
    requireValid(manifest);
    return layers;
  }

  /** The config's {@code config} object (Entrypoint, Cmd, User, Env, …); empty if absent. */
  public JsonObject runConfig() {
    JsonElement c = requireValid(config).get("config");
    return c != null && c.isJsonObject() ? c.getAsJsonObject().deepCopy() : new JsonObject();
  }

  /** {@code config.Entrypoint}, empty if unset. */
  public List<String> entrypoint() {
    return strings(runConfig().get("Entrypoint"));
  }

  /** {@code config.Cmd}, empty if unset. */
  public List<String> cmd() {
    return strings(runConfig().get("Cmd"));
  }

  /** {@code config.User}, "" if unset. */
  public String user() {
    JsonElement u = runConfig().get("User");
    return u == null || u.isJsonNull() ? "" : u.getAsString();
  }

  /** {@code config.Env}, name → value. */
  public Map<String, String> env() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String kv : strings(runConfig().get("Env"))) {
      int eq = kv.indexOf('=');
      out.put(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : kv.substring(eq + 1));
    }
    return out;
  }

  /**
   * The image's file system: the layers applied in order (whiteouts honoured), each regular file
   * scanned for secrets as it is read.
   */
  public ImageFs filesystem() throws IOException {
    requireValid(manifest);
    ImageFs fs = new ImageFs();
    int i = 0;
    for (Descriptor d : layers) {
      byte[] blob = entries.get(d.blobPath());
      if (blob == null) {
        throw new IOException("layer " + i + " (" + d.digest() + ") has no blob");
      }
      try (InputStream in = layerStream(d, blob)) {
        fs.apply(i, in);
      }
      i++;
    }
    return fs;
  }

  /** The image's digest: its manifest's, as a registry and containerd name it. */
  public String digest() {
    return manifestDescriptor().digest();
  }

  /** sha256:hex of {@code data}. */
  public static String sha256(byte[] data) {
    return "sha256:" + HexFormat.of().formatHex(messageDigest().digest(data));
  }

  // ---------------------------------------------------------------------------------------------

  private void checkLayout(List<String> found) {
    byte[] layout = entries.get("oci-layout");
    if (layout == null) {
      found.add("no oci-layout file: not an OCI image layout");
      return;
    }
    try {
      JsonObject o = JsonParser.parseString(utf8(layout)).getAsJsonObject();
      String v = string(o, "imageLayoutVersion");
      if (!"1.0.0".equals(v)) {
        found.add("oci-layout imageLayoutVersion is " + v + ", expected 1.0.0");
      }
    } catch (JsonParseException | IllegalStateException e) {
      found.add("oci-layout is not a JSON object: " + e.getMessage());
    }
  }

  private void checkBlobNames(List<String> found) {
    for (Map.Entry<String, byte[]> e : entries.entrySet()) {
      String name = e.getKey();
      if (name.equals("oci-layout") || name.equals("index.json")) {
        continue;
      }
      if (!BLOB_NAME.matcher(name).matches()) {
        found.add("unexpected entry " + name + " (only oci-layout, index.json and blobs/sha256/*)");
        continue;
      }
      String actual = sha256(e.getValue());
      String named = "sha256:" + name.substring("blobs/sha256/".length());
      if (!actual.equals(named)) {
        found.add("blob " + name + " has sha256 " + actual + ", not the one its name says");
      }
    }
  }

  private Descriptor onlyManifest(List<String> found) {
    if (index == null) {
      return null;
    }
    if (!index.has("schemaVersion") || index.get("schemaVersion").getAsInt() != 2) {
      found.add("index.json schemaVersion is " + index.get("schemaVersion") + ", expected 2");
    }
    String mt = string(index, "mediaType");
    if (mt != null && !OCI_INDEX.equals(mt)) {
      found.add("index.json mediaType is " + mt + ", expected " + OCI_INDEX);
    }
    JsonElement ms = index.get("manifests");
    if (ms == null || !ms.isJsonArray() || ms.getAsJsonArray().size() != 1) {
      found.add(
          "index.json must list exactly one manifest, lists "
              + (ms == null || !ms.isJsonArray() ? "none" : ms.getAsJsonArray().size()));
      return null;
    }
    Descriptor d = descriptor(ms.getAsJsonArray().get(0), "index.json manifests[0]", found);
    if (d != null && !OCI_MANIFEST.equals(d.mediaType())) {
      found.add(
          "index.json manifests[0] mediaType is " + d.mediaType() + ", expected " + OCI_MANIFEST);
    }
    return d;
  }

  private List<Descriptor> layerDescriptors(List<String> found) {
    if (!manifest.has("schemaVersion") || manifest.get("schemaVersion").getAsInt() != 2) {
      found.add("manifest schemaVersion is " + manifest.get("schemaVersion") + ", expected 2");
    }
    JsonElement ls = manifest.get("layers");
    if (ls == null || !ls.isJsonArray() || ls.getAsJsonArray().isEmpty()) {
      found.add("manifest lists no layers");
      return List.of();
    }
    List<Descriptor> out = new ArrayList<>();
    JsonArray arr = ls.getAsJsonArray();
    for (int i = 0; i < arr.size(); i++) {
      Descriptor d = descriptor(arr.get(i), "manifest layers[" + i + "]", found);
      if (d == null) {
        continue;
      }
      if (!OCI_LAYER_GZIP.equals(d.mediaType()) && !OCI_LAYER_TAR.equals(d.mediaType())) {
        found.add("layer " + i + " mediaType " + d.mediaType() + " is not an OCI tar(+gzip) layer");
        continue;
      }
      out.add(d);
    }
    checkDiffIds(out, found);
    return List.copyOf(out);
  }

  private void checkDiffIds(List<Descriptor> ls, List<String> found) {
    if (config == null) {
      return;
    }
    JsonElement rootfs = config.get("rootfs");
    if (rootfs == null || !rootfs.isJsonObject()) {
      found.add("config has no rootfs");
      return;
    }
    if (!"layers".equals(string(rootfs.getAsJsonObject(), "type"))) {
      found.add("config rootfs.type is not \"layers\"");
    }
    List<String> diffIds = strings(rootfs.getAsJsonObject().get("diff_ids"));
    if (diffIds.size() != ls.size()) {
      found.add(
          "config lists " + diffIds.size() + " diff_ids for " + ls.size() + " manifest layers");
      return;
    }
    for (int i = 0; i < ls.size(); i++) {
      byte[] blob = entries.get(ls.get(i).blobPath());
      if (blob == null) {
        continue; // reported by descriptor()
      }
      try {
        String diffId = uncompressedDigest(ls.get(i), blob);
        if (!diffId.equals(diffIds.get(i))) {
          found.add(
              "layer "
                  + i
                  + " uncompresses to "
                  + diffId
                  + " but the config's diff_ids["
                  + i
                  + "] is "
                  + diffIds.get(i));
        }
      } catch (IOException e) {
        found.add("layer " + i + " (" + ls.get(i).digest() + ") cannot be read: " + e);
      }
    }
    for (String key : List.of("architecture", "os")) {
      if (string(config, key) == null) {
        found.add("config has no " + key);
      }
    }
  }

  private Descriptor descriptor(JsonElement e, String what, List<String> found) {
    if (e == null || !e.isJsonObject()) {
      found.add(what + " is not a descriptor object");
      return null;
    }
    JsonObject o = e.getAsJsonObject();
    String mt = string(o, "mediaType");
    String digest = string(o, "digest");
    JsonElement size = o.get("size");
    if (mt == null || digest == null || size == null || !size.isJsonPrimitive()) {
      found.add(what + " lacks mediaType, digest or size: " + o);
      return null;
    }
    if (!DIGEST.matcher(digest).matches()) {
      found.add(what + " digest " + digest + " is not sha256:<64 hex>");
      return null;
    }
    Descriptor d = new Descriptor(mt, digest, size.getAsLong());
    byte[] blob = entries.get(d.blobPath());
    if (blob == null) {
      found.add(what + " names " + digest + ", which the archive does not hold");
      return null;
    }
    if (blob.length != d.size()) {
      found.add(what + " says size " + d.size() + " but blob " + digest + " is " + blob.length);
    }
    return d;
  }

  private JsonObject json(String name, List<String> found) {
    byte[] b = entries.get(name);
    if (b == null) {
      found.add("no " + name);
      return null;
    }
    try {
      return JsonParser.parseString(utf8(b)).getAsJsonObject();
    } catch (JsonParseException | IllegalStateException e) {
      found.add(name + " is not a JSON object: " + e.getMessage());
      return null;
    }
  }

  private JsonObject blobJson(Descriptor d, String what, List<String> found) {
    byte[] b = entries.get(d.blobPath());
    if (b == null) {
      return null;
    }
    try {
      return JsonParser.parseString(utf8(b)).getAsJsonObject();
    } catch (JsonParseException | IllegalStateException e) {
      found.add(what + " " + d.digest() + " is not a JSON object: " + e.getMessage());
      return null;
    }
  }

  private static InputStream layerStream(Descriptor d, byte[] blob) throws IOException {
    InputStream raw = new ByteArrayInputStream(blob);
    return OCI_LAYER_GZIP.equals(d.mediaType()) ? new GZIPInputStream(raw, 1 << 16) : raw;
  }

  private static String uncompressedDigest(Descriptor d, byte[] blob) throws IOException {
    MessageDigest md = messageDigest();
    try (InputStream in = new DigestInputStream(layerStream(d, blob), md)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest messageDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }

  private <T> T requireValid(T part) {
    if (part == null) {
      throw new IllegalStateException(source + " is not a valid OCI archive: " + problems);
    }
    return part;
  }

  static String string(JsonObject o, String key) {
    JsonElement e = o.get(key);
    return e == null || !e.isJsonPrimitive() ? null : e.getAsString();
  }

  static List<String> strings(JsonElement e) {
    if (e == null || !e.isJsonArray()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (JsonElement x : e.getAsJsonArray()) {
      out.add(x.isJsonPrimitive() ? x.getAsString() : x.toString());
    }
    return List.copyOf(out);
  }

  private static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "OciArchive[" + source + "]";
  }
}
