package dev.registrypolicy.policy;

import dev.registrypolicy.common.Redact;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A short human-readable account of what a policy does; never includes secret values: every
 * user-written value goes through the one redaction rule ({@link Redact}).
 */
public final class PolicySummary {
  private PolicySummary() {}

  public static String of(Policy p) {
    StringBuilder sb = new StringBuilder();
    sb.append("policy ")
        .append(p.apiVersion())
        .append(" sha256=")
        .append(p.sha256(), 0, 12)
        .append('\n');
    sb.append("registries: ").append(p.registries().size()).append('\n');
    for (Registry r : p.registries()) {
      sb.append("  ")
          .append(Redact.value(r.host()))
          .append(" -> certs.d/")
          .append(Redact.value(r.hostDirectory()))
          .append("/hosts.toml: ");
      List<String> hops = new ArrayList<>();
      for (Endpoint m : r.mirrors()) {
        hops.add(
            Redact.value(m.url().toString())
                + " ["
                + m.orderedCapabilities().stream()
                    .map(Capability::wireName)
                    .collect(Collectors.joining(","))
                + "]"
                + flags(m));
      }
      if (r.upstreamMode() == UpstreamMode.FALLBACK) {
        hops.add(
            (r.upstreamUrl() == null
                    ? "the image's own registry"
                    : Redact.value(r.upstreamUrl().toString()))
                + " (upstream)"
                + (r.upstream() == null ? "" : flags(r.upstream())));
      } else {
        hops.add("never upstream");
      }
      sb.append(String.join(" -> ", hops)).append('\n');
    }
    sb.append("credentials: ").append(p.credentials().size()).append('\n');
    for (CredentialRef c : p.credentials()) {
      sb.append("  ")
          .append(c.name())
          .append(": Secret ")
          .append(Policy.NAMESPACE)
          .append('/')
          .append(Redact.value(c.secret()));
      if (c.registry() != null) {
        sb.append(" (auths entry ").append(Redact.value(c.registry())).append(')');
      }
      if (usedOnNodes(p, c.name())) {
        sb.append(" [node-level: usable by every pod on every node]");
      }
      sb.append('\n');
    }
    sb.append("access grants: ").append(p.access().size()).append('\n');
    for (AccessGrant g : p.access()) {
      sb.append("  ")
          .append(g.name())
          .append(": Secret ")
          .append(g.secretName())
          .append(" from ")
          .append(String.join("+", g.credentials()))
          .append(" in ")
          .append(describe(g.namespaces()))
          .append(", ServiceAccounts ")
          .append(describe(g.serviceAccounts()))
          .append('\n');
    }
    Admission a = p.admission();
    sb.append("admission: mode ")
        .append(a.mode().wireName())
        .append(", ")
        .append(
            a.restrictsSources()
                ? a.allowedSources().size() + " allowed sources"
                : "sources not restricted")
        .append(", ")
        .append(a.rules().size())
        .append(" rules");
    if (!a.exemptNamespaces().isEmpty()) {
      sb.append(", exempt ")
          .append(a.exemptNamespaces().stream().sorted().collect(Collectors.joining(",")));
    } else if (!a.exemptNamespacesGiven() && a.enforcesSomething()) {
      sb.append(", exempt ")
          .append(Admission.DEFAULT_EXEMPT)
          .append(" and the product's namespace (default)");
    }
    if (a.requireGrantForNodeCredentials()) {
      sb.append(", node credentials only where granted");
    }
    sb.append('\n');
    for (AllowedSource s : a.allowedSources()) {
      sb.append("  allow ")
          .append(Redact.value(s.prefix().toString()))
          .append(s.isGlobal() ? " (Global)" : " (" + describe(s.scope()) + ")")
          .append('\n');
    }
    for (AdmissionRule r : a.rules()) {
      List<String> checks = new ArrayList<>();
      if (r.requireDigest()) {
        checks.add("require digest");
      }
      if (r.blockLatestTag()) {
        checks.add("block :latest");
      }
      if (r.blockUntagged()) {
        checks.add("block untagged");
      }
      if (!r.allowedNameTags().isEmpty()) {
        checks.add(r.allowedNameTags().size() + " allowed name/tag patterns");
      }
      if (!r.blockedImages().isEmpty()) {
        checks.add(r.blockedImages().size() + " blocked image patterns");
      }
      if (r.imageMetadata() != null) {
        checks.add("image content (" + describe(r.imageMetadata()) + "; evaluated by the webhook)");
      }
      sb.append("  rule ")
          .append(r.name())
          .append(" (")
          .append((r.mode() == null ? a.mode() : r.mode()).wireName())
          .append(", ")
          .append(describe(r.namespaces()))
          .append("): ")
          .append(String.join(", ", checks))
          .append('\n');
    }
    return sb.toString();
  }

  /** Whether credentials end up on nodes (in hosts.toml), where every pod can use them. */
  public static boolean usedOnNodes(Policy p, String credential) {
    for (Registry r : p.registries()) {
      if (r.upstream() != null && credential.equals(r.upstream().credentials())) {
        return true;
      }
      for (Endpoint m : r.mirrors()) {
        if (credential.equals(m.credentials())) {
          return true;
        }
      }
    }
    return false;
  }

  private static String flags(Endpoint e) {
    List<String> f = new ArrayList<>();
    if (!e.ca().isEmpty()) {
      f.add("ca");
    }
    if (e.clientCert() != null) {
      f.add("client cert");
    }
    if (e.skipVerify()) {
      f.add("SKIP TLS VERIFY");
    }
    if (e.credentials() != null) {
      f.add("credentials " + e.credentials());
    }
    if (e.overridePath()) {
      f.add("override_path");
    }
    if (e.dialTimeout() != null) {
      f.add("dial " + e.dialTimeout());
    }
    return f.isEmpty() ? "" : " {" + String.join(", ", f) + "}";
  }

  static String describe(NamespaceSelector s) {
    List<String> parts = new ArrayList<>();
    if (s.selectsAll()) {
      parts.add("all namespaces");
    }
    if (!s.names().isEmpty()) {
      parts.add("namespaces " + s.names().stream().sorted().collect(Collectors.joining(",")));
    }
    if (s.selector() != null) {
      parts.add("namespaces matching a label selector");
    }
    String d = String.join(" or ", parts);
    if (!s.exclude().isEmpty()) {
      d += " except " + s.exclude().stream().sorted().collect(Collectors.joining(","));
    }
    return d;
  }

  static String describe(ServiceAccountSelector s) {
    if (s.all()) {
      return "all";
    }
    return s.names().isEmpty()
        ? "none"
        : s.names().stream().sorted().collect(Collectors.joining(","));
  }

  /** An image-content rule's checks in words: {@code no root user, max 2147483648 bytes, ...}. */
  static String describe(AdmissionRule.ImageMetadataRule m) {
    List<String> c = new ArrayList<>();
    if (m.requireKnownDigest()) {
      c.add("known digest");
    }
    if (m.denyRunAsRoot()) {
      c.add("no root user");
    }
    if (!m.allowedPlatforms().isEmpty()) {
      List<String> p = new ArrayList<>();
      m.allowedPlatforms().forEach(x -> p.add(x.toString()));
      c.add("platforms " + String.join(" ", p));
    }
    if (m.maxSizeBytes() != null) {
      c.add("max " + m.maxSizeBytes() + " bytes");
    }
    if (!m.requiredLabels().isEmpty()) {
      c.add(m.requiredLabels().size() + " required labels");
    }
    c.add("onError " + m.onError().wireName());
    return String.join(", ", c);
  }
}
