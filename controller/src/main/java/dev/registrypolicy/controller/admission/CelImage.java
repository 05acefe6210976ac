package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.ContainerKind;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.InvalidImageRefException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CEL that reads a request's containers and parses their images exactly as {@link
 * ImageRef#parse} does, plus the admission rule that a registry domain written with an uppercase
 * letter is refused (containerd looks its configuration up case-sensitively).
 *
 * <p>CEL in a ValidatingAdmissionPolicy has no {@code cel.bind} and no indexed map, so each
 * container is carried as a {@code list<string>} record through a chain of variables, each stage
 * mapping the previous one and appending fields ({@code 'y'} / {@code ''} for booleans). The field
 * indexes are the constants below. Only functions both the API server (1.30+) and cel-java provide
 * are used: {@code split} (with a limit), {@code substring}, {@code indexOf}/{@code lastIndexOf}
 * without an offset, {@code contains}, {@code startsWith}, {@code lowerAscii}, {@code size}, {@code
 * matches} with anchored RE2 literals, the optional {@code .?} / {@code orValue}, and the {@code
 * map}/{@code filter}/{@code exists}/{@code all} macros.
 */
final class CelImage {
  private CelImage() {}

  /** How messages name the container: {@code container}, {@code init container}, ... */
  static final int NOUN = 0;

  static final int NAME = 1;

  /** The image as written. */
  static final int IMAGE = 2;

  static final int HAS_DIGEST = 3;
  static final int NAME_PART = 4;
  static final int DIGEST = 5;

  /** The first path component when it is a registry domain, as written; '' otherwise. */
  static final int DOMAIN_WRITTEN = 6;

  static final int REST = 7;
  static final int HAS_TAG = 8;
  static final int REPO = 9;
  static final int TAG = 10;

  /** 'y' when the image is a valid reference with a lowercase domain. */
  static final int VALID = 11;

  /** Normalized domain ({@code docker.io} for Docker Hub). */
  static final int DOMAIN = 12;

  static final int PATH = 13;

  /** {@code domain/path}, as {@link ImageRef#name()}. */
  static final int REF_NAME = 14;

  /** As {@link ImageRef#canonical()}. */
  static final int CANONICAL = 15;

  /** As {@link ImageRef#effectiveTag()}, '' for none. */
  static final int EFFECTIVE_TAG = 16;

  /** As {@link ImageRef#host()}. */
  static final int HOST = 17;

  /** {@code :port} or ''. */
  static final int PORT_SUFFIX = 18;

  /** How many fields a parsed record has; later stages append after these. */
  static final int FIELDS = 19;

  /**
   * Text a node reads as an image ID (AdmissionCheck.isImageId): hex digits alone, or after {@code
   * sha256:}, {@code sha384:} or {@code sha512:}. It covers ImageRef's own refusal of 64 hex
   * digits.
   */
  static final String IMAGE_ID = "^(?:sha256:|sha384:|sha512:)?[0-9a-f]+$";

  private static final String H = "[0-9a-f]{1,4}";

  /** RFC 4291 text form without an embedded IPv4 address, lowercase: ImageRef.isIpv6. */
  static final String IPV6 =
      String.join(
          "|",
          "(?:" + H + ":){7}" + H,
          "(?:" + H + ":){1,7}:",
          "(?:" + H + ":){1,6}:" + H,
          "(?:" + H + ":){1,5}(?::" + H + "){1,2}",
          "(?:" + H + ":){1,4}(?::" + H + "){1,3}",
          "(?:" + H + ":){1,3}(?::" + H + "){1,4}",
          "(?:" + H + ":){1,2}(?::" + H + "){1,5}",
          H + ":(?::" + H + "){1,6}",
          ":(?:(?::" + H + "){1,7}|:)");

  /** 1 to 65535 without leading zeros. */
  static final String PORT =
      "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

  private static final String LABEL = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";

  /** A lowercase registry domain with an optional port. */
  static final String DOMAIN_RE =
      "^(?:" + LABEL + "(?:\\." + LABEL + ")*|\\[(?:" + IPV6 + ")\\])(?::" + PORT + ")?$";

