package dev.registrypolicy.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * Settings of a valid policy that probably do not do what their author meant. They are not
 * problems: the policy is applied as written; {@code validate} shows them.
 */
public final class PolicyWarnings {
  private PolicyWarnings() {}

  /** The warnings for a parsed policy, each with the path of the setting, in policy order. */
  public static List<Problem> of(Policy policy) {
    List<Problem> out = new ArrayList<>();
    List<Registry> registries = policy.registries();
    for (int i = 0; i < registries.size(); i++) {
      if (RegistryHosts.DOCKER_HUB_API_HOST.equals(registries.get(i).host())) {
        out.add(
            new Problem(
                "registries[" + i + "].host",
                "registry-1.docker.io is Docker Hub's API host, which containerd keeps as a host"
                    + " of its own (certs.d/registry-1.docker.io): this entry applies only to"
                    + " images written \"registry-1.docker.io/...\"; Docker Hub images (\"nginx\","
                    + " \"docker.io/...\") use a registry entry with host docker.io"));
      }
    }
    List<AllowedSource> sources = policy.admission().allowedSources();
    for (int i = 0; i < sources.size(); i++) {
      if (RegistryHosts.DOCKER_HUB_API_HOST.equals(sources.get(i).prefix().domain())) {
        out.add(
            new Problem(
                "admission.allowedSources[" + i + "].prefix",
                "registry-1.docker.io is a host of its own for containerd and for admission: this"
                    + " source admits only images written \"registry-1.docker.io/...\"; Docker Hub"
                    + " images (\"nginx\", \"docker.io/...\") need a source with prefix docker.io"));
      }
    }
    return out;
  }
}
