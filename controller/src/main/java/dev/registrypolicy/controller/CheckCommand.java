package dev.registrypolicy.controller;

import dev.registrypolicy.admission.Action;
import dev.registrypolicy.controller.imagemeta.MetadataSettings;
import dev.registrypolicy.controller.imagemeta.Platform;
import dev.registrypolicy.controller.imagemeta.RegistryMetadata;
import dev.registrypolicy.controller.imagemeta.SecretBytes;
import dev.registrypolicy.controller.webhook.ContentReview;
import dev.registrypolicy.controller.webhook.ImageContentMetrics;
import dev.registrypolicy.controller.webhook.MetadataSources;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyLimits;
import dev.registrypolicy.policy.Problem;
import dev.registrypolicy.policy.Yaml;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code check} command: the admission verdict on every container of the workloads in a {@code
 * kubectl get ... -o yaml} file, without a cluster. stdout carries only the verdicts (lines, or a
 * JSON array with {@code -o json}); notes, problems and the summary go to stderr.
 */
final class CheckCommand {
  /**
   * The objects file: the model's YAML limit for object dumps (the loader refuses larger text), so
   * every limit is the model's and worded the same.
   */
  static final long MAX_OBJECTS_BYTES = Yaml.Limits.OBJECTS.maxBytes();

  static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /** The switch that lets check fetch image metadata for the image-content rules. */
  static final String REGISTRY_ACCESS = "--registry-access";

  /** Seconds one object's image metadata lookups may take (with {@link #REGISTRY_ACCESS}). */
  static final String REGISTRY_TIMEOUT = "--registry-timeout";

  /**
   * The platform whose image an index resolves to: the controller's {@code run --image-platform},
   * so check reads the same image as a webhook serving nodes of that platform.
   */
  static final String IMAGE_PLATFORM = "--image-platform";

  static final int DEFAULT_REGISTRY_TIMEOUT_SECONDS = 10;
  static final int MAX_REGISTRY_TIMEOUT_SECONDS = 300;

  /**
   * How {@link #REGISTRY_ACCESS} makes a policy's image metadata source: the same construction as
   * the webhook's ({@link dev.registrypolicy.controller.webhook.WebhookRuntime}), so both give the
   * same verdicts. Null (the default): the registries themselves, with the policy's Secret
   * references read from the Secrets of the policy's namespace in the objects file; tests set their
   * own.
   */
  static volatile MetadataSources sources = null;

  static final String HELP =
      String.join(
          "\n",
          "usage: "
              + ControllerMain.NAME
              + " check --policy FILE --objects FILE [-o text|json] [--own-namespace NS] [--fail-on ACTION]",
          "       [--registry-access [--registry-timeout SECONDS] [--image-platform OS/ARCH[/VARIANT]]]",
          "Prints what admission would do with every container (containers, initContainers, ephemeralContainers)",
          "of the Pods and workload templates (Deployment, StatefulSet, DaemonSet, ReplicaSet,",
          "ReplicationController, Job, CronJob) in the objects FILE, each checked as if it were created now:",
          "what switching the policy's rules to Deny would break. Make FILE with",
          "  kubectl get ns,pods,deployments,statefulsets,daemonsets,replicasets,replicationcontrollers,jobs,cronjobs -A -o yaml",
          "Namespaces in FILE give the labels and annotations scoped rules need; a namespace missing from FILE",
          "is checked without labels (a note says so). Other kinds are skipped with a note. Pods owned by a",
          "controller are listed too (they are what a restart under Deny would break).",
          "  -o text             one line per container (default):",
          "                      <verdict> <Kind>/<namespace>/<name> <container message>",
          "                      e.g. deny  Pod/apps/web container \"web\": image \"docker.io/library/nginx:latest\"",
          "                      is not from an allowed source (rule allowedSources)",
          "  -o json             a JSON array, one object per container: kind, namespace, name, owner,",
          "                      containerType, container, image (normalized), verdict (allow, audit, warn,",
          "                      deny), rule, message, exempt",
          "  --own-namespace NS  the product's namespace, exempt unless the policy lists exemptNamespaces",
          "                      (default " + Policy.NAMESPACE + ")",
          "  --fail-on ACTION    exit 1 when any container's verdict is ACTION or more severe",
          "                      (deny, warn or audit; severity allow < audit < warn < deny)",
          "  --registry-access   evaluate the image-content rules (rules with imageMetadata) too, by",
          "                      fetching each distinct image's manifest and config from its registry",
          "                      the way the webhook does (the policy's mirrors, credentials and TLS",
          "                      settings; their Secrets are read from Secrets of the policy's namespace",
          "                      in the objects FILE, e.g. kubectl get secrets -n "
              + Policy.NAMESPACE
              + " -o yaml);",
          "                      each rule's onError decides for images that cannot be had.",
          "                      Without it those rules are not evaluated and a note names them",
          "  --registry-timeout SECONDS  how long one object's lookups may take (default "
              + DEFAULT_REGISTRY_TIMEOUT_SECONDS
              + ", at most "
              + MAX_REGISTRY_TIMEOUT_SECONDS
              + ")",
          "  --image-platform OS/ARCH[/VARIANT]  the platform whose image is read from an image index:",
          "                      the controller's run --image-platform (the nodes' platform; default linux/amd64)",
          "stdout has only the verdicts; notes (skipped objects, missing namespaces), problems and a summary",
          "go to stderr. FILE: at most "
              + PolicyLimits.moreThan(MAX_OBJECTS_BYTES).replace("more than ", "")
              + " and the model's YAML limits (check one namespace at a time with -n NS for more).",
          "exit codes: 0 checked (whatever the verdicts, unless --fail-on), 1 invalid policy or objects (every",
          "problem listed with its place, e.g. [3] Pod apps/web: spec.containers[0].image: ...; the readable",
          "objects are still printed) or --fail-on matched, 2 usage error or FILE missing/unreadable");

