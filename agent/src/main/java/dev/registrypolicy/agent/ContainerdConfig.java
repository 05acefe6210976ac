package dev.registrypolicy.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Pure diagnosis of containerd's {@code config.toml}: does containerd read the {@code certs.d}
 * directory the agent writes into, and is anything in the file known to defeat hosts.toml?
 *
 * <p>The file is read with a TOML 1.0 parser ({@link TomlReader}), as containerd reads it: real
 * files use TOML 1.0 dotted keys. A file that is not valid TOML is reported as exactly that, with
 * the line and column, because containerd refuses to start with it; nothing else is guessed from
 * such a file.
 *
 * <p>Limits, enforced before or while parsing: at most {@link #MAX_BYTES} bytes and {@link
 * TomlReader#MAX_DEPTH} levels of nested tables and arrays.
 */
public final class ContainerdConfig {

  /** CRI plugin id that owns the registry settings in config version 2 (containerd 1.x). */
  public static final String CRI_V2_PLUGIN = "io.containerd.grpc.v1.cri";

  /** CRI image plugin id that owns the registry settings in config version 3 (containerd 2.x). */
  public static final String CRI_V3_IMAGES_PLUGIN = "io.containerd.cri.v1.images";

  /** Short plugin name used by config version 1. */
  public static final String CRI_V1_PLUGIN = "cri";

  private static final List<String> DEPRECATED_TABLES = List.of("mirrors", "configs", "auths");

  /**
   * Largest config.toml the agent reads: 256 KiB, about 25 times containerd's full default file.
   */
  static final int MAX_BYTES = TomlReader.MAX_CHARS;

  /** Deepest nesting of tables, inline tables and arrays the agent reads. */
  static final int MAX_DEPTH = TomlReader.MAX_DEPTH;

  private ContainerdConfig() {}

  /**
   * What the agent learned from config.toml.
   *
   * @param configVersion top-level {@code version} (1 when absent; 0 when the file was unreadable
   *     or is not valid TOML)
   * @param configPath raw {@code config_path} value, null when not set
   * @param configPathDirs {@code configPath} split on ':' (empty segments dropped)
   * @param pointsAtCertsDir whether one of {@code configPathDirs} is the agent's directory
   * @param useLocalImagePull {@code use_local_image_pull} of the v3 image plugin, null when not set
   * @param deprecatedRegistrySettings whether non-empty {@code registry.mirrors/configs/auths}
   *     exist
   * @param warnings lowercase, self-contained, each with its fix, no trailing period
   * @param containerdMajor which containerd major versions can read this file
   */
  public record Diagnosis(
      int configVersion,
      String configPath,
      List<String> configPathDirs,
      boolean pointsAtCertsDir,
      Boolean useLocalImagePull,
      boolean deprecatedRegistrySettings,
      List<String> warnings,
      String containerdMajor) {
    public Diagnosis {
      configPathDirs = List.copyOf(configPathDirs);
      warnings = List.copyOf(warnings);
    }

    /** Whether nothing was found that stops containerd from using the agent's hosts.toml. */
    public boolean ok() {
      return warnings.isEmpty();
    }
  }

  /**
   * A diagnosis that knows nothing about containerd's registry configuration, only {@code warning}:
   * what keeps the agent from knowing, and what to do.
   */
  private static Diagnosis unknown(String warning) {
    return new Diagnosis(0, null, List.of(), false, null, false, List.of(warning), "unknown");
  }

  /** The diagnosis when config.toml is missing or cannot be read. */
  public static Diagnosis unreadable(String reason) {
    String why = reason == null || reason.isBlank() ? "unknown reason" : reason.strip();
    return unknown(
        "containerd config.toml could not be read ("
            + why
            + "), so the agent cannot tell whether "
            + "containerd reads its hosts.toml files: mount the node's config.toml read-only into the "
            + "agent pod");
  }

  /**
   * The diagnosis when {@code file} does not exist: most often the node keeps containerd's config
   * file under another directory or name than the agent was told, so the message names the setting
   * that says where it is.
   */
  private static Diagnosis missing(Path file) {
    return unknown(
        "containerd config file "
            + file
            + " does not exist, so the agent cannot tell whether containerd reads its"
            + " hosts.toml files (it writes them all the same and looks again at every pass):"
            + " --containerd-config must name the file this node's containerd is started with"
            + " (containerd --config, /etc/containerd/config.toml by default); with the"
            + " manifests, set containerdConfigDir and containerdConfigFile in"
            + " manifests/node-layout.yaml, or include node-layouts/k3s or node-layouts/rke2"
            + " (manifests/README.md, \"Node layouts\")");
  }

  /** The diagnosis of a file containerd cannot load: {@code why} says where and what is wrong. */
  private static Diagnosis refused(String why) {
    return unknown(
        why + "; containerd will refuse to start with it: fix the file and restart containerd");
  }

  /**
   * Reads and diagnoses the config.toml at {@code file}: at most {@link #MAX_BYTES} bytes are read,
   * and the text must be UTF-8 as TOML requires. Never throws for anything about the file; an
   * unreadable file gives {@link #unreadable}.
   *
   * @param file config.toml as the agent sees it (the node's file, mounted read-only)
   * @param nodeCertsDir the agent's certs.d directory as the node sees it
   */
  public static Diagnosis diagnose(Path file, String nodeCertsDir) {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(nodeCertsDir, "nodeCertsDir");
    if (Files.isDirectory(file)) {
      return unreadable(file + " is a directory, not a file");
    }
    if (Files.exists(file) && !Files.isRegularFile(file)) {
      return unreadable(file + " is not a regular file (a FIFO, socket or device); not read");
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_BYTES + 1);
    } catch (NoSuchFileException e) {
      return missing(file);
    } catch (AccessDeniedException e) {
      return unreadable("permission denied reading " + file);
    } catch (IOException e) {
      String m = e.getMessage();
      return unreadable(
          "reading " + file + " failed: " + (m == null || m.isBlank() ? "input/output error" : m));
    }
    if (bytes.length > MAX_BYTES) {
      return tooLarge();
    }
    String text;
    try {
      text = utf8(bytes);
    } catch (NotUtf8 e) {
      int line = 1;
      int lineStart = 0;
      for (int i = 0; i < e.offset; i++) {
        if (bytes[i] == '\n') {
          line++;
          lineStart = i + 1;
        }
      }
      String before = new String(bytes, lineStart, e.offset - lineStart, StandardCharsets.UTF_8);
      int column = before.codePointCount(0, before.length()) + 1;
      return refused(
          "config.toml is not valid TOML at line "
              + line
              + ", column "
              + column
              + ": the text is not UTF-8 there, and TOML files must be UTF-8");
    }
    return diagnose(text, nodeCertsDir);
  }

  private static Diagnosis tooLarge() {
    return notRead(
        "config.toml was not read: it is larger than "
            + MAX_BYTES / 1024
            + " KiB, the most the agent "
            + "reads");
  }

  /**
   * The diagnosis of a file the agent does not read although containerd may: {@code why} says why.
   */
  private static Diagnosis notRead(String why) {
    return new Diagnosis(
        0,
        null,
        List.of(),
        false,
        null,
        false,
        List.of(
            why
                + ", so the agent cannot tell whether containerd reads its hosts.toml files: keep "
                + "config.toml under "
                + MAX_BYTES / 1024
                + " KiB with tables and arrays nested at most "
                + MAX_DEPTH
                + " levels deep, or check config_path by hand"),
        "unknown");
  }

  /** Thrown by {@link #utf8} with the offset of the first byte that is not UTF-8. */
  private static final class NotUtf8 extends Exception {
    private static final long serialVersionUID = 1L;
    final int offset;

    NotUtf8(int offset) {
      super(null, null, false, false);
      this.offset = offset;
    }
  }

  private static String utf8(byte[] bytes) throws NotUtf8 {
    CharsetDecoder d =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CharBuffer out = CharBuffer.allocate(bytes.length);
    CoderResult r = d.decode(in, out, true);
    if (r.isError()) {
      throw new NotUtf8(in.position());
    }
    r = d.flush(out);
    if (r.isError()) {
      throw new NotUtf8(in.position());
    }
    return out.flip().toString();
  }

  /**
   * Diagnoses config.toml text.
   *
   * @param configToml the file's text
   * @param nodeCertsDir the agent's certs.d directory as the node sees it, e.g.
   *     /etc/containerd/certs.d
   */
  public static Diagnosis diagnose(String configToml, String nodeCertsDir) {
    Objects.requireNonNull(nodeCertsDir, "nodeCertsDir");
    String text = configToml == null ? "" : configToml;
    Map<String, Object> toml;
    try {
      toml = TomlReader.read(text);
    } catch (TomlReader.NotRead e) {
      return e.invalid
          ? refused("config.toml is not valid TOML" + e.where() + ": " + e.reason)
          : notRead("config.toml was not read: " + e.reason);
    }
    List<String> warnings = new ArrayList<>();

    // --- version
    Object rawVersion = toml.get("version");
    int version = 1;
    boolean versionGiven = false;
    if (rawVersion instanceof Long v) {
      version = v < 0 || v > 1000 ? 1 : v.intValue();
      versionGiven = true;
    } else if (rawVersion != null) {
      warnings.add(
          "config.toml has version = "
              + describe(rawVersion)
              + ", which containerd does not accept: "
              + "write version = 2 (containerd 1.x) or version = 3 (containerd 2.x) as a bare integer");
    }
    if (version <= 1 && (versionGiven || rawVersion == null)) {
      warnings.add(
          (versionGiven
                  ? "config.toml is version " + version
                  : "config.toml has no version key and is read as version 1")
              + ", which containerd 2.x no longer supports: set version = 2 with [plugins.\""
              + CRI_V2_PLUGIN
              + "\".registry] for containerd 1.x, or version = 3 with [plugins.'"
              + CRI_V3_IMAGES_PLUGIN
              + "'.registry] for containerd 2.x");
    }
    String major = version >= 3 ? "2.x" : version == 2 ? "1.x or 2.x" : "1.x";
    if (version > 3) {
      major = "unknown";
    }

    // --- config_path, looked up under the plugin ids this version uses first
    List<String> order =
        version >= 3
            ? List.of(CRI_V3_IMAGES_PLUGIN, CRI_V2_PLUGIN, CRI_V1_PLUGIN)
            : version == 2
                ? List.of(CRI_V2_PLUGIN, CRI_V3_IMAGES_PLUGIN, CRI_V1_PLUGIN)
                : List.of(CRI_V1_PLUGIN, CRI_V2_PLUGIN, CRI_V3_IMAGES_PLUGIN);
    String configPath = null;
    String foundUnder = null;
    boolean configPathKeyPresent = false;
    String wrongType = null;
    for (String id : order) {
      Object v = at(toml, "plugins", id, "registry", "config_path");
      if (v != null) {
        configPathKeyPresent = true;
        if (v instanceof String s) {
          configPath = s;
          foundUnder = id;
          break;
        }
        if (wrongType == null) {
          wrongType = "config_path under plugin " + id + " is " + describe(v) + ", not a string";
        }
      }
    }
    String registryTable = registryTable(version);

    Object local = at(toml, "plugins", CRI_V3_IMAGES_PLUGIN, "use_local_image_pull");
    Boolean useLocalImagePull = local instanceof Boolean b ? b : null;

    List<String> dirs = new ArrayList<>();
    if (configPath != null) {
      for (String d : configPath.split(":", -1)) {
        if (!d.isEmpty()) {
          dirs.add(d);
        }
      }
    }
    String certs = normalizeDir(nodeCertsDir);
    int ourIndex = -1;
    for (int i = 0; i < dirs.size(); i++) {
      if (normalizeDir(dirs.get(i)).equals(certs)) {
        ourIndex = i;
        break;
      }
    }

    Object imports = toml.get("imports");
    String importsNote = "";
    if (imports instanceof List && !((List<?>) imports).isEmpty()) {
      importsNote =
          " (config.toml imports "
              + describe(imports)
              + "; if one of those files sets config_path, "
              + "check it there)";
    }

    if (wrongType != null && configPath == null) {
      warnings.add(
          wrongType
              + ", which containerd refuses to load: set config_path = \""
              + certs
              + "\" in "
              + registryTable
              + " and restart containerd");
    } else if (dirs.isEmpty()) {
      String defaultNote =
          !configPathKeyPresent && version >= 2
              ? "; containerd 2.2+ instead defaults to /etc/containerd/certs.d:/etc/docker/certs.d, which "
                  + "transfer-service pulls ignore (containerd issue 12415)"
              : "";
      warnings.add(
          "config_path is "
              + (configPathKeyPresent ? "empty" : "not set")
              + " in "
              + registryTable
              + ", so containerd does not read certs.d at all and ignores every hosts.toml file"
              + defaultNote
              + ": set config_path = \""
              + certs
              + "\" there and restart containerd"
              + importsNote);
    } else {
      if (foundUnder != null && !expectedPlugin(version, foundUnder)) {
        warnings.add(
            "config_path is set under plugin "
                + foundUnder
                + " but config.toml is version "
                + version
                + ", which reads registry settings from "
                + registryTable
                + ": move config_path there and restart containerd");
      }
      if (ourIndex < 0) {
        warnings.add(
            "config_path is \""
                + configPath
                + "\" but the agent writes to \""
                + certs
                + "\", so containerd does not read the agent's hosts.toml files: add \""
                + certs
                + "\" as config_path and restart containerd, or point the agent at the directory containerd reads");
      } else if (ourIndex > 0) {
        warnings.add(
            "config_path lists \""
                + dirs.get(0)
                + "\" before the agent's \""
                + certs
                + "\", so a host directory or _default there wins over the agent's hosts.toml: put \""
                + certs
                + "\" first in config_path and restart containerd");
      }
      if (dirs.size() > 1 && version >= 2 && !Boolean.TRUE.equals(useLocalImagePull)) {
        warnings.add(
            "config_path lists several directories (\""
                + configPath
                + "\"), and containerd 2.1+ "
                + "pulls through the transfer service then ignore hosts.toml entirely (containerd issue 12415): "
                + "use the single directory \""
                + certs
                + "\", or set use_local_image_pull = true in "
                + "[plugins.'"
                + CRI_V3_IMAGES_PLUGIN
                + "'] (config version 3), then restart containerd");
      }
    }

    // --- deprecated registry.mirrors / configs / auths with any content
    Set<String> deprecated = new LinkedHashSet<>();
    for (String id : List.of(CRI_V2_PLUGIN, CRI_V3_IMAGES_PLUGIN, CRI_V1_PLUGIN)) {
      for (String t : DEPRECATED_TABLES) {
        if (hasContent(at(toml, "plugins", id, "registry", t))) {
          deprecated.add("registry." + t);
        }
      }
    }
    if (!deprecated.isEmpty()) {
      warnings.add(
          "config.toml sets the deprecated "
              + String.join(", ", deprecated)
              + ", which conflict with config_path (containerd refuses to load its cri plugin when mirrors "
              + "or configs tls are set together with config_path, and containerd 2.1+ silently switches to "
              + "local image pull while they are present): move these settings into hosts.toml files, delete "
              + "them from config.toml and restart containerd");
    }

    return new Diagnosis(
        version,
        configPath,
        dirs,
        ourIndex >= 0,
        useLocalImagePull,
        !deprecated.isEmpty(),
        warnings,
        major);
  }

  private static boolean expectedPlugin(int version, String id) {
    if (version >= 3) {
      return CRI_V3_IMAGES_PLUGIN.equals(id);
    }
    if (version == 2) {
      return CRI_V2_PLUGIN.equals(id);
    }
    return CRI_V1_PLUGIN.equals(id) || CRI_V2_PLUGIN.equals(id);
  }

  private static String registryTable(int version) {
    if (version >= 3) {
      return "[plugins.'" + CRI_V3_IMAGES_PLUGIN + "'.registry]";
    }
    if (version == 2) {
      return "[plugins.\"" + CRI_V2_PLUGIN + "\".registry]";
    }
    return "[plugins." + CRI_V1_PLUGIN + ".registry]";
  }

  private static String describe(Object v) {
    if (v instanceof String) {
      return "\"" + v + "\"";
    }
    if (v instanceof List) {
      List<String> parts = new ArrayList<>();
      for (Object o : (List<?>) v) {
        parts.add(describe(o));
      }
      return "[" + String.join(", ", parts) + "]";
    }
    return String.valueOf(v);
  }

  /** The value at a key path, or null when a step is missing or not a table. */
  private static Object at(Map<String, Object> root, String... keys) {
    Object v = root;
    for (String k : keys) {
      if (!(v instanceof Map)) {
        return null;
      }
      v = ((Map<?, ?>) v).get(k);
    }
    return v;
  }

  /** A table with at least one key, or any other value: an empty table configures nothing. */
  private static boolean hasContent(Object v) {
    return v != null && !(v instanceof Map && ((Map<?, ?>) v).isEmpty());
  }

  /** Strips trailing slashes (but keeps a lone "/"). */
  static String normalizeDir(String dir) {
    String d = dir.strip();
    while (d.length() > 1 && d.endsWith("/")) {
      d = d.substring(0, d.length() - 1);
    }
    return d;
  }
}
