package dev.registrypolicy.agent;

import dev.registrypolicy.common.Causes;
import dev.registrypolicy.common.GoDuration;
import dev.registrypolicy.common.HealthServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

/**
 * The node agent's command line.
 *
 * <pre>
 * registry-policy-agent --policy FILE --certs-dir DIR [--secrets-dir DIR] [options]
 * registry-policy-agent --cleanup --certs-dir DIR [--node-certs-dir DIR]
 * registry-policy-agent --wait
 * registry-policy-agent demo
 * registry-policy-agent --version | --help
 * </pre>
 *
 * Exit codes: 0 success (for {@code --wait}: stopped by SIGTERM or SIGINT), 1 the command ran and
 * found a problem (the policy or a credential it references is invalid, or certs.d could not be
 * written), 2 usage error (unknown flag, bad or missing value, a named input that does not exist or
 * is not what it should be), 4 certs.d itself was deleted on the node while mounted (with or
 * without {@code --once}; the container's restart re-creates the hostPath). 3 is left to the JVM,
 * which exits with it under {@code -XX:+ExitOnOutOfMemoryError}.
 */
public final class AgentMain {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;

  /**
   * certs.d was deleted on the node; distinct from 3, the JVM's -XX:+ExitOnOutOfMemoryError code.
   */
  static final int CERTS_DIR_DELETED = 4;

  static final String NAME = "registry-policy-agent";

  /** Shortest and longest --resync. */
  static final Duration MIN_RESYNC = Duration.ofMillis(100);

  static final Duration MAX_RESYNC = Duration.ofHours(24);

  static final String USAGE_TEXT =
      """
      usage: registry-policy-agent --policy FILE --certs-dir DIR [--secrets-dir DIR] [options]
             registry-policy-agent --wait      do nothing until stopped (SIGTERM), then exit 0 (the waiting
                                               container of uninstall-cleanup.yaml: the images have no sleep)
             registry-policy-agent demo        apply the built-in example policy to a temporary certs.d
             registry-policy-agent --version   print the version
        --policy FILE             the policy: the mounted ConfigMap key policy.yaml, or the ConfigMap manifest
        --certs-dir DIR           containerd's certs.d as this process sees it (e.g. /host/certs.d); must exist
        --secrets-dir DIR         the credentials bundle: one file per Secret key, named <secret>_<key>
                                  (may be missing while nothing is referenced)
        --node-certs-dir DIR      certs.d as containerd on the node sees it (default: --certs-dir);
                                  used for the ca/client paths inside hosts.toml
        --containerd-config FILE  containerd's config.toml to diagnose (default: none)
        --listen HOST:PORT        serve /healthz, /readyz, /metrics (default 0.0.0.0:9741; "off" to disable)
        --resync DURATION         full resync period, a Go duration from 100ms to 24h, e.g. 60s, 1h30m (default 60s)
        --once                    apply once and exit
        --cleanup                 remove every file and directory the agent manages, then exit
        --adopt                   take over existing unmanaged host directories the policy names
        --verbose                 also log passes that change nothing, probes and health-server details
        --version, --help
      exit codes: 0 ok, 1 the command ran and found a problem (invalid policy or credentials, write failure),
                  2 usage error (bad flag or value, a named input that does not exist),
                  4 certs.d itself was deleted (restart the container to re-create its mount)""";

  static final String DEMO_USAGE =
      """
      usage: registry-policy-agent demo
        Applies the built-in example policy, with demo-only credentials, to a new temporary certs.d,
        prints what was written (credentials masked), then passes again to show that an unchanged policy
        writes nothing. Touches nothing else.
      exit codes: 0 ok, 1 a pass did not apply, 2 usage error""";

  private AgentMain() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Parsed flags. */
  record Flags(
      Path policy,
      Path certsDir,
      Path secretsDir,
      String nodeCertsDir,
      Path containerdConfig,
      InetSocketAddress listen,
      Duration resync,
      boolean once,
      boolean cleanup,
      boolean adopt,
      boolean verbose) {}

