package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.AllowedSource;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.InvalidImageRefException;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PrefixIndex;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The verdict semantics of the admission contract (COMMON.md), written with the model's parts
 * ({@link ImageRef}, {@link PrefixIndex}, {@link AdmissionRule}'s patterns, NamespaceSelector): the
 * Java side the CEL is compared with until the model's {@link AdmissionCheck} is implemented. It
 * returns, per action, the message a policy bound with that action shows (null for none), with an
 * invalid image's finding in the CEL's wording (see {@link ValidatingPolicies}).
 */
final class CelOracle {
  private final Policy policy;
  private final Set<String> exempt;
  private final PrefixIndex<AllowedSource> sources;

  CelOracle(Policy policy, Set<String> exempt) {
    this.policy = policy;
    this.exempt = exempt;
    PrefixIndex.Builder<AllowedSource> b = PrefixIndex.builder();
    for (AllowedSource s : policy.admission().allowedSources()) {
      b.add(s.prefix(), s);
    }
    this.sources = b.build();
  }

  /** Whether the image is invalid for admission: unparseable or a domain written uppercase. */
  static ImageRef parse(String image) {
    try {
      ImageRef r = ImageRef.parse(image);
      int at = image.indexOf('@');
      String name = at < 0 ? image : image.substring(0, at);
      int slash = name.indexOf('/');
      // A first component with an uppercase letter is a domain to ImageRef (looksLikeDomain).
      if (slash >= 0
          && !name.substring(0, slash).toLowerCase(Locale.ROOT).equals(name.substring(0, slash))) {
        return null; // the domain as written has an uppercase letter
      }
      return r;
    } catch (InvalidImageRefException e) {
      return null;
    }
  }

  Map<Action, String> messages(
      NamespaceInfo ns, List<CelRequests.C> containers, List<CelRequests.C> old) {
    Map<Action, List<String>> out = new EnumMap<>(Action.class);
    List<AdmissionRule> rules = new ArrayList<>();
    for (AdmissionRule r : policy.admission().rules()) {
      if (ValidatingPolicies.evaluable(r)) {
        rules.add(r);
      }
    }
    Action dflt = Action.of(policy.admission().mode());
    boolean enforcing = policy.admission().restrictsSources() || !rules.isEmpty();
    Map<Action, String> result = new EnumMap<>(Action.class);
    if (!enforcing || exempt.contains(ns.name())) {
      return result;
    }
    // Admission order: containers, then initContainers, then ephemeralContainers.
    List<CelRequests.C> ordered = new ArrayList<>(containers);
    ordered.sort(java.util.Comparator.comparing(CelRequests.C::kind));
    for (CelRequests.C c : ordered) {
      if (old.contains(c)) {
        continue;
      }
      List<Map.Entry<Action, String>> findings = new ArrayList<>();
      String who = c.kind().noun() + " \"" + c.name() + "\": image ";
      ImageRef ref = parse(c.image());
      if (ref == null) {
        findings.add(
            Map.entry(
                dflt,
                who
                    + ValidatingPolicies.INVALID_WHAT
                    + " (rule "
                    + AdmissionCheck.RULE_IMAGE_REFERENCE
                    + ")"));
      } else {
        String img = who + "\"" + ref.canonical() + "\" ";
        if (policy.admission().restrictsSources()
            && !sources.anyMatch(ref, s -> s.scope().matches(ns))) {
          findings.add(
              Map.entry(
                  dflt,
                  img
                      + "is not from an allowed source (rule "
                      + AdmissionCheck.RULE_ALLOWED_SOURCES
                      + ")"));
        }
        for (AdmissionRule r : rules) {
          if (!r.namespaces().matches(ns)) {
            continue;
          }
          String what = what(r, ref);
          if (what != null) {
            findings.add(
                Map.entry(
                    ValidatingPolicies.action(r, dflt), img + what + " (rule " + r.name() + ")"));
          }
        }
      }
      for (Action a : List.of(Action.DENY, Action.WARN, Action.AUDIT)) {
        for (Map.Entry<Action, String> f : findings) {
          if (f.getKey() == a) {
            out.computeIfAbsent(a, k -> new ArrayList<>()).add(f.getValue());
            break;
          }
        }
      }
    }
    out.forEach((a, l) -> result.put(a, String.join("; ", l)));
    return result;
  }

  static String what(AdmissionRule r, ImageRef ref) {
    if (r.requireDigest() && !ref.hasDigest()) {
      return "is not pinned by digest";
    }
    if (r.blockUntagged() && !ref.hasTag() && !ref.hasDigest()) {
      return "has no tag";
    }
    if (r.blockLatestTag() && ImageRef.DEFAULT_TAG.equals(ref.effectiveTag())) {
      return "uses the latest tag";
    }
    if (!r.allowedNameTags().isEmpty()
        && r.allowedNameTags().stream().noneMatch(p -> p.matches(ref))) {
      return "does not match an allowed name and tag";
    }
    if (r.blockedImages().stream().anyMatch(b -> b.matches(ref))) {
      return "is blocked";
    }
    return null;
  }
}
