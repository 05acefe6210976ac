package dev.registrypolicy.controller;

import dev.registrypolicy.common.Utf8;
import dev.registrypolicy.controller.admission.Enforcement;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyLimits;
import dev.registrypolicy.policy.PolicySummary;
import dev.registrypolicy.policy.PolicyWarnings;
import dev.registrypolicy.policy.Problem;
import dev.registrypolicy.policy.Yaml;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The controller's command line. Exit codes, the same in both jars: 0 ok; 1 the command ran and
 * found a problem (invalid policy or input, run could not start); 2 usage error (unknown command or
 * flag, bad or missing flag value, a named input file that does not exist or cannot be read).
 */
public final class ControllerMain {
  static final int OK = 0;
  static final int INVALID = 1;
  static final int USAGE = 2;
  static final String NAME = "registry-policy-controller";

  /**
   * The model's limit on a policy file (a ConfigMap manifest around at most 1 MiB of policy text),
   * so both jars refuse the same files in the same words.
   */
  static final long MAX_POLICY_BYTES = PolicyLimits.MAX_FILE_BYTES;

  /**
   * The namespaces file: the model's YAML limit for object dumps, as for check's objects file
   * ({@code kubectl get ns,sa -A -o yaml} of 10,000 namespaces is about 20 MiB).
   */
  static final long MAX_NAMESPACES_BYTES = Yaml.Limits.OBJECTS.maxBytes();

  static final String USAGE_TEXT =
      String.join(
          "\n",
          "usage: " + NAME + " <command> [flags]",
          "commands:",
          "  validate --policy FILE [--own-image IMAGE]... [--own-namespace NS]",
          "                           check a policy file (bare policy.yaml or the registry-policy ConfigMap",
          "                           manifest); warns about likely mistakes and when admission would refuse",
          "                           the product's own images",
          "  check --policy FILE --objects FILE [-o text|json] [--own-namespace NS] [--fail-on ACTION]",
          "                           print the admission verdict on every container of the workloads in FILE",
          "                           (kubectl get ns,pods,deployments,... -A -o yaml), without a cluster",
          "  render --policy FILE --namespaces FILE",
          "                           print the Secrets and ServiceAccount changes for the Namespaces and",
          "                           ServiceAccounts in FILE, and the admission objects, without a cluster",
          "                           (Secret data redacted)",
          "  demo                     validate, render and check with the built-in example policy",
          "  run [--listen HOST:PORT] [--workers N] [--resync DURATION] [--admission-enforcement MODE]",
          "      [--webhook [--webhook-... VALUE]...] [--verbose]",
          "                           run the controller (KUBECONFIG, in-cluster config or ~/.kube/config)",
          "  uninstall [--dry-run]    remove everything the controller made (admission objects, pull Secrets and",
          "                           the ServiceAccount entries it added, node credentials bundle, webhook TLS",
          "                           Secret, status ConfigMap) and nothing else; stop the controller first",
          "  --version                print the version",
          "  <command> --help         help for one command",
          "exit codes: 0 ok, 1 a problem found (invalid policy or input; run: could not start; uninstall:",
          "            something is left), 2 usage error");

