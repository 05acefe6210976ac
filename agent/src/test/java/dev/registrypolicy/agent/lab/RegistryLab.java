package dev.registrypolicy.agent.lab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;

/**
 * A real registry ({@code docker-registry serve}, distribution 2.8) on 127.0.0.1 with TLS from the
 * lab {@link Pki} and bcrypt htpasswd basic auth for {@link #USER}/{@link #PASSWORD}.
 *
 * <p>{@link #startWithTokenAuth} adds a second registry process on the <em>same storage</em> that
 * uses token auth ({@code auth.token}) with a {@link TokenServer} as realm, so an image pushed once
 * is served by both. All ports are taken in one go.
 *
 * <p>{@link #pushTestImage} builds a one-layer OCI image in memory and pushes it over the registry
 * HTTP API. {@link #accessLog()} lists the requests the registry answered (from its access log),
 * which shows whether containerd used the mirror ({@code ?ns=docker.io}).
 */
public final class RegistryLab implements AutoCloseable {

  public static final String USER = "testuser";
  public static final String PASSWORD = "testpass";
  public static final String TOKEN_SERVICE = "registry-policy-lab";
  public static final String TOKEN_ISSUER = "registry-policy-lab-issuer";

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);
  private static final Pattern ACCESS_LINE =
      Pattern.compile("\"([A-Z]+) (\\S+) HTTP/[0-9.]+\" (\\d{3}) ");

  /** One request from a registry's access log. */
  public record AccessLogEntry(String method, String uri, int status) {
    public String path() {
      int q = uri.indexOf('?');
      return q < 0 ? uri : uri.substring(0, q);
    }
  }

  /** What {@link #pushTestImage} pushed; digests are {@code sha256:…}. */
  public record PushedImage(
      String repository,
      String tag,
      String manifestDigest,
      String configDigest,
      String layerDigest,
      String diffId) {}

  private final Path dir;
  private final Pki pki;
  private final HttpClient http;
  private final OwnedProcess basic;
  private final int basicPort;
  private final OwnedProcess token;
  private final int tokenPort;
  private final TokenServer tokenServer;

  private RegistryLab(
      Path dir,
      Pki pki,
      HttpClient http,
      OwnedProcess basic,
      int basicPort,
      OwnedProcess token,
      int tokenPort,
      TokenServer tokenServer) {
    this.dir = dir;
    this.pki = pki;
    this.http = http;
    this.basic = basic;
    this.basicPort = basicPort;
    this.token = token;
    this.tokenPort = tokenPort;
    this.tokenServer = tokenServer;
  }

  /** Registry with basic auth only; working files (config, htpasswd, data, log) in {@code dir}. */
  public static RegistryLab start(Path dir, Pki pki) throws IOException {
    return start(dir, pki, false);
  }

  /** Basic-auth registry plus a token-auth registry on the same storage and its token server. */
  public static RegistryLab startWithTokenAuth(Path dir, Pki pki) throws IOException {
    return start(dir, pki, true);
  }

  private static RegistryLab start(Path dir, Pki pki, boolean withToken) throws IOException {
    LabEnvironment env = LabEnvironment.detect();
    String registryBin =
        env.dockerRegistry()
            .map(Path::toString)
            .orElseThrow(() -> new IOException("docker-registry not on PATH"));
    Files.createDirectories(dir);
    Path data = Files.createDirectories(dir.resolve("data"));
    Path htpasswd = dir.resolve("htpasswd");
    Files.writeString(htpasswd, htpasswdLine(env), StandardCharsets.UTF_8);

    int[] ports = FreePorts.allocate(withToken ? 3 : 1);
    HttpClient http =
        HttpClient.newBuilder()
            .sslContext(pki.clientSslContext())
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    String secret = randomSecret();

    List<AutoCloseable> started = new ArrayList<>();
    try {
      String basicAuth =
          "auth:\n"
              + "  htpasswd:\n"
              + "    realm: registry-policy-lab\n"
              + "    path: "
              + htpasswd
              + "\n";
      OwnedProcess basic =
          startRegistry(registryBin, dir, "registry", ports[0], data, secret, pki, basicAuth);
      started.add(basic);
      awaitReady(http, basic, ports[0]);

      OwnedProcess token = null;
      TokenServer tokenServer = null;
      int tokenPort = -1;
      if (withToken) {
        tokenServer = TokenServer.start(pki, ports[2], TOKEN_SERVICE, TOKEN_ISSUER, USER, PASSWORD);
        started.add(tokenServer);
        Path bundle = pki.tokenSigner().certificate();
        String tokenAuth =
            "auth:\n"
                + "  token:\n"
                + "    realm: "
                + tokenServer.realm()
                + "\n"
                + "    service: "
                + TOKEN_SERVICE
                + "\n"
                + "    issuer: "
                + TOKEN_ISSUER
                + "\n"
                + "    rootcertbundle: "
                + bundle
                + "\n";
        tokenPort = ports[1];
        token =
            startRegistry(
                registryBin, dir, "token-registry", tokenPort, data, secret, pki, tokenAuth);
        started.add(token);
        awaitReady(http, token, tokenPort);
      }
      return new RegistryLab(dir, pki, http, basic, ports[0], token, tokenPort, tokenServer);
    } catch (IOException | RuntimeException e) {
      closeAll(started);
      throw e;
    }
  }

  private static OwnedProcess startRegistry(
      String bin,
      Path dir,
      String name,
      int port,
      Path data,
      String secret,
      Pki pki,
      String authYaml)
      throws IOException {
    String yaml =
        "version: 0.1\n"
            + "log:\n"
            + "  level: info\n"
            + "  formatter: text\n"
            + "  accesslog:\n"
            + "    disabled: false\n"
            + "storage:\n"
            + "  filesystem:\n"
            + "    rootdirectory: "
            + data
            + "\n"
            + "  delete:\n"
            + "    enabled: true\n"
            + "  maintenance:\n"
            + "    uploadpurging:\n"
            + "      enabled: false\n"
            + "http:\n"
            + "  addr: 127.0.0.1:"
            + port
            + "\n"
            + "  secret: "
            + secret
            + "\n"
            + "  tls:\n"
            + "    certificate: "
            + pki.serverCert()
            + "\n"
            + "    key: "
            + pki.serverKey()
            + "\n"
            + authYaml;
    Path config = dir.resolve(name + ".yml");
    Files.writeString(config, yaml, StandardCharsets.UTF_8);
    ProcessBuilder pb = new ProcessBuilder(bin, "serve", config.toString()).directory(dir.toFile());
    Map<String, String> envVars = pb.environment();
    envVars
        .keySet()
        .removeIf(k -> k.startsWith("REGISTRY_") || k.toLowerCase(Locale.ROOT).endsWith("_proxy"));
    return OwnedProcess.start(name, pb, dir.resolve(name + ".log"));
  }

  private static void awaitReady(HttpClient http, OwnedProcess p, int port) throws IOException {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    URI uri = URI.create("https://127.0.0.1:" + port + "/v2/");
    IOException last = null;
    while (System.nanoTime() < deadline) {
      p.checkAlive();
      try {
        HttpResponse<Void> r =
            http.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 401) {
          return;
        }
        last = new IOException("GET " + uri + " answered " + r.statusCode() + ", expected 401");
      } catch (ConnectException e) {
        last = e;
      } catch (IOException e) {
        last = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      sleep(25);
    }
    throw new IOException(
        p.name()
            + " not ready on port "
            + port
            + " within "
            + READY_TIMEOUT
            + ": "
            + last
            + "\n"
            + p.logTail(40));
  }

  private static String htpasswdLine(LabEnvironment env) throws IOException {
    String bin =
        env.htpasswd()
            .map(Path::toString)
            .orElseThrow(() -> new IOException("htpasswd not on PATH"));
    Process p = new ProcessBuilder(bin, "-Bbn", USER, PASSWORD).redirectErrorStream(false).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException("htpasswd -Bbn failed");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    String line = out.toString(StandardCharsets.UTF_8).strip();
    if (!line.startsWith(USER + ":$2")) {
      throw new IOException("htpasswd did not produce a bcrypt entry: " + line);
    }
    return line + "\n";
  }

  // ---------------------------------------------------------------------------------
  // addresses

  public Pki pki() {
    return pki;
  }

  public Path dir() {
    return dir;
  }

  /** Port of the basic-auth registry. */
  public int port() {
    return basicPort;
  }

  /** {@code 127.0.0.1:<port>} of the basic-auth registry. */
  public String hostPort() {
    return "127.0.0.1:" + basicPort;
  }

  /** {@code https://127.0.0.1:<port>} of the basic-auth registry. */
  public String url() {
    return "https://" + hostPort();
  }

  public boolean hasTokenRegistry() {
    return token != null;
  }

  public int tokenRegistryPort() {
    requireToken();
    return tokenPort;
  }

  public String tokenRegistryHostPort() {
    requireToken();
    return "127.0.0.1:" + tokenPort;
  }

  public String tokenRegistryUrl() {
    return "https://" + tokenRegistryHostPort();
  }

  public TokenServer tokenServer() {
    requireToken();
    return tokenServer;
  }

  /** {@code Basic base64(user:password)}, the value of an Authorization header. */
  public static String basicAuthorization(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** Authorization header value for the lab user. */
  public String basicAuthorization() {
    return basicAuthorization(USER, PASSWORD);
  }

  // ---------------------------------------------------------------------------------
  // logs

  public Path logFile() {
    return basic.logFile();
  }

  public Path tokenRegistryLogFile() {
    requireToken();
    return token.logFile();
  }

  /** Requests answered by the basic-auth registry so far. */
  public List<AccessLogEntry> accessLog() {
    return parseAccessLog(basic.log());
  }

  /** Requests answered by the token-auth registry so far. */
  public List<AccessLogEntry> tokenRegistryAccessLog() {
    requireToken();
    return parseAccessLog(token.log());
  }

  /**
   * Waits up to {@code timeout} for a basic-registry request matching {@code match}; the registry
   * writes the access line just after answering, so a check right after a pull may otherwise miss
   * it.
   */
  public boolean awaitRequest(Predicate<AccessLogEntry> match, Duration timeout) {
    return await(this::accessLog, match, timeout);
  }

  /** Like {@link #awaitRequest} for the token-auth registry. */
  public boolean awaitTokenRegistryRequest(Predicate<AccessLogEntry> match, Duration timeout) {
    requireToken();
    return await(this::tokenRegistryAccessLog, match, timeout);
  }

  private static boolean await(
      java.util.function.Supplier<List<AccessLogEntry>> log,
      Predicate<AccessLogEntry> match,
      Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    do {
      if (log.get().stream().anyMatch(match)) {
        return true;
      }
      sleep(20);
    } while (System.nanoTime() < deadline);
    return log.get().stream().anyMatch(match);
  }

  static List<AccessLogEntry> parseAccessLog(String log) {
    List<AccessLogEntry> out = new ArrayList<>();
    for (String line : log.split("\n")) {
      Matcher m = ACCESS_LINE.matcher(line);
      if (m.find()) {
        out.add(new AccessLogEntry(m.group(1), m.group(2), Integer.parseInt(m.group(3))));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------
  // image

  /**
   * Builds a one-layer OCI image (a single file {@code hello.txt}) and pushes it to the basic-auth
   * registry as {@code repository:tag}, e.g. {@code library/hello}, {@code v1}. The token-auth
   * registry serves it too (same storage).
   */
  public PushedImage pushTestImage(String repository, String tag) throws IOException {
    byte[] content =
        ("hello from the registry-policy lab: " + repository + ":" + tag + "\n")
            .getBytes(StandardCharsets.UTF_8);
    byte[] tar = tar("hello.txt", content, 1577836800L);
    byte[] layer = gzip(tar);
    String diffId = digest(tar);
    String layerDigest = digest(layer);
    String config =
        "{\"architecture\":\""
            + goArch()
            + "\",\"os\":\"linux\","
            + "\"created\":\"2020-01-01T00:00:00Z\","
            + "\"config\":{\"Env\":[\"PATH=/\"],\"Cmd\":[\"/hello.txt\"]},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
            + diffId
            + "\"]},"
            + "\"history\":[{\"created\":\"2020-01-01T00:00:00Z\",\"created_by\":\"registry-policy lab\"}]}";
    byte[] configBytes = config.getBytes(StandardCharsets.UTF_8);
    String configDigest = digest(configBytes);
    String manifest =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + OCI_MANIFEST
            + "\","
            + "\"config\":{\"mediaType\":\""
            + OCI_CONFIG
            + "\",\"digest\":\""
            + configDigest
            + "\",\"size\":"
            + configBytes.length
            + "},"
            + "\"layers\":[{\"mediaType\":\""
            + OCI_LAYER_GZIP
            + "\",\"digest\":\""
            + layerDigest
            + "\",\"size\":"
            + layer.length
            + "}]}";
    byte[] manifestBytes = manifest.getBytes(StandardCharsets.UTF_8);
    String manifestDigest = digest(manifestBytes);

    pushBlob(repository, layerDigest, layer);
    pushBlob(repository, configDigest, configBytes);
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(URI.create(url() + "/v2/" + repository + "/manifests/" + tag))
                .header("Authorization", basicAuthorization())
                .header("Content-Type", OCI_MANIFEST)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifestBytes)));
    if (r.statusCode() != 201) {
      throw new IOException("manifest PUT answered " + r.statusCode() + ": " + r.body());
    }
    String echoed = r.headers().firstValue("Docker-Content-Digest").orElse(manifestDigest);
    if (!echoed.equals(manifestDigest)) {
      throw new IOException(
          "registry stored manifest as " + echoed + ", expected " + manifestDigest);
    }
    return new PushedImage(repository, tag, manifestDigest, configDigest, layerDigest, diffId);
  }

  private void pushBlob(String repository, String digest, byte[] blob) throws IOException {
    String base = url() + "/v2/" + repository + "/blobs/";
    HttpResponse<String> head =
        send(
            HttpRequest.newBuilder(URI.create(base + digest))
                .header("Authorization", basicAuthorization())
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
    if (head.statusCode() == 200) {
      return;
    }
    HttpResponse<String> post =
        send(
            HttpRequest.newBuilder(URI.create(base + "uploads/"))
                .header("Authorization", basicAuthorization())
                .POST(HttpRequest.BodyPublishers.noBody()));
    if (post.statusCode() != 202) {
      throw new IOException("blob upload POST answered " + post.statusCode() + ": " + post.body());
    }
    String location =
        post.headers()
            .firstValue("Location")
            .orElseThrow(() -> new IOException("blob upload POST gave no Location"));
    URI put = URI.create(url() + "/").resolve(location);
    String sep = put.getRawQuery() == null ? "?" : "&";
    put = URI.create(put + sep + "digest=" + digest.replace(":", "%3A"));
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(put)
                .header("Authorization", basicAuthorization())
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)));
    if (r.statusCode() != 201) {
      throw new IOException("blob PUT " + digest + " answered " + r.statusCode() + ": " + r.body());
    }
  }

  private HttpResponse<String> send(HttpRequest.Builder b) throws IOException {
    try {
      return http.send(
          b.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** A ustar archive holding one regular file, written by hand (512-byte header). */
  static byte[] tar(String name, byte[] content, long mtime) {
    byte[] header = new byte[512];
    putString(header, 0, 100, name);
    putOctal(header, 100, 8, 0644);
    putOctal(header, 108, 8, 0);
    putOctal(header, 116, 8, 0);
    putOctal(header, 124, 12, content.length);
    putOctal(header, 136, 12, mtime);
    for (int i = 148; i < 156; i++) {
      header[i] = ' ';
    }
    header[156] = '0';
    putString(header, 257, 6, "ustar");
    header[263] = '0';
    header[264] = '0';
    putString(header, 265, 32, "root");
    putString(header, 297, 32, "root");
    putOctal(header, 329, 8, 0);
    putOctal(header, 337, 8, 0);
    long sum = 0;
    for (byte b : header) {
      sum += b & 0xff;
    }
    String chk = String.format("%06o", sum);
    putString(header, 148, 6, chk);
    header[154] = 0;
    header[155] = ' ';

    int padded = (content.length + 511) / 512 * 512;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(header);
    out.writeBytes(content);
    out.writeBytes(new byte[padded - content.length]);
    out.writeBytes(new byte[1024]); // end-of-archive: two zero blocks
    return out.toByteArray();
  }

  private static void putString(byte[] buf, int off, int len, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    if (b.length > len) {
      throw new IllegalArgumentException("too long for tar field: " + s);
    }
    System.arraycopy(b, 0, buf, off, b.length);
  }

  /** Octal number, zero-padded to {@code len - 1} digits and NUL-terminated. */
  private static void putOctal(byte[] buf, int off, int len, long value) {
    String s = Long.toOctalString(value);
    if (s.length() > len - 1) {
      throw new IllegalArgumentException("value too large for tar field: " + value);
    }
    putString(buf, off, len - 1, "0".repeat(len - 1 - s.length()) + s);
    buf[off + len - 1] = 0;
  }

  static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }

  static String digest(byte[] data) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String goArch() {
    String arch = System.getProperty("os.arch", "amd64");
    switch (arch) {
      case "amd64":
      case "x86_64":
        return "amd64";
      case "aarch64":
      case "arm64":
        return "arm64";
      default:
        return arch;
    }
  }

  private static String randomSecret() {
    byte[] b = new byte[24];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private void requireToken() {
    if (token == null) {
      throw new IllegalStateException("this RegistryLab was started without token auth");
    }
  }

  private static void closeAll(List<AutoCloseable> items) {
    for (int i = items.size() - 1; i >= 0; i--) {
      try {
        items.get(i).close();
      } catch (Exception e) {
        // keep closing the rest
      }
    }
  }

  /**
   * Stops the registries (their own processes only) and the token server; files stay in {@link
   * #dir()}.
   */
  @Override
  public void close() {
    List<AutoCloseable> items = new ArrayList<>();
    items.add(basic);
    if (tokenServer != null) {
      items.add(tokenServer);
    }
    if (token != null) {
      items.add(token);
    }
    closeAll(items);
  }
}
