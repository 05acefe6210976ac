package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.controller.fakeapi.FakeKubeApi;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run} against an API it cannot use: the log names the cause and the server, once per
 * failing source (each informer, leader election) however often the client retries, and never a
 * placeholder or a bare class name.
 */
class ApiFailureLogTest {
  /** Each source of failure lines: the informers by what they list, and leader election. */
  private static final List<String> INFORMERS =
      List.of(
          "ConfigMaps in namespace registry-policy",
          "Secrets in namespace registry-policy",
          "Namespaces",
          "ServiceAccounts in all namespaces",
          "managed Secrets in all namespaces");

  private static final Pattern BARE_CLASS =
      Pattern.compile("\\b[A-Z][A-Za-z]+(Exception|Error)\\b");

  @TempDir Path tmp;
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final CountDownLatch stop = new CountDownLatch(1);
  private final AtomicInteger exit = new AtomicInteger(-1);
  private Thread running;

  @AfterEach
  void stopController() throws InterruptedException {
    stop.countDown();
    if (running != null) {
      running.join(20_000);
    }
  }

  private String log() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private Path kubeconfig(String server) throws Exception {
    Path f = tmp.resolve("config");
    Files.writeString(
        f,
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters: [{name: c, cluster: {server: \"" + server + "\"}}]",
            "users: [{name: u, user: {token: not-a-real-token}}]",
            "contexts: [{name: x, context: {cluster: c, user: u}}]",
            "current-context: x",
            ""));
    return f;
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void start(Map<String, String> env) throws Exception {
    PrintStream p = new PrintStream(err, true, StandardCharsets.UTF_8);
    String listen = "127.0.0.1:" + freePort();
    running =
        new Thread(
            () ->
                exit.set(
                    ControllerMain.run(new String[] {"run", "--listen", listen}, p, p, env, stop)));
    running.start();
  }

  /** Waits for a condition that the controller's own progress makes true (checked as it goes). */
  private void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline || exit.get() >= 0) {
        throw new AssertionError(
            "timed out waiting for " + what + " (exit " + exit.get() + "):\n" + log());
      }
      Thread.sleep(20);
    }
  }

  /** Every source has failed, been written once, and then retried at least {@code n} more times. */
  private void awaitRepeats(int n) throws InterruptedException {
    for (String what : INFORMERS) {
      await(
          () -> Log.repeats(LoggedInformers.class.getName(), LoggedInformers.failure(what)) >= n,
          what + " retried");
    }
    await(
        () -> Log.repeats(LeaderElector.class.getName(), ReportingLock.ELECTOR_READ_FAILED) >= n,
        "leader election retried");
  }

  private List<String> lines(String containing) {
    return Arrays.stream(log().split("\n"))
        .filter(l -> l.contains(containing))
        .collect(Collectors.toList());
  }

  /** The cause and the server once per source, nothing unexplained. */
  private void assertOncePerSource(String cause, String server) {
    List<String> failing = lines(cause);
    for (String what : INFORMERS) {
      assertEquals(
          1,
          failing.stream().filter(l -> l.contains("cannot list and watch " + what + ";")).count(),
          what + ":\n" + log());
    }
    assertEquals(
        1,
        failing.stream().filter(l -> l.contains(ReportingLock.ELECTOR_READ_FAILED)).count(),
        log());
    for (String l : failing) {
      assertTrue(l.contains("server=" + server), l);
    }
    String all = log();
    assertFalse(all.contains("{}"), all);
    assertFalse(all.contains("{0}"), all);
    assertFalse(BARE_CLASS.matcher(all).find(), all);
    assertFalse(all.contains("Reflector loop failed unexpectedly"), all);
  }

  @Test
  void deadServer_connectionRefusedAndTheServerOncePerSource() throws Exception {
    int port = freePort(); // closed again: nothing listens there
    String server = "http://127.0.0.1:" + port;
    start(Map.of("KUBECONFIG", kubeconfig(server).toString(), "HOME", tmp.toString()));
    awaitRepeats(2);
    assertOncePerSource("error=\"connection refused (127.0.0.1:" + port + ")\"", server);
    assertTrue(log().contains("msg=starting") && log().contains("server=" + server), log());
  }

  @Test
  void forbidden_httpCodeAndReasonOncePerSource_thenRecovered() throws Exception {
    try (FakeKubeApi fake = new FakeKubeApi().start()) {
      FakeKubeApi.Registration forbidden = fake.failWhen(r -> true, 403);
      String server = fake.baseUrl();
      start(Map.of("KUBECONFIG", kubeconfig(server).toString(), "HOME", tmp.toString()));
      awaitRepeats(2);
      assertOncePerSource("error=\"HTTP 403 Forbidden", server);
      forbidden.close();
      for (String what : INFORMERS) {
        await(
            () ->
                lines("msg=recovered").stream()
                    .anyMatch(l -> l.contains("cannot list and watch " + what)),
            what + " recovered");
      }
      await(
          () ->
              lines("msg=recovered").stream()
                  .anyMatch(l -> l.contains(ReportingLock.ELECTOR_READ_FAILED)),
          "leader election recovered");
      assertEquals(
          1,
          lines("error=\"HTTP 403 Forbidden").stream()
              .filter(l -> l.contains("Namespaces;"))
              .count(),
          log());
    }
  }

  @Test
  void kubeconfigNamingAMissingFile_isAUsageErrorNamingIt() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream p = new PrintStream(err, true, StandardCharsets.UTF_8);
    int code =
        ControllerMain.run(
            new String[] {"run"},
            new PrintStream(out),
            p,
            Map.of("KUBECONFIG", "/nope/config", "HOME", tmp.toString()),
            stop);
    assertEquals(2, code, log());
    assertTrue(log().contains("KUBECONFIG names /nope/config, which does not exist"), log());
  }

  @Test
  void noConfigurationAnywhere_saysWhatWasTried() {
    PrintStream p = new PrintStream(err, true, StandardCharsets.UTF_8);
    int code = ControllerMain.run(new String[] {"run"}, p, p, Map.of("HOME", tmp.toString()), stop);
    assertEquals(1, code, log());
    assertTrue(log().contains("KUBECONFIG is not set"), log());
    assertTrue(log().contains("KUBERNETES_SERVICE_HOST is not set"), log());
    assertTrue(log().contains(tmp.resolve(".kube/config") + " does not exist"), log());
  }
}
