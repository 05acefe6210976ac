package dev.registrypolicy.controller.webhook;

import dev.registrypolicy.policy.LogLine;
import dev.registrypolicy.policy.NamespaceInfo;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The namespace from the controller's informer cache, else one GET of it: a namespace created just
 * before its Pods (one {@code kubectl apply} of both) reaches the webhook before the informer's
 * watch delivers it. The GET is bounded: at most {@code maxConcurrent} at once (a review that finds
 * no free slot within the timeout gets empty), each with a call timeout, so reviews for names that
 * do not exist cannot pile up. Not found in the cache and 404 from the API server means "unknown
 * namespace" (empty); so does a failed or timed-out GET, which is logged.
 */
public final class ApiNamespaceLookup implements NamespaceLookup {
  private static final Logger LOG = Logger.getLogger(ApiNamespaceLookup.class.getName());

  /** A namespace name is a DNS label; anything else is never sent to the API server. */
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  private final Function<String, Optional<V1Namespace>> cache;
  private final ApiClient client;
  private final CoreV1Api api;
  private final Duration timeout;
  private final Semaphore slots;
  private final AtomicLong fetched = new AtomicLong();

  /**
   * @param cache the informer cache's namespace by name
   * @param client the API client for the fallback GET (its own timeouts are replaced per call)
   * @param timeout the whole fallback: waiting for a slot, then the GET itself
   * @param maxConcurrent fallback GETs in flight at most
   */
  public ApiNamespaceLookup(
      Function<String, Optional<V1Namespace>> cache,
      ApiClient client,
      Duration timeout,
      int maxConcurrent) {
    if (maxConcurrent < 1 || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("maxConcurrent >= 1 and a positive timeout are needed");
    }
    this.cache = cache;
    this.client = client;
    this.api = new CoreV1Api(client);
    this.timeout = timeout;
    this.slots = new Semaphore(maxConcurrent);
  }

  /**
   * The fallback's timeout for a webhook: half the API server's wait, at most 2 s, so the answer
   * (an error for an unknown namespace) still arrives in time.
   */
  public static Duration timeoutFor(WebhookSettings settings) {
    return Duration.ofMillis(Math.min(2000, settings.timeoutSeconds() * 500L));
  }

  @Override
  public Optional<NamespaceInfo> find(String name) {
    Optional<V1Namespace> cached = cache.apply(name);
    if (cached.isPresent()) {
      return info(cached.get());
    }
    if (name == null || !DNS_LABEL.matcher(name).matches()) {
      return Optional.empty();
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean acquired;
    try {
      acquired = slots.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
    if (!acquired) {
      LOG.info(
          LogLine.format(
              "namespace not in the cache and every lookup slot busy; treated as unknown",
              "namespace",
              name));
      return Optional.empty();
    }
    try {
      long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
      okhttp3.Call call = api.readNamespace(name).buildCall(null);
      call.timeout().timeout(left, TimeUnit.MILLISECONDS);
      V1Namespace ns = client.<V1Namespace>execute(call, V1Namespace.class).getData();
      fetched.incrementAndGet();
      return info(ns);
    } catch (ApiException e) {
      if (e.getCode() != 404) {
        LOG.warning(
            LogLine.format(
                "namespace not in the cache and its lookup failed; treated as unknown",
                "namespace",
                name,
                "status",
                e.getCode() == 0 ? "no answer within " + left(deadline) : "HTTP " + e.getCode()));
      }
      return Optional.empty();
    } finally {
      slots.release();
    }
  }

  /** Fallback GETs that found the namespace (tests and diagnostics). */
  public long fetched() {
    return fetched.get();
  }

  private String left(long deadline) {
    return timeout.toMillis() + " ms" + (System.nanoTime() > deadline ? " (timed out)" : "");
  }

  private static Optional<NamespaceInfo> info(V1Namespace ns) {
    V1ObjectMeta m = ns == null ? null : ns.getMetadata();
    if (m == null || m.getName() == null) {
      return Optional.empty();
    }
    return Optional.of(
        new NamespaceInfo(
            m.getName(),
            m.getLabels() == null ? Map.of() : m.getLabels(),
            m.getAnnotations() == null ? Map.of() : m.getAnnotations()));
  }
}
