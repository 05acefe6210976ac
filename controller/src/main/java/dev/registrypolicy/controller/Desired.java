package dev.registrypolicy.controller;

import dev.registrypolicy.common.DockerConfigJson;
import dev.registrypolicy.common.InvalidDockerConfigException;
import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.policy.AccessGrant;
import dev.registrypolicy.policy.ClientCertRef;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.Endpoint;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicySummary;
import dev.registrypolicy.policy.Registry;
import dev.registrypolicy.policy.SecretKeyRef;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the cluster should hold for a policy: pure functions of the policy, the source Secrets and
 * the namespaces' labels. No API calls; the reconciler compares these values with what exists.
 */
final class Desired {
  static final String GRANT_LABEL = "registry-policy.dev/grant";

  /** On a ServiceAccount: the imagePullSecrets entries this controller added (comma-separated). */
  static final String SA_ANNOTATION = "registry-policy.dev/image-pull-secrets";

  static final String BUNDLE_SECRET = NodeCredentialsBundle.SECRET_NAME;

  private Desired() {}

  /** A pull Secret the controller should keep in a namespace. */
  static final class PullSecret {
    final String name;
    final String grant;
    final byte[] dockerConfigJson;

    PullSecret(String name, String grant, byte[] dockerConfigJson) {
      this.name = name;
      this.grant = grant;
      this.dockerConfigJson = dockerConfigJson.clone();
    }

    byte[] dockerConfigJson() {
      return dockerConfigJson.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof PullSecret p
          && p.name.equals(name)
          && p.grant.equals(grant)
          && Arrays.equals(p.dockerConfigJson, dockerConfigJson);
    }

    @Override
    public int hashCode() {
      return name.hashCode();
    }

    @Override
    public String toString() {
      return "PullSecret[name=" + name + ", grant=" + grant + ", data=<redacted>]";
    }
  }

  /**
   * Everything desired for one namespace.
   *
   * @param secrets pull Secrets by name
   * @param serviceAccounts for each ServiceAccount that should list pull Secrets: their names
   * @param held pull Secrets of grants that select this namespace but whose credentials are
   *     unavailable (source Secret deleted or broken): what exists is kept as it is, neither
   *     updated nor deleted, and ServiceAccounts keep or lack their entry as they do now. A source
   *     deleted and re-created, or a typo in it, must not take pulls away from every namespace.
   * @param problems why some grant could not be served (missing source Secret…), safe to show
   */
  record Namespace(
      SortedMap<String, PullSecret> secrets,
      SortedMap<String, Set<String>> serviceAccounts,
      SortedSet<String> held,
      List<String> problems) {
    Namespace {
      secrets = Collections.unmodifiableSortedMap(new TreeMap<>(secrets));
      serviceAccounts = Collections.unmodifiableSortedMap(new TreeMap<>(serviceAccounts));
      held = Collections.unmodifiableSortedSet(new TreeSet<>(held));
      problems = List.copyOf(problems);
    }
  }

  /**
   * Contents by name, and the problems found building them: each grant's dockerconfigjson (by grant
   * name), or the node credentials bundle (by bundle key).
   */
  record Keyed(Map<String, byte[]> values, List<String> problems) {
    Keyed {
      values = Collections.unmodifiableMap(new TreeMap<>(values));
      problems = List.copyOf(problems);
    }
  }

  /** Builds each grant's dockerconfigjson from its credentials. */
  static Keyed grants(Policy policy, Map<String, SourceSecret> sources) {
    Map<String, byte[]> out = new TreeMap<>();
    List<String> problems = new ArrayList<>();
    for (AccessGrant g : policy.access()) {
      Map<String, DockerConfigJson.Entry> auths = new TreeMap<>();
      boolean ok = true;
      for (String credName : g.credentials()) {
        CredentialRef c = policy.credential(credName).orElseThrow();
        String problem = addAuths(policy, c, sources.get(c.secret()), auths);
        if (problem != null) {
          problems.add("access " + g.name() + ": " + problem);
          ok = false;
        }
      }
      if (ok) {
        out.put(g.name(), DockerConfigJson.of(new ArrayList<>(auths.values())).toJson());
      }
    }
    return new Keyed(out, problems);
  }