  private static final String COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
  static final String PATH_RE = "^" + COMPONENT + "(?:/" + COMPONENT + ")*$";
  static final String TAG_RE = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";
  static final String DIGEST_KNOWN =
      "^(?:sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$";

  /**
   * The spellings ImageRef reads as Docker Hub besides {@code docker.io}, asked of the model itself
   * so the CEL follows whatever normalization the model on the classpath has ({@code
   * index.docker.io} always; {@code registry-1.docker.io} only while the model merges it).
   */
  static final List<String> DOCKER_HUB_ALIASES = dockerHubAliases();

  private static List<String> dockerHubAliases() {
    List<String> out = new ArrayList<>();
    for (String alias : List.of("index.docker.io", "registry-1.docker.io")) {
      try {
        if (ImageRef.parse(alias + "/a/b").domain().equals(ImageRef.DEFAULT_DOMAIN)) {
          out.add(alias);
        }
      } catch (InvalidImageRefException e) {
        throw new IllegalStateException("the model refuses " + alias + "/a/b", e);
      }
    }
    return List.copyOf(out);
  }

  /** The pod spec of {@code o} ({@code object} or {@code oldObject}) by its kind. */
  static String podSpec(String o) {
    Map<List<String>, List<String>> byPath = new LinkedHashMap<>();
    for (WorkloadKind k : WorkloadKind.values()) {
      byPath.computeIfAbsent(k.podSpecPath(), p -> new ArrayList<>()).add(k.kind());
    }
    List<String> common = null;
    for (Map.Entry<List<String>, List<String>> e : byPath.entrySet()) {
      if (common == null || e.getValue().size() > byPath.get(common).size()) {
        common = e.getKey();
      }
    }
    StringBuilder sb = new StringBuilder("(");
    for (Map.Entry<List<String>, List<String>> e : byPath.entrySet()) {
      if (e.getKey().equals(common)) {
        continue;
      }
      sb.append(o)
          .append(".kind in ")
          .append(CelLiterals.stringList(e.getValue()))
          .append(" ? ")
          .append(o)
          .append('.')
          .append(String.join(".", e.getKey()))
          .append(" : ");
    }
    return sb.append(o).append('.').append(String.join(".", common)).append(')').toString();
  }

  /** Every container of a pod spec as {@code [noun, name, image]}, in admission order. */
  static String containers(String spec) {
    List<String> parts = new ArrayList<>();
    for (ContainerKind k : ContainerKind.values()) {
      parts.add(
          spec
              + ".?"
              + k.field()
              + ".orValue([]).map(c, ["
              + CelLiterals.string(k.noun())
              + ", c.name, c.?image.orValue('')])");
    }
    return String.join(" + ", parts);
  }

  private static String f(int i) {
    return "c[" + i + "]";
  }

  private static String lit(String s) {
    return CelLiterals.string(s);
  }

  /** Stage 1: digest split at the first '@'. */
  static String stage1(String in) {
    return in
        + ".map(c, c + ("
        + f(IMAGE)
        + ".contains('@') ? ['y'] + "
        + f(IMAGE)
        + ".split('@', 2) : ['', "
        + f(IMAGE)
        + ", '']))";
  }

  /**
   * Stage 2: the registry domain as written. The first component of a name with a '/' is a domain
   * when it is localhost or holds '.', ':' or an uppercase letter (ImageRef.looksLikeDomain).
   */
  static String stage2(String in) {
    String first = f(NAME_PART) + ".split('/', 2)[0]";
    String isDomain =
        f(NAME_PART)
            + ".contains('/') && ("
            + first
            + " == 'localhost' || "
            + first
            + ".matches('[.:A-Z]'))";
    return in
        + ".map(c, c + ("
        + isDomain
        + " ? "
        + f(NAME_PART)
        + ".split('/', 2) : ['', "
        + f(NAME_PART)
        + "]))";
  }

