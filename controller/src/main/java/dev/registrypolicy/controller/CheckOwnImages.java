package dev.registrypolicy.controller;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.admission.Container;
import dev.registrypolicy.admission.ContainerKind;
import dev.registrypolicy.admission.ContainerVerdict;
import dev.registrypolicy.admission.Verdict;
import dev.registrypolicy.admission.Workload;
import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.AdmissionRule;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code validate}'s admission warnings: a policy that would refuse (or warn about, or audit) the
 * product's own images in its own namespace, and a note per image-content rule saying what
 * evaluates it.
 */
final class CheckOwnImages {
  /**
   * The images manifests/*.yaml install (the agent DaemonSet, the controller, and the uninstall
   * DaemonSet and Job): kept equal to the manifests by a test.
   */
  static final List<String> DEFAULT_IMAGES =
      List.of("registry-policy.invalid/agent:0.1.0", "registry-policy.invalid/controller:0.1.0");

  private CheckOwnImages() {}

  /**
   * One warning line per own image the policy does not simply allow in {@code ownNamespace}, and
   * one note per rule with {@code imageMetadata} checks; empty when there is nothing to say.
   */
  static List<String> warnings(Policy policy, String ownNamespace, List<String> images) {
    List<String> out = new ArrayList<>();
    AdmissionCheck check = AdmissionCheck.of(policy, ownNamespace);
    if (!check.enforcesNothing() && !check.exempt(ownNamespace)) {
      List<Container> containers = new ArrayList<>();
      for (int i = 0; i < images.size(); i++) {
        containers.add(
            new Container(ContainerKind.CONTAINER, containerName(images.get(i), i), images.get(i)));
      }
      Workload self =
          new Workload(WorkloadKind.POD, ownNamespace, "registry-policy-self-check", containers);
      Verdict v = check.check(NamespaceInfo.named(ownNamespace), self, null);
      for (ContainerVerdict c : v.containers()) {
        if (c.action() != Action.ALLOW) {
          out.add(
              "warning: admission would "
                  + switch (c.action()) {
                    case WARN -> "warn about";
                    default -> c.action().wireName();
                  }
                  + " the product's own image in its namespace "
                  + ownNamespace
                  + ": "
                  + CheckReport.oneLine(c.message())
                  + "; allow the image or list "
                  + ownNamespace
                  + " in admission.exemptNamespaces");
        }
      }
    }
    for (AdmissionRule r : policy.admission().rules()) {
      if (r.checksImageContent()) {
        out.add(
            "note: rule "
                + r.name()
                + ": its imageMetadata checks read the image from its registry, so only the"
                + " admission webhook (run --webhook; registered for them even where"
                + " ValidatingAdmissionPolicies enforce the rest) and check "
                + CheckCommand.REGISTRY_ACCESS
                + " evaluate them; the rule's onError ("
                + r.imageMetadata().onError().wireName()
                + ") decides when a registry cannot be reached in time");
      }
    }
    return out;
  }

  /**
   * {@code agent} for {@code registry-policy.invalid/agent:0.1.0}; {@code image-2} when none fits.
   */
  static String containerName(String image, int i) {
    int slash = image.lastIndexOf('/');
    String last = image.substring(slash + 1);
    int end = last.length();
    for (int j = 0; j < last.length(); j++) {
      if (last.charAt(j) == ':' || last.charAt(j) == '@') {
        end = j;
        break;
      }
    }
    String n = last.substring(0, end);
    return n.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?") ? n : "image-" + (i + 1);
  }
}