  private static String addAuths(
      Policy policy, CredentialRef c, SourceSecret s, Map<String, DockerConfigJson.Entry> auths) {
    if (s == null) {
      return "credentials "
          + c.name()
          + ": Secret "
          + Policy.NAMESPACE
          + "/"
          + c.secret()
          + " not found";
    }
    byte[] cfg = s.get(DockerConfigJson.KEY);
    if (cfg != null) {
      DockerConfigJson source;
      try {
        source = DockerConfigJson.parse(cfg);
      } catch (InvalidDockerConfigException e) {
        return "credentials " + c.name() + ": Secret " + c.secret() + ": " + e.getMessage();
      }
      List<DockerConfigJson.Entry> entries =
          c.registry() == null ? source.entries() : source.matching(c.registry());
      for (DockerConfigJson.Entry e : entries) {
        auths.put(e.key(), e);
      }
      return !entries.isEmpty()
          ? null
          : "credentials "
              + c.name()
              + ": Secret "
              + c.secret()
              + " has no auths entry for "
              + (c.registry() == null ? "any registry" : c.registry());
    }
    byte[] user = s.get(DockerConfigJson.USERNAME_KEY);
    byte[] pass = s.get(DockerConfigJson.PASSWORD_KEY);
    if (user == null || pass == null) {
      return "credentials "
          + c.name()
          + ": Secret "
          + c.secret()
          + " is neither "
          + DockerConfigJson.TYPE
          + " nor "
          + DockerConfigJson.BASIC_AUTH_TYPE;
    }
    Set<String> hosts = new LinkedHashSet<>();
    if (c.registry() != null) {
      hosts.add(c.registry());
    } else {
      for (Registry r : policy.registries()) {
        if (!r.isCatchAll()
            && r.upstream() != null
            && c.name().equals(r.upstream().credentials())) {
          hosts.add(r.host());
        }
      }
    }
    if (hosts.isEmpty()) {
      return "credentials "
          + c.name()
          + ": a basic-auth Secret needs \"registry\" in the credentials entry"
          + " to become a pull Secret";
    }
    String u = new String(user, StandardCharsets.UTF_8);
    String p = new String(pass, StandardCharsets.UTF_8);
    for (String h : hosts) {
      auths.put(h, DockerConfigJson.Entry.basic(h, u, p));
    }
    return null;
  }

  /**
   * What one namespace should hold.
   *
   * @param serviceAccounts the ServiceAccounts that exist in the namespace
   */
  static Namespace forNamespace(
      Policy policy, Keyed grants, NamespaceInfo ns, Set<String> serviceAccounts) {
    SortedMap<String, PullSecret> secrets = new TreeMap<>();
    SortedMap<String, Set<String>> sas = new TreeMap<>();
    SortedSet<String> held = new TreeSet<>();
    List<String> problems = new ArrayList<>();
    if (Policy.NAMESPACE.equals(ns.name())) {
      return new Namespace(
          secrets, sas, held, problems); // the policy's own namespace holds the sources
    }
    for (AccessGrant g : policy.access()) {
      if (!g.namespaces().grants(ns)) {
        continue;
      }
      byte[] cfg = grants.values().get(g.name());
      if (cfg == null) {
        problems.add(
            "access "
                + g.name()
                + " cannot be served: its credentials are unavailable;"
                + " Secret "
                + g.secretName()
                + " is kept as it is");
        held.add(g.secretName());
        continue;
      }
      secrets.put(g.secretName(), new PullSecret(g.secretName(), g.name(), cfg));
      for (String sa : serviceAccounts) {
        if (g.serviceAccounts().matches(sa)) {
          sas.computeIfAbsent(sa, k -> new LinkedHashSet<>()).add(g.secretName());
        }
      }
    }
    held.removeAll(secrets.keySet()); // another grant serves that name
    return new Namespace(secrets, sas, held, problems);
  }

