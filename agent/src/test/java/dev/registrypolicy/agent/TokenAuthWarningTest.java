package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon probes mirrors that get header credentials and warns about token auth on older
 * containerd.
 */
class TokenAuthWarningTest {
  @TempDir Path tmp;
  HttpServer registry;
  Agent agent;
  Thread loop;

  @AfterEach
  void stop() throws Exception {
    if (agent != null) {
      agent.close();
    }
    if (loop != null) {
      loop.interrupt();
      loop.join(5000);
    }
    if (registry != null) {
      registry.stop(0);
    }
  }

  void startRegistry(String challenge) throws Exception {
    registry = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    registry.createContext(
        "/",
        ex -> {
          ex.getResponseHeaders().set("WWW-Authenticate", challenge);
          ex.sendResponseHeaders(401, -1);
          ex.close();
        });
    registry.start();
  }

  boolean warns(String configToml, Duration wait) throws Exception {
    String url = "http://127.0.0.1:" + registry.getAddress().getPort();
    Path policy = tmp.resolve("policy.yaml");
    Files.writeString(
        policy,
        String.join(
            "\n",
            "apiVersion: registry-policy.dev/v1alpha1",
            "kind: RegistryPolicy",
            "credentials: [{name: hub, secret: hub-basic}]",
            "registries:",
            "  - host: docker.io",
            "    mirrors: [{url: \"" + url + "\", credentials: hub}]",
            ""));
    Path bundle = Files.createDirectories(tmp.resolve("bundle"));
    Files.writeString(bundle.resolve("hub-basic_username"), "u");
    Files.writeString(bundle.resolve("hub-basic_password"), "p");
    Path config = tmp.resolve("config.toml");
    Files.writeString(config, configToml);
    Path certs = Files.createDirectories(tmp.resolve("certs.d"));
    agent =
        new Agent(
            new Agent.Options(
                policy, bundle, certs, certs.toString(), false, Duration.ofSeconds(60), config),
            new Metrics());
    AtomicReference<Throwable> failed = new AtomicReference<>();
    loop =
        new Thread(
            () -> {
              try {
                agent.run();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (Exception e) {
                failed.set(e);
              }
            });
    loop.start();
    long deadline = System.nanoTime() + wait.toNanos();
    while (System.nanoTime() < deadline) {
      if (agent.problems().stream().anyMatch(p -> p.kind().equals(AgentProblem.TOKEN_AUTH))) {
        return true;
      }
      Thread.sleep(20); // the probe runs in the background
    }
    return false;
  }

  static final String V2_CONFIG =
      "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"%s\"\n";

  @Test
  void bearerChallengeOnContainerdConfigV2_warns() throws Exception {
    startRegistry("Bearer realm=\"https://127.0.0.1:1/token\",service=\"x\"");
    assertTrue(warns(String.format(V2_CONFIG, tmp.resolve("certs.d")), Duration.ofSeconds(10)));
    assertTrue(
        agent.problems().stream().anyMatch(p -> p.detail().contains("containerd 2.1 or newer")));
    assertFalse(
        agent.problems().stream().anyMatch(p -> p.detail().contains("Basic ")),
        "no credentials in messages");
  }

  @Test
  void basicChallenge_doesNotWarn() throws Exception {
    startRegistry("Basic realm=\"registry\"");
    // the stub answers in milliseconds; the warning would follow at once
    assertFalse(warns(String.format(V2_CONFIG, tmp.resolve("certs.d")), Duration.ofSeconds(2)));
  }
}
