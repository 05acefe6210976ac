package dev.registrypolicy.controller;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.Config;
import java.io.IOException;
import java.io.StringReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The same scenarios on a real k3s (Testcontainers). Runs where a Docker engine is available;
 * reported as skipped elsewhere (no Docker engine runs on this project's CI machines).
 */
@EnabledIf(
    value = "dockerAvailable",
    disabledReason =
        "no Docker engine found: the k3s suite needs one"
            + " (Testcontainers); the same scenarios ran against the in-process API in FakeApiControllerTest")
class K3sControllerTest extends ControllerScenarios {
  static K3sContainer k3s;
  static ApiClient client;

  static boolean dockerAvailable() {
    return DockerClientFactory.instance().isDockerAvailable();
  }

  @BeforeAll
  static void startK3s() throws IOException {
    k3s = new K3sContainer(DockerImageName.parse("rancher/k3s:v1.31.4-k3s1"));
    k3s.start();
    client = Config.fromConfig(new StringReader(k3s.getKubeConfigYaml()));
    client.setHttpClient(
        client
            .getHttpClient()
            .newBuilder()
            .readTimeout(0, java.util.concurrent.TimeUnit.SECONDS)
            .build());
  }

  @AfterAll
  static void stopK3s() {
    if (k3s != null) {
      k3s.stop();
    }
  }

  @Override
  ApiClient client() {
    return client;
  }

  @Override
  boolean autoDefaultServiceAccount() {
    return true;
  }
}
