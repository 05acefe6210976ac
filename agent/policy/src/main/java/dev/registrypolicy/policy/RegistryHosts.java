package dev.registrypolicy.policy;

import java.util.Locale;

/**
 * Registry host names as they appear in the policy and as containerd's certs.d directory names. A
 * valid host can never name a path outside certs.d: no {@code /}, no {@code ..}, no whitespace or
 * control characters, nothing but DNS labels, an IPv4 address or a bracketed IPv6 address (by the
 * same rule as image references, {@code ImageRef.isIpv6}), and an optional port. Problems never
 * quote a host holding {@code @}, {@code ?} or {@code #} (user info, query or fragment of a pasted
 * URL).
 */
public final class RegistryHosts {
  /** The canonical domain of Docker Hub, and the URL containerd uses to reach it. */
  public static final String DOCKER_HUB = "docker.io";

  /**
   * Docker Hub's API host. An image or a policy that names it is not on {@code docker.io}:
   * containerd normalizes only {@code index.docker.io} to {@code docker.io} and looks up {@code
   * certs.d/registry-1.docker.io} for it, so the policy keeps it as a host of its own (only
   * blocked-image patterns treat it as Docker Hub too).
   */
  public static final String DOCKER_HUB_API_HOST = "registry-1.docker.io";

  public static final String DOCKER_HUB_API = "https://" + DOCKER_HUB_API_HOST;

  private RegistryHosts() {}

  /**
   * Normalizes a policy host ({@code Docker.IO}, {@code index.docker.io} → {@code docker.io};
   * {@code registry-1.docker.io} stays as it is; {@code Registry.Corp:5000} → {@code
   * registry.corp:5000}) or returns null when it is invalid.
   */
  public static String normalize(String host) {
    if (problem(host) != null) {
      return null;
    }
    return canonicalName(host);
  }

  /**
   * The spelling every part of the policy compares hosts in, without validating: lowercase, and
   * {@code index.docker.io} merged into {@code docker.io}, as containerd does. {@code
   * registry-1.docker.io} is kept: containerd gives it a certs.d directory of its own ({@link
   * #DOCKER_HUB_API_HOST}). Host globs of admission rules ({@code *.Corp}) go through this too.
   */
  public static String canonicalName(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.equals("index.docker.io")) {
      return DOCKER_HUB;
    }
    return h;
  }

  /**
   * Whether a lowercase host (without port) is one of Docker Hub's names an image can be pulled
   * through: {@code docker.io} or {@link #DOCKER_HUB_API_HOST}. Only blocked-image patterns use
   * this: a blocklist must catch every spelling of the same image.
   */
  public static boolean isDockerHubSpelling(String host) {
    return DOCKER_HUB.equals(host) || DOCKER_HUB_API_HOST.equals(host);
  }

  /** Why {@code host} is not a valid registry host, or null if it is. */
  public static String problem(String host) {
    if (host == null || host.isEmpty()) {
      return "must not be empty";
    }
    if (host.length() > MAX_DIRECTORY_NAME) {
      return "too long ("
          + host.length()
          + " characters; a host's certs.d directory name has at most "
          + MAX_DIRECTORY_NAME
          + " bytes)";
    }
    // Never quote a host that looks like it carries user info, a query or a fragment: those
    // parts of a pasted URL can hold passwords and tokens.
    if (host.indexOf('@') >= 0) {
      return "invalid host: must not contain credentials (user info); reference a Secret with credentials";
    }
    if (host.indexOf('?') >= 0 || host.indexOf('#') >= 0) {
      return "invalid host: a host has no query or fragment";
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        return "invalid host "
            + Node.quote(host)
            + ": whitespace, control and non-ASCII characters are not allowed";
      }
      if (c == '/' || c == '\\') {
        return "invalid host "
            + Node.quote(host)
            + ": a host has no path (remove everything from \""
            + c
            + "\" on)";
      }
    }
    String name = host;
    String port = null;
    if (host.startsWith("[")) {
      int close = host.indexOf(']');
      if (close < 0) {
        return "invalid host " + Node.quote(host) + ": unclosed \"[\"";
      }
      if (!ImageRef.isIpv6(host, 1, close)) {
        return "invalid host " + Node.quote(host) + ": " + ImageRef.IPV6_RULE;
      }
      String rest = host.substring(close + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          return "invalid host " + Node.quote(host) + ": unexpected text after \"]\"";
        }
        port = rest.substring(1);
      }
      return port == null
          ? directoryProblem(host, false)
          : portProblem(host, port) != null
              ? portProblem(host, port)
              : directoryProblem(host, true);
    }
    int colon = host.lastIndexOf(':');
    if (colon >= 0) {
      name = host.substring(0, colon);
      port = host.substring(colon + 1);
      String pp = portProblem(host, port);
      if (pp != null) {
        return pp;
      }
    }
    if (name.isEmpty() || name.length() > 253) {
      return "invalid host " + Node.quote(host) + ": name must be 1 to 253 characters";
    }
    for (String label : name.split("\\.", -1)) {
      if (label.isEmpty()) {
        return "invalid host "
            + Node.quote(host)
            + ": empty label (\"..\" or a leading or trailing \".\")";
      }
      if (label.length() > 63) {
        return "invalid host " + Node.quote(host) + ": label longer than 63 characters";
      }
      if (label.startsWith("-") || label.endsWith("-")) {
        return "invalid host " + Node.quote(host) + ": a label must not start or end with \"-\"";
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        if (!(Character.isLetterOrDigit(c) || c == '-')) {
          return "invalid host "
              + Node.quote(host)
              + ": character "
              + Node.quote(String.valueOf(c))
              + " not allowed";
        }
      }
    }
    return directoryProblem(host, port != null);
  }

  /** Longest file name (in bytes) Linux file systems allow: a host's certs.d directory must fit. */
  public static final int MAX_DIRECTORY_NAME = 255;

  /**
   * The certs.d directory names containerd looks up for {@code host}, first to last: for a host
   * with a port, {@code host_port_} first ({@code registry.corp_5000_}), then the host itself.
   */
  public static java.util.List<String> directoryNames(String host) {
    int colon = host.lastIndexOf(':');
    if (colon > 0 && host.indexOf(']', colon) < 0) {
      return java.util.List.of(
          host.substring(0, colon) + "_" + host.substring(colon + 1) + "_", host);
    }
    return java.util.List.of(host);
  }

  /** Why the certs.d directory names of a valid host would not fit a file name, or null. */
  private static String directoryProblem(String host, boolean hasPort) {
    int longest = host.length() + (hasPort ? 1 : 0); // ASCII only by now: characters are bytes
    if (longest > MAX_DIRECTORY_NAME) {
      return "too long for a certs.d directory name: containerd looks up "
          + (hasPort ? "\"host_port_\"" : "the host")
          + ", "
          + longest
          + " bytes here, and a file name has at most "
          + MAX_DIRECTORY_NAME;
    }
    return null;
  }

  private static String portProblem(String host, String port) {
    if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return "invalid host " + Node.quote(host) + ": port must be a number from 1 to 65535";
    }
    int p = Integer.parseInt(port);
    if (p < 1 || p > 65535) {
      return "invalid host " + Node.quote(host) + ": port must be a number from 1 to 65535";
    }
    return null;
  }

  /**
   * The URL containerd uses for a registry host when it is not a mirror: Docker Hub's API host or
   * {@code https://host}.
   */
  public static String upstreamUrl(String host) {
    return DOCKER_HUB.equals(host) ? DOCKER_HUB_API : "https://" + host;
  }
}