  private static final Map<String, String> HELP =
      Map.of(
          "validate",
              String.join(
                  "\n",
                  "usage: "
                      + NAME
                      + " validate --policy FILE [--own-image IMAGE]... [--own-namespace NS]",
                  "Checks a policy: a bare policy.yaml or the registry-policy ConfigMap manifest. Prints a summary",
                  "when it is valid; otherwise every problem with its path (registries[2].mirrors[0].url: ...).",
                  "A valid policy gets warnings (exit code unchanged) for settings that probably do not do what was",
                  "meant (e.g. a registry entry registry-1.docker.io, which Docker Hub images do not use), when its",
                  "admission section would deny, warn about or audit the product's own images in its own namespace.",
                  "Rules with imageMetadata are evaluated by the webhook and by check --registry-access.",
                  "  --own-image IMAGE    an image the product runs, repeatable (default: the images manifests/",
                  "                       installs: "
                      + String.join(", ", CheckOwnImages.DEFAULT_IMAGES)
                      + ")",
                  "  --own-namespace NS   the product's namespace (default "
                      + Policy.NAMESPACE
                      + ")",
                  "exit codes: 0 valid, 1 invalid, 2 usage error or FILE missing/unreadable"),
          "check", CheckCommand.HELP,
          "uninstall", UninstallCommand.HELP,
          "render",
              String.join(
                  "\n",
                  "usage: " + NAME + " render --policy FILE --namespaces FILE",
                  "Prints what run would write for the Namespaces and ServiceAccounts in the namespaces FILE (a YAML",
                  "list or List, as kubectl get ns,sa -A -o yaml prints it), without a cluster; Secret data redacted.",
                  "Objects of other kinds are skipped with a note; ServiceAccounts the policy names but the file",
                  "lacks are reported. Then the cluster-scoped admission objects run keeps for the policy, as",
                  "kubectl apply takes them: ValidatingAdmissionPolicies and bindings, the webhook configurations",
                  "(default webhook settings; caBundle is filled in at run time), with a comment saying which",
                  "--admission-enforcement auto uses (ValidatingAdmissionPolicy on Kubernetes >= 1.30, else the",
                  "webhook) and notes for what ValidatingAdmissionPolicy cannot hold (too big).",
                  "FILE: at most "
                      + PolicyLimits.moreThan(MAX_NAMESPACES_BYTES).replace("more than ", "")
                      + " and the model's YAML limits for object dumps.",
                  "exit codes: 0 rendered, 1 invalid policy or input, 2 usage error or FILE missing/unreadable"),
          "demo",
              String.join(
                  "\n",
                  "usage: " + NAME + " demo",
                  "Validates the built-in example policy (manifests/examples/policy-configmap.yaml), renders it for",
                  "manifests/examples/namespaces.yaml (pull Secrets, ServiceAccount patches and the admission",
                  "objects), and checks manifests/examples/workloads.yaml against it. No cluster needed.",
                  "exit codes: 0 ok, 1 the example failed, 2 usage error"),
          "run",
              String.join(
                  "\n",
                  "usage: "
                      + NAME
                      + " run [--listen HOST:PORT] [--workers N] [--resync DURATION]"
                      + " [--admission-enforcement MODE] [--webhook [--webhook-... VALUE]...]"
                      + " [--image-platform OS/ARCH] [--verbose]",
                  "Runs the controller. The API server: the file KUBECONFIG names (must exist), else the in-cluster",
                  "ServiceAccount, else ~/.kube/config. POD_NAMESPACE: the namespace the controller runs in, where",
                  "the webhook's Service and TLS Secret live (default " + Policy.NAMESPACE + ").",
                  "  --listen HOST:PORT   /healthz, /readyz and /metrics (default 0.0.0.0:9742); /readyz waits for the",
                  "                       informer caches and, with --webhook, for the webhook to serve",
                  "  --workers N          reconcile workers (default 4)",
                  "  --resync DURATION    informer resync period, a Go duration from 1s to 24h, e.g. 10m, 1h30m (default 10m)",
                  Enforcement.HELP,
                  webhookFlagsHelp(),
                  "  --image-platform OS/ARCH[/VARIANT]  the platform whose image the image-content rules read from",
                  "                       an image index (the nodes' platform; default linux/amd64)",
                  "  --verbose            stack traces with errors, and the client library's retry lines",
                  "exit codes: 0 stopped, 1 could not start (no API configuration, port taken), 2 usage error"));

  /** The webhook flags' help lines ({@link WebhookSettings#FLAGS}), in the run help's columns. */
  private static String webhookFlagsHelp() {
    String indent = " ".repeat(23);
    StringBuilder b = new StringBuilder();
    for (WebhookSettings.Flag f : WebhookSettings.FLAGS) {
      String name = "  " + f.name() + (f.valueName() == null ? "" : " " + f.valueName());
      if (b.length() > 0) {
        b.append('\n');
      }
      b.append(name.length() <= 21 ? name + " ".repeat(23 - name.length()) : name + "\n" + indent);
      int col = indent.length();
      for (String word : f.help().split(" ", -1)) {
        if (col > indent.length() && col + 1 + word.length() > 100) {
          b.append('\n').append(indent);
          col = indent.length();
        } else if (col > indent.length()) {
          b.append(' ');
          col++;
        }
        b.append(word);
        col += word.length();
      }
    }
    return b.toString();
  }

