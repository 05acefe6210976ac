package dev.registrypolicy.admission;

import dev.registrypolicy.common.Redact;
import dev.registrypolicy.policy.AccessGrant;
import dev.registrypolicy.policy.Admission;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.AllowedSource;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.InvalidImageRefException;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.NamespaceSelector;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PrefixIndex;
import dev.registrypolicy.policy.Registry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The one verdict function: given the policy, a namespace and a workload, what admission does with
 * each container and why. The ValidatingAdmissionPolicy CEL, the webhook and {@code check} all
 * agree with it; it is immutable and thread-safe, built once per policy.
 *
 * <p>Per container, in this order, each check giving at most one finding: {@value
 * #RULE_IMAGE_REFERENCE} (not a valid reference, or a registry host with uppercase letters; nothing
 * else is checked then), {@value #RULE_ALLOWED_SOURCES}, {@value #RULE_NODE_CREDENTIALS}, then each
 * policy rule that applies to the namespace. {@link #of} does all the work that does not depend on
 * the request: the allowed sources go into a {@link PrefixIndex} (a lookup costs the image's path
 * depth, not the number of sources), node credentials are resolved per registry host and grants per
 * credential name.
 */
public final class AdmissionCheck {
  /** Rule name for an image that is not a valid reference. */
  public static final String RULE_IMAGE_REFERENCE = "imageReference";

  /** Rule name for an image outside every allowed source. */
  public static final String RULE_ALLOWED_SOURCES = "allowedSources";

  /** Rule name for an image whose registry's node credentials the namespace is not granted. */
  public static final String RULE_NODE_CREDENTIALS = "requireGrantForNodeCredentials";

  /** The reason given for a reference whose registry host, as written, has uppercase letters. */
  public static final String UPPERCASE_DOMAIN_REASON =
      "the registry host must be lowercase (containerd looks up the host's configuration by its"
          + " name as written, so an uppercase spelling would bypass it)";

  private static final String[] NONE = new String[0];

  private final boolean enforces;
  private final Action defaultAction;
  private final Set<String> exempt;
  private final PrefixIndex<AllowedSource> sources;
  private final boolean restrictsSources;
  private final boolean requireGrant;

  /** Registry host → the credentials its hosts.toml carries (possibly none). */
  private final Map<String, String[]> nodeCredentials;

  /** The catch-all entry's credentials, or null when the policy has no catch-all registry. */
  private final String[] catchAllCredentials;

  /** Credential name → the namespace selections of the grants that carry it. */
  private final Map<String, NamespaceSelector[]> grantsByCredential;

  private final AdmissionRule[] rules;
  private final Action[] ruleActions;

  private AdmissionCheck(Policy policy, String ownNamespace) {
    Admission a = policy.admission();
    this.enforces = a.enforcesSomething();
    this.defaultAction = Action.of(a.mode());
    this.exempt = a.effectiveExemptNamespaces(ownNamespace);
    PrefixIndex.Builder<AllowedSource> b = PrefixIndex.builder();
    for (AllowedSource s : a.allowedSources()) {
      b.add(s.prefix(), s);
    }
    this.sources = b.build();
    this.restrictsSources = a.restrictsSources();
    this.requireGrant = a.requireGrantForNodeCredentials();
    Map<String, String[]> byHost = new HashMap<>();
    String[] catchAll = null;
    for (Registry r : policy.registries()) {
      String[] creds = r.nodeCredentials().toArray(NONE);
      if (r.isCatchAll()) {
        catchAll = creds;
      } else {
        byHost.put(r.host(), creds);
      }
    }
    this.nodeCredentials = Map.copyOf(byHost);
    this.catchAllCredentials = catchAll;
    Map<String, List<NamespaceSelector>> grants = new LinkedHashMap<>();
    for (AccessGrant g : policy.access()) {
      for (String c : g.credentials()) {
        grants.computeIfAbsent(c, k -> new ArrayList<>()).add(g.namespaces());
      }
    }
    Map<String, NamespaceSelector[]> frozen = new HashMap<>();
    grants.forEach((k, v) -> frozen.put(k, v.toArray(new NamespaceSelector[0])));
    this.grantsByCredential = Map.copyOf(frozen);
    List<AdmissionRule> evaluated = new ArrayList<>();
    for (AdmissionRule r : a.rules()) {
      if (r.checksAtAdmission()) {
        evaluated.add(r);
      }
    }
    this.rules = evaluated.toArray(new AdmissionRule[0]);
    this.ruleActions = new Action[rules.length];
    for (int i = 0; i < rules.length; i++) {
      ruleActions[i] = rules[i].mode() == null ? defaultAction : Action.of(rules[i].mode());
    }
  }

  /**
   * The check for a policy.
   *
   * @param ownNamespace the namespace the product runs in, exempt unless the policy lists its own
   *     {@code exemptNamespaces}
   */
  public static AdmissionCheck of(Policy policy, String ownNamespace) {
    Objects.requireNonNull(policy, "policy");
    return new AdmissionCheck(policy, ownNamespace);
  }

  /** Whether this policy enforces nothing at all (no admission section, or an empty one). */
  public boolean enforcesNothing() {
    return !enforces;
  }

  /** Whether the namespace is exempt from every check. */
  public boolean exempt(String namespace) {
    return exempt.contains(namespace);
  }

  /** The exempt namespaces: the policy's list, or by default kube-system and the own namespace. */
  public Set<String> exemptNamespaces() {
    return exempt;
  }

  /**
   * The verdict on a create ({@code old} null) or an update ({@code old} the object before it). On
   * an update a container whose kind, name and image are unchanged from {@code old} is allowed
   * whatever it breaks, so existing workloads can still be labelled, scaled and rolled back; only
   * what the update introduces is checked.
   */
  public Verdict check(NamespaceInfo namespace, Workload workload, Workload old) {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(workload, "workload");
    List<Container> containers = workload.containers();
    List<ContainerVerdict> verdicts = new ArrayList<>(containers.size());
    List<Finding> findings = new ArrayList<>(2);
    Action worst = Action.ALLOW;
    boolean skipAll = !enforces || exempt.contains(namespace.name());
    Set<Container> unchanged =
        skipAll || old == null || old.containers().isEmpty()
            ? Set.of()
            : new HashSet<>(old.containers());
    for (Container c : containers) {
      ContainerVerdict v;
      if (skipAll || unchanged.contains(c)) {
        v = allowed(c, display(c));
      } else {
        v = checkContainer(namespace, c, findings);
      }
      worst = worst.max(v.action());
      verdicts.add(v);
    }
    return new Verdict(worst, verdicts, findings);
  }

  private ContainerVerdict checkContainer(NamespaceInfo ns, Container c, List<Finding> findings) {
    int first = findings.size();
    ImageRef ref;
    String reason = null;
    try {
      ref = ImageRef.parse(c.image());
      if (ImageRef.hasUppercaseDomain(c.image())) {
        reason = UPPERCASE_DOMAIN_REASON;
      }
    } catch (InvalidImageRefException e) {
      ref = null;
      reason = e.reason();
    }
    if (reason != null) {
      String img = Redact.value(c.image());
      findings.add(
          finding(
              c,
              img,
              RULE_IMAGE_REFERENCE,
              defaultAction,
              "is not a valid image reference: " + reason));
      return summarize(c, img, findings, first);
    }
    String img = ref.canonical();
    if (restrictsSources && !sources.anyMatch(ref, s -> s.scope().matches(ns))) {
      findings.add(
          finding(c, img, RULE_ALLOWED_SOURCES, defaultAction, "is not from an allowed source"));
    }
    if (requireGrant) {
      String missing = ungrantedNodeCredential(ref.domain(), ns);
      if (missing != null) {
        findings.add(
            finding(
                c,
                img,
                RULE_NODE_CREDENTIALS,
                defaultAction,
                "would be pulled with node credentials \""
                    + missing
                    + "\" for registry \""
                    + ref.domain()
                    + "\" that no access grant gives namespace \""
                    + ns.name()
                    + "\""));
      }
    }
    for (int i = 0; i < rules.length; i++) {
      AdmissionRule r = rules[i];
      if (!r.namespaces().matches(ns)) {
        continue;
      }
      String what = broken(r, ref);
      if (what != null) {
        findings.add(finding(c, img, r.name(), ruleActions[i], what));
      }
    }
    return summarize(c, img, findings, first);
  }

  /** The first credential the registry's hosts.toml carries that no grant gives ns, or null. */
  private String ungrantedNodeCredential(String domain, NamespaceInfo ns) {
    String[] creds = nodeCredentials.get(domain);
    if (creds == null) {
      creds = catchAllCredentials;
    }
    if (creds == null) {
      return null;
    }
    for (String cred : creds) {
      NamespaceSelector[] grants = grantsByCredential.get(cred);
      boolean granted = false;
      if (grants != null) {
        for (NamespaceSelector g : grants) {
          if (g.grants(ns)) {
            granted = true;
            break;
          }
        }
      }
      if (!granted) {
        return cred;
      }
    }
    return null;
  }

  /** What the reference breaks of the rule (its first failing check), or null. */
  private static String broken(AdmissionRule r, ImageRef ref) {
    if (r.requireDigest() && !ref.hasDigest()) {
      return "is not pinned by digest";
    }
    if (r.blockUntagged() && !ref.hasTag() && !ref.hasDigest()) {
      return "has no tag";
    }
    if (r.blockLatestTag() && ImageRef.DEFAULT_TAG.equals(ref.effectiveTag())) {
      return "uses the latest tag";
    }
    List<AdmissionRule.NameTagPattern> nameTags = r.allowedNameTags();
    if (!nameTags.isEmpty()) {
      boolean any = false;
      for (int i = 0, n = nameTags.size(); i < n; i++) {
        if (nameTags.get(i).matches(ref)) {
          any = true;
          break;
        }
      }
      if (!any) {
        return "does not match an allowed name and tag";
      }
    }
    List<AdmissionRule.BlockedImage> blocked = r.blockedImages();
    for (int i = 0, n = blocked.size(); i < n; i++) {
      if (blocked.get(i).matches(ref)) {
        return "is blocked";
      }
    }
    return null;
  }

  private static Finding finding(Container c, String img, String rule, Action action, String what) {
    return new Finding(c, img, rule, action, message(c, img, what, rule));
  }

  /** The container's verdict from its findings (findings[first..]). */
  private static ContainerVerdict summarize(
      Container c, String img, List<Finding> findings, int first) {
    Finding top = null;
    for (int i = first, n = findings.size(); i < n; i++) {
      Finding f = findings.get(i);
      if (top == null || f.action().compareTo(top.action()) > 0) {
        top = f;
      }
    }
    if (top == null) {
      return allowed(c, img);
    }
    return new ContainerVerdict(c, img, top.action(), top.rule(), top.message());
  }

  private static ContainerVerdict allowed(Container c, String img) {
    return new ContainerVerdict(c, img, Action.ALLOW, null, message(c, img, "is allowed", null));
  }

  /**
   * The image as verdicts show it: normalized when valid ({@code docker.io/library/nginx:latest}),
   * else as written, redacted.
   */
  private static String display(Container c) {
    if (!ImageRef.hasUppercaseDomain(c.image())) {
      try {
        return ImageRef.parse(c.image()).canonical();
      } catch (InvalidImageRefException e) {
        // shown as written
      }
    }
    return Redact.value(c.image());
  }

  /** {@code <noun> "<name>": image "<img>" <what>[ (rule <rule>)]}. */
  static String message(Container c, String img, String what, String rule) {
    StringBuilder sb =
        new StringBuilder(40 + c.name().length() + img.length() + what.length())
            .append(c.kind().noun())
            .append(" \"")
            .append(c.name())
            .append("\": image \"")
            .append(img)
            .append("\" ")
            .append(what);
    if (rule != null) {
      sb.append(" (rule ").append(rule).append(')');
    }
    return sb.toString();
  }
}