  /** Why the command line cannot be used: one message per bad flag. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;
    final List<String> messages;

    UsageException(List<String> messages) {
      super(String.join("; ", messages));
      this.messages = List.copyOf(messages);
    }
  }

  /** The version from the jar manifest's Implementation-Version. */
  static String version() {
    String v =
        AgentMain.class.getPackage() == null
            ? null
            : AgentMain.class.getPackage().getImplementationVersion();
    return v == null ? "unknown (not run from the release jar)" : v;
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    List<String> list = List.of(args);
    if (!list.isEmpty() && list.get(0).equals("demo")) {
      return demo(list.subList(1, list.size()), out, err);
    }
    if (list.contains("--wait")) {
      if (list.size() != 1) {
        return usage(err, List.of("--wait takes no other arguments"));
      }
      return waitUntilStopped();
    }
    if (list.contains("--version")) {
      if (list.size() != 1) {
        return usage(err, List.of("--version takes no other arguments"));
      }
      out.println(NAME + " " + version());
      return OK;
    }
    if (list.contains("--help") || list.contains("-h")) {
      out.println(USAGE_TEXT);
      return OK;
    }
    Flags f;
    try {
      f = parse(list);
    } catch (UsageException e) {
      return usage(err, e.messages);
    }
    Log.configure(f.verbose() ? Level.FINE : Level.INFO);
    Metrics metrics = new Metrics();
    // The fast path (watching the policy and bundle through the API server, the node report
    // Lease) is for the daemon only: --once and --cleanup read the mounted files, as always.
    ApiConfig api = null;
    if (!f.once() && !f.cleanup()) {
      ApiConfig.Found found =
          ApiConfig.fromEnvironment(System.getenv(), ApiConfig.SERVICE_ACCOUNT_DIR);
      api = found.config();
      if (api != null) {
        Log.info(
            "api fast path on",
            "server",
            api.server(),
            "node",
            api.node() == null ? "unknown (NODE_NAME unset): no node report" : api.node());
      } else {
        Log.info("api fast path off", "why", found.whyNot(), "action", "mounted files only");
      }
    }
    Agent agent =
        new Agent(
            new Agent.Options(
                f.policy(),
                f.secretsDir(),
                f.certsDir(),
                f.nodeCertsDir(),
                f.adopt(),
                f.resync(),
                f.containerdConfig()),
            metrics,
            Backoff.DEFAULT,
            api);
    try {
      if (f.cleanup()) {
        List<String> gone = agent.cleanup();
        Log.info("cleanup done", "removed", gone.size(), "certs_dir", f.certsDir());
        return OK;
      }
      if (f.once()) {
        Agent.Outcome o = agent.reconcile("once");
        if (o == Agent.Outcome.CERTS_DIR_DELETED) {
          return certsDirDeleted(f);
        }
        Log.info(
            "once done",
            "outcome",
            o.name().toLowerCase(Locale.ROOT),
            "problems",
            agent.problems().size());
        return o == Agent.Outcome.APPLIED ? OK : FAILED;
      }
      return daemon(f, agent, metrics);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OK;
    } catch (IOException e) {
      Log.error(
          "agent failed",
          "certs_dir",
          f.certsDir(),
          "error",
          Causes.describe(e),
          "action",
          "exiting");
      return FAILED;
    }
  }

