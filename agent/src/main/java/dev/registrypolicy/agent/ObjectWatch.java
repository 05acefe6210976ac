package dev.registrypolicy.agent;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.registrypolicy.common.Causes;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Keeps up with one named object through the API server: list it (by a {@code metadata.name} field
 * selector, which is what lets RBAC restrict list and watch to that name), then watch from the
 * list's resourceVersion with bookmarks, resuming from the newest resourceVersion seen when a watch
 * ends, relisting after a 410 Gone (the version is too old to resume from) or any failure. Failures
 * back off ({@link Backoff}, with jitter) and are logged once per change of cause.
 *
 * <p>A dead connection is noticed by the read timeout: each watch asks the server to end it after
 * {@code timeoutSeconds} (60–120 s, random so agents spread out), and a read waits at most 30 s
 * longer than that.
 */
final class ObjectWatch implements AutoCloseable {
  /** Told about every state the object was seen in (null: it does not exist), and failures. */
  interface Listener {
    void seen(JsonObject object);

    void failed(KubeClient.ApiException cause);
  }

  private static final Duration LIST_TIMEOUT = Duration.ofSeconds(30);
  private static final int WATCH_MIN_SECONDS = 60;
  private static final int WATCH_SPREAD_SECONDS = 60;
  private static final Duration READ_MARGIN = Duration.ofSeconds(30);

  /** A watch that ends sooner than this without any event counts as failed. */
  private static final Duration QUICK_END = Duration.ofSeconds(1);

  private final KubeClient client;
  private final String collection;
  private final String name;
  private final Backoff backoff;
  private final Listener listener;
  private final Random random = new Random();
  private final CountDownLatch firstAnswer = new CountDownLatch(1);
  private volatile boolean closed;
  private volatile KubeClient.Stream open;
  private Thread thread;
  private String lastFailure;

  /** Failures in a row since the last successful list (watch thread only). */
  private int failures;

  /**
   * @param collection the collection's path, e.g. {@code /api/v1/namespaces/ns/configmaps}
   */
  ObjectWatch(
      KubeClient client, String collection, String name, Backoff backoff, Listener listener) {
    this.client = client;
    this.collection = collection;
    this.name = name;
    this.backoff = backoff;
    this.listener = listener;
  }

  void start() {
    thread = new Thread(this::run, "api-watch-" + name);
    thread.setDaemon(true);
    thread.start();
  }

  /** Waits until the first list answered or failed, at most {@code max}. */
  boolean awaitFirstAnswer(Duration max) throws InterruptedException {
    return firstAnswer.await(max.toMillis(), TimeUnit.MILLISECONDS);
  }

  private String selector() {
    return "fieldSelector=" + URLEncoder.encode("metadata.name=" + name, StandardCharsets.UTF_8);
  }

  private void run() {
    while (!closed) {
      KubeClient.ApiException failure;
      try {
        runOnce();
        continue; // a 410: list again at once
      } catch (KubeClient.ApiException e) {
        failure = e;
      } catch (RuntimeException e) {
        // An answer nobody thought of must not end the watch thread: a failure like any other.
        failure = new KubeClient.ApiException(0, what() + ": " + Causes.describe(e));
      }
      if (closed || !backOff(failure)) {
        return;
      }
    }
  }

  /** Lists, then watches until a failure (thrown) or a 410 (returns). */
  private void runOnce() throws KubeClient.ApiException {
    String rv = list();
    failures = 0;
    if (lastFailure != null) {
      Log.info("api watch recovered", "object", what(), "action", "listed again; watching");
      lastFailure = null;
    }
    while (!closed && rv != null) {
      rv = watchOnce(rv);
    }
  }

  /** Reports a failure, logs it once per cause, waits; false when interrupted (closing). */
  private boolean backOff(KubeClient.ApiException e) {
    firstAnswer.countDown();
    listener.failed(e);
    failures++;
    Duration wait = backoff.jittered(failures, random);
    String cause = e.getMessage();
    if (!cause.equals(lastFailure)) {
      Log.warn(
          "api watch failed",
          "object",
          what(),
          "error",
          cause,
          "action",
          (e.code == 403
                  ? "the mounted files stay in force (no RBAC grant for the fast path?); "
                  : "the mounted files are used for what the API never showed; ")
              + "retrying with backoff",
          "next_try_in_ms",
          wait.toMillis());
      lastFailure = cause;
    }
    try {
      Thread.sleep(wait.toMillis());
      return true;
    } catch (InterruptedException x) {
      return false;
    }
  }

