package dev.registrypolicy.common;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One challenge of a {@code WWW-Authenticate} header (RFC 9110 §11.6.1: a scheme, then {@code
 * name=value} or {@code name="quoted"} parameters; several challenges per header allowed):
 * lowercase scheme and parameter names. Read by the agent's registry probe and the controller's
 * registry client, from headers any registry may send: the input is cut to {@link #MAX_HEADER}
 * characters and at most {@link #MAX_CHALLENGES} challenges are kept.
 *
 * @param scheme the scheme, lower case ({@code basic}, {@code bearer})
 * @param params the parameters by lower-case name (the first of a repeated name)
 */
public record AuthChallenge(String scheme, Map<String, String> params) {
  /** Longest header value read; longer ones are cut (a hostile registry could send megabytes). */
  public static final int MAX_HEADER = 8 * 1024;

  /** Most challenges read from all the values together. */
  public static final int MAX_CHALLENGES = 16;

  public AuthChallenge {
    params = Map.copyOf(params);
  }

  /** The parameter {@code name} (lower case), or null. */
  public String param(String name) {
    return params.get(name);
  }

  /** The challenges of every value, in order. */
  public static List<AuthChallenge> parse(List<String> values) {
    List<AuthChallenge> out = new ArrayList<>();
    if (values == null) {
      return out;
    }
    for (String v : values) {
      if (v != null) {
        parse(v.length() > MAX_HEADER ? v.substring(0, MAX_HEADER) : v, out);
      }
    }
    return out;
  }

  private static void parse(String h, List<AuthChallenge> out) {
    int[] pos = {0};
    int n = h.length();
    while (pos[0] < n && out.size() < MAX_CHALLENGES) {
      skip(h, pos, " \t,");
      String scheme = token(h, pos);
      if (scheme.isEmpty()) {
        pos[0]++;
        continue;
      }
      Map<String, String> params = new LinkedHashMap<>();
      while (true) {
        skip(h, pos, " \t");
        int save = pos[0];
        String name = token(h, pos);
        skip(h, pos, " \t");
        if (name.isEmpty() || pos[0] >= n || h.charAt(pos[0]) != '=') {
          pos[0] = save;
          break;
        }
        pos[0]++;
        if (pos[0] >= n || h.charAt(pos[0]) == '=' || h.charAt(pos[0]) == ',') {
          skip(h, pos, "=");
          skip(h, pos, " \t");
          if (pos[0] < n && h.charAt(pos[0]) == ',') {
            pos[0]++;
          }
          break;
        }
        skip(h, pos, " \t");
        String value = pos[0] < n && h.charAt(pos[0]) == '"' ? quoted(h, pos) : token(h, pos);
        params.putIfAbsent(name.toLowerCase(Locale.ROOT), value);
        skip(h, pos, " \t");
        if (pos[0] < n && h.charAt(pos[0]) == ',') {
          pos[0]++;
        } else {
          break;
        }
      }
      out.add(new AuthChallenge(scheme.toLowerCase(Locale.ROOT), params));
    }
  }

  private static void skip(String h, int[] pos, String chars) {
    while (pos[0] < h.length() && chars.indexOf(h.charAt(pos[0])) >= 0) {
      pos[0]++;
    }
  }

  private static String token(String h, int[] pos) {
    int b = pos[0];
    while (pos[0] < h.length() && isTokenChar(h.charAt(pos[0]))) {
      pos[0]++;
    }
    return h.substring(b, pos[0]);
  }

  private static boolean isTokenChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || "!#$%&'*+-.^_`|~/:".indexOf(c) >= 0;
  }

  private static String quoted(String h, int[] pos) {
    StringBuilder sb = new StringBuilder();
    pos[0]++;
    while (pos[0] < h.length()) {
      char c = h.charAt(pos[0]++);
      if (c == '"') {
        return sb.toString();
      }
      if (c == '\\' && pos[0] < h.length()) {
        c = h.charAt(pos[0]++);
      }
      sb.append(c);
    }
    return sb.toString();
  }
}
