package dev.registrypolicy.policy;

import dev.registrypolicy.common.GoDuration;
import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.common.Redact;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses {@code policy.yaml} into an immutable {@link Policy}, reporting every problem at once with
 * its path. The text is read into plain maps and lists (no reflection binding) and mapped to
 * records by hand.
 */
public final class PolicyParser {
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern SECRET_KEY = Pattern.compile("[-._a-zA-Z0-9]{1,253}");
  private static final Pattern LABEL_NAME =
      Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)");
  private static final Pattern LABEL_VALUE =
      Pattern.compile("(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)");
  private static final Pattern QUANTITY = Pattern.compile("(\\d+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?");

  /**
   * Besides letters and digits: what an image name glob may hold (":" only for a registry port).
   */
  /** Longest glob for an image name or host: names have at most 255 characters. */
  static final int MAX_NAME_PATTERN = 255;

  /** Longest glob for a tag: tags have at most 128 characters. */
  static final int MAX_TAG_PATTERN = 128;

  private static final String NAME_GLOB_CHARS = "._-/:*?";
  private static final String TAG_GLOB_CHARS = "._-*?";
  private static final String HOST_GLOB_CHARS = ".-[]:*?";
  private static final String INLINE_SECRET_HINT =
      "inline credentials are not allowed; put them in a Secret and reference it with \"secret\"";

  private PolicyParser() {}

  /** Parses policy text; throws with every problem found. */
  public static Policy parse(String text) throws PolicyException {
    List<Problem> problems = new ArrayList<>();
    Object root = Yaml.loadOne(text, "", problems);
    return parse(text, root, problems);
  }

  /**
   * Interprets {@code root}, the tree {@link Yaml} loaded from {@code text} (a bare policy file).
   */
  static Policy parse(String text, Object root) throws PolicyException {
    List<Problem> problems = new ArrayList<>();
    if (Yaml.utf8Length(text, PolicyLimits.MAX_POLICY_BYTES) > PolicyLimits.MAX_POLICY_BYTES) {
      problems.add(
          new Problem(
              "",
              "too large: "
                  + PolicyLimits.moreThan(PolicyLimits.MAX_POLICY_BYTES)
                  + " of policy text; nothing was parsed"));
      throw new PolicyException(problems);
    }
    return parse(text, root, problems);
  }

  private static Policy parse(String text, Object root, List<Problem> problems)
      throws PolicyException {
    Policy policy = root == null ? null : new PolicyParser.Run(problems).policy(root, sha256(text));
    if (!problems.isEmpty() || policy == null) {
      if (problems.isEmpty()) {
        problems.add(new Problem("", "the policy is empty (no YAML document)"));
      }
      problems.sort(null);
      throw new PolicyException(capped(problems));
    }
    return policy;
  }

  /** Most problems one exception lists; the rest are counted in a last line. */
  static final int MAX_PROBLEMS = 200;

  private static List<Problem> capped(List<Problem> sorted) {
    if (sorted.size() <= MAX_PROBLEMS) {
      return sorted;
    }
    List<Problem> out = new ArrayList<>(sorted.subList(0, MAX_PROBLEMS));
    out.add(
        new Problem(
            "", "... and " + (sorted.size() - MAX_PROBLEMS) + " more problems (fix these first)"));
    return out;
  }

  static String sha256(String text) {
    return dev.registrypolicy.common.Hashes.sha256Hex(text);
  }

  /** One parse: holds the problem list and what later sections check references against. */
  private static final class Run {
    private final List<Problem> problems;
    private final Map<String, String> credentialPaths = new HashMap<>();
    private final List<String[]> credentialUses = new ArrayList<>(); // {path, name}

    Run(List<Problem> problems) {
      this.problems = problems;
    }

    Policy policy(Object root, String sha) {
      Node n = Node.of("", root, problems);
      if (n == null) {
        return null;
      }
      String apiVersion = n.string("apiVersion", true);
      if (apiVersion != null && !Policy.API_VERSION.equals(apiVersion)) {
        n.problem(
            "apiVersion",
            "unsupported version " + Node.quote(apiVersion) + " (want " + Policy.API_VERSION + ")");
      }
      String kind = n.string("kind", true);
      if (kind != null && !Policy.KIND.equals(kind)) {
        n.problem("kind", "must be " + Policy.KIND + ", found " + Node.quote(kind));
      }
      List<CredentialRef> credentials = credentials(n);
      List<Registry> registries = registries(n);
      List<AccessGrant> access = access(n);
      Admission admission = n.has("admission") ? admission(n.node("admission")) : Admission.NONE;
      n.finish(
          "metadata",
          "the policy is the ConfigMap's policy.yaml; metadata belongs to the ConfigMap");
      for (String[] use : credentialUses) {
        if (!credentialPaths.containsKey(use[1])) {
          problems.add(
              new Problem(
                  use[0], "unknown credentials " + Node.quote(use[1]) + " (not in credentials)"));
        }
      }
      if (!problems.isEmpty()) {
        return null;
      }
      return new Policy(
          apiVersion,
          registries,
          credentials,
          access,
          admission == null ? Admission.NONE : admission,
          sha);
    }

    // ---- credentials ------------------------------------------------------------------------

    List<CredentialRef> credentials(Node parent) {
      List<CredentialRef> out = new ArrayList<>();
      List<Object> items = parent.list("credentials", PolicyLimits.MAX_CREDENTIALS);
      for (int i = 0; i < items.size(); i++) {
        String path = "credentials[" + i + "]";
        Node c = Node.of(path, items.get(i), problems);
        if (c == null) {
          continue;
        }
        String name = dnsLabel(c, "name");
        String secret = secretName(c, "secret");
        String registry = c.string("registry", false);
        if (registry != null && RegistryHosts.problem(registry) != null) {
          c.problem("registry", RegistryHosts.problem(registry));
          registry = null;
        }
        c.finish(
            "password",
            INLINE_SECRET_HINT,
            "username",
            INLINE_SECRET_HINT,
            "auth",
            INLINE_SECRET_HINT,
            "token",
            INLINE_SECRET_HINT,
            "secretName",
            "use \"secret\"");
        if (name != null && credentialPaths.putIfAbsent(name, path) != null) {
          c.problem(
              "name",
              "duplicate credentials name "
                  + Node.quote(name)
                  + " (also at "
                  + credentialPaths.get(name)
                  + ")");
        }
        if (secret != null) {
          for (String key : NodeCredentialsBundle.CREDENTIAL_KEYS) {
            if (!fitsBundle(c, "secret", secret, key)) {
              secret = null;
              break;
            }
          }
        }
        if (name != null && secret != null) {
          out.add(
              new CredentialRef(
                  name, secret, registry == null ? null : RegistryHosts.normalize(registry)));
        }
      }
      return out;
    }

    // ---- registries -------------------------------------------------------------------------

    List<Registry> registries(Node parent) {
      List<Registry> out = new ArrayList<>();
      Map<String, String> seenHosts = new HashMap<>();
      List<Object> items = parent.list("registries", PolicyLimits.MAX_REGISTRIES);
      for (int i = 0; i < items.size(); i++) {
        String path = "registries[" + i + "]";
        Node r = Node.of(path, items.get(i), problems);
        if (r == null) {
          continue;
        }
        String rawHost = r.string("host", true);
        String host = null;
        if (rawHost != null) {
          if (Registry.CATCH_ALL.equals(rawHost)) {
            host = Registry.CATCH_ALL;
          } else if (RegistryHosts.problem(rawHost) != null) {
            r.problem(
                "host",
                RegistryHosts.problem(rawHost)
                    + (rawHost.contains("://")
                        ? " (write the host only, e.g. \"registry.example.com:5000\")"
                        : ""));
          } else {
            host = RegistryHosts.normalize(rawHost);
          }
        }
        if (host != null && seenHosts.putIfAbsent(host, path) != null) {
          r.problem(
              "host",
              "duplicate registry " + Node.quote(host) + " (also at " + seenHosts.get(host) + ")");
        }
        UpstreamMode mode = UpstreamMode.FALLBACK;
        String upstream = r.string("upstream", false);
        if (upstream != null) {
          if (upstream.equals("Fallback")) {
            mode = UpstreamMode.FALLBACK;
          } else if (upstream.equals("Never")) {
            mode = UpstreamMode.NEVER;
          } else {
            r.problem("upstream", "must be Fallback or Never, found " + Node.quote(upstream));
          }
        }
        URI upstreamUrl = null;
        if (r.has("url")) {
          if (Registry.CATCH_ALL.equals(host)) {
            r.problem("url", "the catch-all registry \"*\" has no URL of its own");
          } else {
            upstreamUrl = url(r, "url");
          }
        } else if (host != null && !Registry.CATCH_ALL.equals(host)) {
          upstreamUrl = uri(r, "host", RegistryHosts.upstreamUrl(host));
        }
        Endpoint upstreamEndpoint =
            endpointSettings(r, upstreamUrl, EnumSet.allOf(Capability.class), false, false);
        List<Endpoint> mirrors = new ArrayList<>();
        List<Object> ms = r.list("mirrors", PolicyLimits.MAX_MIRRORS);
        Set<URI> seenMirrors = new HashSet<>();
        for (int j = 0; j < ms.size(); j++) {
          Node m = Node.of(path + ".mirrors[" + j + "]", ms.get(j), problems);
          if (m == null) {
            continue;
          }
          URI u = url(m, "url");
          if (u == null && !m.has("url")) {
            // url() already reported it
          }
          if (u != null && !seenMirrors.add(u)) {
            m.problem("url", "duplicate mirror " + Node.quote(u.toString()));
          }
          if (u != null && upstreamUrl != null && u.equals(upstreamUrl)) {
            m.problem(
                "url",
                "the upstream registry itself is not a mirror (it is tried last unless upstream is Never)");
          }
          Set<Capability> caps = capabilities(m);
          Endpoint e = endpointSettings(m, u, caps, true, true);
          m.finish(
              "server",
              "hosts.toml's server is the registry's url",
              "insecure",
              "use skipVerify",
              "insecureSkipVerify",
              "use skipVerify",
              "client",
              "use clientCert",
              "caFile",
              "use ca");
          if (e != null) {
            mirrors.add(e);
          }
        }
        if (mode == UpstreamMode.NEVER && ms.isEmpty()) {
          r.problem(
              "upstream", "Never needs at least one mirror (the registry would be unreachable)");
        }
        r.finish(
            "endpoint",
            "use mirrors",
            "endpoints",
            "use mirrors",
            "mirror",
            "use mirrors",
            "server",
            "use url",
            "insecure",
            "use skipVerify",
            "capabilities",
            "the registry itself always has every capability; set capabilities on mirrors");
        if (host != null
            && upstreamEndpoint != null
            && mirrors.size() == ms.size()
            && !(mode == UpstreamMode.NEVER && mirrors.isEmpty())) {
          out.add(new Registry(host, mode, mirrors, upstreamEndpoint));
        }
      }
      return out;
    }

    private Set<Capability> capabilities(Node m) {
      if (!m.has("capabilities")) {
        return EnumSet.of(Capability.PULL, Capability.RESOLVE);
      }
      Set<Capability> caps = EnumSet.noneOf(Capability.class);
      for (Node.Item item : m.strings("capabilities")) {
        String c = item.value();
        switch (c) {
          case "pull" -> caps.add(Capability.PULL);
          case "resolve" -> caps.add(Capability.RESOLVE);
          case "push" -> caps.add(Capability.PUSH);
          default ->
              problems.add(
                  new Problem(
                      item.path(),
                      "unknown capability " + Node.quote(c) + " (want pull, resolve or push)"));
        }
      }
      if (caps.isEmpty()
          && problems.stream().noneMatch(p -> p.path().startsWith(m.child("capabilities")))) {
        m.problem("capabilities", "must not be empty (want some of pull, resolve, push)");
      }
      return caps;
    }

    /** Settings shared by mirrors and the upstream endpoint; returns null if the URL was bad. */
    private Endpoint endpointSettings(
        Node n, URI url, Set<Capability> caps, boolean urlRequired, boolean allowOverridePath) {
      boolean overridePath = allowOverridePath && n.bool("overridePath", false);
      String dial = n.string("dialTimeout", false);
      if (n.raw("dialTimeout") != null && !(n.raw("dialTimeout") instanceof String)) {
        problems.removeIf(p -> p.path().equals(n.child("dialTimeout")));
        n.problem(
            "dialTimeout",
            "must be a duration string such as \"500ms\" or \"2s\", found "
                + Node.typeName(n.raw("dialTimeout")));
      } else if (dial != null) {
        try {
          if (GoDuration.parse(dial) <= 0) {
            n.problem("dialTimeout", "must be longer than zero, found " + Node.quote(dial));
            dial = null;
          }
        } catch (GoDuration.InvalidDurationException e) {
          n.problem("dialTimeout", e.getMessage());
          dial = null;
        }
      }
      List<SecretKeyRef> ca = new ArrayList<>();
      Object caRaw = n.raw("ca");
      if (caRaw instanceof List && ((List<?>) caRaw).size() > PolicyLimits.MAX_CAS) {
        n.problem(
            "ca",
            "too many items ("
                + ((List<?>) caRaw).size()
                + ", at most "
                + PolicyLimits.MAX_CAS
                + ")");
      } else if (caRaw instanceof List) {
        List<?> l = (List<?>) caRaw;
        for (int i = 0; i < l.size(); i++) {
          SecretKeyRef ref = secretKeyRef(n.child("ca") + "[" + i + "]", l.get(i), "ca.crt");
          if (ref != null) {
            ca.add(ref);
          }
        }
      } else if (caRaw != null) {
        SecretKeyRef ref = secretKeyRef(n.child("ca"), caRaw, "ca.crt");
        if (ref != null) {
          ca.add(ref);
        }
      }
      ClientCertRef client = null;
      Node cc = n.node("clientCert");
      if (cc != null) {
        String secret = secretName(cc, "secret");
        String certKey = secretKey(cc, "certKey", "tls.crt");
        String keyKey = secretKey(cc, "keyKey", "tls.key");
        cc.finish(
            "key", "use keyKey (a key of the Secret)", "cert", "use certKey (a key of the Secret)");
        if (secret != null
            && certKey != null
            && keyKey != null
            && fitsBundle(cc, cc.has("certKey") ? "certKey" : "secret", secret, certKey)
            && fitsBundle(cc, cc.has("keyKey") ? "keyKey" : "secret", secret, keyKey)) {
          client =
              new ClientCertRef(
                  new SecretKeyRef(secret, certKey), new SecretKeyRef(secret, keyKey));
        }
      }
      boolean skipVerify = n.bool("skipVerify", false);
      String cred = n.string("credentials", false);
      if (cred != null) {
        credentialUses.add(new String[] {n.child("credentials"), cred});
      }
      if (url != null && "http".equals(url.getScheme())) {
        if (cred != null && !isLoopback(url.getHost())) {
          n.problem(
              "credentials",
              "an http:// URL would send the credentials' Authorization header unencrypted"
                  + " over the network (use https://, or remove credentials; only loopback hosts may take them over http://)");
        }
        if (!ca.isEmpty()) {
          n.problem(
              "ca",
              "has no effect on an http:// URL, which uses no TLS (use https:// or remove ca)");
        }
        if (client != null) {
          n.problem(
              "clientCert",
              "has no effect on an http:// URL, which uses no TLS (use https:// or remove clientCert)");
        }
        if (skipVerify) {
          n.problem(
              "skipVerify",
              "has no effect on an http:// URL, which uses no TLS (use https:// or remove skipVerify)");
        }
      }
      if (url == null && urlRequired) {
        return null;
      }
      if (caps.isEmpty()) {
        return null;
      }
      return new Endpoint(url, caps, overridePath, dial, ca, client, skipVerify, cred);
    }

    private SecretKeyRef secretKeyRef(String path, Object raw, String defaultKey) {
      if (raw instanceof String) {
        problems.add(
            new Problem(
                path,
                "must reference a Secret key, e.g. {secret: corp-ca, key: "
                    + defaultKey
                    + "}; file paths and inline certificates are not allowed"));
        return null;
      }
      Node n = Node.of(path, raw, problems);
      if (n == null) {
        return null;
      }
      String secret = secretName(n, "secret");
      String key = secretKey(n, "key", defaultKey);
      n.finish("secretName", "use secret", "configMap", "CAs are read from Secrets");
      return secret == null
              || key == null
              || !fitsBundle(n, n.has("key") ? "key" : "secret", secret, key)
          ? null
          : new SecretKeyRef(secret, key);
    }

    private URI url(Node n, String key) {
      String s = n.string(key, true);
      if (s == null) {
        return null;
      }
      // Checked on the text before java.net.URI reads it: URI takes an authority it cannot parse as
      // a server (say with "_" in the host) as registry-based and reports no user info in it. User
      // info, query and fragment can hold passwords and tokens, so they are never quoted. Any "@"
      // counts: an unencoded "/" in a password would otherwise end the authority before it.
      if (s.indexOf('@') >= 0) {
        n.problem(
            key,
            "URL must not contain credentials (user info, not shown here); reference a Secret with credentials");
        return null;
      }
      if (s.indexOf('?') >= 0 || s.indexOf('#') >= 0) {
        n.problem(key, "URL must not have a query or fragment (not shown here)");
        return null;
      }
      URI u;
      try {
        u = new URI(s);
      } catch (URISyntaxException e) {
        n.problem(key, "invalid URL " + Node.quote(Redact.value(s)) + ": " + e.getReason());
        return null;
      }
      String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
      if (scheme == null) {
        n.problem(
            key, "URL " + Node.quote(Redact.value(s)) + " has no scheme (want http or https)");
        return null;
      }
      if (!scheme.equals("http") && !scheme.equals("https")) {
        n.problem(key, "scheme " + Node.quote(scheme) + " not allowed (want http or https)");
        return null;
      }
      if (u.getRawUserInfo() != null) {
        n.problem(
            key,
            "URL must not contain credentials (user info, not shown here); reference a Secret with credentials");
        return null;
      }
      if (u.getRawQuery() != null || u.getRawFragment() != null) {
        n.problem(key, "URL must not have a query or fragment (not shown here)");
        return null;
      }
      String authority = u.getRawAuthority();
      String hp = authority == null ? null : RegistryHosts.problem(authority);
      if (authority == null || hp != null) {
        n.problem(
            key,
            "URL " + Node.quote(Redact.value(s)) + ": " + (authority == null ? "no host" : hp));
        return null;
      }
      String path = u.getRawPath() == null ? "" : u.getRawPath();
      if (path.contains("/../") || path.endsWith("/..") || path.contains("//")) {
        n.problem(key, "URL " + Node.quote(Redact.value(s)) + " has an unusual path");
        return null;
      }
      while (path.endsWith("/")) {
        path = path.substring(0, path.length() - 1);
      }
      return uri(n, key, scheme + "://" + authority.toLowerCase(Locale.ROOT) + path);
    }

    /**
     * A URI from text the parser checked; should java.net.URI still refuse it, a problem at the
     * key.
     */
    private URI uri(Node n, String key, String text) {
      try {
        return new URI(text);
      } catch (URISyntaxException e) {
        n.problem(
            key, "cannot form a URL from " + Node.quote(Redact.value(text)) + ": " + e.getReason());
        return null;
      }
    }

    // ---- access grants ----------------------------------------------------------------------

    List<AccessGrant> access(Node parent) {
      List<AccessGrant> out = new ArrayList<>();
      Map<String, String> names = new HashMap<>();
      Map<String, String> secretNames = new HashMap<>();
      List<Object> items = parent.list("access", PolicyLimits.MAX_GRANTS);
      for (int i = 0; i < items.size(); i++) {
        String path = "access[" + i + "]";
        Node g = Node.of(path, items.get(i), problems);
        if (g == null) {
          continue;
        }
        String name = dnsLabel(g, "name");
        List<String> creds = new ArrayList<>();
        Object rawCreds = g.raw("credentials");
        if (rawCreds instanceof String credsName) {
          creds.add(credsName);
          credentialUses.add(new String[] {g.child("credentials"), credsName});
        } else if (rawCreds == null) {
          g.problem("credentials", "required (the credentials this grant hands out)");
        } else {
          for (Node.Item item : g.strings("credentials")) {
            creds.add(item.value());
            credentialUses.add(new String[] {item.path(), item.value()});
          }
          if (creds.isEmpty() && rawCreds instanceof List && ((List<?>) rawCreds).isEmpty()) {
            g.problem("credentials", "must not be empty");
          }
        }
        String secretName;
        if (g.has("secretName")) {
          secretName = secretName(g, "secretName");
        } else {
          secretName = name == null ? null : "registry-policy-" + name;
        }
        NamespaceSelector ns = g.has("namespaces") ? namespaceSelector(g.node("namespaces")) : null;
        if (!g.has("namespaces")) {
          g.problem("namespaces", "required (use {} to grant every namespace)");
        }
        ServiceAccountSelector sas = serviceAccounts(g);
        g.finish(
            "namespace",
            "use namespaces",
            "serviceAccount",
            "use serviceAccounts",
            "secret",
            "use secretName");
        if (name != null && names.putIfAbsent(name, path) != null) {
          g.problem(
              "name",
              "duplicate access grant " + Node.quote(name) + " (also at " + names.get(name) + ")");
        }
        if (secretName != null && secretNames.putIfAbsent(secretName, path) != null) {
          g.problem(
              "secretName",
              "Secret name "
                  + Node.quote(secretName)
                  + " is also used by "
                  + secretNames.get(secretName));
        }
        if (name != null && secretName != null && ns != null && sas != null && !creds.isEmpty()) {
          out.add(new AccessGrant(name, creds, secretName, ns, sas));
        }
      }
      return out;
    }

    private ServiceAccountSelector serviceAccounts(Node g) {
      Object raw = g.raw("serviceAccounts");
      if (raw == null || "default".equals(raw)) {
        return ServiceAccountSelector.DEFAULT;
      }
      if ("all".equals(raw)) {
        return ServiceAccountSelector.ALL;
      }
      if ("none".equals(raw)) {
        return ServiceAccountSelector.NONE;
      }
      if (raw instanceof List) {
        Set<String> names = new LinkedHashSet<>();
        for (Node.Item item : g.strings("serviceAccounts")) {
          if (!isDnsSubdomain(item.value())) {
            problems.add(
                new Problem(
                    item.path(), "invalid ServiceAccount name " + Node.quote(item.value())));
          } else {
            names.add(item.value());
          }
        }
        return new ServiceAccountSelector(false, names);
      }
      g.problem(
          "serviceAccounts",
          "must be \"default\", \"all\", \"none\" or a list of ServiceAccount names, found "
              + (raw instanceof String s ? Node.quote(s) : Node.typeName(raw)));
      return null;
    }

    NamespaceSelector namespaceSelector(Node n) {
      if (n == null) {
        return null;
      }
      Set<String> names = namespaceNames(n, "names");
      Set<String> exclude = namespaceNames(n, "exclude");
      LabelSelector selector = n.has("selector") ? labelSelector(n.node("selector")) : null;
      n.finish(
          "matchLabels",
          "put it under selector",
          "matchExpressions",
          "put it under selector",
          "excluded",
          "use exclude",
          "namespaces",
          "use names");
      return new NamespaceSelector(names, selector, exclude);
    }

    private Set<String> namespaceNames(Node n, String key) {
      Set<String> out = new LinkedHashSet<>();
      for (Node.Item item : n.strings(key)) {
        if (!DNS_LABEL.matcher(item.value()).matches()) {
          problems.add(
              new Problem(item.path(), "invalid namespace name " + Node.quote(item.value())));
        } else {
          out.add(item.value());
        }
      }
      return out;
    }

    private LabelSelector labelSelector(Node n) {
      if (n == null) {
        return null;
      }
      Map<String, String> labels = new LinkedHashMap<>();
      Node ml = n.node("matchLabels");
      if (ml != null) {
        Object raw = n.raw("matchLabels");
        for (Map.Entry<?, ?> e : ((Map<?, ?>) raw).entrySet()) {
          String k = String.valueOf(e.getKey());
          Object v = e.getValue();
          String vs =
              v instanceof String s
                  ? s
                  : v instanceof Boolean || v instanceof Number ? String.valueOf(v) : null;
          String kp = labelKeyProblem(k);
          if (kp != null) {
            ml.problem(k, kp);
          } else if (vs == null || !LABEL_VALUE.matcher(vs).matches()) {
            ml.problem(
                k, "invalid label value " + (vs == null ? Node.typeName(v) : Node.quote(vs)));
          } else {
            labels.put(k, vs);
          }
          ml.raw(k);
        }
      }
      List<LabelSelector.Requirement> reqs = new ArrayList<>();
      List<Object> exprs = n.list("matchExpressions");
      for (int i = 0; i < exprs.size(); i++) {
        Node e = Node.of(n.child("matchExpressions") + "[" + i + "]", exprs.get(i), problems);
        if (e == null) {
          continue;
        }
        String key = e.string("key", true);
        if (key != null && labelKeyProblem(key) != null) {
          e.problem("key", labelKeyProblem(key));
          key = null;
        }
        String opName = e.string("operator", true);
        LabelSelector.Operator op = opName == null ? null : LabelSelector.Operator.fromWire(opName);
        if (opName != null && op == null) {
          e.problem(
              "operator", "must be In, NotIn, Exists or DoesNotExist, found " + Node.quote(opName));
        }
        // Values are label values, as in matchLabels (the empty string included, as Kubernetes has
        // it).
        List<String> values = new ArrayList<>();
        boolean badValue = false;
        for (Node.Item item : e.strings("values", true)) {
          if (LABEL_VALUE.matcher(item.value()).matches()) {
            values.add(item.value());
          } else {
            problems.add(
                new Problem(item.path(), "invalid label value " + Node.quote(item.value())));
            badValue = true;
          }
        }
        if (badValue) {
          op = null; // already wrong at its items; without them the requirement would select
          // otherwise
        } else if (op == LabelSelector.Operator.IN || op == LabelSelector.Operator.NOT_IN) {
          if (values.isEmpty()) {
            e.problem("values", "required and non-empty for " + opName);
          }
        } else if (op != null && !values.isEmpty()) {
          e.problem("values", "must be empty for " + opName);
        }
        e.finish();
        if (key != null && op != null) {
          reqs.add(new LabelSelector.Requirement(key, op, new LinkedHashSet<>(values)));
        }
      }
      n.finish();
      return new LabelSelector(labels, reqs);
    }

    private String labelKeyProblem(String k) {
      int slash = k.indexOf('/');
      String prefix = slash < 0 ? null : k.substring(0, slash);
      String name = slash < 0 ? k : k.substring(slash + 1);
      if ((prefix != null && !isDnsSubdomain(prefix)) || !LABEL_NAME.matcher(name).matches()) {
        return "invalid label key " + Node.quote(k);
      }
      return null;
    }

    // ---- admission --------------------------------------------------------------------------

    Admission admission(Node a) {
      if (a == null) {
        return null;
      }
      AdmissionMode mode = mode(a, AdmissionMode.DENY);
      boolean exemptGiven = a.has("exemptNamespaces");
      Set<String> exempt = namespaceNames(a, "exemptNamespaces");
      boolean requireGrant = a.bool("requireGrantForNodeCredentials", false);
      List<AllowedSource> sources = new ArrayList<>();
      List<Object> items = a.list("allowedSources", PolicyLimits.MAX_ALLOWED_SOURCES);
      for (int i = 0; i < items.size(); i++) {
        Node s = Node.of(a.child("allowedSources") + "[" + i + "]", items.get(i), problems);
        if (s == null) {
          continue;
        }
        String prefixText = s.string("prefix", true);
        RepositoryPrefix prefix = null;
        if (prefixText != null) {
          try {
            prefix = RepositoryPrefix.parse(prefixText);
          } catch (InvalidImageRefException e) {
            s.problem("prefix", e.getMessage());
          }
        }
        NamespaceSelector scope = NamespaceSelector.ALL;
        Object rawScope = s.raw("scope");
        if (rawScope != null && !"Global".equals(rawScope)) {
          if (rawScope instanceof String scopeName) {
            s.problem(
                "scope", "must be Global or a namespace selector, found " + Node.quote(scopeName));
          } else {
            scope = namespaceSelector(s.node("scope"));
          }
        }
        s.finish(
            "namespaces",
            "use scope: {names: [...]}",
            "url",
            "use prefix",
            "registry",
            "use prefix");
        if (prefix != null && scope != null) {
          sources.add(new AllowedSource(prefix, scope));
        }
      }
      List<AdmissionRule> rules = new ArrayList<>();
      Set<String> ruleNames = new HashSet<>();
      List<Object> ritems = a.list("rules", PolicyLimits.MAX_RULES);
      for (int i = 0; i < ritems.size(); i++) {
        Node r = Node.of(a.child("rules") + "[" + i + "]", ritems.get(i), problems);
        if (r == null) {
          continue;
        }
        AdmissionRule rule = rule(r);
        if (rule != null && !ruleNames.add(rule.name())) {
          r.problem("name", "duplicate rule name " + Node.quote(rule.name()));
        }
        if (rule != null) {
          rules.add(rule);
        }
      }
      a.finish(
          "allowedRegistries",
          "use allowedSources",
          "exempt",
          "use exemptNamespaces",
          "validationActions",
          "use mode",
          "enforcementAction",
          "use mode");
      return new Admission(mode, exempt, exemptGiven, sources, rules, requireGrant);
    }

    private AdmissionMode mode(Node n, AdmissionMode dflt) {
      String m = n.string("mode", false);
      if (m == null) {
        return dflt;
      }
      AdmissionMode mode = AdmissionMode.fromWire(m);
      if (mode == null) {
        n.problem("mode", "must be Deny, Warn or Audit, found " + Node.quote(m));
        return dflt;
      }
      return mode;
    }

    private AdmissionRule rule(Node r) {
      String name = dnsLabel(r, "name");
      AdmissionMode mode = r.has("mode") ? mode(r, null) : null;
      NamespaceSelector scope =
          r.has("namespaces") ? namespaceSelector(r.node("namespaces")) : NamespaceSelector.ALL;
      boolean requireDigest = r.bool("requireDigest", false);
      boolean blockLatest = r.bool("blockLatestTag", false);
      boolean blockUntagged = r.bool("blockUntagged", false);
      List<AdmissionRule.NameTagPattern> nameTags = new ArrayList<>();
      List<Object> nt = r.list("allowedNameTags", PolicyLimits.MAX_PATTERNS);
      for (int i = 0; i < nt.size(); i++) {
        Node p = Node.of(r.child("allowedNameTags") + "[" + i + "]", nt.get(i), problems);
        if (p == null) {
          continue;
        }
        String nm = pattern(p, "name", true, MAX_NAME_PATTERN);
        String tag = pattern(p, "tag", false, MAX_TAG_PATTERN);
        if (nm != null && (nm.contains("@") || !globChars(nm, NAME_GLOB_CHARS))) {
          p.problem(
              "name",
              "invalid name pattern "
                  + Node.quote(nm)
                  + " (want lowercase letters, digits, \".\", \"_\", \"-\", \"/\", a \":\" before a port, and the wildcards * and ?)");
          nm = null;
        } else if (nm != null && hasTagPart(nm)) {
          p.problem("name", "name pattern " + Node.quote(nm) + " has a tag (put it under tag)");
          nm = null;
        }
        p.finish("image", "use name", "tags", "use tag");
        if (tag != null && !globChars(tag, TAG_GLOB_CHARS)) {
          p.problem(
              "tag",
              "invalid tag pattern "
                  + Node.quote(tag)
                  + " (want letters, digits, \".\", \"_\", \"-\" and the wildcards * and ?)");
          nm = null;
        }
        if (nm != null) {
          nameTags.add(
              new AdmissionRule.NameTagPattern(
                  Glob.of(AdmissionRule.NameTagPattern.normalizeName(nm)),
                  tag == null ? null : Glob.of(tag)));
        }
      }
      List<AdmissionRule.BlockedImage> blocked = new ArrayList<>();
      List<Object> bl = r.list("blockedImages", PolicyLimits.MAX_PATTERNS);
      for (int i = 0; i < bl.size(); i++) {
        Node b = Node.of(r.child("blockedImages") + "[" + i + "]", bl.get(i), problems);
        if (b == null) {
          continue;
        }
        String host = pattern(b, "host", false, MAX_NAME_PATTERN);
        Integer port = null;
        Object rawPort = b.raw("port");
        if (rawPort instanceof Integer p && p >= 1 && p <= 65535) {
          port = p;
        } else if (rawPort != null) {
          b.problem("port", "must be a number from 1 to 65535");
        }
        if (host != null && (host.startsWith("[") ? host.contains("]:") : host.contains(":"))) {
          b.problem("host", "host " + Node.quote(host) + " has a port (put it under port)");
        } else if (host != null && !globChars(host, HOST_GLOB_CHARS)) {
          b.problem(
              "host",
              "invalid host pattern "
                  + Node.quote(host)
                  + " (want letters, digits, \".\", \"-\", brackets of an IPv6 address and the wildcards * and ?)");
        }
        String path = pattern(b, "name", false, MAX_NAME_PATTERN);
        String tag = pattern(b, "tag", false, MAX_TAG_PATTERN);
        if (path != null && (path.contains("@") || hasTagPart(path))) {
          b.problem(
              "name", "name " + Node.quote(path) + " has a tag or digest (put the tag under tag)");
        } else if (path != null && !globChars(path, NAME_GLOB_CHARS)) {
          b.problem(
              "name",
              "invalid name pattern "
                  + Node.quote(path)
                  + " (want lowercase letters, digits, \".\", \"_\", \"-\", \"/\" and the wildcards * and ?)");
        }
        if (tag != null && !globChars(tag, TAG_GLOB_CHARS)) {
          b.problem(
              "tag",
              "invalid tag pattern "
                  + Node.quote(tag)
                  + " (want letters, digits, \".\", \"_\", \"-\" and the wildcards * and ?)");
        }
        b.finish("hostname", "use host", "imagename", "use name", "image", "use name");
        if (host == null && port == null && path == null && tag == null && rawPort == null) {
          b.problem(null, "needs at least one of host, port, name, tag");
        } else {
          blocked.add(
              new AdmissionRule.BlockedImage(
                  host == null ? null : Glob.of(RegistryHosts.canonicalName(host)),
                  port,
                  path == null ? null : Glob.of(path),
                  tag == null ? null : Glob.of(tag)));
        }
      }
      AdmissionRule.ImageMetadataRule meta = null;
      Node m = r.node("imageMetadata");
      if (m != null) {
        meta = imageMetadata(m);
      }
      r.finish(
          "blockLatest",
          "use blockLatestTag",
          "requireDigests",
          "use requireDigest",
          "scope",
          "use namespaces",
          "allowedNameTag",
          "use allowedNameTags",
          "blockedImage",
          "use blockedImages");
      if (!requireDigest
          && !blockLatest
          && !blockUntagged
          && nameTags.isEmpty()
          && blocked.isEmpty()
          && m == null
          && nt.isEmpty()
          && bl.isEmpty()) {
        r.problem(
            null,
            "rule checks nothing (set requireDigest, blockLatestTag, blockUntagged, allowedNameTags, blockedImages or imageMetadata)");
      }
      if (name == null || scope == null) {
        return null;
      }
      return new AdmissionRule(
          name, mode, scope, requireDigest, blockLatest, blockUntagged, nameTags, blocked, meta);
    }

    /**
     * A rule's {@code imageMetadata}: the checks on the image itself. Null when it has problems
     * (reported) or checks nothing (reported).
     */
    private AdmissionRule.ImageMetadataRule imageMetadata(Node m) {
      int before = problems.size();
      boolean root = m.bool("denyRunAsRoot", false);
      Long max = null;
      Object rawMax = m.raw("maxSize");
      if (rawMax != null) {
        max =
            rawMax instanceof String || rawMax instanceof Integer || rawMax instanceof Long
                ? quantity(String.valueOf(rawMax))
                : null;
        if (max == null || max <= 0) {
          m.problem(
              "maxSize",
              "must be a size such as 500Mi or 2Gi, found "
                  + (rawMax instanceof String || rawMax instanceof Number
                      ? Node.quote(String.valueOf(rawMax))
                      : Node.typeName(rawMax)));
          max = null;
        }
      }
      List<AdmissionRule.RequiredLabel> labels = new ArrayList<>();
      List<Object> items = m.list("requiredLabels", PolicyLimits.MAX_REQUIRED_LABELS);
      Set<String> keys = new HashSet<>();
      for (int i = 0; i < items.size(); i++) {
        Node l = Node.of(m.child("requiredLabels") + "[" + i + "]", items.get(i), problems);
        if (l == null) {
          continue;
        }
        String key = l.string("key", true);
        if (key != null && key.length() > PolicyLimits.MAX_LABEL_KEY_CHARS) {
          l.problem(
              "key",
              "too long ("
                  + key.length()
                  + " characters, at most "
                  + PolicyLimits.MAX_LABEL_KEY_CHARS
                  + ")");
          key = null;
        } else if (key != null && !printable(key)) {
          l.problem("key", "must not contain control characters");
          key = null;
        } else if (key != null && !keys.add(key)) {
          l.problem("key", "duplicate label " + Node.quote(key));
          key = null;
        }
        String value = l.string("value", false);
        if (value != null && value.length() > PolicyLimits.MAX_LABEL_VALUE_PATTERN_CHARS) {
          l.problem(
              "value",
              "pattern too long ("
                  + value.length()
                  + " characters, at most "
                  + PolicyLimits.MAX_LABEL_VALUE_PATTERN_CHARS
                  + ")");
          key = null;
        } else if (value == null && l.raw("value") != null) {
          key = null; // not a string: reported
        }
        l.finish(
            "name", "use key", "label", "use key", "pattern", "use value", "values", "use value");
        if (key != null) {
          labels.add(new AdmissionRule.RequiredLabel(key, value == null ? null : Glob.of(value)));
        }
      }
      List<AdmissionRule.Platform> platforms = new ArrayList<>();
      for (Node.Item it : m.strings("allowedPlatforms")) {
        AdmissionRule.Platform pl = platform(it.value());
        if (pl == null) {
          problems.add(
              new Problem(
                  it.path(),
                  "invalid platform "
                      + Node.quote(it.value())
                      + " (want os/architecture or os/architecture/variant, such as linux/amd64"
                      + " or linux/arm64/v8: lowercase letters, digits, \".\", \"_\" and \"-\", at most "
                      + PolicyLimits.MAX_PLATFORM_PART_CHARS
                      + " per part)"));
        } else {
          platforms.add(pl);
        }
      }
      if (m.list("allowedPlatforms").size() > PolicyLimits.MAX_ALLOWED_PLATFORMS) {
        m.problem(
            "allowedPlatforms",
            "too many platforms ("
                + m.list("allowedPlatforms").size()
                + ", at most "
                + PolicyLimits.MAX_ALLOWED_PLATFORMS
                + ")");
      }
      boolean known = m.bool("requireKnownDigest", false);
      AdmissionRule.OnError onError = AdmissionRule.OnError.DEFAULT;
      String onErrorText = m.string("onError", false);
      if (onErrorText != null) {
        onError = AdmissionRule.OnError.fromWire(onErrorText);
        if (onError == null) {
          m.problem("onError", "must be Allow or Deny, found " + Node.quote(onErrorText));
          onError = AdmissionRule.OnError.DEFAULT;
        }
      }
      m.finish(
          "runAsRoot",
          "use denyRunAsRoot",
          "denyRoot",
          "use denyRunAsRoot",
          "maxImageSize",
          "use maxSize",
          "labels",
          "use requiredLabels: [{key: ..., value: ...}]",
          "requireLabels",
          "use requiredLabels",
          "platforms",
          "use allowedPlatforms",
          "requireDigestKnown",
          "use requireKnownDigest",
          "requireResolvable",
          "use requireKnownDigest",
          "onFailure",
          "use onError",
          "failurePolicy",
          "use onError: Allow or Deny");
      AdmissionRule.ImageMetadataRule rule =
          new AdmissionRule.ImageMetadataRule(root, max, labels, platforms, known, onError);
      if (problems.size() > before) {
        return null;
      }
      if (!rule.checksSomething()) {
        m.problem(
            null,
            "checks nothing (set denyRunAsRoot, maxSize, requiredLabels, allowedPlatforms or"
                + " requireKnownDigest)");
        return null;
      }
      return rule;
    }

    /** {@code os/architecture[/variant]}, each part a short lowercase word, or null. */
    private static AdmissionRule.Platform platform(String s) {
      String[] parts = s.split("/", -1);
      if (parts.length < 2 || parts.length > 3) {
        return null;
      }
      for (String p : parts) {
        if (p.isEmpty()
            || p.length() > PolicyLimits.MAX_PLATFORM_PART_CHARS
            || !p.chars()
                .allMatch(
                    c ->
                        (c >= 'a' && c <= 'z')
                            || (c >= '0' && c <= '9')
                            || c == '.'
                            || c == '_'
                            || c == '-')) {
          return null;
        }
      }
      return new AdmissionRule.Platform(parts[0], parts[1], parts.length == 3 ? parts[2] : "");
    }

    /** Whether a string has no control characters. */
    private static boolean printable(String s) {
      for (int i = 0; i < s.length(); i++) {
        if (Character.isISOControl(s.charAt(i))) {
          return false;
        }
      }
      return true;
    }

    // ---- small validators -------------------------------------------------------------------

    /** A host whose traffic never leaves the node: localhost, 127.0.0.0/8, [::1]. */
    private static boolean isLoopback(String host) {
      if (host == null) {
        return false;
      }
      String h = host.toLowerCase(Locale.ROOT);
      if (h.equals("localhost") || h.equals("[::1]") || h.equals("[0:0:0:0:0:0:0:1]")) {
        return true;
      }
      String[] parts = h.split("\\.", -1);
      if (parts.length != 4 || !parts[0].equals("127")) {
        return false; // "127.evil.example" is a name, not an address
      }
      for (String p : parts) {
        if (p.isEmpty()
            || p.length() > 3
            || !p.chars().allMatch(c -> c >= '0' && c <= '9')
            || Integer.parseInt(p) > 255) {
          return false;
        }
      }
      return true;
    }

    /**
     * A glob pattern no longer than {@code max}: a name has at most 255 characters and a tag 128
     * (distribution spec), and matching costs at most pattern length times name length.
     */
    private String pattern(Node n, String key, boolean required, int max) {
      String s = n.string(key, required);
      if (s != null && s.length() > max) {
        n.problem(key, "pattern too long (" + s.length() + " characters, at most " + max + ")");
        return null;
      }
      return s;
    }

    /**
     * Whether every character of a pattern is one of {@code allowed} (letters and digits always
     * are).
     */
    private static boolean globChars(String s, String allowed) {
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (!((c >= 'a' && c <= 'z')
            || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || allowed.indexOf(c) >= 0)) {
          return false;
        }
      }
      return true;
    }

    /** Whether the last "/"-separated component of an image name pattern has a ":" (a tag). */
    private static boolean hasTagPart(String name) {
      return name.indexOf(':', name.lastIndexOf('/') + 1) >= 0;
    }

    /**
     * Whether the node credentials bundle can carry {@code secret}/{@code key}; a problem at {@code
     * at} if not.
     */
    private boolean fitsBundle(Node n, String at, String secret, String key) {
      String problem = NodeCredentialsBundle.problem(secret, key);
      if (problem != null) {
        n.problem(at, problem);
        return false;
      }
      return true;
    }

    private String dnsLabel(Node n, String key) {
      String s = n.string(key, true);
      if (s != null && !DNS_LABEL.matcher(s).matches()) {
        n.problem(
            key,
            "invalid name "
                + Node.quote(s)
                + " (want lowercase letters, digits and \"-\", at most 63)");
        return null;
      }
      return s;
    }

    private String secretName(Node n, String key) {
      String s = n.string(key, true);
      if (s != null && !isDnsSubdomain(s)) {
        n.problem(key, "invalid Secret name " + Node.quote(s));
        return null;
      }
      return s;
    }

    private String secretKey(Node n, String key, String dflt) {
      String s = n.string(key, false);
      if (s == null) {
        return n.raw(key) == null ? dflt : null;
      }
      if (!SECRET_KEY.matcher(s).matches() || s.equals(".") || s.equals("..")) {
        n.problem(key, "invalid Secret key " + Node.quote(s));
        return null;
      }
      return s;
    }
  }

  /**
   * A Kubernetes DNS subdomain (RFC 1123): at most 253 characters, dot-separated labels of
   * lowercase letters, digits and {@code -} that start and end with a letter or digit. One linear
   * pass, no regular expression.
   */
  static boolean isDnsSubdomain(String s) {
    if (s.isEmpty() || s.length() > 253) {
      return false;
    }
    int labelStart = 0;
    for (int i = 0; i <= s.length(); i++) {
      char c = i == s.length() ? '.' : s.charAt(i);
      if (c == '.') {
        if (i == labelStart || s.charAt(i - 1) == '-' || s.charAt(labelStart) == '-') {
          return false;
        }
        labelStart = i + 1;
      } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** Parses a Kubernetes-style quantity of bytes ({@code 2Gi}, {@code 500M}, {@code 1024}). */
  static Long quantity(String s) {
    java.util.regex.Matcher m = QUANTITY.matcher(s);
    if (!m.matches()) {
      return null;
    }
    long mult;
    String suffix = m.group(2) == null ? "" : m.group(2);
    switch (suffix) {
      case "" -> mult = 1L;
      case "Ki" -> mult = 1L << 10;
      case "Mi" -> mult = 1L << 20;
      case "Gi" -> mult = 1L << 30;
      case "Ti" -> mult = 1L << 40;
      case "Pi" -> mult = 1L << 50;
      case "k" -> mult = 1_000L;
      case "M" -> mult = 1_000_000L;
      case "G" -> mult = 1_000_000_000L;
      case "T" -> mult = 1_000_000_000_000L;
      case "P" -> mult = 1_000_000_000_000_000L;
      default -> {
        return null;
      }
    }
    try {
      return Math.multiplyExact(Long.parseLong(m.group(1)), mult);
    } catch (ArithmeticException | NumberFormatException e) {
      return null;
    }
  }

  /**
   * Where the authority of a URL that starts at {@code from} ends: at the first "/", "?" or "#", or
   * the end.
   */
  static int authorityEnd(String url, int from) {
    for (int i = from; i < url.length(); i++) {
      char c = url.charAt(i);
      if (c == '/' || c == '?' || c == '#') {
        return i;
      }
    }
    return url.length();
  }
}