  /** Lists the object; reports it; returns the list's resourceVersion. */
  private String list() throws KubeClient.ApiException {
    JsonObject list;
    try {
      list = client.get(collection + "?" + selector(), LIST_TIMEOUT);
    } catch (KubeClient.ApiException e) {
      throw e;
    } catch (IOException e) {
      throw new KubeClient.ApiException(0, "listing " + what() + ": " + Causes.describe(e));
    }
    JsonObject found = null;
    JsonElement items = list.get("items");
    if (items != null && items.isJsonArray()) {
      for (JsonElement i : items.getAsJsonArray()) {
        if (i.isJsonObject() && name.equals(nameOf(i.getAsJsonObject()))) {
          found = i.getAsJsonObject();
        }
      }
    }
    listener.seen(found);
    firstAnswer.countDown();
    String rv = resourceVersion(list);
    if (rv == null) {
      throw new KubeClient.ApiException(0, "the list of " + what() + " has no resourceVersion");
    }
    return rv;
  }

  /**
   * One watch from {@code rv}; returns the resourceVersion to resume from when the server ended it,
   * or null when the object must be listed again (410).
   */
  private String watchOnce(String rv) throws KubeClient.ApiException {
    int seconds = WATCH_MIN_SECONDS + random.nextInt(WATCH_SPREAD_SECONDS);
    String path =
        collection
            + "?watch=true&allowWatchBookmarks=true&"
            + selector()
            + "&timeoutSeconds="
            + seconds
            + "&resourceVersion="
            + URLEncoder.encode(rv, StandardCharsets.UTF_8);
    long started = System.nanoTime();
    int events = 0;
    try (KubeClient.Stream s = client.watch(path, Duration.ofSeconds(seconds).plus(READ_MARGIN))) {
      open = s;
      JsonObject event;
      while (!closed && (event = s.next()) != null) {
        events++;
        String type =
            event.has("type") && event.get("type").isJsonPrimitive()
                ? event.get("type").getAsString()
                : "";
        JsonElement o = event.get("object");
        JsonObject object = o != null && o.isJsonObject() ? o.getAsJsonObject() : new JsonObject();
        switch (type) {
          case "ADDED", "MODIFIED" -> {
            if (name.equals(nameOf(object))) {
              listener.seen(object);
            }
          }
          case "DELETED" -> {
            if (name.equals(nameOf(object))) {
              listener.seen(null);
            }
          }
          case "BOOKMARK" -> {
            // only a newer resourceVersion to resume from
          }
          case "ERROR" -> {
            int code = object.has("code") ? object.get("code").getAsInt() : 0;
            if (code == 410) {
              Log.debug("api watch expired", "object", what(), "action", "listing again");
              return null;
            }
            throw new KubeClient.ApiException(
                code, "the watch of " + what() + " ended with an error (" + code + ")");
          }
          default ->
              throw new KubeClient.ApiException(
                  0, "the watch of " + what() + " sent an event of unknown type");
        }
        String next = resourceVersion(object);
        if (next != null) {
          rv = next;
        }
      }
      if (events == 0 && System.nanoTime() - started < QUICK_END.toNanos() && !closed) {
        // A watch asked to last a minute that ends at once with nothing (a proxy cutting it, an
        // overloaded server) is a failure: retried with backoff, never in a tight loop.
        throw new KubeClient.ApiException(
            0, "the watch of " + what() + " ended at once without an event");
      }
      return rv;
    } catch (KubeClient.ApiException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new KubeClient.ApiException(0, "watching " + what() + ": " + Causes.describe(e));
    } finally {
      open = null;
    }
  }

  private String what() {
    return collection.substring(collection.lastIndexOf('/') + 1) + "/" + name;
  }

  private static String nameOf(JsonObject o) {
    JsonElement m = o.get("metadata");
    if (m == null || !m.isJsonObject()) {
      return null;
    }
    JsonElement n = m.getAsJsonObject().get("name");
    return n != null && n.isJsonPrimitive() ? n.getAsString() : null;
  }

  static String resourceVersion(JsonObject o) {
    JsonElement m = o.get("metadata");
    if (m == null || !m.isJsonObject()) {
      return null;
    }
    JsonElement v = m.getAsJsonObject().get("resourceVersion");
    return v != null && v.isJsonPrimitive() && !v.getAsString().isEmpty() ? v.getAsString() : null;
  }

  @Override
  public void close() {
    closed = true;
    KubeClient.Stream s = open;
    if (s != null) {
      // Closing a connection whose body another thread is reading waits for that read to
      // return (HttpURLConnection's chunked stream holds a lock while it reads), so not here:
      // the watch thread is a daemon and ends when the read returns.
      Thread closer = new Thread(s::close, "api-watch-close");
      closer.setDaemon(true);
      closer.start();
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
