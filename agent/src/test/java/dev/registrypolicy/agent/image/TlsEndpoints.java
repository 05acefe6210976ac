package dev.registrypolicy.agent.image;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Two HTTPS endpoints on 127.0.0.1 that offer only elliptic-curve key exchange ({@link
 * TlsServerMain}, in its own JVM so its {@code jdk.tls.namedGroups} touches nothing else): {@code
 * ec} with a self-signed ECDSA P-256 certificate and {@code rsa} with a self-signed RSA-2048 one,
 * both for IP 127.0.0.1 and localhost. Key material is made with the JDK's {@code keytool}.
 *
 * <p>{@link #runClient} runs {@link TlsClientMain} on a given Java runtime against them. {@link
 * #close()} stops the server process (this JVM's child) and deletes the directory.
 */
public final class TlsEndpoints implements AutoCloseable {

  /** The key exchange groups the endpoints offer: elliptic curves only, as Go's TLS stack does. */
  public static final String NAMED_GROUPS = "secp256r1,x25519";

  public static final String EC = "ec";
  public static final String RSA = "rsa";

  private static final String STORE_PASSWORD = "endpoint-test";
  private static final Duration READY = Duration.ofSeconds(30);
  private static final Pattern READY_LINE = Pattern.compile("(?m)^READY (.*)$");

  /** What {@link TlsClientMain} printed and how it exited. */
  public record ClientRun(int exitCode, String output) {
    /** Lines starting with OK or FAIL. */
    public List<String> outcomes() {
      return output
          .lines()
          .filter(l -> l.startsWith("OK ") || l.startsWith("FAIL "))
          .collect(Collectors.toList());
    }
  }

  private final Path dir;
  private final Process server;
  private final Path log;
  private final Map<String, Integer> ports;
  private final Path caPem;

  private TlsEndpoints(Path dir, Process server, Path log, Map<String, Integer> ports, Path caPem) {
    this.dir = dir;
    this.server = server;
    this.log = log;
    this.ports = ports;
    this.caPem = caPem;
  }

  public static TlsEndpoints start() throws IOException {
    Path dir = Files.createTempDirectory("rpl-tls-");
    Process server = null;
    try {
      Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
      keyPair(
          keytool,
          dir,
          EC,
          "-keyalg",
          "EC",
          "-groupname",
          "secp256r1",
          "-sigalg",
          "SHA256withECDSA");
      keyPair(keytool, dir, RSA, "-keyalg", "RSA", "-keysize", "2048", "-sigalg", "SHA256withRSA");
      Path ca = dir.resolve("ca.pem");
      Files.write(
          ca,
          concat(
              Files.readAllBytes(dir.resolve(EC + ".pem")),
              Files.readAllBytes(dir.resolve(RSA + ".pem"))));
      Path log = dir.resolve("server.log");
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-Djdk.tls.namedGroups=" + NAMED_GROUPS);
      cmd.add("-cp");
      cmd.add(classpathOf(TlsServerMain.class));
      cmd.add(TlsServerMain.class.getName());
      cmd.add(EC);
      cmd.add(dir.resolve(EC + ".p12").toString());
      cmd.add(RSA);
      cmd.add(dir.resolve(RSA + ".p12").toString());
      cmd.add(STORE_PASSWORD);
      server =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      Map<String, Integer> ports = awaitReady(server, log);
      return new TlsEndpoints(dir, server, log, ports, ca);
    } catch (IOException | RuntimeException e) {
      if (server != null) {
        stop(server);
      }
      ImageLab.deleteTree(dir);
      throw e;
    }
  }

  /** {@code https://127.0.0.1:<port>/} of endpoint {@code name}. */
  public String url(String name) {
    return "https://127.0.0.1:" + port(name) + "/";
  }

  public int port(String name) {
    Integer p = ports.get(name);
    if (p == null) {
      throw new IllegalArgumentException("no endpoint " + name + " (have " + ports.keySet() + ")");
    }
    return p;
  }

  /** Both self-signed certificates, PEM: what a client must trust. */
  public Path caPem() {
    return caPem;
  }

  /** The certificate of endpoint {@code name}, PEM. */
  public byte[] certificatePem(String name) throws IOException {
    return Files.readAllBytes(dir.resolve(name + ".pem"));
  }

  /** Everything the server printed so far. */
  public String log() {
    try {
      return new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** Server log lines starting with {@code prefix + " " + name}. */
  public List<String> lines(String prefix, String name) {
    String start = prefix + " " + name + " ";
    return log().lines().filter(l -> l.startsWith(start)).collect(Collectors.toList());
  }

  /** Waits until the server log has a line matching {@code pattern}. */
  public boolean awaitLine(Pattern pattern, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    do {
      if (pattern.matcher(log()).find()) {
        return true;
      }
      sleep(50);
    } while (System.nanoTime() < deadline);
    return false;
  }

  /**
   * Runs {@link TlsClientMain} with {@code javaHome/bin/java} against {@code names} with only
   * {@code protocol} enabled.
   */
  public ClientRun runClient(Path javaHome, String protocol, List<String> names)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(javaHome.resolve("bin/java").toString());
    cmd.add("-cp");
    cmd.add(classpathOf(TlsClientMain.class));
    cmd.add(TlsClientMain.class.getName());
    cmd.add(caPem.toString());
    cmd.add(protocol);
    for (String n : names) {
      cmd.add(url(n));
    }
    Path out = Files.createTempFile(dir, "client-", ".out");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        stop(p);
        throw new IOException(
            "TLS client on " + javaHome + " did not finish within 60 s: " + Files.readString(out));
      }
    } catch (InterruptedException e) {
      stop(p);
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return new ClientRun(
        p.exitValue(), new String(Files.readAllBytes(out), StandardCharsets.UTF_8));
  }

  @Override
  public void close() {
    stop(server);
    ImageLab.deleteTree(dir);
  }

  // ---------------------------------------------------------------------------------------------

  private static void keyPair(Path keytool, Path dir, String alias, String... alg)
      throws IOException {
    Path store = dir.resolve(alias + ".p12");
    List<String> gen = new ArrayList<>(List.of(keytool.toString(), "-genkeypair", "-alias", alias));
    gen.addAll(List.of(alg));
    gen.addAll(
        List.of(
            "-dname",
            "CN=127.0.0.1",
            "-ext",
            "san=ip:127.0.0.1,dns:localhost",
            "-validity",
            "2",
            "-keystore",
            store.toString(),
            "-storetype",
            "PKCS12",
            "-storepass",
            STORE_PASSWORD,
            "-keypass",
            STORE_PASSWORD));
    run(gen);
    run(
        List.of(
            keytool.toString(),
            "-exportcert",
            "-rfc",
            "-alias",
            alias,
            "-keystore",
            store.toString(),
            "-storepass",
            STORE_PASSWORD,
            "-file",
            dir.resolve(alias + ".pem").toString()));
  }

  private static void run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        stop(p);
        throw new IOException(
            cmd.get(0) + " " + cmd.get(1) + " failed: " + new String(out, StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      stop(p);
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  private static Map<String, Integer> awaitReady(Process server, Path log) throws IOException {
    long deadline = System.nanoTime() + READY.toNanos();
    while (System.nanoTime() < deadline) {
      String text = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
      Matcher m = READY_LINE.matcher(text);
      if (m.find()) {
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (String kv : m.group(1).strip().split(" ")) {
          int eq = kv.indexOf('=');
          ports.put(kv.substring(0, eq), Integer.parseInt(kv.substring(eq + 1)));
        }
        return ports;
      }
      if (!server.isAlive()) {
        throw new IOException(
            "TLS endpoint server exited with " + server.exitValue() + ": " + text);
      }
      sleep(25);
    }
    throw new IOException(
        "TLS endpoint server not ready within " + READY + ": " + Files.readString(log));
  }

  /** The class path entry (directory or jar) {@code type} was loaded from. */
  static String classpathOf(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate " + type, e);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static void stop(Process p) {
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
