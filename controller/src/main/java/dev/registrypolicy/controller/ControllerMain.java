package dev.registrypolicy.controller;

import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicySummary;
import dev.registrypolicy.policy.Problem;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The controller's command line.
 *
 * <pre>
 * registry-policy-controller validate --policy FILE   check a policy (bare policy.yaml or the ConfigMap manifest)
 * registry-policy-controller demo                     validate the built-in example policy and summarize it
 * </pre>
 *
 * Exit codes: 0 success, 1 invalid policy, 2 usage error.
 */
public final class ControllerMain {
  static final int OK = 0;
  static final int INVALID = 1;
  static final int USAGE = 2;

  private static final String USAGE_TEXT = String.join("\n",
      "usage: registry-policy-controller <command> [options]",
      "commands:",
      "  validate --policy FILE   check a policy file (bare policy.yaml or the registry-policy ConfigMap manifest)",
      "  demo                     validate the built-in example policy and print what it does",
      "  render --policy FILE --namespaces FILE",
      "                           print the Secrets and ServiceAccount changes for the Namespaces and",
      "                           ServiceAccounts in FILE, without a cluster (Secret data redacted)",
      "  run [--listen HOST:PORT] [--workers N] [--resync DURATION]",
      "                           run the controller (in-cluster config or KUBECONFIG)",
      "exit codes: 0 ok, 1 invalid policy (run: could not start), 2 usage error");

  private ControllerMain() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    Log.configure(args.length > 0 && args[0].equals("run") ? java.util.logging.Level.INFO : java.util.logging.Level.WARNING);
    if (args.length == 0) {
      err.println(USAGE_TEXT);
      return USAGE;
    }
    switch (args[0]) {
      case "validate":
        return validate(List.of(args).subList(1, args.length), out, err);
      case "demo":
        return demo(List.of(args).subList(1, args.length), out, err);
      case "render":
        return render(List.of(args).subList(1, args.length), out, err);
      case "run":
        return ControllerRun.run(List.of(args).subList(1, args.length), out, err);
      case "-h":
      case "--help":
      case "help":
        out.println(USAGE_TEXT);
        return OK;
      default:
        err.println("unknown command \"" + args[0] + "\"");
        err.println(USAGE_TEXT);
        return USAGE;
    }
  }

  private static int validate(List<String> args, PrintStream out, PrintStream err) {
    java.util.Map<String, String> flags = flags("validate", args, List.of("--policy"), err);
    if (flags == null) {
      return USAGE;
    }
    String file = flags.get("--policy");
    String text = read("validate", file, err);
    return text == null ? USAGE : check(file, text, out, err);
  }

  private static int render(List<String> args, PrintStream out, PrintStream err) {
    java.util.Map<String, String> flags = flags("render", args, List.of("--policy", "--namespaces"), err);
    if (flags == null) {
      return USAGE;
    }
    String policyText = read("render", flags.get("--policy"), err);
    String nsText = read("render", flags.get("--namespaces"), err);
    if (policyText == null || nsText == null) {
      return USAGE;
    }
    try {
      out.print(Render.render(policyText, nsText));
      return OK;
    } catch (PolicyException e) {
      err.println("render: invalid input (" + e.problems().size() + " problems)");
      for (Problem p : e.problems()) {
        err.println("  " + p);
      }
      return INVALID;
    }
  }

  /** Parses {@code --flag value} / {@code --flag=value} pairs; every named flag is required. */
  static java.util.Map<String, String> flags(String cmd, List<String> args, List<String> required, PrintStream err) {
    return flags(cmd, args, required, List.of(), err);
  }

  /** Like {@link #flags(String, List, List, PrintStream)}, also accepting the {@code optional} flags. */
  static java.util.Map<String, String> flags(String cmd, List<String> args, List<String> required,
      List<String> optional, PrintStream err) {
    java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      int eq = a.indexOf('=');
      String name = eq > 0 ? a.substring(0, eq) : a;
      if (!required.contains(name) && !optional.contains(name)) {
        err.println(cmd + ": unexpected argument \"" + a + "\"");
        err.println(USAGE_TEXT);
        return null;
      }
      if (eq > 0) {
        out.put(name, a.substring(eq + 1));
      } else if (i + 1 < args.size()) {
        out.put(name, args.get(++i));
      } else {
        err.println(cmd + ": " + name + " needs a value");
        return null;
      }
    }
    for (String r : required) {
      if (!out.containsKey(r)) {
        err.println(cmd + ": " + r + " FILE is required");
        err.println(USAGE_TEXT);
        return null;
      }
    }
    return out;
  }

  private static String read(String cmd, String file, PrintStream err) {
    try {
      return Files.readString(Path.of(file), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      err.println(cmd + ": cannot read " + file + ": " + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : " " + e.getMessage()));
      return null;
    }
  }

  private static int demo(List<String> args, PrintStream out, PrintStream err) {
    if (!args.isEmpty()) {
      err.println("demo: takes no arguments");
      return USAGE;
    }
    String text = PolicyDocument.example();
    out.println("registry-policy demo: the built-in example (manifests/policy-configmap.yaml), no cluster needed");
    int code = check("built-in example", text, out, err);
    if (code != OK) {
      return code;
    }
    try (java.io.InputStream in = ControllerMain.class.getResourceAsStream("/dev/registrypolicy/controller/namespaces.yaml")) {
      String namespaces = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      out.println();
      out.println("what the controller would do to the namespaces in manifests/examples/namespaces.yaml"
          + " (render; Secret data redacted):");
      out.print(Render.render(text, namespaces));
      return OK;
    } catch (IOException | NullPointerException | PolicyException e) {
      err.println("demo: cannot render the example namespaces: " + e.getMessage());
      return INVALID;
    }
  }

  static int check(String name, String text, PrintStream out, PrintStream err) {
    try {
      Policy policy = PolicyDocument.parse(text);
      out.println("policy is valid: " + name);
      out.print(PolicySummary.of(policy));
      return OK;
    } catch (PolicyException e) {
      err.println("policy is invalid: " + name + " (" + e.problems().size()
          + (e.problems().size() == 1 ? " problem" : " problems") + ")");
      for (Problem p : e.problems()) {
        err.println("  " + p);
      }
      return INVALID;
    }
  }
}
