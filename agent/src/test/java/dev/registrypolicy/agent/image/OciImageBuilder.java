package dev.registrypolicy.agent.image;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds a one-layer OCI image archive in memory, for the tests of the archive checks themselves:
 * {@link #entries()} gives the archive's files (name → bytes) so a test can break one before {@link
 * #write} puts them in a tar.
 */
public final class OciImageBuilder {

  private record LayerEntry(String name, byte type, byte[] content, String link, int mode) {}

  private final List<LayerEntry> layer = new ArrayList<>();
  private List<String> entrypoint = List.of();
  private String user = "";
  private List<String> cmd = List.of();
  private boolean wrongDiffId;
  private List<String> env = List.of("PATH=/opt/java/bin:/usr/bin:/bin");

  public OciImageBuilder file(String name, byte[] content, int mode) {
    layer.add(new LayerEntry(name, TarConstants.LF_NORMAL, content.clone(), null, mode));
    return this;
  }

  public OciImageBuilder file(String name, String content) {
    return file(name, content.getBytes(StandardCharsets.UTF_8), 0644);
  }

  public OciImageBuilder dir(String name) {
    layer.add(new LayerEntry(name, TarConstants.LF_DIR, new byte[0], null, 0755));
    return this;
  }

  public OciImageBuilder symlink(String name, String target) {
    layer.add(new LayerEntry(name, TarConstants.LF_SYMLINK, new byte[0], target, 0777));
    return this;
  }

  public OciImageBuilder hardlink(String name, String target) {
    layer.add(new LayerEntry(name, TarConstants.LF_LINK, new byte[0], target, 0644));
    return this;
  }

  public OciImageBuilder entrypoint(List<String> entrypoint) {
    this.entrypoint = List.copyOf(entrypoint);
    return this;
  }

  public OciImageBuilder user(String user) {
    this.user = user;
    return this;
  }

  public OciImageBuilder cmd(List<String> cmd) {
    this.cmd = List.copyOf(cmd);
    return this;
  }

  /** Writes a config whose diff_id is not the layer's (for the checks' own tests). */
  public OciImageBuilder wrongDiffId() {
    this.wrongDiffId = true;
    return this;
  }

  public OciImageBuilder env(List<String> env) {
    this.env = List.copyOf(env);
    return this;
  }

  /** The archive's files in archive order: oci-layout, index.json, then the blobs. */
  public Map<String, byte[]> entries() throws IOException {
    byte[] tar = layerTar();
    byte[] gz = gzip(tar);
    JsonObject runConfig = new JsonObject();
    runConfig.add("Entrypoint", array(entrypoint));
    runConfig.addProperty("User", user);
    if (!cmd.isEmpty()) {
      runConfig.add("Cmd", array(cmd));
    }
    runConfig.add("Env", array(env));
    JsonObject rootfs = new JsonObject();
    rootfs.addProperty("type", "layers");
    rootfs.add("diff_ids", array(List.of(OciArchive.sha256(wrongDiffId ? gzip(tar) : tar))));
    JsonObject config = new JsonObject();
    config.addProperty("architecture", "amd64");
    config.addProperty("os", "linux");
    config.add("config", runConfig);
    config.add("rootfs", rootfs);
    byte[] configBytes = bytes(config);

    JsonObject manifest = new JsonObject();
    manifest.addProperty("schemaVersion", 2);
    manifest.addProperty("mediaType", OciArchive.OCI_MANIFEST);
    manifest.add("config", descriptor(OciArchive.OCI_CONFIG, configBytes));
    JsonArray layers = new JsonArray();
    layers.add(descriptor(OciArchive.OCI_LAYER_GZIP, gz));
    manifest.add("layers", layers);
    byte[] manifestBytes = bytes(manifest);

    JsonObject index = new JsonObject();
    index.addProperty("schemaVersion", 2);
    index.addProperty("mediaType", OciArchive.OCI_INDEX);
    JsonArray manifests = new JsonArray();
    manifests.add(descriptor(OciArchive.OCI_MANIFEST, manifestBytes));
    index.add("manifests", manifests);

    Map<String, byte[]> out = new LinkedHashMap<>();
    out.put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
    out.put("index.json", bytes(index));
    for (byte[] blob : List.of(gz, configBytes, manifestBytes)) {
      out.put(blobName(blob), blob);
    }
    return out;
  }

  /** {@code blobs/sha256/<hex>} for {@code blob}. */
  public static String blobName(byte[] blob) {
    return "blobs/sha256/" + OciArchive.sha256(blob).substring("sha256:".length());
  }

  /** Writes {@code entries} as a tar (directories first, as Jib does). */
  public static void write(Map<String, byte[]> entries, Path out) throws IOException {
    try (OutputStream os = Files.newOutputStream(out);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      TarArchiveEntry blobs = new TarArchiveEntry("blobs/");
      tar.putArchiveEntry(blobs);
      tar.closeArchiveEntry();
      TarArchiveEntry sha = new TarArchiveEntry("blobs/sha256/");
      tar.putArchiveEntry(sha);
      tar.closeArchiveEntry();
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        TarArchiveEntry te = new TarArchiveEntry(e.getKey());
        te.setSize(e.getValue().length);
        tar.putArchiveEntry(te);
        tar.write(e.getValue());
        tar.closeArchiveEntry();
      }
      tar.finish();
    }
  }

  private byte[] layerTar() throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(buf)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (LayerEntry le : layer) {
        TarArchiveEntry te = new TarArchiveEntry(le.name(), le.type());
        te.setMode(le.mode());
        if (le.link() != null) {
          te.setLinkName(le.link());
        }
        if (le.type() == TarConstants.LF_NORMAL) {
          te.setSize(le.content().length);
        }
        tar.putArchiveEntry(te);
        if (le.type() == TarConstants.LF_NORMAL) {
          tar.write(le.content());
        }
        tar.closeArchiveEntry();
      }
      tar.finish();
    }
    return buf.toByteArray();
  }

  private static JsonObject descriptor(String mediaType, byte[] blob) {
    JsonObject d = new JsonObject();
    d.addProperty("mediaType", mediaType);
    d.addProperty("digest", OciArchive.sha256(blob));
    d.addProperty("size", blob.length);
    return d;
  }

  private static JsonArray array(List<String> values) {
    JsonArray a = new JsonArray();
    values.forEach(a::add);
    return a;
  }

  private static byte[] bytes(JsonObject o) {
    return o.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }
}