  private static int daemon(Flags f, Agent agent, Metrics metrics)
      throws IOException, InterruptedException {
    HealthServer server = null;
    if (f.listen() != null) {
      try {
        server = HealthServer.start(f.listen(), agent::health, metrics::render);
      } catch (IOException e) {
        Log.error(
            "cannot serve health and metrics",
            "address",
            f.listen().getHostString() + ":" + f.listen().getPort(),
            "error",
            Causes.describe(e),
            "action",
            "exiting (use --listen with another address, or off)");
        return FAILED;
      }
      Log.info(
          "serving health and metrics",
          "address",
          f.listen().getHostString() + ":" + server.port());
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Thread main = Thread.currentThread();
    Thread hook =
        new Thread(
            () -> {
              try {
                agent.close();
                main.interrupt();
                stopped.await(5, TimeUnit.SECONDS);
              } catch (IOException | InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    Runtime.getRuntime().addShutdownHook(hook);
    Agent.RunResult result;
    try {
      result = agent.run();
    } finally {
      if (server != null) {
        server.close();
      }
      stopped.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // already shutting down: the hook is running
      }
    }
    agent.close();
    return result == Agent.RunResult.CERTS_DIR_DELETED ? certsDirDeleted(f) : OK;
  }

  /**
   * {@code --wait}: logs one line, then parks the main thread until the JVM is asked to stop
   * (SIGTERM from the kubelet, or SIGINT) and exits 0. Nothing runs in between: no thread of ours
   * wakes up, so the process uses no CPU while it waits. This keeps the uninstall DaemonSet's pod
   * Running (and so Ready) after its init container's {@code --cleanup} succeeded, with the image
   * already on the node: the product's images hold only the Java runtime and the jar, no {@code
   * sleep}.
   *
   * <p>The JVM ends a signal-initiated shutdown with status 128 + the signal's number (143 for
   * SIGTERM) once its shutdown hooks return; the hook here ends it with 0 instead ({@link
   * Runtime#halt}, which does not wait for other hooks: nothing is left to flush, the log handler
   * writes each line as it is logged, and no line is logged on the way out, which the logging
   * system's own shutdown hook could race).
   */
  static int waitUntilStopped() {
    Log.configure(Level.INFO);
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(OK), "wait-stopped"));
    Log.info(
        "waiting until stopped",
        "action",
        "nothing to do; exits 0 on SIGTERM (the cleanup ran in the init container)");
    CountDownLatch never = new CountDownLatch(1);
    try {
      never.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return OK;
  }

  private static int demo(List<String> args, PrintStream out, PrintStream err) {
    if (args.equals(List.of("--help")) || args.equals(List.of("-h"))) {
      out.println(DEMO_USAGE);
      return OK;
    }
    if (!args.isEmpty()) {
      err.println(NAME + " demo: unexpected argument \"" + args.get(0) + "\" (demo takes none)");
      err.println("run \"" + NAME + " demo --help\" for usage");
      return USAGE;
    }
    Log.configure(Level.WARNING);
    try {
      return AgentDemo.run(out);
    } catch (IOException e) {
      err.println(NAME + " demo: failed: " + Causes.describe(e));
      return FAILED;
    }
  }

  private static int usage(PrintStream err, List<String> messages) {
    for (String m : messages) {
      err.println(NAME + ": " + m);
    }
    err.println("run \"" + NAME + " --help\" for usage");
    return USAGE;
  }

  /** Logs, once, why the process exits with {@link #CERTS_DIR_DELETED}. */
  private static int certsDirDeleted(Flags f) {
    Log.error(
        "certs dir deleted",
        "certs_dir",
        f.certsDir(),
        "node_certs_dir",
        f.nodeCertsDir(),
        "exit_code",
        CERTS_DIR_DELETED,
        "action",
        "exiting: the container restart re-creates the hostPath mount,"
            + " then the next pass rewrites every file");
    return CERTS_DIR_DELETED;
  }

  private static final List<String> SWITCHES =
      List.of("--once", "--cleanup", "--adopt", "--verbose");
  private static final List<String> VALUED =
      List.of(
          "--policy",
          "--certs-dir",
          "--secrets-dir",
          "--node-certs-dir",
          "--containerd-config",
          "--listen",
          "--resync");

  /** Parses and checks flags; every bad flag gives one message. */
  static Flags parse(List<String> args) throws UsageException {
    List<String> bad = new ArrayList<>();
    String policy = null;
    String certs = null;
    String secrets = null;
    String nodeCerts = null;
    String containerd = null;
    String listen = "0.0.0.0:9741";
    String resyncText = "60s";
    boolean once = false;
    boolean cleanup = false;
    boolean adopt = false;
    boolean verbose = false;
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      String flag = a;
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        flag = a.substring(0, eq);
        value = a.substring(eq + 1);
      }
      if (SWITCHES.contains(flag)) {
        if (value != null) {
          bad.add(flag + " takes no value");
          continue;
        }
        once |= flag.equals("--once");
        cleanup |= flag.equals("--cleanup");
        adopt |= flag.equals("--adopt");
        verbose |= flag.equals("--verbose");
        continue;
      }
      if (!VALUED.contains(flag)) {
        bad.add(
            flag.startsWith("-")
                ? "unknown flag \"" + flag + "\""
                : "unexpected argument \"" + flag + "\"");
        continue;
      }
      if (value == null) {
        if (i + 1 >= args.size()
            || (args.get(i + 1).startsWith("--") && args.get(i + 1).length() > 2)) {
          bad.add(flag + " needs a value");
          seen.add(flag);
          continue;
        }
        value = args.get(++i);
      }
      if (seen.contains(flag)) {
        bad.add(flag + " is given more than once");
        continue;
      }
      seen.add(flag);
      switch (flag) {
        case "--policy" -> policy = value;
        case "--certs-dir" -> certs = value;
        case "--secrets-dir" -> secrets = value;
        case "--node-certs-dir" -> nodeCerts = value;
        case "--containerd-config" -> containerd = value;
        case "--listen" -> listen = value;
        default -> resyncText = value;
      }
    }
    if (once && cleanup) {
      bad.add("--once and --cleanup cannot be used together");
    }
    Path certsPath = null;
    if (certs == null) {
      if (!seen.contains("--certs-dir")) {
        bad.add("--certs-dir is required");
      }
    } else {
      certsPath = path("--certs-dir", certs, bad);
      if (certsPath != null) {
        if (!Files.exists(certsPath)) {
          bad.add(
              "--certs-dir "
                  + certs
                  + " does not exist (the agent does not create it; the DaemonSet's hostPath does)");
        } else if (!Files.isDirectory(certsPath)) {
          bad.add("--certs-dir " + certs + " is not a directory");
        }
      }
    }
    Path policyPath = null;
    if (policy == null) {
      if (!cleanup && !seen.contains("--policy")) {
        bad.add("--policy is required");
      }
    } else {
      policyPath = path("--policy", policy, bad);
      if (policyPath != null) {
        if (!Files.exists(policyPath)) {
          bad.add("--policy " + policy + " does not exist");
        } else if (Files.isDirectory(policyPath)) {
          bad.add("--policy " + policy + " is a directory, not a file");
        }
      }
    }
    Path secretsPath = secrets == null ? null : path("--secrets-dir", secrets, bad);
    if (secretsPath != null && Files.exists(secretsPath) && !Files.isDirectory(secretsPath)) {
      // A missing bundle is fine (the Secret is optional); a file is a mistake.
      bad.add("--secrets-dir " + secrets + " is not a directory");
    }
    Path containerdPath =
        containerd == null || containerd.isEmpty()
            ? null
            : path("--containerd-config", containerd, bad);
    if (containerdPath != null && Files.isDirectory(containerdPath)) {
      // A missing config.toml is reported as a problem at every pass; a directory is a mistake.
      bad.add(
          "--containerd-config " + containerd + " is a directory, not containerd's config.toml");
    }
    if (nodeCerts == null) {
      nodeCerts = certsPath == null ? null : certsPath.toAbsolutePath().normalize().toString();
    } else if (!nodeCerts.startsWith("/")) {
      bad.add("--node-certs-dir must be an absolute path, got \"" + nodeCerts + "\"");
    } else if (nodeCerts.indexOf('\0') >= 0 || nodeCerts.contains("\n")) {
      bad.add("--node-certs-dir holds a control character");
    }
    InetSocketAddress addr = listen.equals("off") ? null : listenAddress(listen, bad);
    Duration resync = null;
    try {
      resync = duration(resyncText);
    } catch (IllegalArgumentException e) {
      bad.add(e.getMessage());
    }
    if (!bad.isEmpty()) {
      throw new UsageException(bad);
    }
    return new Flags(
        policyPath,
        certsPath,
        secretsPath,
        nodeCerts,
        containerdPath,
        addr,
        resync,
        once,
        cleanup,
        adopt,
        verbose);
  }

