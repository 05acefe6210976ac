package dev.registrypolicy.controller.webhook;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.registrypolicy.admission.WorkloadKind;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** Shared helpers: TLS material for localhost, a client trusting it, AdmissionReview bodies. */
public final class WebhookTesting {
  static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

  private WebhookTesting() {}

  /** A fresh CA and serving certificate for {@code localhost}, as self mode makes them. */
  static TlsMaterial localhostTls() throws Exception {
    return WebhookCertificates.material(
        WebhookCertificates.plan(Map.of(), List.of("localhost"), Instant.now()).data());
  }

  /** An SSL context that trusts only the given CA certificates. */
  static SSLContext trusting(List<X509Certificate> cas) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    for (int i = 0; i < cas.size(); i++) {
      ks.setCertificateEntry("ca" + i, cas.get(i));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(null, tmf.getTrustManagers(), null);
    return c;
  }

  static HttpClient client(TlsMaterial tls) throws Exception {
    return client(tls.caCertificates());
  }

  /** An HTTP/1.1 client that trusts only the given CA certificates. */
  public static HttpClient client(List<X509Certificate> cas) throws Exception {
    return HttpClient.newBuilder()
        .sslContext(trusting(cas))
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  /** POSTs a JSON body to {@code https://localhost:<port><path>}, waiting at most 20 s. */
  public static HttpResponse<String> post(HttpClient c, int port, String path, String body)
      throws Exception {
    return c.send(
        HttpRequest.newBuilder(URI.create("https://localhost:" + port + path))
            .timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static Map<String, Object> container(String name, String image) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("name", name);
    c.put("image", image);
    return c;
  }

  /** A Pod with containers (name=image pairs). */
  static Map<String, Object> pod(String ns, String name, Map<String, Object> spec) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("apiVersion", "v1");
    o.put("kind", "Pod");
    o.put("metadata", new LinkedHashMap<>(Map.of("name", name, "namespace", ns)));
    o.put("spec", spec);
    return o;
  }

  static Map<String, Object> spec(List<Map<String, Object>> containers) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("containers", containers);
    return s;
  }

  /** An object of the kind with the pod spec at its path. */
  static Map<String, Object> workload(WorkloadKind k, String ns, Map<String, Object> podSpec) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("apiVersion", k.group().isEmpty() ? k.version() : k.group() + "/" + k.version());
    o.put("kind", k.kind());
    o.put("metadata", new LinkedHashMap<>(Map.of("name", "w", "namespace", ns)));
    Map<String, Object> at = o;
    List<String> path = k.podSpecPath();
    for (int i = 0; i < path.size() - 1; i++) {
      Map<String, Object> next = new LinkedHashMap<>();
      at.put(path.get(i), next);
      at = next;
    }
    at.put(path.get(path.size() - 1), podSpec);
    return o;
  }

  static String review(
      String uid,
      String group,
      String kind,
      String subResource,
      String op,
      String ns,
      Map<String, Object> object,
      Map<String, Object> old) {
    Map<String, Object> req = new LinkedHashMap<>();
    req.put("uid", uid);
    req.put("kind", Map.of("group", group, "version", "v1", "kind", kind));
    if (subResource != null) {
      req.put("subResource", subResource);
    }
    req.put("operation", op);
    req.put("namespace", ns);
    req.put("object", object);
    if (old != null) {
      req.put("oldObject", old);
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("apiVersion", "admission.k8s.io/v1");
    root.put("kind", "AdmissionReview");
    root.put("request", req);
    return GSON.toJson(root);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> response(String body) {
    Map<String, Object> root = GSON.fromJson(body, Map.class);
    return (Map<String, Object>) root.get("response");
  }
}
