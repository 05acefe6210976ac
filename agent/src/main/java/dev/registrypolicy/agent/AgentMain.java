package dev.registrypolicy.agent;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;

/**
 * The node agent's command line.
 *
 * <pre>
 * registry-policy-agent --policy FILE --certs-dir DIR [--secrets-dir DIR] [options]
 * </pre>
 *
 * Exit codes: 0 success, 1 the policy (or a credential it references) is invalid or certs.d
 * could not be written (nothing valid was changed), 2 usage error, 4 certs.d itself was deleted on
 * the node while mounted (with or without {@code --once}; the container's restart re-creates the
 * hostPath). 3 is left to the JVM, which exits with it under {@code -XX:+ExitOnOutOfMemoryError}.
 */
public final class AgentMain {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;
  /** certs.d was deleted on the node; distinct from 3, the JVM's -XX:+ExitOnOutOfMemoryError code. */
  static final int CERTS_DIR_DELETED = 4;

  static final String USAGE_TEXT = String.join("\n",
      "usage: registry-policy-agent --policy FILE --certs-dir DIR [--secrets-dir DIR] [options]",
      "       registry-policy-agent demo   (apply the built-in example policy to a temporary certs.d)",
      "  --policy FILE             the policy: the mounted ConfigMap key policy.yaml, or the ConfigMap manifest",
      "  --certs-dir DIR           containerd's certs.d as this process sees it (e.g. /host/certs.d)",
      "  --secrets-dir DIR         the credentials bundle: one file per Secret key, named <secret>_<key>",
      "  --node-certs-dir DIR      certs.d as containerd on the node sees it (default: --certs-dir);",
      "                            used for the ca/client paths inside hosts.toml",
      "  --containerd-config FILE  containerd's config.toml to diagnose (default: none)",
      "  --listen HOST:PORT        serve /healthz, /readyz, /metrics (default 0.0.0.0:9741; \"off\" to disable)",
      "  --resync DURATION         full resync period, e.g. 60s, 5m (default 60s)",
      "  --once                    apply once and exit",
      "  --cleanup                 remove every file and directory the agent manages, then exit",
      "  --adopt                   take over existing unmanaged host directories the policy names",
      "  --verbose                 also log passes that change nothing, probes and health-server details",
      "exit codes: 0 ok, 1 invalid policy or write failure (nothing valid changed), 2 usage error,",
      "            4 certs.d itself was deleted (restart the container to re-create its mount)");

  private AgentMain() {}

