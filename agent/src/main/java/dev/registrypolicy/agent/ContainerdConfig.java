package dev.registrypolicy.agent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Pure diagnosis of containerd's {@code config.toml}: does containerd read the {@code certs.d}
 * directory the agent writes into, and is anything in the file known to defeat hosts.toml?
 *
 * <p>The file is scanned by a small, tolerant TOML reader written for this purpose instead of
 * toml4j, because toml4j (TOML 0.4) rejects TOML 1.0 dotted keys that real config.toml files use.
 * The reader understands table headers and keys with bare, double-quoted and single-quoted
 * segments, dotted keys at any level, basic/literal (multi-line) strings, comments, and arrays and
 * inline tables spanning lines. A statement it cannot read is skipped, never fatal: the diagnosis
 * must work on whatever a node has.
 */
public final class ContainerdConfig {

    /** CRI plugin id that owns the registry settings in config version 2 (containerd 1.x). */
    public static final String CRI_V2_PLUGIN = "io.containerd.grpc.v1.cri";
    /** CRI image plugin id that owns the registry settings in config version 3 (containerd 2.x). */
    public static final String CRI_V3_IMAGES_PLUGIN = "io.containerd.cri.v1.images";
    /** Short plugin name used by config version 1. */
    public static final String CRI_V1_PLUGIN = "cri";

    private static final List<String> DEPRECATED_TABLES = List.of("mirrors", "configs", "auths");

    private ContainerdConfig() {
    }

