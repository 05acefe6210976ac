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

  /**
   * The reason given for text a node reads as an image ID rather than a reference: {@code
   * sha256:4f} or a run of hex digits. containerd's CRI resolves such text against the IDs of the
   * images it already has (a prefix is enough), so a Pod would run whatever cached image matches,
   * from any registry.
   */
  public static final String IMAGE_ID_REASON =
      "it reads as an image ID (sha256:<hex> or hex digits alone), and a node would run whatever"
          + " image it has cached under that ID, from any registry";

  /** The reason given for a digest containerd cannot verify, so a pull of it fails. */
  public static final String DIGEST_ALGORITHM_REASON =
      "the digest algorithm must be sha256, sha384 or sha512 (the ones containerd verifies)";

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

  private final CompiledRule[] rules;
  private final RuleSelection selection;
  private final BlockedIndex blockedIndex;
  private final boolean rulesUseSegments;

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
    List<CompiledRule> evaluated = new ArrayList<>();
    for (AdmissionRule r : a.rules()) {
      if (r.checksAtAdmission()) {
        evaluated.add(new CompiledRule(r, defaultAction));
      }
    }
    this.rules = evaluated.toArray(new CompiledRule[0]);
    this.selection = new RuleSelection(rules);
    this.blockedIndex = new BlockedIndex(rules);
    this.rulesUseSegments = blockedIndex.usesSegments();
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
    boolean[] applies = null; // which rules select the namespace: once per request
    for (Container c : containers) {
      ContainerVerdict v;
      if (skipAll || unchanged.contains(c)) {
        v = allowed(c, display(c));
      } else {
        if (applies == null) {
          applies = selection.applying(namespace);
        }
        v = checkContainer(namespace, c, applies, findings);
      }
      worst = worst.max(v.action());
      verdicts.add(v);
    }
    return new Verdict(worst, verdicts, findings);
  }

  private ContainerVerdict checkContainer(
      NamespaceInfo ns, Container c, boolean[] applies, List<Finding> findings) {
    int first = findings.size();
    ImageRef ref;
    String reason = null;
    try {
      ref = ImageRef.parse(c.image());
      reason = admissionProblem(c.image(), ref);
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
    if (rules.length > 0) {
      ImageFacts facts = ImageFacts.of(ref, rulesUseSegments);
      boolean[] blocked = blockedIndex.blocked(facts, applies);
      for (int i = 0; i < rules.length; i++) {
        if (!applies[i]) {
          continue;
        }
        CompiledRule r = rules[i];
        String what = r.broken(facts, blocked != null && blocked[i]);
        if (what != null) {
          findings.add(finding(c, img, r.rule.name(), r.action, what));
        }
      }
    }
    return summarize(c, img, findings, first);
  }

  /**
   * Why a parsed reference is still refused at admission, or null: a registry host written with
   * uppercase letters, text a node reads as an image ID, or a digest algorithm containerd does not
   * verify. The ValidatingAdmissionPolicy's CEL applies the same three rules.
   */
  static String admissionProblem(String image, ImageRef ref) {
    if (ImageRef.hasUppercaseDomain(image)) {
      return UPPERCASE_DOMAIN_REASON;
    }
    if (isImageId(image)) {
      return IMAGE_ID_REASON;
    }
    String d = ref.digest();
    if (d != null
        && !(d.startsWith("sha256:") || d.startsWith("sha384:") || d.startsWith("sha512:"))) {
      return DIGEST_ALGORITHM_REASON;
    }
    return null;
  }

  /**
   * Whether the text is {@code sha256:}, {@code sha384:} or {@code sha512:} followed by lowercase
   * hex digits, or lowercase hex digits alone: what containerd's CRI image lookup tries as an image
   * ID (or ID prefix) before or after the name.
   */
  static boolean isImageId(String image) {
    int from = 0;
    for (String alg : ID_ALGORITHMS) {
      if (image.startsWith(alg)) {
        from = alg.length();
        break;
      }
    }
    if (from == image.length()) {
      return false;
    }
    for (int i = from; i < image.length(); i++) {
      char ch = image.charAt(i);
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  private static final String[] ID_ALGORITHMS = {"sha256:", "sha384:", "sha512:"};

  /**
   * Why an image is refused as a reference at admission (not a valid reference, or one of {@link
   * #admissionProblem}'s rules), or null when it is an admissible reference.
   */
  public static String referenceProblem(String image) {
    try {
      return admissionProblem(image, ImageRef.parse(image));
    } catch (InvalidImageRefException e) {
      return e.reason();
    }
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
    return new ContainerVerdict(
        c,
        img,
        Action.ALLOW,
        null,
        c.kind().noun() + " \"" + c.name() + "\": image \"" + img + "\" is allowed");
  }

  /**
   * The image as verdicts show it: normalized when valid ({@code docker.io/library/nginx:latest}),
   * else as written, redacted.
   */
  private static String display(Container c) {
    try {
      ImageRef ref = ImageRef.parse(c.image());
      if (admissionProblem(c.image(), ref) == null) {
        return ref.canonical();
      }
    } catch (InvalidImageRefException e) {
      // shown as written
    }
    return Redact.value(c.image());
  }

  /** {@code <noun> "<name>": image "<img>" <what>[ (rule <rule>)]}. */
  static String message(Container c, String img, String what, String rule) {
    String head = c.kind().noun() + " \"" + c.name() + "\": image \"" + img + "\" " + what;
    return rule == null ? head : head + " (rule " + rule + ")";
  }
}
