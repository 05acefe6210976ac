package dev.registrypolicy.controller;

import dev.registrypolicy.common.GoDuration;
import dev.registrypolicy.common.Health;
import dev.registrypolicy.common.HealthServer;
import dev.registrypolicy.controller.admission.Enforcement;
import dev.registrypolicy.controller.imagemeta.Platform;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.Policy;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/** {@code run}: the controller in a cluster. */
final class ControllerRun {
  /** The full-resync period's range; the informers' own relists stay as client-java sets them. */
  static final Duration MIN_RESYNC = Duration.ofSeconds(1);

  static final Duration MAX_RESYNC = Duration.ofHours(24);

  private static final Logger LOG = Logger.getLogger(ControllerRun.class.getName());

  private ControllerRun() {}

  static int run(
      List<String> args,
      PrintStream out,
      PrintStream err,
      Map<String, String> env,
      CountDownLatch stopped) {
    int[] exit = new int[1];
    List<Flags.Spec> specs =
        new java.util.ArrayList<>(
            List.of(
                Flags.Spec.optional("--listen", "HOST:PORT"),
                Flags.Spec.optional("--workers", "N"),
                Flags.Spec.optional("--resync", "DURATION"),
                Flags.Spec.optional("--admission-enforcement", "auto|policy|webhook|both"),
                Flags.Spec.optional("--image-platform", "OS/ARCH[/VARIANT]"),
                Flags.Spec.flag("--verbose")));
    for (WebhookSettings.Flag w : WebhookSettings.FLAGS) {
      specs.add(
          w.valueName() == null
              ? Flags.Spec.flag(w.name())
              : Flags.Spec.optional(w.name(), w.valueName()));
    }
    Flags f = ControllerMain.flags("run", args, specs, out, err, exit);
    if (f == null) {
      return exit[0];
    }
    List<String> bad = new java.util.ArrayList<>();
    String listen = f.get("--listen", "0.0.0.0:9742");
    if (address(listen) == null) {
      bad.add("--listen wants HOST:PORT with a port 1-65535, not \"" + listen + "\"");
    }
    int workers = 0;
    try {
      workers = Integer.parseInt(f.get("--workers", "4"));
    } catch (NumberFormatException e) {
      // reported below
    }
    if (workers < 1) {
      bad.add("--workers wants a whole number >= 1, not \"" + f.get("--workers", "") + "\"");
    }
    Duration resync = null;
    try {
      resync = GoDuration.parseBetween(f.get("--resync", "10m"), MIN_RESYNC, MAX_RESYNC);
    } catch (GoDuration.InvalidDurationException e) {
      bad.add("--resync: " + e.getMessage());
    }
    Enforcement enforcement = Enforcement.AUTO;
    try {
      enforcement = Enforcement.parse(f.get("--admission-enforcement", "auto"));
    } catch (IllegalArgumentException e) {
      bad.add(e.getMessage());
    }
    Platform imagePlatform = Platform.LINUX_AMD64;
    try {
      imagePlatform = Platform.parse(f.get("--image-platform", "linux/amd64"));
    } catch (IllegalArgumentException e) {
      bad.add("--image-platform: " + e.getMessage());
    }
    // The namespace the pod runs in (the Downward API's POD_NAMESPACE): the webhook's Service and
    // TLS Secret live there, and it is exempt from admission unless the policy says otherwise.
    String ownNamespace = env.getOrDefault("POD_NAMESPACE", Policy.NAMESPACE);
    Map<String, String> webhookFlags = new java.util.LinkedHashMap<>();
    for (WebhookSettings.Flag w : WebhookSettings.FLAGS) {
      f.get(w.name()).ifPresent(v -> webhookFlags.put(w.name(), v));
    }
    WebhookSettings.Parsed webhookParsed = WebhookSettings.parse(webhookFlags, ownNamespace);
    bad.addAll(webhookParsed.errors());
    if (!bad.isEmpty()) {
      bad.forEach(b -> err.println("run: " + b));
      err.println("run " + ControllerMain.NAME + " run --help for usage");
      return ControllerMain.USAGE;
    }
    WebhookSettings webhook = webhookParsed.settings();
    boolean verbose = f.isSet("--verbose");
    ClusterConfig.Loaded cfg;
    try {
      cfg = ClusterConfig.load(env);
    } catch (ClusterConfig.ConfigException e) {
      err.println("run: " + e.getMessage());
      return e.exitCode;
    }
    Log.configure(Level.INFO, verbose, cfg.server(), err);
    String identity = env.getOrDefault("POD_NAME", hostname());
    LOG.info(
        Log.kv(
            "starting",
            "version",
            ControllerMain.version(),
            "server",
            cfg.server(),
            "config",
            cfg.source(),
            "identity",
            identity,
            "listen",
            listen,
            "admission_enforcement",
            enforcement.flagValue(),
            "webhook",
            webhook.enabled()
                ? webhook.port() + " (certificates " + webhook.certificates().wireName() + ")"
                : "off"));
    Controller controller = null;
    HealthServer server = null;
    try {
      ApiClient client = cfg.client();
      client.setHttpClient(
          client.getHttpClient().newBuilder().readTimeout(0, TimeUnit.SECONDS).build());
      Metrics metrics = new Metrics();
      Controller.Settings s = Controller.Settings.defaults(identity);
      // The admission objects come from the policy's producers; with --webhook every replica
      // serves the webhook once its TLS Secret is read (the leader makes it in self mode).
      controller =
          new Controller(
              client,
              new Controller.Settings(
                  identity, workers, resync, s.leaseDuration(), s.renewDeadline(), s.retryPeriod()),
              metrics,
              enforcement,
              webhook,
              imagePlatform);
      server = serveHealth(listen, controller::waiting, metrics::scrape);
      controller.start();
      CountDownLatch stop = stopped == null ? new CountDownLatch(1) : stopped;
      Controller running = controller;
      HealthServer serving = server;
      Thread hook =
          new Thread(
              () -> {
                running.close();
                serving.close();
                stop.countDown();
              });
      Runtime.getRuntime().addShutdownHook(hook);
      stop.await();
      if (stopped != null) {
        Runtime.getRuntime().removeShutdownHook(hook);
        running.close();
        serving.close();
      }
      return ControllerMain.OK;
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.SEVERE, Log.kv("could not start", "listen", listen), e);
      if (server != null) {
        server.close();
      }
      if (controller != null) {
        controller.close();
      }
      return ControllerMain.INVALID;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ControllerMain.OK;
    }
  }

  /** HOST:PORT as a socket address (not resolved), or null when it is not one. */
  static InetSocketAddress address(String listen) {
    int colon = listen.lastIndexOf(':');
    if (colon <= 0) {
      return null;
    }
    try {
      int port = Integer.parseInt(listen.substring(colon + 1));
      String host = listen.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return port < 1 || port > 65535 ? null : InetSocketAddress.createUnresolved(host, port);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * /healthz (always, every replica), /readyz (caches synced), /metrics: the server both jars use
   * ({@link HealthServer}), with its slow-client limits and JSON bodies.
   */
  static HealthServer serve(String listen, BooleanSupplier ready, Supplier<String> metrics)
      throws IOException {
    return serveHealth(
        listen, () -> ready.getAsBoolean() ? null : "informer caches not synced yet", metrics);
  }

  /**
   * The same, with the reason it is not ready ({@code waiting}: null when ready) shown by /readyz.
   */
  static HealthServer serveHealth(String listen, Supplier<String> waiting, Supplier<String> metrics)
      throws IOException {
    InetSocketAddress a = address(listen);
    if (a == null) {
      throw new IOException("not HOST:PORT: " + listen);
    }
    return HealthServer.start(
        new InetSocketAddress(a.getHostString(), a.getPort()),
        () -> {
          String why = waiting.get();
          return new Health(true, why == null, why == null ? Map.of() : Map.of("waiting", why));
        },
        metrics);
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "registry-policy-controller";
    }
  }
}
