package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.Plan;
import java.nio.file.Path;
import java.util.Map;

/**
 * What the agent finds about the node beyond certs.d: containerd's config.toml (read only, never
 * changed) and, in the daemon, how credentialed mirrors authenticate ({@link Prober}). Adds each
 * finding as a problem whose action says what the agent did and what containerd will do.
 */
final class NodeDiagnosis {
  private final Path config;
  private final String nodeCertsDir;

  NodeDiagnosis(Path config, String nodeCertsDir) {
    this.config = config;
    this.nodeCertsDir = nodeCertsDir;
  }

  /** Reads config.toml; null without {@code --containerd-config}. */
  ContainerdConfig.Diagnosis containerd(ProblemLog.Found found, boolean planInForce) {
    if (config == null) {
      return null;
    }
    // Reads the file itself: a missing file, a directory, text that is not UTF-8 and the size limit
    // each get their own diagnosis.
    ContainerdConfig.Diagnosis d = ContainerdConfig.diagnose(config, nodeCertsDir);
    String done =
        (planInForce ? "certs.d written as planned" : "nothing written (no good policy yet)")
            + "; config.toml not changed (the agent only reads it)";
    String action;
    if (d.configVersion() == 0) {
      action = done + "; whether containerd reads certs.d is unknown";
    } else if (!d.pointsAtCertsDir()) {
      action =
          done
              + "; containerd ignores these hosts.toml files until config_path names "
              + nodeCertsDir;
    } else {
      action = done + "; containerd acts as the detail says";
    }
    for (String w : d.warnings()) {
      found.add(AgentProblem.CONTAINERD, config.toString(), "containerd: " + w, action);
    }
    return d;
  }

  /**
   * containerd before 2.1 does not send hosts.toml headers on token requests, so header credentials
   * fail against token-auth registries there. A version 3 config means containerd 2.x; with an
   * older config format (or none read) the node may run 1.x.
   */
  static void tokenAuth(
      ProblemLog.Found found, Prober prober, Plan plan, ContainerdConfig.Diagnosis diagnosis) {
    if (prober == null) {
      return;
    }
    prober.update(plan);
    boolean mayBeOld = diagnosis == null || diagnosis.configVersion() < 3;
    for (Map.Entry<String, RegistryProbe.Result> e : prober.results().entrySet()) {
      if (e.getValue().tokenAuth() && mayBeOld) {
        found.add(
            AgentProblem.TOKEN_AUTH,
            e.getKey(),
            e.getKey()
                + " uses token authentication: containerd before 2.1"
                + " does not send hosts.toml headers on token requests, so its credentials work only on containerd 2.1 or"
                + " newer (use a pull Secret for it, or upgrade containerd)",
            "hosts.toml written with its credentials header; containerd before 2.1 will not send it to the token"
                + " endpoint, so pulls through it fail there");
      }
    }
  }
}
