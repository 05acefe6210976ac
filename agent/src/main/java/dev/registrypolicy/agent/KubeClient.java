package dev.registrypolicy.agent;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonReader;
import dev.registrypolicy.common.Causes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringReader;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * The agent's own small client for the few API calls it makes (list and watch two objects, read and
 * write one Lease): the JDK's {@link HttpURLConnection} and gson's tree API, nothing reflective.
 *
 * <p>Not client-java: its models need reflection registration for a native image and its {@code
 * ModelMapper} scans the classpath (../shared/notes/real-components.md), and it would bring OkHttp,
 * Kotlin's standard library and the generated models into a process that has a 64 MiB budget. Not
 * {@code java.net.http} either: with it the agent kept 9.5–11 MiB more resident (agent/README.md,
 * "Probing the mirrors"), and {@code HttpURLConnection} is already in use for the probe.
 *
 * <p>The token is read from its file for every request (a few a minute), so a projected token that
 * kubelet rotated is used from the next request on; a 401 is retried once at once with the file
 * read again (the token may have rotated between the read and the answer). Every response body is
 * bounded ({@link #MAX_BODY_BYTES}); every read has a timeout.
 */
final class KubeClient {
  /**
   * Largest body or watch line read: a Secret or ConfigMap holds at most 1 MiB, base64 adds 1/3.
   */
  static final int MAX_BODY_BYTES = 4 << 20;

  /** Largest token file read (a projected token is a JWT of a few KiB). */
  private static final int MAX_TOKEN_BYTES = 64 << 10;

  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

  /** An answer that was not 2xx, or a transport failure (code 0). */
  static final class ApiException extends IOException {
    private static final long serialVersionUID = 1L;
    final int code;

    ApiException(int code, String message) {
      super(message);
      this.code = code;
    }
  }

  /** An open watch: its lines, one JSON event each; close it to end the watch. */
  interface Stream extends AutoCloseable {
    /** The next event, or null when the server ended the stream. */
    JsonObject next() throws IOException;

    @Override
    void close();
  }

  private final ApiConfig config;
  private volatile SSLSocketFactory tls;

  KubeClient(ApiConfig config) {
    this.config = config;
  }

  ApiConfig config() {
    return config;
  }

  /** GET, answering the parsed JSON body. */
  JsonObject get(String path, Duration readTimeout) throws IOException {
    return call("GET", path, null, readTimeout);
  }

  /** POST or PUT a JSON body, answering the parsed JSON body. */
  JsonObject send(String method, String path, JsonObject body, Duration readTimeout)
      throws IOException {
    return call(method, path, body, readTimeout);
  }

  /** Opens a watch (a GET whose body is newline-delimited events). */
  Stream watch(String path, Duration readTimeout) throws IOException {
    HttpURLConnection c = open("GET", path, readTimeout);
    int code = responseCode(c, path);
    if (code == 401) {
      c.disconnect();
      c = open("GET", path, readTimeout);
      code = responseCode(c, path);
    }
    if (code / 100 != 2) {
      throw failure(c, code, path);
    }
    InputStream in = c.getInputStream();
    HttpURLConnection conn = c;
    return new Stream() {
      @Override
      public JsonObject next() throws IOException {
        byte[] line = readLine(in);
        while (line != null && line.length == 0) {
          line = readLine(in);
        }
        return line == null ? null : parseObject(new String(line, UTF_8), path);
      }

      @Override
      public void close() {
        conn.disconnect();
      }
    };
  }

  private JsonObject call(String method, String path, JsonObject body, Duration readTimeout)
      throws IOException {
    for (int attempt = 0; ; attempt++) {
      HttpURLConnection c = open(method, path, readTimeout);
      try {
        if (body != null) {
          c.setDoOutput(true);
          c.setRequestProperty("Content-Type", "application/json");
          try (OutputStream os = c.getOutputStream()) {
            os.write(body.toString().getBytes(UTF_8));
          }
        }
        int code = responseCode(c, path);
        if (code == 401 && attempt == 0) {
          drain(c);
          continue;
        }
        if (code / 100 != 2) {
          throw failure(c, code, path);
        }
        try (InputStream in = c.getInputStream()) {
          return parseObject(new String(readBounded(in), UTF_8), path);
        }
      } catch (ApiException e) {
        throw e;
      } catch (IOException e) {
        c.disconnect();
        throw new ApiException(0, method + " " + path + ": " + Causes.describe(e));
      }
    }
  }

  private HttpURLConnection open(String method, String path, Duration readTimeout)
      throws IOException {
    URI uri = config.server().resolve(path);
    HttpURLConnection c;
    try {
      c = (HttpURLConnection) uri.toURL().openConnection();
      if (c instanceof HttpsURLConnection https) {
        https.setSSLSocketFactory(tls());
      }
      c.setRequestMethod(method);
    } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
      throw new ApiException(0, method + " " + path + ": " + Causes.describe(e));
    }
    c.setConnectTimeout(CONNECT_TIMEOUT_MILLIS);
    c.setReadTimeout((int) Math.min(Integer.MAX_VALUE, readTimeout.toMillis()));
    c.setUseCaches(false);
    c.setInstanceFollowRedirects(false);
    c.setRequestProperty("Accept", "application/json");
    c.setRequestProperty("User-Agent", "registry-policy-agent");
    c.setRequestProperty("Authorization", "Bearer " + token());
    return c;
  }

  /** The token, read from its file now (never kept: kubelet rotates it). */
  private String token() throws ApiException {
    Path f = config.tokenFile();
    try (InputStream in = Files.newInputStream(f)) {
      byte[] b = in.readNBytes(MAX_TOKEN_BYTES + 1);
      if (b.length > MAX_TOKEN_BYTES) {
        throw new ApiException(0, "the token file " + f + " is larger than 64 KiB");
      }
      String t = new String(b, UTF_8).trim();
      if (t.isEmpty() || t.chars().anyMatch(ch -> ch < 0x21 || ch > 0x7e)) {
        throw new ApiException(0, "the token file " + f + " holds no usable token");
      }
      return t;
    } catch (ApiException e) {
      throw e;
    } catch (IOException e) {
      throw new ApiException(0, "cannot read the token file " + f + ": " + Causes.describe(e));
    }
  }

  private SSLSocketFactory tls() throws IOException, GeneralSecurityException {
    SSLSocketFactory f = tls;
    if (f != null) {
      return f;
    }
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    List<X509Certificate> cas;
    try {
      cas = Pem.certificates(Files.readAllBytes(config.caFile()));
    } catch (Pem.BadPem e) {
      throw new IOException("the ServiceAccount CA " + config.caFile() + ": " + e.getMessage(), e);
    }
    int i = 0;
    for (X509Certificate ca : cas) {
      ks.setCertificateEntry("ca" + i++, ca);
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    f = ctx.getSocketFactory();
    tls = f;
    return f;
  }

  private static int responseCode(HttpURLConnection c, String path) throws ApiException {
    try {
      return c.getResponseCode();
    } catch (IOException e) {
      c.disconnect();
      throw new ApiException(0, c.getRequestMethod() + " " + path + ": " + Causes.describe(e));
    }
  }

  /** The error for a non-2xx answer: code, and the Status message (bounded, one line). */
  private static ApiException failure(HttpURLConnection c, int code, String path) {
    String message = "";
    try (InputStream err = c.getErrorStream()) {
      if (err != null) {
        byte[] b = err.readNBytes(16 << 10);
        JsonElement e = JsonParser.parseString(new String(b, UTF_8));
        if (e.isJsonObject() && e.getAsJsonObject().has("message")) {
          message = e.getAsJsonObject().get("message").getAsString();
        }
      }
    } catch (IOException | RuntimeException e) {
      message = "";
    }
    c.disconnect();
    message = message.replaceAll("[\\r\\n]+", " ");
    if (message.length() > 300) {
      message = message.substring(0, 300) + "...";
    }
    return new ApiException(
        code,
        c.getRequestMethod()
            + " "
            + path.replaceAll("\\?.*", "")
            + " answered "
            + code
            + (message.isEmpty() ? "" : ": " + message));
  }

  private static void drain(HttpURLConnection c) {
    try (InputStream err = c.getErrorStream()) {
      if (err != null) {
        err.readNBytes(16 << 10);
      }
    } catch (IOException e) {
      c.disconnect();
    }
  }

  static byte[] readBounded(InputStream in) throws IOException {
    byte[] b = in.readNBytes(MAX_BODY_BYTES + 1);
    if (b.length > MAX_BODY_BYTES) {
      throw new IOException("response larger than " + (MAX_BODY_BYTES >> 20) + " MiB");
    }
    return b;
  }

  /** One line without its newline, null at the end of the stream; bounded. */
  static byte[] readLine(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        return out.toByteArray();
      }
      if (out.size() >= MAX_BODY_BYTES) {
        throw new IOException("watch event larger than " + (MAX_BODY_BYTES >> 20) + " MiB");
      }
      out.write(b);
    }
    return out.size() == 0 ? null : out.toByteArray();
  }

  /** Parses a JSON object with gson's tree API and its default nesting limit. */
  static JsonObject parseObject(String text, String path) throws IOException {
    try {
      JsonReader r = new JsonReader(new StringReader(text));
      JsonElement e = JsonParser.parseReader(r);
      if (!e.isJsonObject()) {
        throw new IOException(
            "the answer to " + path.replaceAll("\\?.*", "") + " is not a JSON object");
      }
      return e.getAsJsonObject();
    } catch (JsonParseException | StackOverflowError e) {
      throw new IOException("the answer to " + path.replaceAll("\\?.*", "") + " is not valid JSON");
    }
  }
}