  private CheckCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    int[] exit = new int[1];
    Flags f =
        ControllerMain.flags(
            "check",
            args,
            List.of(
                Flags.Spec.required("--policy", "FILE"),
                Flags.Spec.required("--objects", "FILE"),
                Flags.Spec.optional("-o", "FORMAT"),
                Flags.Spec.optional("--own-namespace", "NS"),
                Flags.Spec.optional("--fail-on", "ACTION"),
                Flags.Spec.flag(REGISTRY_ACCESS),
                Flags.Spec.optional(REGISTRY_TIMEOUT, "SECONDS"),
                Flags.Spec.optional(IMAGE_PLATFORM, "OS/ARCH[/VARIANT]")),
            out,
            err,
            exit);
    if (f == null) {
      return exit[0];
    }
    List<String> usage = new ArrayList<>();
    String format = f.get("-o", "text");
    if (!format.equals("text") && !format.equals("json")) {
      usage.add("-o must be text or json, found \"" + CheckReport.oneLine(format) + "\"");
    }
    String own = f.get("--own-namespace", Policy.NAMESPACE);
    if (!NAMESPACE.matcher(own).matches()) {
      usage.add(
          "--own-namespace must be a namespace name (lowercase letters, digits and '-', at most 63),"
              + " found \""
              + CheckReport.oneLine(own)
              + "\"");
    }
    Action failOn = null;
    if (f.isSet("--fail-on")) {
      String v = f.get("--fail-on", "");
      for (Action a : Action.values()) {
        if (a != Action.ALLOW && a.wireName().equals(v)) {
          failOn = a;
        }
      }
      if (failOn == null) {
        usage.add(
            "--fail-on must be deny, warn or audit, found \"" + CheckReport.oneLine(v) + "\"");
      }
    }
    boolean registryAccess = f.isSet(REGISTRY_ACCESS);
    int registryTimeout = DEFAULT_REGISTRY_TIMEOUT_SECONDS;
    if (f.isSet(REGISTRY_TIMEOUT)) {
      String v = f.get(REGISTRY_TIMEOUT, "");
      try {
        registryTimeout = Integer.parseInt(v);
      } catch (NumberFormatException e) {
        registryTimeout = -1;
      }
      if (registryTimeout < 1 || registryTimeout > MAX_REGISTRY_TIMEOUT_SECONDS) {
        usage.add(
            REGISTRY_TIMEOUT
                + " must be whole seconds from 1 to "
                + MAX_REGISTRY_TIMEOUT_SECONDS
                + ", found \""
                + CheckReport.oneLine(v)
                + "\"");
      }
      if (!registryAccess) {
        usage.add(REGISTRY_TIMEOUT + " needs " + REGISTRY_ACCESS);
      }
    }
    Platform platform = Platform.LINUX_AMD64;
    if (f.isSet(IMAGE_PLATFORM)) {
      try {
        platform = Platform.parse(f.get(IMAGE_PLATFORM, ""));
      } catch (IllegalArgumentException e) {
        usage.add(IMAGE_PLATFORM + ": " + CheckReport.oneLine(e.getMessage()));
      }
      if (!registryAccess) {
        usage.add(IMAGE_PLATFORM + " needs " + REGISTRY_ACCESS);
      }
    }
    if (!usage.isEmpty()) {
      usage.forEach(u -> err.println("check: " + u));
      err.println("run " + ControllerMain.NAME + " check --help for usage");
      return ControllerMain.USAGE;
    }
    String policyFile = f.get("--policy", "");
    String objectsFile = f.get("--objects", "");
    ControllerMain.Input policyIn =
        ControllerMain.read("check", "--policy", policyFile, ControllerMain.MAX_POLICY_BYTES, err);
    ControllerMain.Input objectsIn;
    try {
      objectsIn = ControllerMain.read("check", "--objects", objectsFile, MAX_OBJECTS_BYTES, err);
    } catch (OutOfMemoryError e) {
      return outOfMemory(objectsFile, err);
    }
    if (objectsIn.text() == null
        && objectsIn.exit() == ControllerMain.INVALID
        && tooLarge(objectsFile)) {
      err.println(
          "check: hint: check one namespace at a time (kubectl get ns/NS,pods,deployments,... -n NS -o yaml)");
    }
    if (policyIn.text() == null || objectsIn.text() == null) {
      return Math.max(
          policyIn.text() == null ? policyIn.exit() : ControllerMain.OK,
          objectsIn.text() == null ? objectsIn.exit() : ControllerMain.OK);
    }
    Policy policy;
    try {
      policy = PolicyDocument.parse(policyIn.text());
    } catch (PolicyException e) {
      err.println(
          "check: policy is invalid: "
              + policyFile
              + " ("
              + ControllerMain.problems(e.problems().size())
              + ")");
      for (Problem p : e.problems()) {
        err.println("  " + p);
      }
      return ControllerMain.INVALID;
    }
    CheckReport report;
    String output;
    try {
      CheckObjects objects = CheckObjects.parse(objectsIn.text());
      objectsIn = null; // the text is no longer needed: let it go before the verdicts are made
      if (registryAccess) {
        MetadataSources given = sources;
        try (ContentReview review = new ContentReview(ImageContentMetrics.unregistered());
            RegistryMetadata registries =
                given == null
                    ? new RegistryMetadata(MetadataSettings.defaults().withPlatform(platform))
                    : null) {
          SecretBytes secrets = SecretBytes.of(objects.secrets());
          MetadataSources use = given != null ? given : p -> registries.forPolicy(p, secrets);
          report =
              CheckReport.of(
                  policy,
                  own,
                  objects,
                  new CheckReport.RegistryAccess(
                      review, use.forPolicy(policy), Duration.ofSeconds(registryTimeout)));
        }
      } else {
        report = CheckReport.of(policy, own, objects);
      }
      output = format.equals("json") ? report.json() : report.text();
    } catch (OutOfMemoryError e) {
      return outOfMemory(objectsFile, err);
    }
    out.print(output);
    for (String n : report.notes()) {
      err.println("check: note: " + n);
    }
    if (!report.problems().isEmpty()) {
      err.println(
          "check: "
              + objectsFile
              + ": "
              + ControllerMain.problems(report.problems().size())
              + (report.rows().isEmpty()
                  ? "; nothing checked"
                  : "; the other objects were checked"));
      for (Problem p : report.problems()) {
        err.println("  " + p);
      }
    }
    err.println("check: " + report.summary());
    if (!report.problems().isEmpty()) {
      return ControllerMain.INVALID;
    }
    if (failOn != null && report.worst().compareTo(failOn) >= 0) {
      err.println(
          "check: --fail-on "
              + failOn.wireName()
              + ": at least one container's verdict is "
              + report.worst().wireName());
      return ControllerMain.INVALID;
    }
    return ControllerMain.OK;
  }

  /**
   * A dump too large for the heap: says so instead of a stack trace. Reading one takes about 5.5
   * times its size in heap (controller/README.md).
   */
  private static int outOfMemory(String objectsFile, PrintStream err) {
    err.println(
        "check: --objects "
            + objectsFile
            + ": not enough memory to check it (the JVM's heap limit is "
            + (Runtime.getRuntime().maxMemory() >> 20)
            + " MiB); run java with a larger -Xmx (about 6 times the file's size) or check one"
            + " namespace at a time; nothing was printed");
    return ControllerMain.INVALID;
  }

  private static boolean tooLarge(String file) {
    try {
      return Files.size(Path.of(file)) > MAX_OBJECTS_BYTES;
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }
}
