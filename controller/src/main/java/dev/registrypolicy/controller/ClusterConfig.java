package dev.registrypolicy.controller;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.Config;
import io.kubernetes.client.util.KubeConfig;
import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where {@code run} finds the API server, tried in this order: the file {@code KUBECONFIG} names
 * (it must exist: a set {@code KUBECONFIG} is never skipped), the in-cluster ServiceAccount ({@code
 * KUBERNETES_SERVICE_HOST} and its token), then {@code $HOME/.kube/config}. Unlike the client's own
 * default, nothing falls back to {@code localhost:8080}: no configuration is an error that says
 * what was tried.
 */
final class ClusterConfig {
  /** An API client and where its configuration came from. */
  record Loaded(ApiClient client, String server, String source) {}

  /** Why no client could be made, and the exit code for it (2: a named file is missing). */
  static final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;
    final int exitCode;

    ConfigException(int exitCode, String message) {
      super(message);
      this.exitCode = exitCode;
    }
  }

  private ClusterConfig() {}

  static Loaded load(Map<String, String> env) throws ConfigException {
    String kubeconfig = env.get("KUBECONFIG");
    if (kubeconfig != null && !kubeconfig.isBlank()) {
      List<String> files = new ArrayList<>();
      for (String f : kubeconfig.split(java.util.regex.Pattern.quote(File.pathSeparator), -1)) {
        if (!f.isBlank()) {
          files.add(f);
        }
      }
      for (String f : files) {
        Path p = Path.of(f);
        if (!Files.exists(p)) {
          throw new ConfigException(
              ControllerMain.USAGE, "KUBECONFIG names " + f + ", which does not exist");
        }
        if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
          throw new ConfigException(
              ControllerMain.USAGE,
              "KUBECONFIG names "
                  + f
                  + ", which cannot be read"
                  + (Files.isDirectory(p) ? " (a directory)" : " (permission denied)"));
        }
      }
      if (files.size() > 1) {
        throw new ConfigException(
            ControllerMain.USAGE,
            "KUBECONFIG names "
                + files.size()
                + " files; the controller reads one (merge them with kubectl config view --flatten)");
      }
      return fromFile(Path.of(files.get(0)), "KUBECONFIG");
    }
    String host = env.get(Config.ENV_SERVICE_HOST);
    Path token = Path.of(Config.SERVICEACCOUNT_TOKEN_PATH);
    if (host != null && !host.isBlank()) {
      if (!Files.isReadable(token)) {
        throw new ConfigException(
            ControllerMain.INVALID,
            "in a cluster ("
                + Config.ENV_SERVICE_HOST
                + "="
                + host
                + ") but the ServiceAccount token "
                + token
                + " cannot be read (automountServiceAccountToken off?)");
      }
      try {
        ApiClient c = ClientBuilder.cluster().build();
        return new Loaded(c, c.getBasePath(), "in-cluster ServiceAccount");
      } catch (IOException | RuntimeException e) {
        throw new ConfigException(
            ControllerMain.INVALID, "cannot use the in-cluster configuration: " + Log.describe(e));
      }
    }
    String home = env.getOrDefault("HOME", System.getProperty("user.home"));
    Path homeConfig = home == null ? null : Path.of(home, ".kube", "config");
    if (homeConfig != null && Files.isRegularFile(homeConfig)) {
      return fromFile(homeConfig, "$HOME/.kube/config");
    }
    throw new ConfigException(
        ControllerMain.INVALID,
        "no Kubernetes API configuration: KUBECONFIG is not set, "
            + Config.ENV_SERVICE_HOST
            + " is not set (not in a cluster), and "
            + (homeConfig == null ? "$HOME is not set" : homeConfig + " does not exist"));
  }

  private static Loaded fromFile(Path file, String source) throws ConfigException {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      if (Files.size(file) == 0) {
        throw new ConfigException(ControllerMain.INVALID, "kubeconfig " + file + " is empty");
      }
      KubeConfig kc;
      try {
        kc = KubeConfig.loadKubeConfig(r);
      } catch (org.yaml.snakeyaml.error.MarkedYAMLException e) {
        // The parser's own text quotes the file, which may hold a token: only the place.
        org.yaml.snakeyaml.error.Mark m = e.getProblemMark();
        throw new ConfigException(
            ControllerMain.INVALID,
            "kubeconfig "
                + file
                + " is not valid YAML"
                + (m == null
                    ? ""
                    : " at line " + (m.getLine() + 1) + ", column " + (m.getColumn() + 1)));
      } catch (NullPointerException | ClassCastException e) {
        throw new ConfigException(
            ControllerMain.INVALID,
            "kubeconfig " + file + " is not a kubeconfig (no clusters, users and contexts maps)");
      }
      kc.setFile(file.toFile()); // relative certificate paths are relative to the file
      if (kc.getCurrentContext() == null) {
        throw new ConfigException(
            ControllerMain.INVALID, "kubeconfig " + file + " names no current-context");
      }
      if (kc.getServer() == null) {
        throw new ConfigException(
            ControllerMain.INVALID,
            "kubeconfig "
                + file
                + " has no server for its current context ("
                + kc.getCurrentContext()
                + ")");
      }
      ApiClient c = ClientBuilder.kubeconfig(kc).build();
      return new Loaded(c, c.getBasePath(), source + " " + file);
    } catch (IOException | RuntimeException e) {
      throw new ConfigException(
          ControllerMain.INVALID, "cannot use kubeconfig " + file + ": " + Log.describe(e));
    }
  }
}
