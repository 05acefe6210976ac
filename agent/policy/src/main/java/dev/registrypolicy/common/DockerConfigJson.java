package dev.registrypolicy.common;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonReader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code .dockerconfigjson} value, the data of a {@code kubernetes.io/dockerconfigjson} Secret:
 * {@code {"auths": {"<registry>": {"auth": base64(user:password)} | {"username", "password"} |
 * {"registrytoken"}}}}. Reads one (bounded, strict UTF-8), finds the entry for a registry host,
 * builds one, and forms the {@code Authorization} value containerd sends.
 *
 * <p>Registry keys are matched as kubelet's credential keyring matches them: a {@code scheme://}
 * and a path are ignored, the host is compared case-insensitively, label by label, where a label
 * may be a glob ({@code *.corp.example}; {@code *} and {@code ?} within one label), the port must
 * be the same (none matches none), and Docker Hub's names ({@code docker.io}, {@code
 * index.docker.io}, {@code registry-1.docker.io}) are one registry. Several matches are taken in
 * kubelet's order: keys without wildcards first, then by key in reverse order.
 *
 * <p>Passwords are byte strings: {@code :}, backslashes, quotes and any Unicode character work, and
 * the Basic value is formed from the bytes as given. {@link #toString()} and every message show
 * registry keys (redacted by {@link Redact}) only, never a credential.
 */
public final class DockerConfigJson {
  /** The data key of a {@code kubernetes.io/dockerconfigjson} Secret. */
  public static final String KEY = ".dockerconfigjson";

  /** The Secret type whose data is under {@link #KEY}. */
  public static final String TYPE = "kubernetes.io/dockerconfigjson";

  /** The Secret type with {@link #USERNAME_KEY} and {@link #PASSWORD_KEY}. */
  public static final String BASIC_AUTH_TYPE = "kubernetes.io/basic-auth";

  public static final String USERNAME_KEY = "username";
  public static final String PASSWORD_KEY = "password";

  /** Largest value read: a Secret holds at most 1 MiB. */
  public static final int MAX_BYTES = 1 << 20;

  /** Deepest JSON nesting read; the format needs 3. */
  public static final int MAX_DEPTH = 16;

  private final List<Entry> entries;

  private DockerConfigJson(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** A value with these entries, in this order. */
  public static DockerConfigJson of(List<Entry> entries) {
    return new DockerConfigJson(entries);
  }

  /** The entries in the order of the {@code auths} object. */
  public List<Entry> entries() {
    return entries;
  }

  /**
   * Reads a {@code .dockerconfigjson} value.
   *
   * @throws InvalidDockerConfigException if it is larger than {@link #MAX_BYTES}, not UTF-8, not
   *     JSON, nested deeper than {@link #MAX_DEPTH}, or has no {@code auths} object; no other
   *     exception escapes
   */
  public static DockerConfigJson parse(byte[] json) throws InvalidDockerConfigException {
    if (json == null) {
      throw new InvalidDockerConfigException("no " + KEY + " value");
    }
    if (json.length > MAX_BYTES) {
      throw new InvalidDockerConfigException(
          KEY + " is " + json.length + " bytes, more than a Secret holds (" + MAX_BYTES + ")");
    }
    String text;
    try {
      text = Utf8.decode(json);
    } catch (Utf8.MalformedException e) {
      throw new InvalidDockerConfigException(KEY + " is " + e.getMessage());
    }
    JsonElement root;
    try {
      JsonReader reader = new JsonReader(new StringReader(text));
      reader.setNestingLimit(MAX_DEPTH);
      root = JsonParser.parseReader(reader);
    } catch (RuntimeException e) {
      // Gson's messages quote the text, which is a credential: give the position only.
      throw new InvalidDockerConfigException(KEY + " is not valid JSON" + position(e.getMessage()));
    }
    JsonElement auths = root.isJsonObject() ? root.getAsJsonObject().get("auths") : null;
    if (auths == null || !auths.isJsonObject()) {
      throw new InvalidDockerConfigException(KEY + " has no \"auths\" object");
    }
    List<Entry> out = new ArrayList<>();
    for (Map.Entry<String, JsonElement> e : auths.getAsJsonObject().entrySet()) {
      if (!e.getValue().isJsonObject()) {
        throw new InvalidDockerConfigException(
            KEY + ": the auths entry " + Redact.quote(e.getKey()) + " is not an object");
      }
      JsonObject o = e.getValue().getAsJsonObject();
      out.add(
          new Entry(
              e.getKey(),
              string(o, "username"),
              string(o, "password"),
              string(o, "auth"),
              string(o, "identitytoken"),
              string(o, "registrytoken")));
    }
    return new DockerConfigJson(out);
  }

  /** " at line L column C" from a Gson message, which otherwise may quote the input. */
  private static String position(String message) {
    if (message == null) {
      return "";
    }
    int at = message.indexOf(" at line ");
    if (at < 0) {
      return "";
    }
    int end = at + 9;
    while (end < message.length()
        && (Character.isDigit(message.charAt(end)) || message.startsWith(" column ", end))) {
      end += message.startsWith(" column ", end) ? 8 : 1;
    }
    return message.substring(at, end);
  }

  private static String string(JsonObject o, String key) {
    JsonElement e = o.get(key);
    return e != null && e.isJsonPrimitive() && !e.getAsString().isEmpty() ? e.getAsString() : null;
  }

  /**
   * The best entry for registry {@code host} ({@code registry.corp:5000}, {@code docker.io}), if
   * any.
   */
  public Optional<Entry> lookup(String host) {
    List<Entry> m = matching(host);
    return m.isEmpty() ? Optional.empty() : Optional.of(m.get(0));
  }

  /** Every entry whose key matches registry {@code host}, best first (see the class comment). */
  public List<Entry> matching(String host) {
    String want = registryHost(host);
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries) {
      if (matches(registryHost(e.key()), want)) {
        out.add(e);
      }
    }
    out.sort(
        Comparator.comparing(
                (Entry e) ->
                    registryHost(e.key()).indexOf('*') >= 0
                        || registryHost(e.key()).indexOf('?') >= 0)
            .thenComparing(Entry::key, Comparator.reverseOrder()));
    return out;
  }

  /**
   * The registry host an {@code auths} key (or a host) names: {@code https://Index.Docker.IO/v1/}
   * is {@code docker.io}, {@code registry.corp:5000/team} is {@code registry.corp:5000}.
   */
  public static String registryHost(String key) {
    String k = key.trim().toLowerCase(Locale.ROOT);
    int scheme = k.indexOf("://");
    if (scheme >= 0) {
      k = k.substring(scheme + 3);
    }
    int slash = k.indexOf('/');
    if (slash >= 0) {
      k = k.substring(0, slash);
    }
    return k.equals("index.docker.io") || k.equals("registry-1.docker.io") ? "docker.io" : k;
  }

  private static boolean matches(String pattern, String host) {
    int pc = portColon(pattern);
    int hc = portColon(host);
    String pp = pc < 0 ? "" : pattern.substring(pc + 1);
    String hp = hc < 0 ? "" : host.substring(hc + 1);
    if (!pp.equals(hp)) {
      return false;
    }
    String[] pl = (pc < 0 ? pattern : pattern.substring(0, pc)).split("\\.", -1);
    String[] hl = (hc < 0 ? host : host.substring(0, hc)).split("\\.", -1);
    if (pl.length != hl.length) {
      return false;
    }
    for (int i = 0; i < pl.length; i++) {
      if (!labelMatches(pl[i], hl[i])) {
        return false;
      }
    }
    return true;
  }

  private static int portColon(String host) {
    int c = host.lastIndexOf(':');
    return c >= 0 && host.indexOf(']', c) < 0 ? c : -1;
  }

  /**
   * {@code *} (any run) and {@code ?} (one character) within one label; linear backtracking on the
   * last star.
   */
  private static boolean labelMatches(String p, String s) {
    int pi = 0;
    int si = 0;
    int star = -1;
    int mark = 0;
    while (si < s.length()) {
      if (pi < p.length() && (p.charAt(pi) == '?' || p.charAt(pi) == s.charAt(si))) {
        pi++;
        si++;
      } else if (pi < p.length() && p.charAt(pi) == '*') {
        star = pi++;
        mark = si;
      } else if (star >= 0) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.length() && p.charAt(pi) == '*') {
      pi++;
    }
    return pi == p.length();
  }

  /** The JSON text: {@code {"auths":{...}}}, each entry with the fields it has. */
  public byte[] toJson() {
    JsonObject auths = new JsonObject();
    for (Entry e : entries) {
      JsonObject o = new JsonObject();
      if (e.username != null) {
        o.addProperty("username", e.username);
      }
      if (e.password != null) {
        o.addProperty("password", e.password);
      }
      if (e.auth != null) {
        o.addProperty("auth", e.auth);
      }
      if (e.identityToken != null) {
        o.addProperty("identitytoken", e.identityToken);
      }
      if (e.registryToken != null) {
        o.addProperty("registrytoken", e.registryToken);
      }
      auths.add(e.key, o);
    }
    JsonObject root = new JsonObject();
    root.add("auths", auths);
    return root.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** {@code Basic base64(user ":" password)}, from the bytes as given. */
  public static String basicAuthorization(byte[] user, byte[] password) {
    byte[] joined = new byte[user.length + 1 + password.length];
    System.arraycopy(user, 0, joined, 0, user.length);
    joined[user.length] = ':';
    System.arraycopy(password, 0, joined, user.length + 1, password.length);
    return "Basic " + Base64.getEncoder().encodeToString(joined);
  }

  @Override
  public String toString() {
    List<String> keys = new ArrayList<>();
    for (Entry e : entries) {
      keys.add(Redact.value(e.key));
    }
    return "DockerConfigJson[auths=" + keys + "]";
  }

  /**
   * One {@code auths} entry, with the fields it has (null for those it lacks). Equality is by every
   * field; {@link #toString()} shows the key and which fields are set, no values.
   */
  public static final class Entry {
    private final String key;
    private final String username;
    private final String password;
    private final String auth;
    private final String identityToken;
    private final String registryToken;

    /** An entry as written; null or empty fields are absent. */
    public Entry(
        String key,
        String username,
        String password,
        String auth,
        String identityToken,
        String registryToken) {
      this.key = java.util.Objects.requireNonNull(key, "key");
      this.username = emptyToNull(username);
      this.password = emptyToNull(password);
      this.auth = emptyToNull(auth);
      this.identityToken = emptyToNull(identityToken);
      this.registryToken = emptyToNull(registryToken);
    }

    /**
     * A Basic entry for a user name and password: {@code username}, {@code password} and {@code
     * auth}.
     */
    public static Entry basic(String key, String username, String password) {
      String auth =
          Base64.getEncoder()
              .encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
      return new Entry(key, username, password, auth, null, null);
    }

    private static String emptyToNull(String s) {
      return s == null || s.isEmpty() ? null : s;
    }

    public String key() {
      return key;
    }

    public String username() {
      return username;
    }

    public String password() {
      return password;
    }

    public String auth() {
      return auth;
    }

    public String identityToken() {
      return identityToken;
    }

    public String registryToken() {
      return registryToken;
    }

    /**
     * The {@code Authorization} value for this entry: {@code Bearer <registrytoken>}, else {@code
     * Basic} from {@code username} and {@code password}, else from {@code auth} (base64 of {@code
     * user:password}, re-encoded from its bytes).
     *
     * @throws InvalidDockerConfigException when the entry has none of these, {@code auth} is not
     *     base64 of {@code user:password}, or a token holds characters a header cannot carry
     */
    public String authorization() throws InvalidDockerConfigException {
      if (registryToken != null) {
        for (int i = 0; i < registryToken.length(); i++) {
          char c = registryToken.charAt(i);
          if (c <= 0x20 || c >= 0x7f) {
            throw new InvalidDockerConfigException(
                "the auths entry "
                    + Redact.quote(key)
                    + " has a registrytoken with characters an HTTP header cannot carry (spaces, controls or non-ASCII)");
          }
        }
        return "Bearer " + registryToken;
      }
      if (username != null && password != null) {
        if (Utf8.hasLoneSurrogate(username) || Utf8.hasLoneSurrogate(password)) {
          // Encoding it would silently turn the character into "?": a different credential.
          throw new InvalidDockerConfigException(
              "auths entry "
                  + Redact.quote(key)
                  + " has a username or password that is not Unicode text (an unpaired"
                  + " surrogate escape such as \\ud800)");
        }
        return basicAuthorization(
            username.getBytes(StandardCharsets.UTF_8), password.getBytes(StandardCharsets.UTF_8));
      }
      if (auth != null) {
        byte[] decoded;
        try {
          decoded = Base64.getDecoder().decode(auth.trim());
        } catch (IllegalArgumentException e) {
          decoded = null;
        }
        int colon = -1;
        for (int i = 0; decoded != null && i < decoded.length; i++) {
          if (decoded[i] == ':') {
            colon = i;
            break;
          }
        }
        if (colon <= 0) {
          throw new InvalidDockerConfigException(
              "the auths entry "
                  + Redact.quote(key)
                  + " has an \"auth\" that is not base64 of user:password");
        }
        return "Basic " + Base64.getEncoder().encodeToString(decoded);
      }
      throw new InvalidDockerConfigException(
          "the auths entry "
              + Redact.quote(key)
              + " has no auth, username and password, or registrytoken");
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Entry e)) {
        return false;
      }
      return key.equals(e.key)
          && java.util.Objects.equals(username, e.username)
          && java.util.Objects.equals(password, e.password)
          && java.util.Objects.equals(auth, e.auth)
          && java.util.Objects.equals(identityToken, e.identityToken)
          && java.util.Objects.equals(registryToken, e.registryToken);
    }

    @Override
    public int hashCode() {
      return key.hashCode();
    }

    @Override
    public String toString() {
      List<String> set = new ArrayList<>();
      if (username != null) {
        set.add("username");
      }
      if (password != null) {
        set.add("password");
      }
      if (auth != null) {
        set.add("auth");
      }
      if (identityToken != null) {
        set.add("identitytoken");
      }
      if (registryToken != null) {
        set.add("registrytoken");
      }
      return "Entry[key=" + Redact.value(key) + ", set=" + set + "]";
    }
  }
}
