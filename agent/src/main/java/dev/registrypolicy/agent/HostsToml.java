package dev.registrypolicy.agent;

import dev.registrypolicy.common.Utf8;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One containerd {@code hosts.toml}: the model, its rendering, and the check that the rendered text
 * parses back (with an independent TOML 1.0 parser) to exactly that model. containerd silently
 * ignores a file it cannot decode and falls back to the upstream, so nothing is written that does
 * not pass {@link #verify}.
 *
 * @param marker first line, naming the product and the policy (the ownership marker)
 * @param server the upstream URL, or null (catch-all: the image's own registry)
 * @param root settings for {@code server} (root-level keys), or null
 * @param hosts mirrors, in order
 */
record HostsToml(String marker, String server, Host root, List<Host> hosts) {
  /** Largest hosts.toml the agent renders and verifies (8 MiB). */
  static final int VERIFY_MAX_CHARS = 8 << 20;

  static final String MARKER_PREFIX = "# managed-by: registry-policy-agent";

  HostsToml {
    Objects.requireNonNull(marker, "marker");
    hosts = List.copyOf(hosts);
  }

  /**
   * Settings of one endpoint. {@code url} is null for the root (server) settings; {@code
   * capabilities} null means containerd's default (all).
   */
  record Host(
      String url,
      List<String> capabilities,
      List<String> ca,
      List<List<String>> client,
      boolean skipVerify,
      boolean overridePath,
      String dialTimeout,
      String authorization) {
    Host {
      capabilities = capabilities == null ? null : List.copyOf(capabilities);
      ca = List.copyOf(ca);
      client = List.copyOf(client);
    }

    boolean isEmpty() {
      return capabilities == null
          && ca.isEmpty()
          && client.isEmpty()
          && !skipVerify
          && !overridePath
          && dialTimeout == null
          && authorization == null;
    }

    @Override
    public String toString() {
      return "Host[url="
          + url
          + ", capabilities="
          + capabilities
          + ", ca="
          + ca
          + ", client="
          + client
          + ", skipVerify="
          + skipVerify
          + ", overridePath="
          + overridePath
          + ", dialTimeout="
          + dialTimeout
          + ", authorization="
          + (authorization == null ? "none" : "***")
          + "]";
    }
  }

  /** Whether the file carries credentials (and so must be 0600). */
  boolean hasCredentials() {
    if (root != null && root.authorization() != null) {
      return true;
    }
    return hosts.stream().anyMatch(h -> h.authorization() != null);
  }

  String render() {
    StringBuilder sb = new StringBuilder(512);
    sb.append(marker).append('\n');
    sb.append(
        "# Written by the registry-policy node agent; edits are reverted. Change the policy ConfigMap instead.\n");
    if (server != null) {
      sb.append("server = ").append(str(server)).append('\n');
    }
    if (root != null) {
      keys(sb, root, "");
      if (root.authorization() != null) {
        sb.append("\n[header]\n  Authorization = ").append(str(root.authorization())).append('\n');
      }
    }
    if (hosts.isEmpty()) {
      // containerd 1.6 and 1.7 (before 1.7.32) ignore a file without a host tree.
      sb.append("\n[host]\n");
    }
    for (Host h : hosts) {
      String table = "host." + str(h.url());
      sb.append("\n[").append(table).append("]\n");
      keys(sb, h, "  ");
      if (h.authorization() != null) {
        sb.append("  [")
            .append(table)
            .append(".header]\n    Authorization = ")
            .append(str(h.authorization()))
            .append('\n');
      }
    }
    return sb.toString();
  }

  private static void keys(StringBuilder sb, Host h, String indent) {
    if (h.capabilities() != null) {
      sb.append(indent).append("capabilities = ").append(array(h.capabilities())).append('\n');
    }
    if (!h.ca().isEmpty()) {
      sb.append(indent).append("ca = ").append(array(h.ca())).append('\n');
    }
    if (!h.client().isEmpty()) {
      List<String> pairs = new ArrayList<>();
      for (List<String> pair : h.client()) {
        pairs.add(array(pair));
      }
      sb.append(indent).append("client = [").append(String.join(", ", pairs)).append("]\n");
    }
    if (h.skipVerify()) {
      sb.append(indent).append("skip_verify = true\n");
    }
    if (h.overridePath()) {
      sb.append(indent).append("override_path = true\n");
    }
    if (h.dialTimeout() != null) {
      sb.append(indent).append("dial_timeout = ").append(str(h.dialTimeout())).append('\n');
    }
  }

  private static String array(List<String> items) {
    List<String> q = new ArrayList<>();
    for (String s : items) {
      q.add(str(s));
    }
    return "[" + String.join(", ", q) + "]";
  }

  /**
   * A TOML 1.0 basic string holding exactly {@code s}, in ASCII: {@code "} and {@code \\} escaped,
   * control characters (U+0000 to U+001F, U+007F) escaped, and every character beyond ASCII written
   * as a {@code \\uXXXX} or {@code \\UXXXXXXXX} escape. Every TOML 1.0 parser (containerd's Go
   * parsers, and the reader {@link #verify} uses) turns these back into the same string, whatever
   * bytes a registry password or token holds, and the file itself is plain ASCII, the same in any
   * encoding. A string with an unpaired UTF-16 surrogate is not Unicode text and has no TOML form;
   * {@link #verify} reports it.
   */
  static String str(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); ) {
      int c = s.codePointAt(i);
      i += Character.charCount(c);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
        case '\r' -> sb.append("\\r");
        default -> {
          if (c < 0x20 || c == 0x7f || (c > 0x7f && c <= 0xffff)) {
            sb.append(String.format("\\u%04X", c));
          } else if (c > 0xffff) {
            sb.append(String.format("\\U%08X", c));
          } else {
            sb.append((char) c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  /**
   * Parses {@code text} with a TOML 1.0 parser ({@link TomlReader}, which reads strings and escapes
   * as containerd's Go parsers do) and checks that it says exactly what this model says, host order
   * included. Returns null when it does, else a description of the first difference that names keys
   * only, never values.
   */
  String verify(String text) {
    if (!text.startsWith(marker + "\n")) {
      return "marker line missing";
    }
    Map<String, Object> expected = expectedMap();
    String notText = notUnicode(expected, "");
    if (notText != null) {
      return "the value of "
          + notText
          + " is not Unicode text (it holds an unpaired UTF-16 surrogate), so it "
          + "cannot be written to a TOML file";
    }
    Map<String, Object> actual;
    try {
      // Our own output: checked whole, up to what the largest accepted policy and a Secret's
      // 1 MiB password (its header appears twice) can render.
      actual = TomlReader.read(text, VERIFY_MAX_CHARS);
    } catch (TomlReader.NotRead e) {
      return "does not parse as TOML" + e.where() + ": " + e.reason;
    }
    if (!expected.equals(actual)) {
      for (String k : expected.keySet()) {
        if (!Objects.equals(expected.get(k), actual.get(k))) {
          return "key " + k + " differs after parsing";
        }
      }
      return "unexpected keys after parsing: " + actual.keySet();
    }
    // tables come back in document order
    Object hostTables = actual.get("host");
    List<String> order = new ArrayList<>();
    if (hostTables instanceof Map) {
      ((Map<?, ?>) hostTables).keySet().forEach(k -> order.add((String) k));
    }
    List<String> want = new ArrayList<>();
    for (Host h : hosts) {
      want.add(h.url());
    }
    return order.equals(want) ? null : "host order differs";
  }

  /** The key path of the first string (key or value) that is not Unicode text, or null. */
  private static String notUnicode(Object v, String path) {
    if (v instanceof String s) {
      return !Utf8.hasLoneSurrogate(s) ? null : path;
    }
    if (v instanceof List) {
      for (Object o : (List<?>) v) {
        String bad = notUnicode(o, path + "[]");
        if (bad != null) {
          return bad;
        }
      }
    }
    if (v instanceof Map) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        String key = (String) e.getKey();
        String shown =
            key.matches("[A-Za-z0-9_-]+")
                ? key
                : !Utf8.hasLoneSurrogate(key) ? str(key) : "(a key)";
        String p = path.isEmpty() ? shown : path + "." + shown;
        if (Utf8.hasLoneSurrogate(key)) {
          return p;
        }
        String bad = notUnicode(e.getValue(), p);
        if (bad != null) {
          return bad;
        }
      }
    }
    return null;
  }

  private Map<String, Object> expectedMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    if (server != null) {
      m.put("server", server);
    }
    if (root != null) {
      m.putAll(hostMap(root));
    }
    Map<String, Object> hostTables = new LinkedHashMap<>();
    for (Host h : hosts) {
      hostTables.put(h.url(), hostMap(h));
    }
    m.put("host", hostTables);
    return m;
  }

  private static Map<String, Object> hostMap(Host h) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (h.capabilities() != null) {
      m.put("capabilities", h.capabilities());
    }
    if (!h.ca().isEmpty()) {
      m.put("ca", h.ca());
    }
    if (!h.client().isEmpty()) {
      m.put("client", h.client());
    }
    if (h.skipVerify()) {
      m.put("skip_verify", true);
    }
    if (h.overridePath()) {
      m.put("override_path", true);
    }
    if (h.dialTimeout() != null) {
      m.put("dial_timeout", h.dialTimeout());
    }
    if (h.authorization() != null) {
      m.put("header", Map.of("Authorization", h.authorization()));
    }
    return m;
  }

  @Override
  public String toString() {
    return "HostsToml[server=" + server + ", root=" + root + ", hosts=" + hosts + "]";
  }
}
