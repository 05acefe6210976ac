package dev.registrypolicy.controller.bench;

import dev.registrypolicy.admission.ImageMetadata;
import dev.registrypolicy.controller.imagemeta.ImageMetadataSource;
import dev.registrypolicy.controller.webhook.ContentReview;
import dev.registrypolicy.controller.webhook.ImageContentMetrics;
import dev.registrypolicy.controller.webhook.MemorySecretStore;
import dev.registrypolicy.controller.webhook.PolicySnapshot;
import dev.registrypolicy.controller.webhook.PolicySource;
import dev.registrypolicy.controller.webhook.SecretStore;
import dev.registrypolicy.controller.webhook.TlsMaterial;
import dev.registrypolicy.controller.webhook.WebhookCertificates;
import dev.registrypolicy.controller.webhook.WebhookMetrics;
import dev.registrypolicy.controller.webhook.WebhookServer;
import dev.registrypolicy.controller.webhook.WebhookSettings;
import dev.registrypolicy.policy.ImageRef;
import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.bench.ProcInfo;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Webhook load on loopback (a harness, not a test): a child JVM serves the webhook with a realistic
 * policy; this JVM sends 3-container Pod AdmissionReviews open-loop at a fixed rate over HTTPS and
 * reports latency (from each request's scheduled send time, so a stall counts against every request
 * it delays), errors and the server's RSS. The command is in controller/README.md ("Admission:
 * webhook"); arguments {@code rate=N seconds=N warmup=N jvm=-Xmx..,-XX:..} (the server JVM's flags,
 * separated by commas or spaces) and {@code metadata=true}: the policy gains image-content rules
 * ({@link #METADATA_RULES}) and the webhook reads image metadata from an in-memory source that
 * answers every image at once, so each review goes through the image-content path as on a cache hit
 * (plan, one concurrent lookup per distinct image, evaluation, merge).
 */
public final class WebhookBench {
  static final String POLICY =
      """
      apiVersion: registry-policy.dev/v1alpha1
      kind: RegistryPolicy
      credentials:
        - {name: corp, secret: corp-pull}
      access:
        - name: corp
          credentials: [corp]
          namespaces: {names: [team-a]}
      admission:
        mode: Deny
        allowedSources:
          - prefix: registry.corp.example/team-a
          - prefix: docker.io/library
          - prefix: ghcr.io/org
        rules:
          - name: no-latest
            blockLatestTag: true
          - name: pinned-in-prod
            namespaces: {selector: {matchLabels: {env: prod}}}
            requireDigest: true
          - name: blocked
            mode: Warn
            blockedImages: [{name: "busybox", tag: "1.2*"}]
      """;

  /** The rules {@code metadata=true} adds: every image-content check, all passing. */
  static final String METADATA_RULES =
      """
          - name: no-root
            imageMetadata: {denyRunAsRoot: true}
          - name: content
            mode: Warn
            imageMetadata:
              maxSize: 2Gi
              allowedPlatforms: [linux/amd64, linux/arm64]
              requiredLabels: [{key: org.opencontainers.image.source, value: "https://git.corp/*"}]
              requireKnownDigest: true
      """;

  /**
   * The in-memory source of {@code metadata=true}: the same non-root image for every reference,
   * answered as a cache hit ({@link ImageMetadataSource#cached}), as the registry source answers an
   * image it has seen.
   */
  static final ImageMetadataSource CACHED =
      new ImageMetadataSource() {
        private final ImageMetadata image =
            new ImageMetadata(
                "sha256:" + "f".repeat(64),
                null,
                "10001:10001",
                Map.of("org.opencontainers.image.source", "https://git.corp/team-a/web"),
                "linux",
                "amd64",
                "",
                120L << 20);

        @Override
        public ImageMetadata fetch(ImageRef ref, Instant deadline) {
          return image;
        }

        @Override
        public Optional<ImageMetadata> cached(ImageRef ref) {
          return Optional.of(image);
        }
      };

  private WebhookBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("serve")) {
      serve(args.length > 1 && args[1].equals("metadata"));
      return;
    }
    Map<String, String> opts = new HashMap<>();
    for (String a : args) {
      String[] kv = a.split("=", 2);
      if (kv.length == 2) {
        opts.put(kv[0], kv[1]);
      }
    }
    int rate = Integer.parseInt(opts.getOrDefault("rate", "1000"));
    int seconds = Integer.parseInt(opts.getOrDefault("seconds", "20"));
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", "5"));
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new java.util.ArrayList<>(List.of(java));
    String jvm = opts.getOrDefault("jvm", "");
    if (!jvm.isBlank()) {
      // Flags separated by spaces or semicolons (either survives Maven's -Dbench.args quoting;
      // commas do not separate, as flags such as -XX:StartFlightRecording hold them).
      cmd.addAll(List.of(jvm.trim().split("[\\s;]+")));
    }
    boolean metadata = Boolean.parseBoolean(opts.getOrDefault("metadata", "false"));
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            WebhookBench.class.getName(),
            "serve",
            metadata ? "metadata" : "plain"));
    System.out.println("server JVM flags: " + (jvm.isBlank() ? "(defaults)" : jvm));
    System.out.println(
        "policy: "
            + (metadata
                ? "with image-content rules, in-memory metadata source (cache-hit path)"
                : "reference rules only"));
    Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    java.io.PrintStream toChild =
        new java.io.PrintStream(child.getOutputStream(), true, StandardCharsets.UTF_8);
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      // The child's JVM may print its own lines first (JFR, GC logging to stdout): skip to ours.
      String first = out.readLine();
      while (first != null && !first.startsWith("PORT ")) {
        System.out.println("server: " + first);
        first = out.readLine();
      }
      if (first == null) {
        throw new IllegalStateException("the webhook child exited before it printed its port");
      }
      int port = Integer.parseInt(first.substring(5).trim());
      StringBuilder ca = new StringBuilder();
      for (String l = out.readLine(); l != null && !l.equals("END"); l = out.readLine()) {
        ca.append(l).append('\n');
      }
      SSLContext ctx = sslContext(ca.toString());
      System.out.println("machine: " + Machine.describe());
      System.out.println(
          "server pid "
              + child.pid()
              + ", "
              + CONNECTIONS
              + " connections, warm-up "
              + warmup
              + " s at "
              + rate
              + "/s");
      run(ctx, port, rate, warmup);
      ProcInfo.Memory before = Machine.memory(child.pid());
      System.out.println("server RSS after warm-up: " + before.rssKb() / 1024 + " MiB");
      double cpu0 = cpuSeconds(child.pid());
      long[] server0 = serverCounts(toChild, out);
      long[] lat = run(ctx, port, rate, seconds);
      double cpu = cpuSeconds(child.pid()) - cpu0;
      long[] server1 = serverCounts(toChild, out);
      ProcInfo.Memory after = Machine.memory(child.pid());
      System.out.printf(
          "server CPU: %.1f s for %d requests = %.3f ms per review (%.0f %% of one core)%n",
          cpu, lat.length, cpu * 1000 / lat.length, cpu * 100 / seconds);
      System.out.println("load average now: " + ProcInfoLoad.read());
      report(rate, seconds, lat, after);
      reportServer(server0, server1);
    } finally {
      child.destroy();
    }
  }

  /**
   * Sends rate*seconds requests open-loop over {@link #CONNECTIONS} kept-alive HTTPS connections
   * (as the API server reuses its connections to a webhook): request i is due at start + i/rate; a
   * free connection sends the next due request; latency counts from the due time, so waiting for a
   * connection counts too. The connections outlive one run: the measured run reuses those the
   * warm-up opened, as the API server keeps its connections to a webhook open. (Opening all 16 at
   * the start of the measured run made its first ~450 ms a queue behind 16 TLS handshakes on this
   * 2-core machine, up to 220 ms, which was most of the p99 first reported.) A connection that
   * fails is replaced, and its handshake is measured. Returns latencies (ns), -1 for errors.
   */
  static long[] run(SSLContext ctx, int port, int rate, int seconds) throws Exception {
    int n = rate * seconds;
    long[] lat = new long[n];
    LATE = new long[n];
    AtomicInteger next = new AtomicInteger();
    AtomicInteger wrong = new AtomicInteger();
    long interval = 1_000_000_000L / rate;
    long start = System.nanoTime() + 200_000_000L;
    List<Thread> workers = new java.util.ArrayList<>();
    for (int w = 0; w < CONNECTIONS; w++) {
      int slot = w;
      Thread t =
          new Thread(
              () -> {
                Connection c = POOL[slot];
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                  long due = start + i * interval;
                  long wait = due - System.nanoTime();
                  if (wait > 0) {
                    LockSupport.parkNanos(wait);
                  }
                  LATE[i] = System.nanoTime() - due;
                  String uid = "bench-" + i;
                  try {
                    if (c == null) {
                      c = new Connection(ctx, port);
                    }
                    String body = c.post("/validate", review(uid, i));
                    boolean ok =
                        body.contains("\"uid\":\"" + uid + "\"")
                            && body.contains("\"allowed\":true");
                    lat[i] = ok ? System.nanoTime() - due : -1;
                    if (!ok && wrong.incrementAndGet() <= 3) {
                      System.out.println("wrong answer: " + body);
                    }
                  } catch (Exception e) {
                    lat[i] = -1;
                    if (wrong.incrementAndGet() <= 3) {
                      System.out.println("error: " + e);
                    }
                    if (c != null) {
                      c.close();
                    }
                    c = null;
                  }
                }
                POOL[slot] = c;
              });
      t.start();
      workers.add(t);
    }
    for (Thread t : workers) {
      t.join();
    }
    return lat;
  }

  /** How late each request of the last run left this JVM (ns after its due time). */
  static long[] LATE = new long[0];

  /** Concurrent kept-alive connections of the load generator. */
  static final int CONNECTIONS = 16;

  /** The load generator's connections, kept across runs (see {@link #run}). */
  static final Connection[] POOL = new Connection[CONNECTIONS];

  /** One kept-alive HTTP/1.1 connection over TLS, reading Content-Length bodies. */
  static final class Connection {
    private final javax.net.ssl.SSLSocket socket;
    private final java.io.BufferedInputStream in;
    private final java.io.OutputStream out;

    Connection(SSLContext ctx, int port) throws java.io.IOException {
      socket = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("localhost", port);
      socket.setSoTimeout(10_000);
      socket.setTcpNoDelay(true);
      in = new java.io.BufferedInputStream(socket.getInputStream());
      out = new java.io.BufferedOutputStream(socket.getOutputStream());
    }

    String post(String path, String body) throws java.io.IOException {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      out.write(
          ("POST "
                  + path
                  + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  + "Content-Length: "
                  + b.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(b);
      out.flush();
      String status = line();
      if (!status.startsWith("HTTP/1.1 200")) {
        throw new java.io.IOException("status " + status);
      }
      int length = -1;
      for (String h = line(); !h.isEmpty(); h = line()) {
        if (h.regionMatches(true, 0, "Content-Length:", 0, 15)) {
          length = Integer.parseInt(h.substring(15).trim());
        }
      }
      if (length < 0) {
        throw new java.io.IOException("no Content-Length");
      }
      return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    private String line() throws java.io.IOException {
      StringBuilder sb = new StringBuilder();
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c < 0) {
          throw new java.io.EOFException("connection closed");
        }
        if (c != '\r') {
          sb.append((char) c);
        }
      }
      return sb.toString();
    }

    void close() {
      try {
        socket.close();
      } catch (java.io.IOException ignored) {
        // closing anyway
      }
    }
  }

  /** The child's registry_policy_webhook_review_seconds bucket counts for /validate. */
  static long[] serverCounts(java.io.PrintStream toChild, BufferedReader fromChild)
      throws java.io.IOException {
    toChild.println("COUNTS");
    for (String l = fromChild.readLine(); l != null; l = fromChild.readLine()) {
      if (l.startsWith("COUNTS ")) {
        return Arrays.stream(l.substring(7).trim().split(" ")).mapToLong(Long::parseLong).toArray();
      }
      System.out.println("server: " + l);
    }
    throw new IllegalStateException("the webhook child exited before it printed its counts");
  }

  /**
   * The webhook's own time per review during the measured run, from its histogram: the share of
   * reviews within each bucket bound, and the bound the 99th percentile falls under.
   */
  static void reportServer(long[] before, long[] after) {
    double[] bounds = WebhookMetrics.bounds();
    long[] d = new long[after.length];
    long n = 0;
    for (int i = 0; i < d.length; i++) {
      d[i] = after[i] - before[i];
      n += d[i];
    }
    StringBuilder sb = new StringBuilder();
    long cum = 0;
    String p99 = null;
    for (int i = 0; i < bounds.length && n > 0; i++) {
      cum += d[i];
      if (p99 == null && cum >= Math.ceil(0.99 * n)) {
        p99 = String.format(java.util.Locale.ROOT, "%.2f ms", bounds[i] * 1000);
      }
      if (bounds[i] <= 0.005) {
        sb.append(
            String.format(
                java.util.Locale.ROOT, " <=%.2f ms %.2f %%;", bounds[i] * 1000, 100.0 * cum / n));
      }
    }
    System.out.println(
        "webhook's own time per review (registry_policy_webhook_review_seconds, /validate, "
            + n
            + " reviews):"
            + sb
            + " p99 within "
            + (p99 == null ? "more than 10 s" : p99));
  }

  /** utime + stime of a process from /proc/PID/stat, in seconds (USER_HZ 100). */
  static double cpuSeconds(long pid) throws java.io.IOException {
    String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  /** /proc/loadavg's first three fields. */
  static final class ProcInfoLoad {
    static String read() throws java.io.IOException {
      String[] f =
          java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    }
  }

  static void report(int rate, int seconds, long[] lat, ProcInfo.Memory mem) {
    long errors = Arrays.stream(lat).filter(l -> l < 0).count();
    long[] ok = Arrays.stream(lat).filter(l -> l >= 0).sorted().toArray();
    long over5 = Arrays.stream(ok).filter(l -> l > 5_000_000L).count();
    System.out.printf(
        "requests %d at %d/s for %d s: errors %d, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max"
            + " %.2f ms, over 5 ms %d; server RSS %d MiB (peak %d MiB), threads %d%n",
        lat.length,
        rate,
        seconds,
        errors,
        pct(ok, 0.50),
        pct(ok, 0.99),
        pct(ok, 0.999),
        ok.length == 0 ? 0 : ok[ok.length - 1] / 1e6,
        over5,
        mem.rssKb() / 1024,
        mem.hwmKb() / 1024,
        mem.threads());
    // Where in the run the slow ones were: a tail made of a few bursts (pauses, stalls) reads
    // differently from one spread evenly (steady queueing).
    int[] perSecond = new int[seconds];
    for (int i = 0; i < lat.length; i++) {
      if (lat[i] > 5_000_000L) {
        perSecond[Math.min(seconds - 1, i / rate)]++;
      }
    }
    System.out.println("over 5 ms, per second of the run: " + Arrays.toString(perSecond));
    long[] late = Arrays.stream(LATE).sorted().toArray();
    long[] fromSend = new long[lat.length];
    int k = 0;
    for (int i = 0; i < lat.length && i < LATE.length; i++) {
      if (lat[i] >= 0) {
        fromSend[k++] = lat[i] - LATE[i];
      }
    }
    long[] sent = Arrays.stream(fromSend, 0, k).sorted().toArray();
    System.out.printf(
        "latency from the request leaving the load generator: p50 %.2f ms, p99 %.2f ms, p99.9"
            + " %.2f ms%n",
        pct(sent, 0.5), pct(sent, 0.99), pct(sent, 0.999));
    System.out.printf(
        "load generator's own lateness (send start - due): p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
        pct(late, 0.5), pct(late, 0.99), late.length == 0 ? 0 : late[late.length - 1] / 1e6);
  }

  static double pct(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
  }

  /** A 3-container Pod (app, sidecar, init) in team-a, every image allowed. */
  static String review(String uid, int i) {
    return ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
            + "\"uid\":\"UID\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
            + "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
            + "\"name\":\"web-NUM\",\"namespace\":\"team-a\",\"operation\":\"CREATE\","
            + "\"userInfo\":{\"username\":\"system:serviceaccount:kube-system:replicaset-controller\","
            + "\"groups\":[\"system:serviceaccounts\",\"system:authenticated\"]},"
            + "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-NUM\","
            + "\"namespace\":\"team-a\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"5d8f\"}},"
            + "\"spec\":{\"serviceAccountName\":\"default\",\"imagePullSecrets\":[{\"name\":\"registry-policy-corp\"}],"
            + "\"containers\":[{\"name\":\"app\",\"image\":\"registry.corp.example/team-a/web:1.4.2\","
            + "\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},"
            + "\"env\":[{\"name\":\"MODE\",\"value\":\"prod\"}]},"
            + "{\"name\":\"proxy\",\"image\":\"docker.io/library/nginx:1.27\",\"ports\":[{\"containerPort\":80}]}],"
            + "\"initContainers\":[{\"name\":\"setup\",\"image\":\"ghcr.io/org/setup@sha256:"
            + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}],"
            + "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30}},"
            + "\"oldObject\":null,\"dryRun\":false,\"options\":{\"apiVersion\":\"meta.k8s.io/v1\",\"kind\":\"CreateOptions\"}}}")
        .replace("UID", uid)
        .replace("NUM", Integer.toString(i));
  }

  static SSLContext sslContext(String caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    int i = 0;
    for (var c :
        CertificateFactory.getInstance("X.509")
            .generateCertificates(
                new java.io.ByteArrayInputStream(caPem.getBytes(StandardCharsets.UTF_8)))) {
      ks.setCertificateEntry("ca" + i++, (X509Certificate) c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** The child: the webhook as the controller would run it, on a free port. */
  static void serve(boolean metadata) throws Exception {
    SecretStore store = new MemorySecretStore();
    TlsMaterial tls = WebhookCertificates.ensure(store, List.of("localhost"), Instant.now());
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    WebhookSettings settings =
        WebhookSettings.parse(Map.of("--webhook-port", Integer.toString(port)), "registry-policy")
            .settings();
    PolicySource.Holder policies = new PolicySource.Holder();
    if (metadata) {
      policies.set(
          PolicySnapshot.of(
              PolicyDocument.parse(POLICY + METADATA_RULES),
              "registry-policy",
              CACHED,
              new ContentReview(ImageContentMetrics.unregistered())));
    } else {
      policies.set(PolicySnapshot.of(PolicyDocument.parse(POLICY), "registry-policy"));
    }
    Map<String, NamespaceInfo> namespaces =
        Map.of("team-a", new NamespaceInfo("team-a", Map.of("env", "dev"), Map.of()));
    WebhookMetrics metrics = WebhookMetrics.unregistered();
    WebhookServer server =
        WebhookServer.start(
            settings, n -> Optional.ofNullable(namespaces.get(n)), policies, tls, metrics);
    System.out.println("PORT " + server.port());
    System.out.print(tls.caBundlePem());
    System.out.println("END");
    System.out.flush();
    // "COUNTS" on stdin: the /validate histogram's bucket counts on one line.
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String l = in.readLine(); l != null; l = in.readLine()) {
      if (l.equals("COUNTS")) {
        StringBuilder sb = new StringBuilder("COUNTS");
        for (long c : metrics.counts(WebhookServer.VALIDATE_PATH)) {
          sb.append(' ').append(c);
        }
        System.out.println(sb);
        System.out.flush();
      }
    }
    new CountDownLatch(1).await();
  }
}