    /**
     * What the agent learned from config.toml.
     *
     * @param configVersion top-level {@code version} (1 when absent; 0 when the file was unreadable)
     * @param configPath raw {@code config_path} value, null when not set
     * @param configPathDirs {@code configPath} split on ':' (empty segments dropped)
     * @param pointsAtCertsDir whether one of {@code configPathDirs} is the agent's directory
     * @param useLocalImagePull {@code use_local_image_pull} of the v3 image plugin, null when not set
     * @param deprecatedRegistrySettings whether non-empty {@code registry.mirrors/configs/auths} exist
     * @param warnings lowercase, self-contained, each with its fix, no trailing period
     * @param containerdMajor which containerd major versions can read this file
     */
    public record Diagnosis(int configVersion, String configPath, List<String> configPathDirs,
                            boolean pointsAtCertsDir, Boolean useLocalImagePull,
                            boolean deprecatedRegistrySettings, List<String> warnings,
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

    /** The diagnosis when config.toml is missing or cannot be read. */
    public static Diagnosis unreadable(String reason) {
        String why = reason == null || reason.isBlank() ? "unknown reason" : reason.strip();
        return new Diagnosis(0, null, List.of(), false, null, false,
                List.of("containerd config.toml could not be read (" + why + "), so the agent cannot tell whether "
                        + "containerd reads its hosts.toml files: mount the node's config.toml read-only into the "
                        + "agent pod"),
                "unknown");
    }

    /**
     * Diagnoses config.toml text.
     *
     * @param configToml the file's text
     * @param nodeCertsDir the agent's certs.d directory as the node sees it, e.g. /etc/containerd/certs.d
     */
    public static Diagnosis diagnose(String configToml, String nodeCertsDir) {
        Objects.requireNonNull(nodeCertsDir, "nodeCertsDir");
        Toml toml = Toml.scan(configToml == null ? "" : configToml);
        List<String> warnings = new ArrayList<>();

        // --- version
        Object rawVersion = toml.values.get(List.of("version"));
        int version = 1;
        boolean versionGiven = false;
        if (rawVersion instanceof Long) {
            long v = (Long) rawVersion;
            version = v < 0 || v > 1000 ? 1 : (int) v;
            versionGiven = true;
        } else if (rawVersion != null) {
            warnings.add("config.toml has version = " + describe(rawVersion) + ", which containerd does not accept: "
                    + "write version = 2 (containerd 1.x) or version = 3 (containerd 2.x) as a bare integer");
        }
        if (version <= 1 && (versionGiven || rawVersion == null)) {
            warnings.add((versionGiven ? "config.toml is version " + version : "config.toml has no version key and is read as version 1")
                    + ", which containerd 2.x no longer supports: set version = 2 with [plugins.\"" + CRI_V2_PLUGIN
                    + "\".registry] for containerd 1.x, or version = 3 with [plugins.'" + CRI_V3_IMAGES_PLUGIN
                    + "'.registry] for containerd 2.x");
        }
        String major = version >= 3 ? "2.x" : version == 2 ? "1.x or 2.x" : "1.x";
        if (version > 3) {
            major = "unknown";
        }

        // --- config_path, looked up under the plugin ids this version uses first
        List<String> order = version >= 3 ? List.of(CRI_V3_IMAGES_PLUGIN, CRI_V2_PLUGIN, CRI_V1_PLUGIN)
                : version == 2 ? List.of(CRI_V2_PLUGIN, CRI_V3_IMAGES_PLUGIN, CRI_V1_PLUGIN)
                : List.of(CRI_V1_PLUGIN, CRI_V2_PLUGIN, CRI_V3_IMAGES_PLUGIN);
        String configPath = null;
        String foundUnder = null;
        boolean configPathKeyPresent = false;
        for (String id : order) {
            Object v = toml.values.get(List.of("plugins", id, "registry", "config_path"));
            if (v != null) {
                configPathKeyPresent = true;
                if (v instanceof String) {
                    configPath = (String) v;
                    foundUnder = id;
                    break;
                }
            }
        }
        String registryTable = registryTable(version);

        Object local = toml.values.get(List.of("plugins", CRI_V3_IMAGES_PLUGIN, "use_local_image_pull"));
        Boolean useLocalImagePull = local instanceof Boolean ? (Boolean) local : null;

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

        Object imports = toml.values.get(List.of("imports"));
        String importsNote = "";
        if (imports instanceof List && !((List<?>) imports).isEmpty()) {
            importsNote = " (config.toml imports " + describe(imports) + "; if one of those files sets config_path, "
                    + "check it there)";
        }

        if (dirs.isEmpty()) {
            String defaultNote = !configPathKeyPresent && version >= 2
                    ? "; containerd 2.2+ instead defaults to /etc/containerd/certs.d:/etc/docker/certs.d, which "
                    + "transfer-service pulls ignore (containerd issue 12415)"
                    : "";
            warnings.add("config_path is " + (configPathKeyPresent ? "empty" : "not set") + " in " + registryTable
                    + ", so containerd does not read certs.d at all and ignores every hosts.toml file" + defaultNote
                    + ": set config_path = \"" + certs + "\" there and restart containerd" + importsNote);
        } else {
            if (foundUnder != null && !expectedPlugin(version, foundUnder)) {
                warnings.add("config_path is set under plugin " + foundUnder + " but config.toml is version "
                        + version + ", which reads registry settings from " + registryTable
                        + ": move config_path there and restart containerd");
            }
            if (ourIndex < 0) {
                warnings.add("config_path is \"" + configPath + "\" but the agent writes to \"" + certs
                        + "\", so containerd does not read the agent's hosts.toml files: add \"" + certs
                        + "\" as config_path and restart containerd, or point the agent at the directory containerd reads");
            } else if (ourIndex > 0) {
                warnings.add("config_path lists \"" + dirs.get(0) + "\" before the agent's \"" + certs
                        + "\", so a host directory or _default there wins over the agent's hosts.toml: put \""
                        + certs + "\" first in config_path and restart containerd");
            }
            if (dirs.size() > 1 && version >= 2 && !Boolean.TRUE.equals(useLocalImagePull)) {
                warnings.add("config_path lists several directories (\"" + configPath + "\"), and containerd 2.1+ "
                        + "pulls through the transfer service then ignore hosts.toml entirely (containerd issue 12415): "
                        + "use the single directory \"" + certs + "\", or set use_local_image_pull = true in "
                        + "[plugins.'" + CRI_V3_IMAGES_PLUGIN + "'] (config version 3), then restart containerd");
            }
        }

        // --- deprecated registry.mirrors / configs / auths with any content
        Set<String> deprecated = new LinkedHashSet<>();
        for (String id : List.of(CRI_V2_PLUGIN, CRI_V3_IMAGES_PLUGIN, CRI_V1_PLUGIN)) {
            for (String t : DEPRECATED_TABLES) {
                if (toml.hasContentUnder(List.of("plugins", id, "registry", t))) {
                    deprecated.add("registry." + t);
                }
            }
        }
        if (!deprecated.isEmpty()) {
            warnings.add("config.toml sets the deprecated " + String.join(", ", deprecated)
                    + ", which conflict with config_path (containerd refuses to load its cri plugin when mirrors "
                    + "or configs tls are set together with config_path, and containerd 2.1+ silently switches to "
                    + "local image pull while they are present): move these settings into hosts.toml files, delete "
                    + "them from config.toml and restart containerd");
        }

        return new Diagnosis(version, configPath, dirs, ourIndex >= 0, useLocalImagePull,
                !deprecated.isEmpty(), warnings, major);
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

    /** Strips trailing slashes (but keeps a lone "/"). */
    static String normalizeDir(String dir) {
        String d = dir.strip();
        while (d.length() > 1 && d.endsWith("/")) {
            d = d.substring(0, d.length() - 1);
        }
        return d;
    }

    // ==============================================================================================
    // A tolerant TOML scanner: it records every scalar/array value under its full key path and every
    // table path it sees. Values are String, Boolean, Long, List, or (for floats, dates and other
    // bare words) the raw text as String.

    static final class Toml {
        final Map<List<String>, Object> values = new LinkedHashMap<>();
        final Set<List<String>> tables = new LinkedHashSet<>();
        int skippedStatements;

        private final String s;
        private int pos;

        private Toml(String s) {
            this.s = s;
        }

        private static final List<String> UNKNOWN_TABLE = List.of("\u0000unreadable");
        private static final Pattern DEC_INT = Pattern.compile("[+-]?[0-9](_?[0-9])*");
        private static final Pattern HEX_INT = Pattern.compile("0x[0-9a-fA-F](_?[0-9a-fA-F])*");
        private static final Pattern OCT_INT = Pattern.compile("0o[0-7](_?[0-7])*");
        private static final Pattern BIN_INT = Pattern.compile("0b[01](_?[01])*");

        static Toml scan(String text) {
            Toml t = new Toml(text.startsWith("\uFEFF") ? text.substring(1) : text);
            t.run();
            return t;
        }

        boolean hasContentUnder(List<String> base) {
            for (List<String> k : values.keySet()) {
                if (k.size() > base.size() && k.subList(0, base.size()).equals(base)) {
                    return true;
                }
            }
            for (List<String> k : tables) {
                if (k.size() > base.size() && k.subList(0, base.size()).equals(base)) {
                    return true;
                }
            }
            return false;
        }

        private static final class Bad extends RuntimeException {
            private static final long serialVersionUID = 1L;

            Bad(String m) {
                super(m, null, false, false);
            }
        }

        private void run() {
            List<String> table = List.of();
            while (true) {
                skipBlankLinesAndComments();
                if (pos >= s.length()) {
                    return;
                }
                int start = pos;
                boolean isHeader = s.charAt(pos) == '[';
                try {
                    if (isHeader) {
                        table = header();
                    } else {
                        keyValue(table);
                    }
                    endOfLine();
                } catch (Bad | IndexOutOfBoundsException e) {
                    skippedStatements++;
                    if (isHeader) {
                        // keys after an unreadable header belong to no table we know
                        table = UNKNOWN_TABLE;
                    }
                    pos = start;
                    skipRestOfLine();
                }
            }
        }

        private List<String> header() {
            boolean arrayOfTables = s.startsWith("[[", pos);
            pos += arrayOfTables ? 2 : 1;
            skipSpaces();
            List<String> key = key();
            expect(']');
            if (arrayOfTables) {
                expect(']');
            }
            tables.add(key);
            return key;
        }

        private void keyValue(List<String> prefix) {
            List<String> key = key();
            expect('=');
            skipSpaces();
            List<String> full = concat(prefix, key);
            value(full);
        }

        /** A possibly dotted key; leaves pos after trailing spaces. */
        private List<String> key() {
            List<String> parts = new ArrayList<>(4);
            while (true) {
                skipSpaces();
                char c = peek();
                if (c == '"') {
                    if (s.startsWith("\"\"\"", pos)) {
                        throw new Bad("multi-line string as key");
                    }
                    parts.add(basicString());
                } else if (c == '\'') {
                    if (s.startsWith("'''", pos)) {
                        throw new Bad("multi-line string as key");
                    }
                    parts.add(literalString());
                } else {
                    int b = pos;
                    while (pos < s.length() && isBareKeyChar(s.charAt(pos))) {
                        pos++;
                    }
                    if (b == pos) {
                        throw new Bad("key expected");
                    }
                    parts.add(s.substring(b, pos));
                }
                skipSpaces();
                if (pos < s.length() && s.charAt(pos) == '.') {
                    pos++;
                    continue;
                }
                return List.copyOf(parts);
            }
        }

        /** Parses a value; records it under {@code path} unless path is null (array elements). */
        private Object value(List<String> path) {
            char c = peek();
            Object v;
            if (c == '"') {
                v = s.startsWith("\"\"\"", pos) ? multiLineBasicString() : basicString();
            } else if (c == '\'') {
                v = s.startsWith("'''", pos) ? multiLineLiteralString() : literalString();
            } else if (c == '[') {
                v = array();
            } else if (c == '{') {
                inlineTable(path);
                return null;
            } else {
                v = bareValue();
            }
            if (path != null) {
                values.put(path, v);
            }
            return v;
        }

        private List<Object> array() {
            pos++; // [
            List<Object> items = new ArrayList<>();
            while (true) {
                skipWhitespaceAndComments();
                if (peek() == ']') {
                    pos++;
                    return items;
                }
                Object item = value(null);
                if (item != null) {
                    items.add(item);
                }
                skipWhitespaceAndComments();
                char c = peek();
                if (c == ',') {
                    pos++;
                } else if (c == ']') {
                    pos++;
                    return items;
                } else {
                    throw new Bad("',' or ']' expected in array");
                }
            }
        }

        private void inlineTable(List<String> path) {
            pos++; // {
            if (path != null) {
                tables.add(path);
            }
            while (true) {
                // TOML 1.0 keeps inline tables on one line; newlines are tolerated here anyway
                skipWhitespaceAndComments();
                if (peek() == '}') {
                    pos++;
                    return;
                }
                List<String> key = key();
                expect('=');
                skipSpaces();
                value(path == null ? null : concat(path, key));
                skipWhitespaceAndComments();
                char c = peek();
                if (c == ',') {
                    pos++;
                } else if (c == '}') {
                    pos++;
                    return;
                } else {
                    throw new Bad("',' or '}' expected in inline table");
                }
            }
        }

        private Object bareValue() {
            int b = pos;
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ',' || c == ']' || c == '}' || c == '#' || c == '\n' || c == '\r') {
                    break;
                }
                pos++;
            }
            String raw = s.substring(b, pos).strip();
            // keep trailing spaces for endOfLine() to skip
            if (raw.isEmpty()) {
                throw new Bad("value expected");
            }
            if ("true".equals(raw)) {
                return Boolean.TRUE;
            }
            if ("false".equals(raw)) {
                return Boolean.FALSE;
            }
            try {
                if (DEC_INT.matcher(raw).matches()) {
                    return Long.parseLong(raw.replace("_", ""));
                }
                if (HEX_INT.matcher(raw).matches()) {
                    return Long.parseLong(raw.substring(2).replace("_", ""), 16);
                }
                if (OCT_INT.matcher(raw).matches()) {
                    return Long.parseLong(raw.substring(2).replace("_", ""), 8);
                }
                if (BIN_INT.matcher(raw).matches()) {
                    return Long.parseLong(raw.substring(2).replace("_", ""), 2);
                }
            } catch (NumberFormatException tooBig) {
                return raw;
            }
            if (raw.indexOf('=') >= 0 || raw.indexOf('"') >= 0 || raw.indexOf('\'') >= 0) {
                throw new Bad("not a value");
            }
            return raw; // float, date-time, inf, nan: kept as text
        }

        private String basicString() {
            pos++; // "
            StringBuilder out = new StringBuilder();
            while (true) {
                char c = s.charAt(pos);
                if (c == '"') {
                    pos++;
                    return out.toString();
                }
                if (c == '\n' || c == '\r') {
                    throw new Bad("unterminated string");
                }
                if (c == '\\') {
                    escape(out);
                } else {
                    out.append(c);
                    pos++;
                }
            }
        }

        private String multiLineBasicString() {
            pos += 3;
            skipFirstNewline();
            StringBuilder out = new StringBuilder();
            while (true) {
                if (s.startsWith("\"\"\"", pos)) {
                    int run = 0;
                    while (pos + run < s.length() && s.charAt(pos + run) == '"') {
                        run++;
                    }
                    int extra = Math.min(run - 3, 2);
                    out.append("\"".repeat(extra));
                    pos += 3 + extra;
                    return out.toString();
                }
                char c = s.charAt(pos);
                if (c == '\\') {
                    // a line-ending backslash swallows the newline and following whitespace
                    int p = pos + 1;
                    while (p < s.length() && (s.charAt(p) == ' ' || s.charAt(p) == '\t')) {
                        p++;
                    }
                    if (p < s.length() && (s.charAt(p) == '\n' || s.charAt(p) == '\r')) {
                        pos = p;
                        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                            pos++;
                        }
                        continue;
                    }
                    escape(out);
                } else {
                    out.append(c);
                    pos++;
                }
            }
        }

