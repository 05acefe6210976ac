package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.ContainerdConfig.Diagnosis;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ContainerdConfigTest {

  static final String CERTS = "/etc/containerd/certs.d";

  // ---------------------------------------------------------------------------------------------
  // fixtures: shaped like the files found on nodes

  /** Shaped like `containerd config default` of Debian's 1.6 package, registry part unchanged. */
  static final String DEBIAN_16_DEFAULT =
      """
            disabled_plugins = []
            imports = []
            oom_score = 0
            plugin_dir = ""
            required_plugins = []
            root = "/var/lib/containerd"
            state = "/run/containerd"
            temp = ""
            version = 2

            [cgroup]
              path = ""

            [debug]
              address = ""
              format = ""
              gid = 0
              level = ""
              uid = 0

            [grpc]
              address = "/run/containerd/containerd.sock"
              gid = 0
              max_recv_message_size = 16777216
              max_send_message_size = 16777216
              tcp_address = ""
              tcp_tls_ca = ""
              tcp_tls_cert = ""
              tcp_tls_key = ""
              uid = 0

            [plugins]

              [plugins."io.containerd.gc.v1.scheduler"]
                deletion_threshold = 0
                mutation_threshold = 100
                pause_threshold = 0.02
                schedule_delay = "0s"
                startup_delay = "100ms"

              [plugins."io.containerd.grpc.v1.cri"]
                device_ownership_from_security_context = false
                disable_apparmor = false
                enable_cdi = false
                max_container_log_line_size = 16384
                sandbox_image = "registry.k8s.io/pause:3.6"
                stream_idle_timeout = "4h0m0s"
                tolerate_missing_hugetlb_controller = true

                [plugins."io.containerd.grpc.v1.cri".cni]
                  bin_dir = "/opt/cni/bin"
                  conf_dir = "/etc/cni/net.d"
                  conf_template = ""

                [plugins."io.containerd.grpc.v1.cri".containerd]
                  default_runtime_name = "runc"
                  snapshotter = "overlayfs"

                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

                    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                      base_runtime_spec = ""
                      runtime_type = "io.containerd.runc.v2"

                      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                        BinaryName = ""
                        SystemdCgroup = false

                [plugins."io.containerd.grpc.v1.cri".image_decryption]
                  key_model = "node"

                [plugins."io.containerd.grpc.v1.cri".registry]
                  config_path = ""

                  [plugins."io.containerd.grpc.v1.cri".registry.auths]

                  [plugins."io.containerd.grpc.v1.cri".registry.configs]

                  [plugins."io.containerd.grpc.v1.cri".registry.headers]

                  [plugins."io.containerd.grpc.v1.cri".registry.mirrors]

                [plugins."io.containerd.grpc.v1.cri".x509_key_pair_streaming]
                  tls_cert_file = ""
                  tls_key_file = ""

              [plugins."io.containerd.internal.v1.opt"]
                path = "/opt/containerd"

            [timeouts]
              "io.containerd.timeout.bolt.open" = "0s"
              "io.containerd.timeout.shim.cleanup" = "5s"

            [ttrpc]
              address = ""
            """;

  /** The same with the one-line fix most install guides give. */
  static final String DEBIAN_16_FIXED =
      DEBIAN_16_DEFAULT.replace("config_path = \"\"", "config_path = \"/etc/containerd/certs.d\"");

  /** containerd 2.x style, single-quoted plugin ids as `containerd config default` writes them. */
  static final String V3_DEFAULT =
      """
            version = 3
            root = '/var/lib/containerd'
            state = '/run/containerd'
            temp = ''
            plugin_dir = ''
            disabled_plugins = []
            required_plugins = []
            oom_score = 0
            imports = []

            [grpc]
              address = '/run/containerd/containerd.sock'
              tcp_address = ''

            [plugins]
              [plugins.'io.containerd.cri.v1.images']
                snapshotter = 'overlayfs'
                disable_snapshot_annotations = true
                discard_unpacked_layers = false
                max_concurrent_downloads = 3
                image_pull_progress_timeout = '5m0s'
                image_pull_with_sync_fs = false
                stats_collect_period = 10
                use_local_image_pull = false

                [plugins.'io.containerd.cri.v1.images'.pinned_images]
                  sandbox = 'registry.k8s.io/pause:3.10'

                [plugins.'io.containerd.cri.v1.images'.registry]
                  config_path = '/etc/containerd/certs.d'

                [plugins.'io.containerd.cri.v1.images'.image_decryption]
                  key_model = 'node'

              [plugins.'io.containerd.cri.v1.runtime']
                enable_selinux = false
                max_container_log_line_size = 16384
                cdi_spec_dirs = ['/etc/cdi', '/var/run/cdi']

                [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
                  runtime_type = 'io.containerd.runc.v2'

                  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
                    SystemdCgroup = true

              [plugins.'io.containerd.grpc.v1.cri']
                disable_tcp_service = true
                stream_server_address = '127.0.0.1'
                stream_server_port = '0'

              [plugins.'io.containerd.nri.v1.nri']
                disable = false
                socket_path = '/var/run/nri/nri.sock'

            [cgroup]
              path = ''

            [timeouts]
              'io.containerd.timeout.bolt.open' = '0s'
              'io.containerd.timeout.shim.cleanup' = '5s'
            """;

  static final String K3S_CERTS = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d";

  /** Shaped like the file k3s generates for its embedded containerd 2.x. */
  static final String K3S_V3 =
      """
            # File generated by k3s. DO NOT EDIT. Use config.toml.tmpl instead.
            version = 3
            root = "/var/lib/rancher/k3s/agent/containerd"
            state = "/run/k3s/containerd"

            [grpc]
              address = "/run/k3s/containerd/containerd.sock"

            [plugins.'io.containerd.internal.v1.opt']
              path = "/var/lib/rancher/k3s/agent/containerd"

            [plugins.'io.containerd.grpc.v1.cri']
              stream_server_address = "127.0.0.1"
              stream_server_port = "10010"

            [plugins.'io.containerd.cri.v1.runtime']
              enable_selinux = false
              enable_unprivileged_ports = true
              enable_unprivileged_icmp = true
              device_ownership_from_security_context = false

            [plugins.'io.containerd.cri.v1.images']
              snapshotter = "overlayfs"
              disable_snapshot_annotations = true
              use_local_image_pull = true

            [plugins.'io.containerd.cri.v1.images'.pinned_images]
              sandbox = "rancher/mirrored-pause:3.6"

            [plugins.'io.containerd.cri.v1.runtime'.cni]
              bin_dir = "/var/lib/rancher/k3s/data/cni"
              conf_dir = "/var/lib/rancher/k3s/agent/etc/cni/net.d"

            [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
              runtime_type = "io.containerd.runc.v2"

            [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
              SystemdCgroup = true

            [plugins.'io.containerd.cri.v1.images'.registry]
              config_path = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d"
            """;

  /** Older k3s (containerd 1.7, config version 2). */
  static final String K3S_V2 =
      """
            # File generated by k3s. DO NOT EDIT. Use config.toml.tmpl instead.
            version = 2

            [plugins."io.containerd.internal.v1.opt"]
              path = "/var/lib/rancher/k3s/agent/containerd"
            [plugins."io.containerd.grpc.v1.cri"]
              stream_server_address = "127.0.0.1"
              stream_server_port = "10010"
              enable_selinux = false
              sandbox_image = "rancher/mirrored-pause:3.6"

            [plugins."io.containerd.grpc.v1.cri".containerd]
              snapshotter = "overlayfs"
              disable_snapshot_annotations = true

            [plugins."io.containerd.grpc.v1.cri".cni]
              bin_dir = "/var/lib/rancher/k3s/data/current/bin"
              conf_dir = "/var/lib/rancher/k3s/agent/etc/cni/net.d"

            [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
              runtime_type = "io.containerd.runc.v2"

            [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
              SystemdCgroup = true

            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d"
            """;

  /** TOML 1.0 dotted keys from the top level, with a trailing slash on the path. */
  static final String DOTTED_TOP =
      """
            version = 2
            root = "/var/lib/containerd"
            plugins."io.containerd.grpc.v1.cri".sandbox_image = "registry.k8s.io/pause:3.9"
            plugins."io.containerd.grpc.v1.cri".registry.config_path = "/etc/containerd/certs.d/"
            """;

  /** Dotted keys inside [plugins], version 3. */
  static final String DOTTED_NESTED =
      """
            version = 3
            [plugins]
            'io.containerd.cri.v1.images'.use_local_image_pull = true
            'io.containerd.cri.v1.images'.registry.config_path = '/etc/containerd/certs.d:/etc/docker/certs.d'
            """;

  /** Dotted keys inside the plugin table, version 3. */
  static final String DOTTED_IN_PLUGIN =
      """
            version = 3
            [plugins."io.containerd.cri.v1.images"]
            use_local_image_pull = true
            registry.config_path = '/etc/containerd/certs.d:/etc/docker/certs.d'
            """;

  /**
   * Not TOML 1.0: a table created by dotted keys cannot be opened again with a [table] header (TOML
   * 1.0.0, "Table": the "[fruit.apple] # INVALID" example).
   */
  static final String DOTTED_REDEFINED =
      """
            version = 3
            [plugins]
            'io.containerd.cri.v1.images'.use_local_image_pull = true
            [plugins."io.containerd.cri.v1.images"]
            registry.config_path = '/etc/containerd/certs.d:/etc/docker/certs.d'
            """;

  /** The two files of issue 10 that were misdiagnosed by the former hand-written scanner. */
  static final String NOT_TOML_AT_ALL = "this is = = not toml\n";

  static final String GARBAGE_AFTER_CONFIG_PATH =
      """
            version = 2
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/etc/containerd/certs.d"
            garbage line here
            """;

  /** The default that containerd 2.2 documents, written out explicitly. */
  static final String MULTI_DIR_V3 =
      """
            version = 3
            [plugins.'io.containerd.cri.v1.images'.registry]
              config_path = '/etc/containerd/certs.d:/etc/docker/certs.d'
            """;

  static final String MULTI_DIR_V3_LOCAL =
      """
            version = 3
            [plugins.'io.containerd.cri.v1.images']
              use_local_image_pull = true
            [plugins.'io.containerd.cri.v1.images'.registry]
              config_path = '/etc/containerd/certs.d:/etc/docker/certs.d'
            """;

  static final String MULTI_DIR_V2_OURS_SECOND =
      """
            version = 2
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/etc/docker/certs.d:/etc/containerd/certs.d"
            """;

  static final String MISSING_V3 =
      """
            version = 3
            [plugins.'io.containerd.cri.v1.images']
              snapshotter = 'overlayfs'
            """;

  /** Deprecated mirrors plus configs with credentials, next to config_path. */
  static final String DEPRECATED_MIRRORS =
      """
            version = 2
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/etc/containerd/certs.d"
            [plugins."io.containerd.grpc.v1.cri".registry.mirrors]
              [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
                endpoint = ["https://mirror.example.internal", "https://registry-1.docker.io"]
            [plugins."io.containerd.grpc.v1.cri".registry.configs."registry.example.internal".auth]
              username = "robot"
              password = "S3cr3t-Pa55"
            [plugins."io.containerd.grpc.v1.cri".registry.configs."registry.example.internal".tls]
              insecure_skip_verify = true
            """;

  /** Old guides: version 1 file with short plugin names and mirrors, no config_path. */
  static final String V1_MIRRORS =
      """
            [plugins.cri.registry.mirrors]
              [plugins.cri.registry.mirrors."docker.io"]
                endpoint = ["https://mirror.example.internal"]
            """;

  static final String V1_CONFIG_PATH =
      """
            root = "/var/lib/containerd"
            [plugins.cri.registry]
              config_path = "/etc/containerd/certs.d"
            """;

  /** Comments, odd spacing, tabs, CRLF, strings holding '#', '[' and '=' characters. */
  static final String ODD_SPACING =
      ""
          + "# containerd config, edited by hand\r\n"
          + "version=2 # the version\r\n"
          + "\r\n"
          + "  [ plugins . \"io.containerd.grpc.v1.cri\" ]   # the CRI plugin\r\n"
          + "\tsandbox_image = \"registry.k8s.io/pause:3.9\" # '#' inside a comment\r\n"
          + "\tnote = \"a # that is no comment, [not.a.table] and x = y\"\r\n"
          + "\tmultiline = \"\"\"\r\n"
          + "[plugins.\"io.containerd.grpc.v1.cri\".registry]\r\n"
          + "config_path = \"/wrong/inside/a/string\"\r\n"
          + "\"\"\"\r\n"
          + "\tliteral = '''\r\n"
          + "config_path = \"/also/wrong\"\r\n"
          + "'''\r\n"
          + "\tcdi_spec_dirs = [\r\n"
          + "\t\t\"/etc/cdi\",   # first\r\n"
          + "\t\t\"/var/run/cdi\", # second\r\n"
          + "\t]\r\n"
          + "\truntimes = { runc = { runtime_type = \"io.containerd.runc.v2\", options = { SystemdCgroup = true } } }\r\n"
          + "\r\n"
          + "[plugins.\"io.containerd.grpc.v1.cri\".registry]#no space before the comment\r\n"
          + "   config_path=\"/etc/containerd/certs.d\"#trailing\r\n"
          + "   [plugins.\"io.containerd.grpc.v1.cri\".registry.headers]\r\n"
          + "     X-Meta = [\"a\", 'b']\r\n";

  /** Not TOML from line 2 on: containerd refuses the whole file, so nothing in it counts. */
  static final String WITH_JUNK =
      """
            version = 2
            this line is not toml at all
            = "no key"
            [broken.header
            still = "in an unknown table"
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/etc/containerd/certs.d"
              weird = "unterminated
            """;

  /** Inline tables carry the registry settings. */
  static final String INLINE_TABLES =
      """
            version = 2
            [plugins."io.containerd.grpc.v1.cri"]
              registry = { config_path = "/etc/containerd/certs.d", mirrors = { "docker.io" = { endpoint = ["https://m.example"] } } }
            """;

  /** A v3 file that kept the v2 plugin id for config_path. */
  static final String V3_WRONG_PLUGIN =
      """
            version = 3
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/etc/containerd/certs.d"
            """;

  static final String ELSEWHERE =
      """
            version = 2
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "/etc/containerd/other.d"
            """;

  // ---------------------------------------------------------------------------------------------

  private static Predicate<String> has(String s) {
    return w -> w.contains(s);
  }

  private static boolean anyWarning(Diagnosis d, String s) {
    return d.warnings().stream().anyMatch(has(s));
  }

  static Stream<Arguments> fixtures() {
    return Stream.of(
        Arguments.of("debian-1.6-default", DEBIAN_16_DEFAULT),
        Arguments.of("debian-1.6-fixed", DEBIAN_16_FIXED),
        Arguments.of("v3-default", V3_DEFAULT),
        Arguments.of("k3s-v3", K3S_V3),
        Arguments.of("k3s-v2", K3S_V2),
        Arguments.of("dotted-top", DOTTED_TOP),
        Arguments.of("dotted-nested", DOTTED_NESTED),
        Arguments.of("dotted-in-plugin", DOTTED_IN_PLUGIN),
        Arguments.of("dotted-redefined", DOTTED_REDEFINED),
        Arguments.of("not-toml", NOT_TOML_AT_ALL),
        Arguments.of("garbage-after-config-path", GARBAGE_AFTER_CONFIG_PATH),
        Arguments.of("multi-v3", MULTI_DIR_V3),
        Arguments.of("multi-v3-local", MULTI_DIR_V3_LOCAL),
        Arguments.of("multi-v2-second", MULTI_DIR_V2_OURS_SECOND),
        Arguments.of("missing-v3", MISSING_V3),
        Arguments.of("deprecated", DEPRECATED_MIRRORS),
        Arguments.of("v1-mirrors", V1_MIRRORS),
        Arguments.of("v1-config-path", V1_CONFIG_PATH),
        Arguments.of("odd-spacing", ODD_SPACING),
        Arguments.of("junk", WITH_JUNK),
        Arguments.of("inline", INLINE_TABLES),
        Arguments.of("v3-wrong-plugin", V3_WRONG_PLUGIN),
        Arguments.of("elsewhere", ELSEWHERE),
        Arguments.of("empty", ""));
  }

  /**
   * Expected: version, configPath, dirs, points-at, use_local, deprecated, major, warning markers.
   */
  static Stream<Arguments> table() {
    return Stream.of(
        Arguments.of(
            DEBIAN_16_DEFAULT,
            2,
            "",
            List.of(),
            false,
            null,
            false,
            "1.x or 2.x",
            List.of("config_path is empty in [plugins.\"io.containerd.grpc.v1.cri\".registry]")),
        Arguments.of(
            DEBIAN_16_FIXED, 2, CERTS, List.of(CERTS), true, null, false, "1.x or 2.x", List.of()),
        Arguments.of(V3_DEFAULT, 3, CERTS, List.of(CERTS), true, false, false, "2.x", List.of()),
        Arguments.of(
            K3S_V2,
            2,
            K3S_CERTS,
            List.of(K3S_CERTS),
            false,
            null,
            false,
            "1.x or 2.x",
            List.of("does not read the agent's hosts.toml")),
        Arguments.of(
            DOTTED_TOP,
            2,
            CERTS + "/",
            List.of(CERTS + "/"),
            true,
            null,
            false,
            "1.x or 2.x",
            List.of()),
        Arguments.of(
            DOTTED_NESTED,
            3,
            CERTS + ":/etc/docker/certs.d",
            List.of(CERTS, "/etc/docker/certs.d"),
            true,
            true,
            false,
            "2.x",
            List.of()),
        Arguments.of(
            DOTTED_IN_PLUGIN,
            3,
            CERTS + ":/etc/docker/certs.d",
            List.of(CERTS, "/etc/docker/certs.d"),
            true,
            true,
            false,
            "2.x",
            List.of()),
        Arguments.of(
            DOTTED_REDEFINED,
            0,
            null,
            List.of(),
            false,
            null,
            false,
            "unknown",
            List.of("config.toml is not valid TOML at line 4, column ")),
        Arguments.of(
            NOT_TOML_AT_ALL,
            0,
            null,
            List.of(),
            false,
            null,
            false,
            "unknown",
            List.of("config.toml is not valid TOML at line 1, column ")),
        Arguments.of(
            GARBAGE_AFTER_CONFIG_PATH,
            0,
            null,
            List.of(),
            false,
            null,
            false,
            "unknown",
            List.of("config.toml is not valid TOML at line 4, column ")),
        Arguments.of(
            MULTI_DIR_V3,
            3,
            CERTS + ":/etc/docker/certs.d",
            List.of(CERTS, "/etc/docker/certs.d"),
            true,
            null,
            false,
            "2.x",
            List.of("containerd issue 12415")),
        Arguments.of(
            MULTI_DIR_V3_LOCAL,
            3,
            CERTS + ":/etc/docker/certs.d",
            List.of(CERTS, "/etc/docker/certs.d"),
            true,
            true,
            false,
            "2.x",
            List.of()),
        Arguments.of(
            MULTI_DIR_V2_OURS_SECOND,
            2,
            "/etc/docker/certs.d:" + CERTS,
            List.of("/etc/docker/certs.d", CERTS),
            true,
            null,
            false,
            "1.x or 2.x",
            List.of("before the agent's", "containerd issue 12415")),
        Arguments.of(
            MISSING_V3,
            3,
            null,
            List.of(),
            false,
            null,
            false,
            "2.x",
            List.of(
                "config_path is not set in [plugins.'io.containerd.cri.v1.images'.registry]",
                "containerd 2.2+ instead defaults")),
        Arguments.of(
            DEPRECATED_MIRRORS,
            2,
            CERTS,
            List.of(CERTS),
            true,
            null,
            true,
            "1.x or 2.x",
            List.of("registry.mirrors, registry.configs")),
        Arguments.of(
            V1_MIRRORS,
            1,
            null,
            List.of(),
            false,
            null,
            true,
            "1.x",
            List.of(
                "no version key",
                "config_path is not set in [plugins.cri.registry]",
                "registry.mirrors")),
        Arguments.of(
            V1_CONFIG_PATH,
            1,
            CERTS,
            List.of(CERTS),
            true,
            null,
            false,
            "1.x",
            List.of("containerd 2.x no longer supports")),
        Arguments.of(
            ODD_SPACING, 2, CERTS, List.of(CERTS), true, null, false, "1.x or 2.x", List.of()),
        Arguments.of(
            WITH_JUNK,
            0,
            null,
            List.of(),
            false,
            null,
            false,
            "unknown",
            List.of("config.toml is not valid TOML at line 2, column ")),
        Arguments.of(
            INLINE_TABLES,
            2,
            CERTS,
            List.of(CERTS),
            true,
            null,
            true,
            "1.x or 2.x",
            List.of("registry.mirrors")),
        Arguments.of(
            V3_WRONG_PLUGIN,
            3,
            CERTS,
            List.of(CERTS),
            true,
            null,
            false,
            "2.x",
            List.of("set under plugin io.containerd.grpc.v1.cri but config.toml is version 3")),
        Arguments.of(
            ELSEWHERE,
            2,
            "/etc/containerd/other.d",
            List.of("/etc/containerd/other.d"),
            false,
            null,
            false,
            "1.x or 2.x",
            List.of("config_path is \"/etc/containerd/other.d\" but the agent writes to")),
        Arguments.of(
            "",
            1,
            null,
            List.of(),
            false,
            null,
            false,
            "1.x",
            List.of("no version key", "config_path is not set")));
  }

  @ParameterizedTest
  @MethodSource("table")
  void extractsValuesAndWarnings(
      String toml,
      int version,
      String configPath,
      List<String> dirs,
      boolean points,
      Boolean local,
      boolean deprecated,
      String major,
      List<String> markers) {
    Diagnosis d = ContainerdConfig.diagnose(toml, CERTS);
    String ctx = d.toString();
    assertEquals(version, d.configVersion(), ctx);
    assertEquals(configPath, d.configPath(), ctx);
    assertEquals(dirs, d.configPathDirs(), ctx);
    assertEquals(points, d.pointsAtCertsDir(), ctx);
    assertEquals(local, d.useLocalImagePull(), ctx);
    assertEquals(deprecated, d.deprecatedRegistrySettings(), ctx);
    assertEquals(major, d.containerdMajor(), ctx);
    for (String m : markers) {
      assertTrue(anyWarning(d, m), "expected a warning containing <" + m + "> in " + d.warnings());
    }
    if (markers.isEmpty()) {
      assertEquals(List.of(), d.warnings());
      assertTrue(d.ok());
    }
    // markers are distinct problems: no more warnings than needed
    assertTrue(d.warnings().size() <= Math.max(1, markers.size()), d.warnings().toString());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void warningsAreLowercaseSelfContainedAndCarryAFix(String name, String toml) {
    Diagnosis d = ContainerdConfig.diagnose(toml, CERTS);
    for (String w : d.warnings()) {
      assertTrue(Character.isLowerCase(w.charAt(0)), name + ": " + w);
      assertFalse(w.endsWith("."), name + ": " + w);
      assertFalse(w.contains("\n"), name + ": " + w);
      assertTrue(
          w.matches(".*(: |, )(set|add|move|use|put|write|mount|fix|keep).*"),
          name + " has no fix: " + w);
    }
  }

  @Test
  void k3sConfigPointsAtK3sCertsDir() {
    Diagnosis d = ContainerdConfig.diagnose(K3S_V3, K3S_CERTS + "/");
    assertEquals(3, d.configVersion());
    assertEquals(K3S_CERTS, d.configPath());
    assertTrue(d.pointsAtCertsDir());
    assertEquals(Boolean.TRUE, d.useLocalImagePull());
    assertEquals(List.of(), d.warnings());

    Diagnosis wrongDir = ContainerdConfig.diagnose(K3S_V3, CERTS);
    assertFalse(wrongDir.pointsAtCertsDir());
    assertEquals(1, wrongDir.warnings().size());
    assertTrue(wrongDir.warnings().get(0).contains("\"" + K3S_CERTS + "\""));
  }

  @Test
  void multiDirectoryWarningNamesBothFixes() {
    Diagnosis d = ContainerdConfig.diagnose(MULTI_DIR_V3, CERTS);
    String w = d.warnings().get(0);
    assertTrue(w.contains("use the single directory \"/etc/containerd/certs.d\""), w);
    assertTrue(w.contains("use_local_image_pull = true"), w);
    assertTrue(w.contains("transfer service"), w);
  }

  @Test
  void explicitlyFalseLocalPullStillWarns() {
    String toml =
        MULTI_DIR_V3_LOCAL.replace("use_local_image_pull = true", "use_local_image_pull = false");
    Diagnosis d = ContainerdConfig.diagnose(toml, CERTS);
    assertEquals(Boolean.FALSE, d.useLocalImagePull());
    assertTrue(anyWarning(d, "12415"));
  }

  @Test
  void emptyDeprecatedTablesDoNotCount() {
    assertFalse(ContainerdConfig.diagnose(DEBIAN_16_FIXED, CERTS).deprecatedRegistrySettings());
    Diagnosis d =
        ContainerdConfig.diagnose(
            DEBIAN_16_FIXED.replace(
                "[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors]",
                "[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]"),
            CERTS);
    assertTrue(
        d.deprecatedRegistrySettings(), "a named mirror, even empty, is a mirror for containerd");
  }

  @Test
  void credentialsInConfigNeverReachWarnings() {
    Diagnosis d = ContainerdConfig.diagnose(DEPRECATED_MIRRORS, CERTS);
    assertTrue(d.deprecatedRegistrySettings());
    for (String w : d.warnings()) {
      assertFalse(w.contains("S3cr3t"), w);
      assertFalse(w.contains("robot"), w);
    }
    assertFalse(d.toString().contains("S3cr3t"));
  }

  @Test
  void importsAreMentionedWhenConfigPathIsMissing() {
    Diagnosis d =
        ContainerdConfig.diagnose(
            """
                version = 2
                imports = ["/etc/containerd/conf.d/*.toml"]
                """,
            CERTS);
    assertTrue(
        anyWarning(d, "imports [\"/etc/containerd/conf.d/*.toml\"]"), d.warnings().toString());
  }

  @Test
  void badVersionTypeIsReported() {
    Diagnosis d = ContainerdConfig.diagnose("version = \"2\"\n", CERTS);
    assertTrue(anyWarning(d, "version = \"2\""), d.warnings().toString());
    assertFalse(anyWarning(d, "no version key"));
  }

  @Test
  void trailingSlashesAndEmptySegmentsAreNormalised() {
    Diagnosis d =
        ContainerdConfig.diagnose(
            """
                version = 2
                [plugins."io.containerd.grpc.v1.cri".registry]
                  config_path = "/etc/containerd/certs.d//:"
                """,
            "/etc/containerd/certs.d/");
    assertEquals(List.of("/etc/containerd/certs.d//"), d.configPathDirs());
    assertTrue(d.pointsAtCertsDir());
    assertEquals(List.of(), d.warnings());
  }

  @Test
  void unreadableFile() {
    Diagnosis d =
        ContainerdConfig.unreadable("/host/etc/containerd/config.toml: NoSuchFileException");
    assertEquals(0, d.configVersion());
    assertNull(d.configPath());
    assertEquals(List.of(), d.configPathDirs());
    assertFalse(d.pointsAtCertsDir());
    assertNull(d.useLocalImagePull());
    assertEquals("unknown", d.containerdMajor());
    assertEquals(1, d.warnings().size());
    assertTrue(
        d.warnings().get(0).startsWith("containerd config.toml could not be read (/host/etc/"));
    assertTrue(ContainerdConfig.unreadable(null).warnings().get(0).contains("unknown reason"));
  }

  @Test
  void readerGivesPlainValuesForTomlOnePointZero() throws Exception {
    Map<String, Object> t =
        TomlReader.read(
            """
                a = "tab\\there \\u00e9 \\"q\\" \\\\"
                b = 'C:\\no\\escapes'
                c = \"\"\"
                line1
                line2 \\
                    continued\"\"\"
                d = [1, 0x10, 0o7, 0b11, 1_000, "s", [true, false], { x = 1 }]
                e.f."g.h" = 3.5
                "quoted key" = 1979-05-27T07:32:00Z
                [t . 'u v' ]
                w = -7
                [[arr]]
                x = true
                """);
    assertEquals("tab\there é \"q\" \\", t.get("a"));
    assertEquals("C:\\no\\escapes", t.get("b"));
    assertEquals("line1\nline2 continued", t.get("c"));
    assertEquals(
        List.of(1L, 16L, 7L, 3L, 1000L, "s", List.of(true, false), Map.of("x", 1L)), t.get("d"));
    assertEquals(Map.of("f", Map.of("g.h", new BigDecimal("3.5"))), t.get("e"));
    assertEquals("1979-05-27T07:32:00Z", t.get("quoted key"));
    assertEquals(Map.of("u v", Map.of("w", -7L)), t.get("t"));
    assertEquals(List.of(Map.of("x", true)), t.get("arr"));
  }

  static Stream<Arguments> junkLines() {
    return Stream.of(
            "this is = = not toml",
            "garbage",
            "= \"no key\"",
            "[broken.header",
            "key = \"unterminated",
            "key =",
            "[[",
            "a = 1 2",
            "b = [1,]]",
            "[plugins",
            "c = { d = 1",
            "e = 0x",
            "f = \"\\q\"",
            "\u0001 = 1")
        .map(Arguments::of);
  }

  /**
   * A bad line anywhere in a valid fixture makes the whole file invalid, reported at that line (or
   * the next one, where the parser only notices there), never a diagnosis of the rest.
   */
  @ParameterizedTest
  @MethodSource("junkLines")
  void aBadLineAnywhereIsReportedWithItsLine(String junk) {
    int cases = 0;
    for (Arguments a : fixtures().toList()) {
      String name = (String) a.get()[0];
      String toml = (String) a.get()[1];
      boolean multiLineValues =
          toml.contains("\"\"\"") || toml.contains("'''") || toml.contains("[\r\n");
      boolean valid = ContainerdConfig.diagnose(toml, CERTS).configVersion() != 0;
      if (multiLineValues || !valid) {
        continue; // a multi-line value could swallow the line
      }
      String[] lines = toml.split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        List<String> withJunk = new ArrayList<>(List.of(lines));
        withJunk.add(i, junk);
        Diagnosis d = ContainerdConfig.diagnose(String.join("\n", withJunk), CERTS);
        String ctx = name + " with <" + junk + "> as line " + (i + 1) + ": " + d;
        assertEquals(0, d.configVersion(), ctx);
        assertEquals(1, d.warnings().size(), ctx);
        String w = d.warnings().get(0);
        assertTrue(
            w.startsWith("config.toml is not valid TOML at line " + (i + 1) + ",")
                || w.startsWith("config.toml is not valid TOML at line " + (i + 2) + ","),
            ctx);
        assertTrue(w.contains("; containerd will refuse to start with it: fix the file"), ctx);
        cases++;
      }
    }
    assertTrue(cases > 100, "only " + cases + " cases");
  }

  @Test
  void aDuplicateVersionKeyIsInvalid() {
    // the second "version" is on line 10; the parser notices at the next token, line 12
    Diagnosis d = ContainerdConfig.diagnose("version = 3\n" + DEBIAN_16_FIXED, CERTS);
    assertTrue(
        anyWarning(
            d,
            "not valid TOML at line 12, column 1: duplicate key: the key-value pair just before "
                + "this position sets a key that is already set"),
        d.warnings().toString());
    // appended at the end it belongs to the last table, [ttrpc]: valid
    assertTrue(ContainerdConfig.diagnose(DEBIAN_16_FIXED + "version = 3\n", CERTS).ok());
  }

  @Test
  void nonStringConfigPathIsReported() {
    Diagnosis d =
        ContainerdConfig.diagnose(
            """
                version = 2
                [plugins."io.containerd.grpc.v1.cri".registry]
                  config_path = ["/etc/containerd/certs.d"]
                """,
            CERTS);
    assertEquals(1, d.warnings().size(), d.warnings().toString());
    assertTrue(
        anyWarning(
            d,
            "config_path under plugin io.containerd.grpc.v1.cri is [\"/etc/containerd/certs.d\"], "
                + "not a string"),
        d.warnings().toString());
  }

  @Test
  void nestingBeyondTheLimitIsNotReadAndSaysSo() {
    int max = ContainerdConfig.MAX_DEPTH;
    String ok = "version = 2\na = " + "[".repeat(max - 1) + "]".repeat(max - 1) + "\n";
    assertEquals(2, ContainerdConfig.diagnose(ok, CERTS).configVersion());
    for (String deep :
        List.of(
            "a = " + "[".repeat(max + 1) + "]".repeat(max + 1) + "\n",
            "a = " + "{ b = ".repeat(max + 1) + "1" + " }".repeat(max + 1) + "\n",
            "[" + "a.".repeat(max + 1) + "b]\n",
            "a = " + "[".repeat(100_000) + "\n")) {
      Diagnosis d = ContainerdConfig.diagnose(deep, CERTS);
      assertEquals(0, d.configVersion());
      assertEquals(1, d.warnings().size(), d.warnings().toString());
      assertTrue(
          d.warnings()
              .get(0)
              .startsWith(
                  "config.toml was not read: it nests tables or arrays more than "
                      + max
                      + " levels deep"),
          d.warnings().toString());
    }
  }

  @Test
  void aFileBeyondTheSizeLimitIsNotRead() {
    StringBuilder sb = new StringBuilder(DEBIAN_16_FIXED);
    while (sb.length() <= ContainerdConfig.MAX_BYTES) {
      sb.append("# padding padding padding padding padding padding padding padding padding\n");
    }
    Diagnosis d = ContainerdConfig.diagnose(sb.toString(), CERTS);
    assertEquals(0, d.configVersion());
    assertTrue(anyWarning(d, "larger than 256 KiB"), d.warnings().toString());
    // up to the limit it is read
    String under =
        DEBIAN_16_FIXED
            + "#".repeat(ContainerdConfig.MAX_BYTES - DEBIAN_16_FIXED.length() - 1)
            + "\n";
    assertEquals(ContainerdConfig.MAX_BYTES, under.length());
    assertTrue(ContainerdConfig.diagnose(under, CERTS).ok());
  }

  @Test
  void fromFile(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("config.toml");
    Files.writeString(f, V3_DEFAULT);
    assertTrue(ContainerdConfig.diagnose(f, CERTS).ok());

    // not UTF-8 on line 3: TOML is UTF-8 only
    byte[] bad = "version = 2\n# ok\nx = \"\u00ff\"\n".getBytes(StandardCharsets.ISO_8859_1);
    Files.write(f, bad);
    Diagnosis d = ContainerdConfig.diagnose(f, CERTS);
    assertTrue(
        anyWarning(
            d, "config.toml is not valid TOML at line 3, column 6: the text is not UTF-8 there"),
        d.warnings().toString());

    Files.writeString(f, "#".repeat(ContainerdConfig.MAX_BYTES + 1));
    assertTrue(anyWarning(ContainerdConfig.diagnose(f, CERTS), "larger than 256 KiB"));

    d = ContainerdConfig.diagnose(dir.resolve("missing.toml"), CERTS);
    assertTrue(
        anyWarning(
            d,
            "containerd config file "
                + dir.resolve("missing.toml")
                + " does not exist, so the agent cannot tell whether containerd reads its"
                + " hosts.toml files"),
        d.warnings().toString());
    assertTrue(
        anyWarning(
            d, "set containerdConfigDir and containerdConfigFile in manifests/node-layout.yaml"),
        d.warnings().toString());
    d = ContainerdConfig.diagnose(dir, CERTS);
    assertTrue(anyWarning(d, "is a directory, not a file"), d.warnings().toString());
  }

  /**
   * Hostile input: random mutations of every fixture never make the diagnosis throw, and every
   * warning keeps the rules (one line, lowercase, no Java class names, no secrets).
   */
  @Test
  void mutatedFilesNeverThrow() {
    Random rnd = new Random(20261202L);
    String alphabet = "[]{}=\"'#.,\n\\ \t\u0000\u00e9\uFFFFabc0129_-+:";
    List<Arguments> all = fixtures().toList();
    int invalid = 0;
    for (int n = 0; n < 3000; n++) {
      StringBuilder sb = new StringBuilder((String) all.get(rnd.nextInt(all.size())).get()[1]);
      int edits = 1 + rnd.nextInt(4);
      for (int e = 0; e < edits && sb.length() > 0; e++) {
        int at = rnd.nextInt(sb.length());
        switch (rnd.nextInt(3)) {
          case 0 -> sb.deleteCharAt(at);
          case 1 -> sb.insert(at, alphabet.charAt(rnd.nextInt(alphabet.length())));
          default -> sb.setLength(at);
        }
      }
      Diagnosis d = ContainerdConfig.diagnose(sb.toString(), CERTS);
      if (d.configVersion() == 0) {
        invalid++;
      }
      for (String w : d.warnings()) {
        assertFalse(w.contains("\n"), w);
        assertFalse(w.contains("Exception"), w);
        assertFalse(w.contains("S3cr3t"), w);
        assertTrue(Character.isLowerCase(w.charAt(0)), w);
      }
    }
    assertTrue(invalid > 300, "only " + invalid + " of 3000 mutations were invalid TOML");
  }
}