  /**
   * The ServiceAccount's new imagePullSecrets: every entry not added by this controller is kept
   * exactly as it is and where it is (duplicates and entries without a name included: they are
   * someone else's); entries the controller added and no longer wants are dropped; wanted entries
   * that are missing are appended. {@code current} holds null for an entry without a name. Returns
   * the new list and the new set of controller-added names.
   */
  static SaChange serviceAccount(List<String> current, Set<String> ours, Set<String> wanted) {
    List<String> next = new ArrayList<>();
    Set<String> nextOurs = new LinkedHashSet<>();
    for (String name : current) {
      boolean isOurs = name != null && ours.contains(name);
      if (isOurs && !wanted.contains(name)) {
        continue; // ours, revoked
      }
      next.add(name);
      if (isOurs) {
        nextOurs.add(name);
      }
    }
    for (String name : wanted) {
      if (!next.contains(name)) {
        next.add(name);
        nextOurs.add(name);
      }
    }
    return new SaChange(next, nextOurs);
  }

  /**
   * A ServiceAccount's imagePullSecrets after reconciling (null for an entry without a name), and
   * which of them the controller added.
   */
  record SaChange(List<String> imagePullSecrets, Set<String> ours) {
    SaChange {
      imagePullSecrets = Collections.unmodifiableList(new ArrayList<>(imagePullSecrets));
      ours = Collections.unmodifiableSet(new LinkedHashSet<>(ours));
    }

    String annotation() {
      return String.join(",", ours);
    }
  }

  static Set<String> parseAnnotation(String value) {
    Set<String> out = new LinkedHashSet<>();
    if (value != null) {
      for (String s : value.split(",", -1)) {
        if (!s.isBlank()) {
          out.add(s.trim());
        }
      }
    }
    return out;
  }

  /**
   * The node credentials bundle the agent mounts: every Secret key a registry entry references
   * (CAs, client certificates, credentials), as {@code <secret>_<key>}. Missing sources are
   * problems.
   */
  static Keyed bundle(Policy policy, Map<String, SourceSecret> sources) {
    Map<String, byte[]> data = new TreeMap<>();
    List<String> problems = new ArrayList<>();
    Set<SecretKeyRef> refs = new LinkedHashSet<>();
    Set<String> creds = new LinkedHashSet<>();
    for (Registry r : policy.registries()) {
      List<Endpoint> eps = new ArrayList<>(r.mirrors());
      if (r.upstream() != null) {
        eps.add(r.upstream());
      }
      for (Endpoint e : eps) {
        refs.addAll(e.ca());
        ClientCertRef cc = e.clientCert();
        if (cc != null) {
          refs.add(cc.cert());
          refs.add(cc.key());
        }
        if (e.credentials() != null) {
          creds.add(e.credentials());
        }
      }
    }
    for (SecretKeyRef ref : refs) {
      SourceSecret s = sources.get(ref.secret());
      byte[] v = s == null ? null : s.get(ref.key());
      if (v == null) {
        problems.add(
            "Secret " + Policy.NAMESPACE + "/" + ref.secret() + " key " + ref.key() + " not found");
      } else {
        data.put(ref.bundleKey(), v);
      }
    }
    for (String name : creds) {
      CredentialRef c = policy.credential(name).orElseThrow();
      SourceSecret s = sources.get(c.secret());
      if (s == null) {
        problems.add(
            "credentials "
                + name
                + ": Secret "
                + Policy.NAMESPACE
                + "/"
                + c.secret()
                + " not found");
        continue;
      }
      for (String key : NodeCredentialsBundle.CREDENTIAL_KEYS) {
        byte[] v = s.get(key);
        if (v != null) {
          data.put(new SecretKeyRef(c.secret(), key).bundleKey(), v);
        }
      }
    }
    return new Keyed(data, problems);
  }

  /** Credentials that reach nodes (hosts.toml headers): usable by every pod on every node. */
  static List<String> nodeLevelCredentials(Policy policy) {
    List<String> out = new ArrayList<>();
    for (CredentialRef c : policy.credentials()) {
      if (PolicySummary.usedOnNodes(policy, c.name())) {
        out.add(c.name());
      }
    }
    return out;
  }
}