  /** Stage 3: the tag, after the last ':' that follows the last '/'. */
  static String stage3(String in) {
    String colon = f(REST) + ".lastIndexOf(':')";
    return in
        + ".map(c, c + ("
        + colon
        + " > "
        + f(REST)
        + ".lastIndexOf('/') ? ['y', "
        + f(REST)
        + ".substring(0, "
        + colon
        + "), "
        + f(REST)
        + ".substring("
        + colon
        + " + 1)] : ['', "
        + f(REST)
        + ", '']))";
  }

  /** Stage 4: validity of each part, the normalized domain and the path. */
  static String stage4(String in) {
    String valid =
        "!"
            + f(IMAGE)
            + ".matches("
            + lit(IMAGE_ID)
            + ") && ("
            + f(DOMAIN_WRITTEN)
            + " == '' || "
            + f(DOMAIN_WRITTEN)
            + ".matches("
            + lit(DOMAIN_RE)
            + ")) && "
            + f(REPO)
            + ".matches("
            + lit(PATH_RE)
            + ") && ("
            + f(HAS_TAG)
            + " == '' || "
            + f(TAG)
            + ".matches("
            + lit(TAG_RE)
            + ")) && ("
            + f(HAS_DIGEST)
            + " == '' || "
            + f(DIGEST)
            + ".matches("
            + lit(DIGEST_KNOWN)
            + "))";
    String domain =
        "("
            + f(DOMAIN_WRITTEN)
            + " == ''"
            + (DOCKER_HUB_ALIASES.isEmpty()
                ? ""
                : " || " + f(DOMAIN_WRITTEN) + " in " + CelLiterals.stringList(DOCKER_HUB_ALIASES))
            + " ? "
            + lit(ImageRef.DEFAULT_DOMAIN)
            + " : "
            + f(DOMAIN_WRITTEN)
            + ")";
    String official =
        "("
            + domain
            + " == "
            + lit(ImageRef.DEFAULT_DOMAIN)
            + " && !"
            + f(REST)
            + ".contains('/'))";
    String path = "(" + official + " ? 'library/' + " + f(REPO) + " : " + f(REPO) + ")";
    return in + ".map(c, c + [" + valid + " ? 'y' : '', " + domain + ", " + path + "])";
  }

  /** Stage 5: the total length rule and the derived forms of a valid reference. */
  static String stage5(String in) {
    String name = f(DOMAIN) + " + '/' + " + f(PATH);
    String suffix =
        "("
            + f(HAS_TAG)
            + " == 'y' ? ':' + "
            + f(TAG)
            + " : '') + ("
            + f(HAS_DIGEST)
            + " == 'y' ? '@' + "
            + f(DIGEST)
            + " : '') + ("
            + f(HAS_TAG)
            + " == '' && "
            + f(HAS_DIGEST)
            + " == '' ? ':latest' : '')";
    String effectiveTag =
        "("
            + f(HAS_TAG)
            + " == 'y' ? "
            + f(TAG)
            + " : "
            + f(HAS_DIGEST)
            + " == 'y' ? '' : 'latest')";
    String host =
        "("
            + f(DOMAIN)
            + ".startsWith('[') ? "
            + f(DOMAIN)
            + ".split(']', 2)[0] + ']' : "
            + f(DOMAIN)
            + ".split(':', 2)[0])";
    String valid =
        f(VALID)
            + " == 'y' && "
            + f(DOMAIN)
            + ".size() + 1 + "
            + f(PATH)
            + ".size() <= "
            + ImageRef.NAME_TOTAL_LENGTH_MAX;
    // Derived only for a valid reference: on other text they could fail (a '[' without ']').
    return in
        + ".map(c, ["
        + join(NOUN, VALID)
        + "] + ("
        + valid
        + " ? ['y', "
        + f(DOMAIN)
        + ", "
        + f(PATH)
        + ", "
        + name
        + ", "
        + name
        + " + "
        + suffix
        + ", "
        + effectiveTag
        + ", "
        + host
        + ", "
        + f(DOMAIN)
        + ".substring("
        + host
        + ".size())] : ['', "
        + f(DOMAIN)
        + ", "
        + f(PATH)
        + ", '', '', '', '', '']))";
  }

  /** {@code c[from], c[from+1], ... c[to-1]}. */
  private static String join(int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(f(i));
    }
    return String.join(", ", out);
  }
}
