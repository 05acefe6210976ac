package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.AdmissionRule.BlockedImage;
import dev.registrypolicy.policy.AdmissionRule.NameTagPattern;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.RegistryHosts;
import java.util.ArrayList;
import java.util.List;

/**
 * The per-container checks and messages as CEL over a parsed record {@code c} (see {@link
 * CelImage}): a rule's first failing check, and the first finding of one action.
 */
final class CelRules {
  private CelRules() {}

  private static final String HUB_SPELLINGS =
      CelLiterals.stringList(List.of(RegistryHosts.DOCKER_HUB, RegistryHosts.DOCKER_HUB_API_HOST));

  private static String f(String c, int i) {
    return c + "[" + i + "]";
  }

  /**
   * The rule's first failing check on a valid image, in the model's order (requireDigest,
   * blockUntagged, blockLatestTag, allowedNameTags, blockedImages), as the text of its finding
   * ({@code is not pinned by digest}, ...), or '' when the image passes.
   */
  static String what(AdmissionRule r, String c) {
    String hasDigest = f(c, CelImage.HAS_DIGEST) + " == 'y'";
    String hasTag = f(c, CelImage.HAS_TAG) + " == 'y'";
    StringBuilder sb = new StringBuilder("(");
    if (r.requireDigest()) {
      sb.append("!(").append(hasDigest).append(") ? 'is not pinned by digest' : ");
    }
    if (r.blockUntagged()) {
      sb.append("!(")
          .append(hasTag)
          .append(") && !(")
          .append(hasDigest)
          .append(") ? 'has no tag' : ");
    }
    if (r.blockLatestTag()) {
      sb.append(f(c, CelImage.EFFECTIVE_TAG))
          .append(" == ")
          .append(CelLiterals.string(ImageRef.DEFAULT_TAG))
          .append(" ? 'uses the latest tag' : ");
    }
    if (!r.allowedNameTags().isEmpty()) {
      List<String> any = new ArrayList<>();
      for (NameTagPattern p : r.allowedNameTags()) {
        any.add(nameTag(p, c));
      }
      sb.append("!(")
          .append(String.join(" || ", any))
          .append(") ? 'does not match an allowed name and tag' : ");
    }
    if (!r.blockedImages().isEmpty()) {
      List<String> any = new ArrayList<>();
      for (BlockedImage b : r.blockedImages()) {
        any.add(blocked(b, c));
      }
      sb.append('(').append(String.join(" || ", any)).append(") ? 'is blocked' : ");
    }
    return sb.append("'')").toString();
  }

  /** As {@link NameTagPattern#matches}. */
  static String nameTag(NameTagPattern p, String c) {
    String out = CelGlob.matches(f(c, CelImage.REF_NAME), p.name());
    if (p.tag() != null) {
      String t = f(c, CelImage.EFFECTIVE_TAG);
      out += " && " + t + " != '' && " + CelGlob.matches(t, p.tag());
    }
    return "(" + out + ")";
  }

  /** As {@link BlockedImage#matches}. */
  static String blocked(BlockedImage b, String c) {
    List<String> and = new ArrayList<>();
    if (b.host() != null) {
      // Docker Hub's two spellings are one host for a blocklist (BlockedImage.matches).
      boolean hub =
          b.host().matches(RegistryHosts.DOCKER_HUB)
              || b.host().matches(RegistryHosts.DOCKER_HUB_API_HOST);
      and.add(
          "("
              + f(c, CelImage.HOST)
              + " in "
              + HUB_SPELLINGS
              + " ? "
              + hub
              + " : "
              + CelGlob.matches(f(c, CelImage.HOST), b.host())
              + ")");
    }
    if (b.port() != null) {
      and.add(
          f(c, CelImage.PORT_SUFFIX)
              + " == "
              + CelLiterals.string(b.port() < 0 ? "" : ":" + b.port()));
    }
    if (b.path() != null) {
      String path = CelGlob.matches(f(c, CelImage.PATH), b.path());
      if (b.path().pattern().indexOf('/') < 0) {
        // A glob without '/' also matches an official image without its implicit library/.
        path =
            "("
                + path
                + " || ("
                + f(c, CelImage.DOMAIN)
                + " in "
                + HUB_SPELLINGS
                + " && "
                + f(c, CelImage.PATH)
                + ".startsWith('library/') && "
                + CelGlob.matches(f(c, CelImage.PATH) + ".substring(8)", b.path())
                + "))";
      }
      and.add(path);
    }
    if (b.tag() != null) {
      String t = f(c, CelImage.EFFECTIVE_TAG);
      and.add(t + " != ''");
      and.add(CelGlob.matches(t, b.tag()));
    }
    return and.isEmpty() ? "true" : "(" + String.join(" && ", and) + ")";
  }

  /**
   * The message of the first finding of this policy's action for container {@code c}, or ''.
   *
   * @param base whether this action is the admission default mode (imageReference and
   *     allowedSources findings)
   * @param allow the allowlist when this policy checks sources, else null
   * @param rules this action's rules; their findings are fields {@link CelImage#FIELDS}, ... of c
   */
  static String message(
      boolean base, CelAllowlist allow, boolean nodeCreds, List<AdmissionRule> rules, String c) {
    String who = f(c, CelImage.NOUN) + " + ' \"' + " + f(c, CelImage.NAME) + " + '\": image '";
    String img = who + " + '\"' + " + f(c, CelImage.CANONICAL) + " + '\" '";
    String invalid =
        base
            ? who
                + " + "
                + CelLiterals.string(
                    ValidatingPolicies.INVALID_WHAT
                        + " (rule "
                        + AdmissionCheck.RULE_IMAGE_REFERENCE
                        + ")")
            : "''";
    StringBuilder valid = new StringBuilder("(");
    if (base && allow != null) {
      valid
          .append("!(")
          .append(allow.allows(c))
          .append(") ? ")
          .append(img)
          .append(" + ")
          .append(
              CelLiterals.string(
                  "is not from an allowed source (rule "
                      + AdmissionCheck.RULE_ALLOWED_SOURCES
                      + ")"))
          .append(" : ");
    }
    if (base && nodeCreds) {
      String missing = CelNodeCredentials.ungranted(c);
      valid
          .append(missing)
          .append(".size() > 0 ? ")
          .append(img)
          .append(" + 'would be pulled with node credentials \"' + variables.credNames[")
          .append(missing)
          .append("[0]] + '\" for registry \"' + ")
          .append(f(c, CelImage.DOMAIN))
          .append(" + '\" that no access grant gives namespace \"' + variables.nsName + ")
          .append(CelLiterals.string("\" (rule " + AdmissionCheck.RULE_NODE_CREDENTIALS + ")"))
          .append(" : ");
    }
    for (int i = 0; i < rules.size(); i++) {
      String w = f(c, CelImage.FIELDS + i);
      valid
          .append(w)
          .append(" != '' ? ")
          .append(img)
          .append(" + ")
          .append(w)
          .append(" + ")
          .append(CelLiterals.string(" (rule " + rules.get(i).name() + ")"))
          .append(" : ");
    }
    valid.append("'')");
    return "(" + f(c, CelImage.VALID) + " != 'y' ? " + invalid + " : " + valid + ")";
  }
}