  private ControllerMain() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, System.getenv(), null);
  }

  /** {@code stop} (tests): run returns when it is counted down instead of at JVM shutdown. */
  static int run(
      String[] args,
      PrintStream out,
      PrintStream err,
      Map<String, String> env,
      java.util.concurrent.CountDownLatch stop) {
    boolean running = args.length > 0 && args[0].equals("run");
    Log.configure(
        running ? java.util.logging.Level.INFO : java.util.logging.Level.WARNING, false, null, err);
    if (args.length == 0) {
      err.println(USAGE_TEXT);
      return USAGE;
    }
    List<String> rest = List.of(args).subList(1, args.length);
    return switch (args[0]) {
      case "validate" -> validate(rest, out, err);
      case "demo" -> demo(rest, out, err);
      case "render" -> render(rest, out, err);
      case "check" -> CheckCommand.run(rest, out, err);
      case "run" -> ControllerRun.run(rest, out, err, env, stop);
      case "uninstall" -> UninstallCommand.run(rest, out, err, env);
      case "-h", "--help", "help" -> {
        out.println(USAGE_TEXT);
        yield OK;
      }
      case "--version", "version" -> {
        out.println(NAME + " " + version());
        yield OK;
      }
      default -> {
        err.println(
            NAME
                + ": unknown command \""
                + args[0]
                + "\" (run "
                + NAME
                + " --help for the commands)");
        yield USAGE;
      }
    };
  }

  /** The jar manifest's Implementation-Version. */
  static String version() {
    String v = ControllerMain.class.getPackage().getImplementationVersion();
    return v == null ? "unknown (not run from the built jar)" : v;
  }

  /**
   * The command's flags, or null when the caller is done: help was printed (exit 0) or the flags
   * were wrong (each problem printed once, exit 2); {@code exit[0]} holds the code then.
   */
  static Flags flags(
      String cmd,
      List<String> args,
      List<Flags.Spec> specs,
      PrintStream out,
      PrintStream err,
      int[] exit) {
    Flags f = Flags.parse(args, specs);
    if (f.help) {
      out.println(HELP.get(cmd));
      exit[0] = OK;
      return null;
    }
    if (!f.errors.isEmpty()) {
      for (String e : f.errors) {
        err.println(cmd + ": " + e);
      }
      err.println("run " + NAME + " " + cmd + " --help for usage");
      exit[0] = USAGE;
      return null;
    }
    return f;
  }

  private static int validate(List<String> args, PrintStream out, PrintStream err) {
    int[] exit = new int[1];
    // --own-image repeats, which Flags does not do: take its values out first.
    List<String> rest = new java.util.ArrayList<>();
    List<String> ownImages = new java.util.ArrayList<>();
    List<String> imageErrors = new java.util.ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--own-image")) {
        if (i + 1 < args.size()
            && !args.get(i + 1).startsWith("--")
            && !args.get(i + 1).isEmpty()) {
          ownImages.add(args.get(++i));
        } else {
          imageErrors.add("--own-image needs a value (--own-image IMAGE)");
        }
      } else if (a.startsWith("--own-image=")) {
        String v = a.substring("--own-image=".length());
        if (v.isEmpty()) {
          imageErrors.add("--own-image needs a value (--own-image IMAGE)");
        } else {
          ownImages.add(v);
        }
      } else {
        rest.add(a);
      }
    }
    Flags f =
        flags(
            "validate",
            rest,
            List.of(
                Flags.Spec.required("--policy", "FILE"),
                Flags.Spec.optional("--own-namespace", "NS")),
            out,
            err,
            exit);
    if (f == null) {
      return exit[0];
    }
    String own = f.get("--own-namespace", Policy.NAMESPACE);
    if (!CheckCommand.NAMESPACE.matcher(own).matches()) {
      imageErrors.add(
          "--own-namespace must be a namespace name (lowercase letters, digits and '-', at most 63)");
    }
    if (!imageErrors.isEmpty()) {
      imageErrors.forEach(e -> err.println("validate: " + e));
      err.println("run " + NAME + " validate --help for usage");
      return USAGE;
    }
    String file = f.get("--policy", "");
    Input policy = read("validate", "--policy", file, MAX_POLICY_BYTES, err);
    if (policy.text == null) {
      return policy.exit;
    }
    int code = check(file, policy.text, out, err);
    if (code == OK) {
      try {
        warnings(
                PolicyDocument.parse(policy.text),
                own,
                ownImages.isEmpty() ? CheckOwnImages.DEFAULT_IMAGES : ownImages)
            .forEach(out::println);
      } catch (PolicyException e) {
        // check() has just parsed the same text
        throw new IllegalStateException("the policy parsed once but not twice", e);
      }
    }
    return code;
  }

  /**
   * validate's warnings for a valid policy, one line each: settings that probably do not do what
   * was meant ({@link PolicyWarnings}), then admission's verdict on the product's own images.
   */
  static List<String> warnings(Policy policy, String ownNamespace, List<String> ownImages) {
    List<String> out = new java.util.ArrayList<>();
    for (Problem w : PolicyWarnings.of(policy)) {
      out.add("warning: " + w);
    }
    out.addAll(CheckOwnImages.warnings(policy, ownNamespace, ownImages));
    return out;
  }

  private static int render(List<String> args, PrintStream out, PrintStream err) {
    int[] exit = new int[1];
    Flags f =
        flags(
            "render",
            args,
            List.of(
                Flags.Spec.required("--policy", "FILE"),
                Flags.Spec.required("--namespaces", "FILE")),
            out,
            err,
            exit);
    if (f == null) {
      return exit[0];
    }
    Input policy = read("render", "--policy", f.get("--policy", ""), MAX_POLICY_BYTES, err);
    Input namespaces =
        read("render", "--namespaces", f.get("--namespaces", ""), MAX_NAMESPACES_BYTES, err);
    if (policy.text == null || namespaces.text == null) {
      return Math.max(
          policy.text == null ? policy.exit : OK, namespaces.text == null ? namespaces.exit : OK);
    }
    try {
      out.print(Render.render(policy.text, namespaces.text));
      return OK;
    } catch (PolicyException e) {
      err.println("render: invalid input (" + problems(e.problems().size()) + ")");
      for (Problem p : e.problems()) {
        err.println("  " + p);
      }
      return INVALID;
    }
  }

  static String problems(int n) {
    return n + (n == 1 ? " problem" : " problems");
  }

  /** A named input's text, or null with the exit code and a message already printed. */
  record Input(String text, int exit) {}

  static Input read(String cmd, String flag, String file, long maxBytes, PrintStream err) {
    Path p = Path.of(file);
    String what = cmd + ": " + flag + " " + file;
    if (!Files.exists(p)) {
      err.println(what + ": no such file");
      return new Input(null, USAGE);
    }
    if (Files.isDirectory(p)) {
      err.println(what + ": is a directory, not a file");
      return new Input(null, USAGE);
    }
    if (!Files.isRegularFile(p)) {
      err.println(what + ": is not a regular file (a FIFO, socket or device); not read");
      return new Input(null, USAGE);
    }
    byte[] bytes;
    try {
      // Refused before a byte is read; the bounded read below still holds if the file grows.
      if (Files.size(p) > maxBytes) {
        err.println(
            what + ": too large: " + PolicyLimits.moreThan(maxBytes) + "; nothing was parsed");
        return new Input(null, INVALID);
      }
    } catch (IOException | RuntimeException e) {
      err.println(what + ": cannot be read: " + Log.describe(e));
      return new Input(null, USAGE);
    }
    try (InputStream in = Files.newInputStream(p)) {
      bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
    } catch (IOException | RuntimeException e) {
      err.println(what + ": cannot be read: " + Log.describe(e));
      return new Input(null, USAGE);
    }
    if (bytes.length > maxBytes) {
      err.println(
          what + ": too large: " + PolicyLimits.moreThan(maxBytes) + "; nothing was parsed");
      return new Input(null, INVALID);
    }
    try {
      return new Input(Utf8.decode(bytes), OK);
    } catch (Utf8.MalformedException e) {
      err.println(what + ": " + e.getMessage() + "; nothing was parsed");
      return new Input(null, INVALID);
    }
  }

  /** The demo's inputs in the jar (manifests/examples, copied by the controller's pom). */
  static final String DEMO_NAMESPACES = "/dev/registrypolicy/controller/namespaces.yaml";

  static final String DEMO_WORKLOADS = "/dev/registrypolicy/controller/workloads.yaml";

  private static int demo(List<String> args, PrintStream out, PrintStream err) {
    int[] exit = new int[1];
    Flags f = flags("demo", args, List.of(), out, err, exit);
    if (f == null) {
      return exit[0];
    }
    String text = PolicyDocument.example();
    out.println(
        "registry-policy demo: the built-in example (manifests/examples/policy-configmap.yaml), no cluster needed");
    out.println();
    out.println("==== 1/3 validate: the example policy");
    int code = check("built-in example", text, out, err);
    if (code != OK) {
      return code;
    }
    String namespaces;
    String workloads;
    Policy policy;
    try {
      policy = PolicyDocument.parse(text);
      namespaces = resource(DEMO_NAMESPACES);
      workloads = resource(DEMO_WORKLOADS);
    } catch (IOException | PolicyException e) {
      err.println(
          "demo: the examples cannot be read from the jar: "
              + (e instanceof PolicyException pe ? pe.problems() : Log.describe(e))
              + "; nothing rendered or checked");
      return INVALID;
    }
    warnings(policy, Policy.NAMESPACE, CheckOwnImages.DEFAULT_IMAGES).forEach(out::println);
    out.println();
    out.println(
        "==== 2/3 render: what run would write for the namespaces in manifests/examples/namespaces.yaml"
            + " (Secret data redacted), and the admission objects it keeps");
    try {
      out.print(Render.render(text, namespaces));
    } catch (PolicyException e) {
      err.println("demo: cannot render the example namespaces: " + e.problems());
      return INVALID;
    }
    out.println();
    out.println(
        "==== 3/3 check: the admission verdict on every container of manifests/examples/workloads.yaml");
    CheckObjects objects = CheckObjects.parse(workloads);
    CheckReport report = CheckReport.of(policy, Policy.NAMESPACE, objects);
    if (!report.problems().isEmpty()) {
      err.println("demo: the example workloads cannot be read: " + report.problems());
      return INVALID;
    }
    out.print(report.text());
    for (String n : report.notes()) {
      out.println("note: " + n);
    }
    out.println(report.summary());
    out.println();
    out.println(
        "Try it on a cluster's workloads: kubectl get ns,pods,deployments,statefulsets,daemonsets,"
            + "replicasets,replicationcontrollers,jobs,cronjobs -A -o yaml > objects.yaml; "
            + NAME
            + " check --policy manifests/policy-configmap.yaml --objects objects.yaml");
    return OK;
  }

  /** A text resource of the jar, or IOException naming it when it is missing. */
  private static String resource(String name) throws IOException {
    try (InputStream in = ControllerMain.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException(name + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static int check(String name, String text, PrintStream out, PrintStream err) {
    try {
      Policy policy = PolicyDocument.parse(text);
      out.println("policy is valid: " + name);
      out.print(PolicySummary.of(policy));
      return OK;
    } catch (PolicyException e) {
      err.println("policy is invalid: " + name + " (" + problems(e.problems().size()) + ")");
      for (Problem p : e.problems()) {
        err.println("  " + p);
      }
      return INVALID;
    }
  }
}