  private static Path path(String flag, String value, List<String> bad) {
    if (value.isEmpty()) {
      bad.add(flag + " needs a value");
      return null;
    }
    try {
      return Path.of(value);
    } catch (InvalidPathException e) {
      bad.add(flag + " \"" + value + "\" is not a valid path (" + e.getReason() + ")");
      return null;
    }
  }

  /** HOST:PORT, [IPv6]:PORT or a bare IPv6 address followed by :PORT; port 0 to 65535. */
  static InetSocketAddress listenAddress(String listen, List<String> bad) {
    String want = "--listen wants HOST:PORT or off, got \"" + listen + "\"";
    int colon = listen.lastIndexOf(':');
    if (colon <= 0 || colon == listen.length() - 1) {
      bad.add(want);
      return null;
    }
    String host = listen.substring(0, colon);
    String portText = listen.substring(colon + 1);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (!portText.matches("[0-9]{1,5}") || Integer.parseInt(portText) > 65535) {
      bad.add("--listen port must be a number from 0 to 65535, got \"" + portText + "\"");
      return null;
    }
    InetSocketAddress addr = new InetSocketAddress(host, Integer.parseInt(portText));
    if (addr.isUnresolved()) {
      bad.add(
          "--listen host \""
              + host
              + "\" is not an address of this machine or a name that resolves");
      return null;
    }
    return addr;
  }

  /**
   * A Go duration such as {@code 500ms}, {@code 30s}, {@code 1h30m}, from {@link #MIN_RESYNC} to
   * {@link #MAX_RESYNC}; any text, however long, gives a usage message, never an overflow.
   */
  static Duration duration(String v) {
    try {
      return GoDuration.parseBetween(v, MIN_RESYNC, MAX_RESYNC);
    } catch (GoDuration.InvalidDurationException e) {
      throw new IllegalArgumentException("--resync: " + e.getMessage(), e);
    }
  }
}
