package dev.registrypolicy.common;

import java.time.DateTimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What one agent says about its node: the policy and credentials bundle it has applied and the
 * problems it has. Agents publish it as a {@code coordination.k8s.io/v1} Lease named {@link
 * #leaseName} in the product's namespace (holderIdentity = node name, renewed while the agent
 * runs); the controller reads every such Lease and says in its status how many nodes are on the
 * current policy. This class is the contract both sides share: names, labels, annotations and how
 * to read them back from values anyone with write access to Leases may have set.
 *
 * @param node the node's name
 * @param policySha256 hex SHA-256 of the policy text applied ({@code Policy.sha256()}), or null
 *     before a policy was ever applied
 * @param bundleRevision the {@link NodeCredentialsBundle#REVISION_KEY} value of the bundle applied,
 *     or null when the agent has none (no bundle, or one from before revisions)
 * @param problems the agent's current problems, one line each, already redacted by the agent; at
 *     most {@link #MAX_PROBLEMS}, each cut to {@link #MAX_PROBLEM_CHARS}
 * @param appliedAt when the agent last applied a change (or confirmed the node), or null
 */
public record NodeReport(
    String node,
    String policySha256,
    String bundleRevision,
    List<String> problems,
    Instant appliedAt) {

  /** Prefix of every report Lease's name; the rest is the node name (see {@link #leaseName}). */
  public static final String LEASE_PREFIX = "registry-policy-node-";

  /** Label key that marks a Lease as a node report (with {@link #COMPONENT}). */
  public static final String COMPONENT_LABEL = "app.kubernetes.io/component";

  /** Value of {@link #COMPONENT_LABEL} on report Leases. */
  public static final String COMPONENT = "node-report";

  /** {@code key=value}: the label selector that finds every report Lease. */
  public static final String SELECTOR = COMPONENT_LABEL + "=" + COMPONENT;

  /**
   * Label: the first {@link #SHORT_HASH} hex characters of {@link #policySha256} ("none" before
   * any), so {@code kubectl get leases -L} shows it (a label value holds at most 63 characters).
   */
  public static final String POLICY_LABEL = "registry-policy.dev/policy";

  /** Label: the number of problems, as decimal. */
  public static final String PROBLEMS_LABEL = "registry-policy.dev/problems";

  /** Annotation: the full {@link #policySha256}. */
  public static final String POLICY_ANNOTATION = "registry-policy.dev/policy-sha256";

  /** Annotation: {@link #bundleRevision}. */
  public static final String BUNDLE_ANNOTATION = "registry-policy.dev/bundle-revision";

  /** Annotation: the problems, one per line. */
  public static final String PROBLEMS_ANNOTATION = "registry-policy.dev/problems";

  /** Annotation: {@link #appliedAt} as ISO-8601 (UTC). */
  public static final String APPLIED_ANNOTATION = "registry-policy.dev/applied-at";

  /** Hex characters of the policy hash in {@link #POLICY_LABEL}. */
  public static final int SHORT_HASH = 12;

  /** Most problems a report carries; the rest is summarised in one last line. */
  public static final int MAX_PROBLEMS = 20;

  /** Most characters of one problem line. */
  public static final int MAX_PROBLEM_CHARS = 300;

  /** Longest value of any annotation read back; longer ones are treated as absent. */
  public static final int MAX_ANNOTATION_CHARS = 16_384;

  /** Longest Lease name (a DNS subdomain). */
  private static final int MAX_NAME = 253;

  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  /** A {@link #bundleRevision}: a Secret data value an agent can report as a label-safe word. */
  private static final Pattern REVISION = Pattern.compile("[-._a-zA-Z0-9]+");

  /** Latest {@link #appliedAt} read back (the end of year 9999). */
  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  /** A DNS subdomain (RFC 1123): what Kubernetes accepts as a Node's or a Lease's name. */
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /**
   * Canonical form: bounded, each problem one line without control characters, blank ones (and
   * nulls) left out.
   */
  public NodeReport {
    Objects.requireNonNull(node, "node");
    List<String> lines = new ArrayList<>();
    for (String p : problems == null ? List.<String>of() : problems) {
      String line = oneLine(p);
      if (!line.isBlank()) {
        lines.add(line);
      }
    }
    if (lines.size() > MAX_PROBLEMS) {
      int more = lines.size() - MAX_PROBLEMS;
      lines = new ArrayList<>(lines.subList(0, MAX_PROBLEMS));
      lines.add("... and " + more + " more");
    }
    problems = List.copyOf(lines);
  }

  /**
   * The report Lease's name for {@code node}: {@link #LEASE_PREFIX} + node name, or, when that
   * would pass 253 characters, the prefix + the name's first characters + "-" + 16 hex of its
   * SHA-256 (node names are DNS subdomains, so the result is one too).
   */
  public static String leaseName(String node) {
    String name = LEASE_PREFIX + node;
    if (name.length() <= MAX_NAME) {
      return name;
    }
    String hash = Hashes.sha256Hex(node);
    String head = node.substring(0, MAX_NAME - LEASE_PREFIX.length() - 17);
    while (!head.isEmpty() && !Character.isLetterOrDigit(head.charAt(head.length() - 1))) {
      head = head.substring(0, head.length() - 1);
    }
    return LEASE_PREFIX + head + "-" + hash.substring(0, 16);
  }

  /** The labels of the report Lease (selector label included). */
  public Map<String, String> labels() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(COMPONENT_LABEL, COMPONENT);
    m.put(POLICY_LABEL, shortPolicy());
    m.put(PROBLEMS_LABEL, Integer.toString(problems.size()));
    return m;
  }

  /** The annotations of the report Lease; absent values are left out. */
  public Map<String, String> annotations() {
    Map<String, String> m = new LinkedHashMap<>();
    if (policySha256 != null) {
      m.put(POLICY_ANNOTATION, policySha256);
    }
    if (bundleRevision != null) {
      m.put(BUNDLE_ANNOTATION, bundleRevision);
    }
    if (!problems.isEmpty()) {
      m.put(PROBLEMS_ANNOTATION, String.join("\n", problems));
    }
    if (appliedAt != null) {
      m.put(APPLIED_ANNOTATION, appliedAt.toString());
    }
    return m;
  }

  /** {@link #POLICY_LABEL}'s value. */
  public String shortPolicy() {
    return policySha256 == null || policySha256.length() < SHORT_HASH
        ? "none"
        : policySha256.substring(0, SHORT_HASH);
  }

  /**
   * Reads a report back from a Lease's holder and annotations. Never throws on what it finds:
   * values that are missing, oversized or malformed read as absent (a malformed hash is not a
   * hash), so a hand-edited Lease cannot break the controller.
   *
   * @param holder the Lease's {@code spec.holderIdentity} (the node), null if unset
   * @param annotations its annotations, null if none
   * @return the report, or null when the Lease names no node
   */
  public static NodeReport read(String holder, Map<String, String> annotations) {
    if (holder == null || holder.length() > MAX_NAME || !DNS_SUBDOMAIN.matcher(holder).matches()) {
      return null; // not a node name: it would otherwise reach the controller's status as text
    }
    Map<String, String> a = annotations == null ? Map.of() : annotations;
    String policy = bounded(a.get(POLICY_ANNOTATION));
    if (policy != null && !SHA256_HEX.matcher(policy).matches()) {
      policy = null;
    }
    String bundle = bounded(a.get(BUNDLE_ANNOTATION));
    if (bundle != null && (bundle.length() > 128 || !REVISION.matcher(bundle).matches())) {
      bundle = null;
    }
    String problemText = bounded(a.get(PROBLEMS_ANNOTATION));
    List<String> problems =
        problemText == null || problemText.isEmpty() ? List.of() : List.of(problemText.split("\n"));
    Instant applied = null;
    String at = bounded(a.get(APPLIED_ANNOTATION));
    if (at != null && at.length() <= 64) {
      try {
        applied = Instant.parse(at);
        if (applied.isBefore(Instant.EPOCH) || applied.isAfter(LATEST)) {
          applied = null; // a year outside 1970-9999 is no agent's clock
        }
      } catch (DateTimeException e) { // unparsable, or out of Instant's range
        applied = null; // not a time: shown as never applied
      }
    }
    return new NodeReport(holder, policy, bundle, problems, applied);
  }

  private static String bounded(String s) {
    return s == null || s.length() > MAX_ANNOTATION_CHARS ? null : s;
  }

  /** One line: every control character (line breaks, tabs, escapes) becomes a space; cut. */
  private static String oneLine(String p) {
    String s = p == null ? "" : p.replace("\r\n", "\n");
    if (s.length() > MAX_PROBLEM_CHARS) {
      s = s.substring(0, MAX_PROBLEM_CHARS - 3) + "...";
    }
    StringBuilder b = new StringBuilder(s.length());
    s.chars().forEach(c -> b.append(Character.isISOControl(c) ? ' ' : (char) c));
    return b.toString();
  }
}