  public static void main(String[] args) {
    int code = run(args, System.out, System.err);
    if (code != Integer.MIN_VALUE) {
      System.exit(code);
    }
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

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 1 && args[0].equals("demo")) {
      Log.configure(Level.WARNING);
      try {
        return AgentDemo.run(out);
      } catch (IOException e) {
        err.println("demo failed: " + e);
        return FAILED;
      }
    }
    Flags f;
    try {
      f = parse(List.of(args));
    } catch (IllegalArgumentException e) {
      err.println("registry-policy-agent: " + e.getMessage());
      err.println(USAGE_TEXT);
      return USAGE;
    }
    if (f == null) {
      out.println(USAGE_TEXT);
      return OK;
    }
    Log.configure(f.verbose() ? Level.FINE : Level.INFO);
    Metrics metrics = new Metrics();
    Agent agent = new Agent(new Agent.Options(f.policy(), f.secretsDir(), f.certsDir(), f.nodeCertsDir(), f.adopt(),
        f.resync(), f.containerdConfig()), metrics);
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
        Log.info("once done", "outcome", o.name().toLowerCase(java.util.Locale.ROOT), "problems", agent.problems().size());
        return o == Agent.Outcome.APPLIED ? OK : FAILED;
      }
      HealthServer server = f.listen() == null ? null : HealthServer.start(f.listen(), agent::health, metrics);
      if (server != null) {
        Log.info("serving health and metrics", "address", f.listen().getHostString() + ":" + server.port());
      }
      CountDownLatch stopped = new CountDownLatch(1);
      Thread main = Thread.currentThread();
      Thread hook = new Thread(() -> {
        try {
          agent.close();
          main.interrupt();
          stopped.await(java.util.concurrent.TimeUnit.SECONDS.toMillis(5), java.util.concurrent.TimeUnit.MILLISECONDS);
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
      if (result == Agent.RunResult.CERTS_DIR_DELETED) {
        agent.close();
        return certsDirDeleted(f);
      }
      return OK;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OK;
    } catch (IOException e) {
      Log.error("agent failed", "error", e.getClass().getSimpleName() + ": " + e.getMessage());
      return FAILED;
    }
  }

  /** Logs, once, why the process exits with {@link #CERTS_DIR_DELETED}. */
  private static int certsDirDeleted(Flags f) {
    Log.error("certs dir deleted", "certs_dir", f.certsDir(), "node_certs_dir", f.nodeCertsDir(),
        "exit_code", CERTS_DIR_DELETED, "action", "exiting: the container restart re-creates the hostPath mount,"
            + " then the next pass rewrites every file");
    return CERTS_DIR_DELETED;
  }

  /** Parses flags; null means help was asked for. */
  static Flags parse(List<String> args) {
    Path policy = null;
    Path certs = null;
    Path secrets = null;
    String nodeCerts = null;
    Path containerd = null;
    String listen = "0.0.0.0:9741";
    Duration resync = Duration.ofSeconds(60);
    boolean once = false;
    boolean cleanup = false;
    boolean adopt = false;
    boolean verbose = false;
    List<String> a = new ArrayList<>();
    for (String s : args) {
      int eq = s.indexOf('=');
      if (s.startsWith("--") && eq > 0) {
        a.add(s.substring(0, eq));
        a.add(s.substring(eq + 1));
      } else {
        a.add(s);
      }
    }
    for (int i = 0; i < a.size(); i++) {
      String flag = a.get(i);
      switch (flag) {
        case "-h":
        case "--help":
          return null;
        case "--once":
          once = true;
          continue;
        case "--cleanup":
          cleanup = true;
          continue;
        case "--adopt":
          adopt = true;
          continue;
        case "--verbose":
          verbose = true;
          continue;
        default:
          break;
      }
      if (i + 1 >= a.size()) {
        throw new IllegalArgumentException(flag.startsWith("--") ? flag + " needs a value" : "unexpected argument \"" + flag + "\"");
      }
      String v = a.get(++i);
      switch (flag) {
        case "--policy": policy = Path.of(v); break;
        case "--certs-dir": certs = Path.of(v); break;
        case "--secrets-dir": secrets = Path.of(v); break;
        case "--node-certs-dir": nodeCerts = v; break;
        case "--containerd-config": containerd = v.isEmpty() ? null : Path.of(v); break;
        case "--listen": listen = v; break;
        case "--resync": resync = duration(v); break;
        default: throw new IllegalArgumentException("unknown flag \"" + flag + "\"");
      }
    }
    if (certs == null) {
      throw new IllegalArgumentException("--certs-dir is required");
    }
    if (policy == null && !cleanup) {
      throw new IllegalArgumentException("--policy is required");
    }
    if (once && cleanup) {
      throw new IllegalArgumentException("--once and --cleanup are exclusive");
    }
    if (nodeCerts == null) {
      nodeCerts = certs.toAbsolutePath().normalize().toString();
    } else if (!nodeCerts.startsWith("/")) {
      throw new IllegalArgumentException("--node-certs-dir must be an absolute path");
    }
    if (secrets != null && !Files.isDirectory(secrets)) {
      // A missing bundle is fine (optional Secret); a file is a mistake.
      if (Files.exists(secrets)) {
        throw new IllegalArgumentException("--secrets-dir " + secrets + " is not a directory");
      }
    }
    InetSocketAddress addr = null;
    if (!listen.equals("off")) {
      int colon = listen.lastIndexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("--listen wants HOST:PORT or off, got \"" + listen + "\"");
      }
      try {
        int port = Integer.parseInt(listen.substring(colon + 1));
        addr = new InetSocketAddress(listen.substring(0, colon), port);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--listen wants HOST:PORT or off, got \"" + listen + "\"");
      }
    }
    return new Flags(policy, certs, secrets, nodeCerts, containerd, addr, resync, once, cleanup, adopt, verbose);
  }

  static Duration duration(String v) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)").matcher(v);
    if (!m.matches()) {
      throw new IllegalArgumentException("--resync wants a duration such as 30s or 5m, got \"" + v + "\"");
    }
    long n = Long.parseLong(m.group(1));
    Duration d;
    switch (m.group(2)) {
      case "ms": d = Duration.ofMillis(n); break;
      case "s": d = Duration.ofSeconds(n); break;
      case "m": d = Duration.ofMinutes(n); break;
      default: d = Duration.ofHours(n); break;
    }
    if (d.toMillis() < 100) {
      throw new IllegalArgumentException("--resync must be at least 100ms");
    }
    return d;
  }
}
