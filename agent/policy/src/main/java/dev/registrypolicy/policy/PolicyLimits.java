package dev.registrypolicy.policy;

/**
 * Hard limits on what the parser reads, checked before the work they bound: the size in bytes
 * before any YAML is read, nesting, aliases and node counts while the YAML events stream past
 * (before any object is built), list sizes before their items are read, string lengths before a
 * value is interpreted. Every limit that is hit is a {@link Problem} with its path. They are
 * generous for real clusters, and small enough that the largest policy they allow parses and is
 * planned in the agent's 32 MiB heap and 256 KiB thread stacks (see the model README).
 */
public final class PolicyLimits {
  private PolicyLimits() {}

  /**
   * A file handed to {@link PolicyDocument}: the ConfigMap as kubectl prints it. The API server
   * stores no larger object (etcd refuses requests over about 1.5 MiB; annotations, kubectl's
   * last-applied copy included, have at most 256 KiB: /work/shared/notes/cel.md).
   */
  public static final int MAX_FILE_BYTES = 3 << 19;

  /** The policy text itself: a ConfigMap holds at most 1 MiB. */
  public static final int MAX_POLICY_BYTES = 1 << 20;

  /** Mappings and lists inside one another; the deepest the policy format uses is 9. */
  public static final int MAX_DEPTH = 32;

  /** YAML nodes of one document, counting each alias as the nodes it repeats. */
  public static final int MAX_NODES = 40_000;

  /**
   * Characters of scalar text in one document, aliases counting what they repeat: as much as the
   * file itself may hold, so aliases never let a small file stand for more than a large one could
   * say outright (every host's hosts.toml repeats its URLs).
   */
  public static final int MAX_EXPANDED_CHARS = MAX_FILE_BYTES;

  /** Aliases ({@code *name}) in one document. */
  public static final int MAX_ALIASES = 1_000;

  /** Documents in one file. */
  public static final int MAX_DOCUMENTS = 1_000;

  /** Characters of one mapping key. */
  public static final int MAX_KEY_CHARS = 512;

  /** Characters of one string value in the policy (hosts, URLs, names, patterns). */
  public static final int MAX_STRING_CHARS = 2_048;

  /**
   * A dump of cluster objects read by the controller's {@code check --objects} and {@code render
   * --namespaces} ({@code kubectl get pods -A -o yaml} and the like), with {@link
   * Yaml.Limits#OBJECTS}: more than 50,000 Pods as kubectl prints them with managedFields and
   * status (4.7 KB each in the 5,000-Pod test dump, YamlObjectDumps); reading one takes about 5.5
   * times its size in heap. Not for policies.
   */
  public static final int MAX_OBJECTS_FILE_BYTES = 256 << 20;

  /** Documents in one objects dump: one object per document is allowed as well as a List. */
  public static final int MAX_OBJECTS_DOCUMENTS = 100_000;

  /** {@code registries}. */
  public static final int MAX_REGISTRIES = 1_000;

  /** {@code mirrors} of one registry. */
  public static final int MAX_MIRRORS = 32;

  /** CA references of one endpoint. */
  public static final int MAX_CAS = 16;

  /** {@code credentials}. */
  public static final int MAX_CREDENTIALS = 1_000;

  /** {@code access} grants. */
  public static final int MAX_GRANTS = 1_000;

  /** {@code admission.allowedSources}. */
  public static final int MAX_ALLOWED_SOURCES = 5_000;

  /** {@code admission.rules}. */
  public static final int MAX_RULES = 1_000;

  /** {@code allowedNameTags} or {@code blockedImages} of one rule. */
  public static final int MAX_PATTERNS = 1_000;

  /** {@code imageMetadata.requiredLabels} of one rule. */
  public static final int MAX_REQUIRED_LABELS = 64;

  /**
   * Characters of a required label's key. OCI and Docker set no limit; reverse-DNS keys such as
   * {@code org.opencontainers.image.source} are far shorter.
   */
  public static final int MAX_LABEL_KEY_CHARS = 256;

  /** Characters of a required label's value glob. */
  public static final int MAX_LABEL_VALUE_PATTERN_CHARS = 1_024;

  /** {@code imageMetadata.allowedPlatforms} of one rule. */
  public static final int MAX_ALLOWED_PLATFORMS = 32;

  /**
   * Characters of one part (os, architecture, variant) of an allowed platform: the OCI values are
   * short words ({@code linux}, {@code arm64}, {@code v8}).
   */
  public static final int MAX_PLATFORM_PART_CHARS = 32;

  /**
   * Any other list: names, label selector expressions and values, capabilities, credentials of a
   * grant.
   */
  public static final int MAX_LIST_ITEMS = 1_000;

  /**
   * The one wording of a size limit in every message of both jars: {@code more than 1.5 MiB
   * (1572864 bytes)}.
   */
  public static String moreThan(long limitBytes) {
    double mib = limitBytes / (double) (1 << 20);
    String shown =
        mib == Math.rint(mib)
            ? String.valueOf((long) mib)
            : String.format(java.util.Locale.ROOT, "%.1f", mib);
    return "more than " + shown + " MiB (" + limitBytes + " bytes)";
  }
}