        private String literalString() {
            pos++; // '
            int b = pos;
            while (true) {
                char c = s.charAt(pos);
                if (c == '\'') {
                    String v = s.substring(b, pos);
                    pos++;
                    return v;
                }
                if (c == '\n' || c == '\r') {
                    throw new Bad("unterminated string");
                }
                pos++;
            }
        }

        private String multiLineLiteralString() {
            pos += 3;
            skipFirstNewline();
            int end = s.indexOf("'''", pos);
            if (end < 0) {
                throw new Bad("unterminated string");
            }
            int run = 0;
            while (end + run < s.length() && s.charAt(end + run) == '\'') {
                run++;
            }
            int extra = Math.min(run - 3, 2);
            String v = s.substring(pos, end + extra);
            pos = end + 3 + extra;
            return v;
        }

        private void escape(StringBuilder out) {
            char e = s.charAt(pos + 1);
            pos += 2;
            switch (e) {
                case 'b': out.append('\b'); break;
                case 't': out.append('\t'); break;
                case 'n': out.append('\n'); break;
                case 'f': out.append('\f'); break;
                case 'r': out.append('\r'); break;
                case 'e': out.append('\u001b'); break;
                case '"': out.append('"'); break;
                case '\\': out.append('\\'); break;
                case 'x': out.appendCodePoint(hex(2)); break;
                case 'u': out.appendCodePoint(hex(4)); break;
                case 'U': out.appendCodePoint(hex(8)); break;
                default: throw new Bad("bad escape");
            }
        }

