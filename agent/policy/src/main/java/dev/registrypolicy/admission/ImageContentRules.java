package dev.registrypolicy.admission;

import dev.registrypolicy.policy.Admission;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.InvalidImageRefException;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * The policy's image-content rules ({@code rules[].imageMetadata}) for one request, in three pure
 * steps around the fetch: {@link #plan} says which containers need which image's metadata, {@link
 * #evaluate} turns the fetched metadata into findings ({@link ImageContentCheck} per rule), and
 * {@link #merge} adds them to the verdict of {@link AdmissionCheck}. The webhook and {@code check}
 * both go through these, so they agree. Immutable and thread-safe, built once per policy.
 *
 * <p>What is not fetched: containers in exempt namespaces; on an update, containers whose kind,
 * name, image and effective run-as settings are unchanged (as {@link AdmissionCheck} leaves
 * unchanged containers alone); images that are not valid references (refused by {@value
 * AdmissionCheck#RULE_IMAGE_REFERENCE} already); and containers the verdict without content rules
 * already denies: the request is refused whatever their content, and the controller never contacts
 * a registry for an image the policy refuses anyway (say, one outside every allowed source).
 */
public final class ImageContentRules {
  private final CompiledRule[] rules;
  private final Set<String> exempt;

  private ImageContentRules(Policy policy, String ownNamespace) {
    Admission a = policy.admission();
    Action defaultAction = Action.of(a.mode());
    List<CompiledRule> out = new ArrayList<>();
    for (AdmissionRule r : a.rules()) {
      if (r.checksImageContent()) {
        out.add(new CompiledRule(r, defaultAction));
      }
    }
    this.rules = out.toArray(new CompiledRule[0]);
    this.exempt = a.effectiveExemptNamespaces(ownNamespace);
  }

  /** The content rules of a policy; {@code ownNamespace} as for {@link AdmissionCheck#of}. */
  public static ImageContentRules of(Policy policy, String ownNamespace) {
    Objects.requireNonNull(policy, "policy");
    return new ImageContentRules(policy, ownNamespace);
  }

  /** Whether the policy has no image-content rule (then nothing is ever fetched). */
  public boolean isEmpty() {
    return rules.length == 0;
  }

  /**
   * One container that needs its image's metadata.
   *
   * @param container the container (the same object as in the workload and the verdict)
   * @param image the normalized image, as the verdict shows it
   * @param ref the reference to fetch
   * @param runAs its effective run-as settings
   * @param rules the indexes of the content rules that apply to it
   */
  public record Need(
      Container container, String image, ImageRef ref, RunAs runAs, List<Integer> rules) {
    public Need {
      rules = List.copyOf(rules);
    }
  }

  /**
   * Which containers of the request need which images.
   *
   * @param base the verdict of {@link AdmissionCheck#check} on the same request
   */
  public List<Need> plan(NamespaceInfo ns, Workload workload, Workload old, Verdict base) {
    if (rules.length == 0 || exempt.contains(ns.name())) {
      return List.of();
    }
    List<Integer> applying = applying(ns);
    if (applying.isEmpty()) {
      return List.of();
    }
    Set<List<Object>> unchanged = new HashSet<>();
    if (old != null) {
      for (int i = 0; i < old.containers().size(); i++) {
        unchanged.add(List.of(old.containers().get(i), old.runAs(i)));
      }
    }
    List<Need> out = new ArrayList<>();
    List<Container> cs = workload.containers();
    for (int i = 0; i < cs.size(); i++) {
      Container c = cs.get(i);
      RunAs runAs = workload.runAs(i);
      if (base.containers().get(i).action() == Action.DENY
          || unchanged.contains(List.of(c, runAs))) {
        continue;
      }
      ImageRef ref;
      try {
        ref = ImageRef.parse(c.image());
      } catch (InvalidImageRefException e) {
        continue; // refused as imageReference
      }
      if (AdmissionCheck.admissionProblem(c.image(), ref) != null) {
        continue;
      }
      out.add(new Need(c, ref.canonical(), ref, runAs, applying));
    }
    return out;
  }

  /** The distinct references a plan fetches, in first-use order. */
  public static Set<ImageRef> images(List<Need> plan) {
    Set<ImageRef> out = new LinkedHashSet<>();
    for (Need n : plan) {
      out.add(n.ref());
    }
    return out;
  }

  /**
   * One rule on one container, for metrics and logs.
   *
   * @param rule the rule's name
   * @param action the rule's action
   * @param outcome what it gave
   * @param failure why the metadata could not be had, or null
   */
  public record Decided(
      String rule, Action action, ImageContentCheck.Outcome outcome, MetadataFailure failure) {}

  /**
   * The findings of a plan, given each reference's lookup.
   *
   * @param lookups the lookup of every reference of {@link #images}
   * @param decided receives every (container, rule) decision, for metrics; may be null
   */
  public List<Finding> evaluate(
      List<Need> plan, Function<ImageRef, MetadataLookup> lookups, List<Decided> decided) {
    List<Finding> out = new ArrayList<>();
    for (Need n : plan) {
      MetadataLookup lookup = lookups.apply(n.ref());
      if (lookup == null) {
        lookup =
            MetadataLookup.failed(
                MetadataFailure.ERROR, "no metadata lookup was made for " + n.image());
      }
      for (int i : n.rules()) {
        CompiledRule r = rules[i];
        ImageContentCheck.Outcome o =
            ImageContentCheck.evaluate(r.rule.imageMetadata(), n.runAs(), n.ref(), lookup);
        if (decided != null) {
          decided.add(new Decided(r.rule.name(), r.action, o, lookup.failure()));
        }
        if (o.finding()) {
          out.add(
              new Finding(
                  n.container(),
                  n.image(),
                  r.rule.name(),
                  r.action,
                  AdmissionCheck.message(n.container(), n.image(), o.what(), r.rule.name())));
        }
      }
    }
    return out;
  }

  /**
   * The verdict with the content findings added to each container's, the container verdicts
   * recomputed (most severe finding, the first of that action).
   *
   * @param base the verdict of {@link AdmissionCheck#check} on the request
   * @param keepBase whether base's findings stay (false: only the content findings count, for a
   *     webhook registered just for the content rules while ValidatingAdmissionPolicies enforce the
   *     rest)
   */
  @SuppressWarnings("ReferenceEquality") // findings belong to their container object
  public static Verdict merge(Verdict base, List<Finding> content, boolean keepBase) {
    if (content.isEmpty() && keepBase) {
      return base;
    }
    IdentityHashMap<Container, List<Finding>> extra = new IdentityHashMap<>();
    for (Finding f : content) {
      extra.computeIfAbsent(f.container(), k -> new ArrayList<>(2)).add(f);
    }
    IdentityHashMap<Container, List<Finding>> own = new IdentityHashMap<>();
    if (keepBase) {
      for (Finding f : base.findings()) {
        own.computeIfAbsent(f.container(), k -> new ArrayList<>(2)).add(f);
      }
    }
    List<ContainerVerdict> verdicts = new ArrayList<>();
    List<Finding> findings = new ArrayList<>();
    Action worst = Action.ALLOW;
    for (ContainerVerdict cv : base.containers()) {
      Container c = cv.container();
      List<Finding> mine = new ArrayList<>(own.getOrDefault(c, List.of()));
      mine.addAll(extra.getOrDefault(c, List.of()));
      own.remove(c);
      extra.remove(c); // a container listed twice (same object) gets its findings once
      findings.addAll(mine);
      Finding top = null;
      for (Finding f : mine) {
        if (top == null || f.action().compareTo(top.action()) > 0) {
          top = f;
        }
      }
      ContainerVerdict v =
          top != null
              ? new ContainerVerdict(c, cv.image(), top.action(), top.rule(), top.message())
              : cv.action() == Action.ALLOW
                  ? cv
                  : new ContainerVerdict(
                      c,
                      cv.image(),
                      Action.ALLOW,
                      null,
                      AdmissionCheck.message(c, cv.image(), "is allowed", null));
      worst = worst.max(v.action());
      verdicts.add(v);
    }
    return new Verdict(worst, verdicts, findings);
  }

  private List<Integer> applying(NamespaceInfo ns) {
    List<Integer> out = new ArrayList<>(rules.length);
    for (int i = 0; i < rules.length; i++) {
      if (rules[i].appliesTo(ns)) {
        out.add(i);
      }
    }
    return List.copyOf(out);
  }
}
