package dev.registrypolicy.agent;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.registrypolicy.common.NodeReport;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Publishes this node's {@link NodeReport} as its report Lease ({@code coordination.k8s.io/v1},
 * {@link NodeReport#leaseName}, in the product namespace): holderIdentity = the node, {@link
 * #LEASE_SECONDS} long, renewed every {@link #RENEW_EVERY}. Creates the Lease when it is missing;
 * writes only when the report changed or the renewal is due, so a pass that changes nothing writes
 * nothing. Runs on its own thread: a report that cannot be written never delays or changes what the
 * agent applies; failures are logged once per change of cause and retried with backoff.
 */
final class NodeReporter implements AutoCloseable {
  static final int LEASE_SECONDS = 60;
  static final Duration RENEW_EVERY = Duration.ofSeconds(LEASE_SECONDS / 2);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  /** Lease times are MicroTime: RFC 3339 with microseconds. */
  private static final DateTimeFormatter MICRO =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  private final KubeClient client;
  private final String node;
  private final String path;
  private final Backoff backoff;
  private final Random random = new Random();
  private final Object lock = new Object();
  private NodeReport wanted;
  private NodeReport written;
  private long writtenAtNanos;
  private JsonObject lease;
  private String lastFailure;
  private volatile boolean closed;
  private Thread thread;
  private final java.util.concurrent.atomic.AtomicLong writes =
      new java.util.concurrent.atomic.AtomicLong();

  NodeReporter(KubeClient client, Backoff backoff) {
    this.client = client;
    this.node = Objects.requireNonNull(client.config().node(), "node");
    this.backoff = backoff;
    this.path =
        "/apis/coordination.k8s.io/v1/namespaces/" + client.config().namespace() + "/leases";
  }

  void start() {
    thread = new Thread(this::run, "node-report");
    thread.setDaemon(true);
    thread.start();
  }

  /** The report as of the last pass; written soon when it differs from the one written. */
  void offer(NodeReport report) {
    synchronized (lock) {
      if (!report.equals(wanted)) {
        wanted = report;
        lock.notifyAll();
      }
    }
  }

  /** Lease writes made (tests). */
  long writes() {
    return writes.get();
  }

  private void run() {
    int failures = 0;
    while (!closed) {
      NodeReport r;
      synchronized (lock) {
        try {
          while (!closed) {
            if (wanted != null && !wanted.equals(written)) {
              break;
            }
            long due = writtenAtNanos + RENEW_EVERY.toNanos() - System.nanoTime();
            if (wanted != null && due <= 0) {
              break;
            }
            lock.wait(wanted == null ? 0 : Math.max(1, due / 1_000_000));
          }
        } catch (InterruptedException e) {
          return;
        }
        r = wanted;
      }
      if (closed) {
        return;
      }
      try {
        write(r);
        synchronized (lock) {
          written = r;
          writtenAtNanos = System.nanoTime();
        }
        writes.incrementAndGet();
        failures = 0;
        if (lastFailure != null) {
          Log.info("node report written again", "lease", NodeReport.leaseName(node));
          lastFailure = null;
        }
      } catch (KubeClient.ApiException e) {
        lease = null; // read it again: it may have changed or gone
        failures++;
        Duration wait = backoff.jittered(failures, random);
        if (!e.getMessage().equals(lastFailure)) {
          Log.warn(
              "node report not written",
              "lease",
              NodeReport.leaseName(node),
              "error",
              e.getMessage(),
              "action",
              "configuration is applied regardless; retrying with backoff",
              "next_try_in_ms",
              wait.toMillis());
          lastFailure = e.getMessage();
        }
        try {
          Thread.sleep(wait.toMillis());
        } catch (InterruptedException x) {
          return;
        }
      }
    }
  }

  private void write(NodeReport r) throws KubeClient.ApiException {
    String name = NodeReport.leaseName(node);
    String now = MICRO.format(Instant.now());
    try {
      if (lease == null) {
        try {
          lease = client.get(path + "/" + name, TIMEOUT);
        } catch (KubeClient.ApiException e) {
          if (e.code != 404) {
            throw e;
          }
          JsonObject created = client.send("POST", path, leaseBody(r, null, now), TIMEOUT);
          lease = created;
          return;
        }
      }
      lease = client.send("PUT", path + "/" + name, leaseBody(r, lease, now), TIMEOUT);
    } catch (KubeClient.ApiException e) {
      throw e;
    } catch (java.io.IOException e) {
      throw new KubeClient.ApiException(0, "writing Lease " + name + ": " + e.getMessage());
    }
  }

  /** The Lease as it should be: {@code current}'s other labels and annotations kept. */
  JsonObject leaseBody(NodeReport r, JsonObject current, String now) {
    JsonObject l = current == null ? new JsonObject() : current.deepCopy();
    l.addProperty("apiVersion", "coordination.k8s.io/v1");
    l.addProperty("kind", "Lease");
    JsonObject meta = object(l, "metadata");
    meta.addProperty("name", NodeReport.leaseName(node));
    meta.addProperty("namespace", client.config().namespace());
    JsonObject labels = object(meta, "labels");
    for (Map.Entry<String, String> e : r.labels().entrySet()) {
      labels.addProperty(e.getKey(), e.getValue());
    }
    JsonObject annotations = object(meta, "annotations");
    for (String k :
        new String[] {
          NodeReport.POLICY_ANNOTATION,
          NodeReport.BUNDLE_ANNOTATION,
          NodeReport.PROBLEMS_ANNOTATION,
          NodeReport.APPLIED_ANNOTATION
        }) {
      annotations.remove(k);
    }
    for (Map.Entry<String, String> e : r.annotations().entrySet()) {
      annotations.addProperty(e.getKey(), e.getValue());
    }
    JsonObject spec = object(l, "spec");
    spec.addProperty("holderIdentity", node);
    spec.addProperty("leaseDurationSeconds", LEASE_SECONDS);
    JsonElement acquire = spec.get("acquireTime");
    if (acquire == null || acquire.isJsonNull()) {
      spec.addProperty("acquireTime", now);
    }
    spec.addProperty("renewTime", now);
    return l;
  }

  private static JsonObject object(JsonObject parent, String key) {
    JsonElement e = parent.get(key);
    if (e == null || !e.isJsonObject()) {
      JsonObject o = new JsonObject();
      parent.add(key, o);
      return o;
    }
    return e.getAsJsonObject();
  }

  @Override
  public void close() {
    closed = true;
    synchronized (lock) {
      lock.notifyAll();
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