        private int hex(int digits) {
            try {
                int cp = Integer.parseInt(s.substring(pos, pos + digits), 16);
                pos += digits;
                if (!Character.isValidCodePoint(cp)) {
                    throw new Bad("bad code point");
                }
                return cp;
            } catch (NumberFormatException e) {
                throw new Bad("bad escape");
            }
        }

        private void skipFirstNewline() {
            if (s.startsWith("\r\n", pos)) {
                pos += 2;
            } else if (s.startsWith("\n", pos)) {
                pos++;
            }
        }

        private void endOfLine() {
            skipSpaces();
            if (pos >= s.length()) {
                return;
            }
            char c = s.charAt(pos);
            if (c == '#') {
                skipRestOfLine();
            } else if (c == '\n' || c == '\r') {
                skipRestOfLine();
            } else {
                throw new Bad("end of line expected");
            }
        }

        private void expect(char c) {
            skipSpaces();
            if (peek() != c) {
                throw new Bad("'" + c + "' expected");
            }
            pos++;
            skipSpaces();
        }

        private char peek() {
            if (pos >= s.length()) {
                throw new Bad("unexpected end of input");
            }
            return s.charAt(pos);
        }

        private void skipSpaces() {
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t')) {
                pos++;
            }
        }

        private void skipRestOfLine() {
            while (pos < s.length() && s.charAt(pos) != '\n') {
                pos++;
            }
            if (pos < s.length()) {
                pos++;
            }
        }

        private void skipWhitespaceAndComments() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else if (c == '#') {
                    while (pos < s.length() && s.charAt(pos) != '\n') {
                        pos++;
                    }
                } else {
                    return;
                }
            }
        }

        private void skipBlankLinesAndComments() {
            skipWhitespaceAndComments();
        }

        private static boolean isBareKeyChar(char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        }

        private static List<String> concat(List<String> a, List<String> b) {
            List<String> r = new ArrayList<>(a.size() + b.size());
            r.addAll(a);
            r.addAll(b);
            return List.copyOf(r);
        }
    }
}
