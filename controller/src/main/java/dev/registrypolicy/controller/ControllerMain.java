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
      "exit codes: 0 ok, 1 invalid policy, 2 usage error");

  private ControllerMain() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      err.println(USAGE_TEXT);
      return USAGE;
    }
    switch (args[0]) {
      case "validate":
        return validate(List.of(args).subList(1, args.length), out, err);
      case "demo":
        return demo(List.of(args).subList(1, args.length), out, err);
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
    String file = null;
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--policy") && i + 1 < args.size()) {
        file = args.get(++i);
      } else if (a.startsWith("--policy=")) {
        file = a.substring("--policy=".length());
      } else {
        err.println("validate: unexpected argument \"" + a + "\"");
        err.println(USAGE_TEXT);
        return USAGE;
      }
    }
    if (file == null) {
      err.println("validate: --policy FILE is required");
      err.println(USAGE_TEXT);
      return USAGE;
    }
    String text;
    try {
      text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      err.println("validate: cannot read policy file " + file + ": " + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : " " + e.getMessage()));
      return USAGE;
    }
    return check(file, text, out, err);
  }

  private static int demo(List<String> args, PrintStream out, PrintStream err) {
    if (!args.isEmpty()) {
      err.println("demo: takes no arguments");
      return USAGE;
    }
    String text = PolicyDocument.example();
    out.println("registry-policy demo: the built-in example (manifests/policy-configmap.yaml), no cluster needed");
    return check("built-in example", text, out, err);
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
