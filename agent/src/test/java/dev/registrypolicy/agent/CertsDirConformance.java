package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import dev.registrypolicy.policy.Problem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * File-system behaviour of the agent, run against every file system a subclass provides (an
 * in-memory Jimfs and a real temp directory). Golden hosts.toml files live in
 * src/test/resources/golden/&lt;dir&gt;/hosts.toml.
 */
abstract class CertsDirConformance {
  Path certs;
  Path bundle;
  CertsDir dir;

  /** A fresh, empty directory on the file system under test. */
  abstract Path newDirectory(String name) throws IOException;

  @BeforeEach
  void setUp() throws IOException {
    certs = newDirectory("certs.d");
    bundle = newDirectory("bundle");
    Fixtures.writeBundle(bundle);
    dir = new CertsDir(certs);
  }

  Plan plan(String policy) throws Exception {
    return NodePlan.plan(
        PolicyParser.parse(policy), SecretStore.directory(bundle), Fixtures.NODE_CERTS);
  }

  String read(String rel) throws IOException {
    return Files.readString(certs.resolve(rel), StandardCharsets.UTF_8);
  }

  @Test
  void apply_rendersGoldenHostsToml() throws Exception {
    Plan p = plan(Fixtures.POLICY);
    CertsDir.Report r = dir.apply(p, false);
    assertTrue(r.errors().isEmpty(), r.errors()::toString);
    assertEquals(
        List.of(
            "_default",
            "docker.io",
            "gcr.io",
            "ghcr.io",
            "lab.corp.example",
            "registry.corp.example:5000"),
        dir.list());
    String sha = PolicyParser.parse(Fixtures.POLICY).sha256().substring(0, 12);
    for (String host : dir.list()) {
      String golden = Golden.read(host + "/hosts.toml").replace("@SHA@", sha);
      assertEquals(golden, read(host + "/hosts.toml"), "golden " + host);
    }
  }

  @Test
  void apply_writesReferencedCertificatesNextToHostsToml() throws Exception {
    dir.apply(plan(Fixtures.POLICY), false);
    List<String> files = ls("docker.io");
    // two CAs, the client certificate and its key, hosts.toml, the owner file
    assertEquals(6, files.size(), files::toString);
    assertTrue(files.contains("hosts.toml"));
    assertTrue(files.contains(NodePlan.OWNER_FILE));
    String caName =
        files.stream().filter(f -> f.startsWith("ca-")).sorted().findFirst().orElseThrow();
    assertTrue(read("docker.io/hosts.toml").contains(Fixtures.NODE_CERTS + "/docker.io/" + caName));
    assertTrue(files.stream().anyMatch(f -> f.startsWith("client-") && f.endsWith(".key")));
  }

  @Test
  void apply_secretFilesAreOwnerOnly() throws Exception {
    dir.apply(plan(Fixtures.POLICY), false);
    if (Files.getFileAttributeView(certs, PosixFileAttributeView.class) == null) {
      return; // no POSIX modes on this file system
    }
    assertEquals(
        "rw-------", mode("docker.io/hosts.toml"), "hosts.toml with an Authorization header");
    String key = ls("docker.io").stream().filter(f -> f.endsWith(".key")).findFirst().orElseThrow();
    assertEquals("rw-------", mode("docker.io/" + key));
    assertEquals("rw-r--r--", mode("ghcr.io/hosts.toml"), "no credentials");
  }

  @Test
  void apply_inParallelWritesTheSameAsSequentially() throws Exception {
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      CertsDir.Report parallel = dir.apply(plan(Fixtures.POLICY), false, pool);
      Path other = newDirectory("certs-sequential");
      CertsDir seq = new CertsDir(other);
      CertsDir.Report sequential = seq.apply(plan(Fixtures.POLICY), false);
      assertEquals(sequential.written(), parallel.written(), "same files, reported in plan order");
      for (String host : dir.list()) {
        assertEquals(
            Files.readString(other.resolve(host).resolve("hosts.toml")),
            read(host + "/hosts.toml"));
      }
      assertTrue(dir.apply(plan(Fixtures.POLICY), false, pool).changedNothing());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void apply_secondRunWritesNothing() throws Exception {
    Plan p = plan(Fixtures.POLICY);
    CertsDir.Report first = dir.apply(p, false);
    assertFalse(first.written().isEmpty());
    long before = Files.getLastModifiedTime(certs.resolve("docker.io/hosts.toml")).toMillis();
    CertsDir.Report second = dir.apply(plan(Fixtures.POLICY), false);
    assertTrue(second.changedNothing(), second::toString);
    assertEquals(first.written().size(), second.unchanged());
    assertEquals(
        before, Files.getLastModifiedTime(certs.resolve("docker.io/hosts.toml")).toMillis());
  }

  @Test
  void apply_repairsDrift() throws Exception {
    Plan p = plan(Fixtures.POLICY);
    dir.apply(p, false);
    String good = read("docker.io/hosts.toml");
    Files.writeString(
        certs.resolve("docker.io/hosts.toml"), good.replace("hub-mirror", "evil-mirror"));
    deleteTree(certs.resolve("ghcr.io"));
    Files.delete(certs.resolve("_default/hosts.toml"));
    CertsDir.Report r = dir.apply(p, false);
    assertEquals(good, read("docker.io/hosts.toml"));
    assertTrue(Files.exists(certs.resolve("ghcr.io/hosts.toml")));
    assertTrue(Files.exists(certs.resolve("_default/hosts.toml")));
    assertTrue(
        r.written()
            .containsAll(
                List.of("docker.io/hosts.toml", "ghcr.io/hosts.toml", "_default/hosts.toml")),
        r::toString);
  }

  @Test
  void apply_restoresAfterWholeCertsDirIsWiped() throws Exception {
    Plan p = plan(Fixtures.POLICY);
    dir.apply(p, false);
    String good = read("registry.corp.example:5000/hosts.toml");
    for (String host : dir.list()) { // rm -rf certs.d/*
      deleteTree(certs.resolve(host));
    }
    dir.apply(p, false);
    assertEquals(good, read("registry.corp.example:5000/hosts.toml"));
  }

  @Test
  void apply_leavesForeignDirectoriesAloneAndReportsThem() throws Exception {
    Files.createDirectories(certs.resolve("ghcr.io"));
    Files.writeString(certs.resolve("ghcr.io/hosts.toml"), "server = \"https://ghcr.io\"\n");
    Files.createDirectories(certs.resolve("quay.io"));
    Files.writeString(certs.resolve("quay.io/hosts.toml"), "# someone else's\n");
    Files.writeString(certs.resolve("quay.io/ca.crt"), "theirs");
    CertsDir.Report r = dir.apply(plan(Fixtures.POLICY), false);
    assertEquals(List.of("ghcr.io"), r.foreign());
    assertEquals("server = \"https://ghcr.io\"\n", read("ghcr.io/hosts.toml"));
    assertEquals("# someone else's\n", read("quay.io/hosts.toml"));
    assertEquals(List.of("ca.crt", "hosts.toml"), ls("quay.io"));
  }

  @Test
  void apply_takesAnEmptyOrHalfWipedDirectoryButNeverRemovesAnUnmarkedOne() throws Exception {
    Plan p = plan(Fixtures.POLICY);
    String ca = caOf(p, "gcr.io");
    Files.createDirectories(certs.resolve("ghcr.io")); // empty: nothing to lose
    Files.createDirectories(certs.resolve("gcr.io")); // only what the plan writes there
    Files.write(
        certs.resolve("gcr.io").resolve(ca), p.dirs().get("gcr.io").files().get(ca).content());
    Files.writeString(certs.resolve("gcr.io/.rp-hosts.toml.0123.tmp"), "a temp file of ours");
    Files.createDirectories(certs.resolve("unrelated.example")); // empty, not in the policy
    CertsDir.Report r = dir.apply(p, false);
    assertTrue(r.foreign().isEmpty(), r::toString);
    assertTrue(read("ghcr.io/hosts.toml").startsWith(HostsToml.MARKER_PREFIX));
    assertTrue(read("gcr.io/hosts.toml").startsWith(HostsToml.MARKER_PREFIX));
    assertFalse(
        Files.exists(certs.resolve("gcr.io/.rp-hosts.toml.0123.tmp")),
        "leftover temp file removed");
    assertTrue(
        Files.isDirectory(certs.resolve("unrelated.example")),
        "an unmarked directory is never removed");
    assertTrue(dir.cleanup().stream().noneMatch(x -> x.startsWith("unrelated.example")));
    assertTrue(Files.isDirectory(certs.resolve("unrelated.example")));
  }

  /** The name of a CA file the plan writes for {@code host}. */
  static String caOf(Plan p, String host) {
    return p.dirs().get(host).files().keySet().stream()
        .filter(f -> f.startsWith("ca-"))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void apply_neverClaimsADirectoryHoldingSomeoneElsesCertificates() throws Exception {
    Plan p = plan(Fixtures.POLICY);
    String ca = caOf(p, "gcr.io");
    // Someone else's CA under a name of the agent's kind that this plan does not write ...
    Files.createDirectories(certs.resolve("ghcr.io"));
    Files.writeString(certs.resolve("ghcr.io/ca-12345678.crt"), "someone else's CA");
    // ... and under the very name the plan writes, with other content.
    Files.createDirectories(certs.resolve("gcr.io"));
    Files.writeString(certs.resolve("gcr.io").resolve(ca), "someone else's CA");
    // A key of the agent's kind next to a file the plan writes.
    Files.createDirectories(certs.resolve("lab.corp.example"));
    Files.writeString(certs.resolve("lab.corp.example/client-0badc0de.key"), "someone else's key");
    for (int pass = 0; pass < 2; pass++) {
      CertsDir.Report r = dir.apply(p, false);
      assertEquals(
          List.of("gcr.io", "ghcr.io", "lab.corp.example"),
          r.foreign().stream().sorted().collect(Collectors.toList()));
      assertEquals(List.of("ca-12345678.crt"), ls("ghcr.io"));
      assertEquals("someone else's CA", read("ghcr.io/ca-12345678.crt"));
      assertEquals(List.of(ca), ls("gcr.io"));
      assertEquals("someone else's CA", read("gcr.io/" + ca));
      assertEquals(List.of("client-0badc0de.key"), ls("lab.corp.example"));
      assertTrue(r.removed().isEmpty(), r::toString);
    }
    assertTrue(
        dir.cleanup().stream().noneMatch(x -> x.startsWith("ghcr.io") || x.startsWith("gcr.io")));
    assertEquals(List.of("ca-12345678.crt"), ls("ghcr.io"));
  }

  @Test
  void apply_missingCertsDirIsAnErrorAndNothingIsCreated() throws Exception {
    Path parent = newDirectory("absent");
    Path missing = parent.resolve("nonexistent").resolve("certs.d");
    CertsDir.Report r = new CertsDir(missing).apply(plan(Fixtures.POLICY), false);
    assertEquals(1, r.errors().size(), r::toString);
    String e = r.errors().get(0);
    assertTrue(
        e.contains(missing.toString())
            && e.contains("does not exist")
            && e.contains("nothing written"),
        e);
    assertTrue(r.written().isEmpty());
    assertEquals(List.of(""), tree(parent), "nothing created");
    Path file = parent.resolve("a-file");
    Files.writeString(file, "x");
    CertsDir.Report notDir = new CertsDir(file).apply(plan(Fixtures.POLICY), false);
    assertTrue(notDir.errors().get(0).contains("is not a directory"), notDir::toString);
    assertEquals("x", Files.readString(file));
    assertEquals(List.of(), new CertsDir(missing).cleanup());
  }

  @Test
  void apply_adoptTakesOverForeignDirectory() throws Exception {
    Files.createDirectories(certs.resolve("ghcr.io"));
    Files.writeString(certs.resolve("ghcr.io/hosts.toml"), "server = \"https://ghcr.io\"\n");
    Files.writeString(certs.resolve("ghcr.io/keep.crt"), "theirs");
    CertsDir.Report r = dir.apply(plan(Fixtures.POLICY), true);
    assertTrue(r.foreign().isEmpty());
    assertTrue(read("ghcr.io/hosts.toml").startsWith(HostsToml.MARKER_PREFIX));
    assertEquals("theirs", read("ghcr.io/keep.crt"));
  }

  @Test
  void apply_removesOwnedHostDroppedFromPolicyButKeepsForeignFilesInIt() throws Exception {
    dir.apply(plan(Fixtures.POLICY), false);
    Files.writeString(certs.resolve("lab.corp.example/notes.txt"), "someone's note");
    String smaller =
        Fixtures.POLICY
            .replace(
                "  - host: ghcr.io\n    upstream: Never\n    mirrors:\n"
                    + "      - url: https://ghcr-mirror.corp.example\n        capabilities: [pull, resolve, push]\n",
                "")
            .replace(
                "  - host: lab.corp.example\n    url: https://lab.corp.example\n    skipVerify: true\n",
                "");
    CertsDir.Report r = dir.apply(plan(smaller), false);
    assertFalse(Files.exists(certs.resolve("ghcr.io")), r::toString);
    assertEquals(List.of("notes.txt"), ls("lab.corp.example"));
    assertTrue(r.removed().contains("ghcr.io/hosts.toml"));
  }

  @Test
  void apply_removesStaleCertificateWhenItChanges() throws Exception {
    dir.apply(plan(Fixtures.POLICY), false);
    List<String> before = ls("registry.corp.example:5000");
    Fixtures.put(bundle, "corp-ca_ca.crt", Fixtures.CA2_PEM.replace("second", "rotated"));
    CertsDir.Report r = dir.apply(plan(Fixtures.POLICY), false);
    List<String> after = ls("registry.corp.example:5000");
    assertEquals(before.size(), after.size());
    assertFalse(before.equals(after));
    assertTrue(
        r.removed().stream().anyMatch(f -> f.startsWith("registry.corp.example:5000/ca-")),
        r::toString);
  }

  @Test
  void apply_doesNotFollowSymlinkedHostDirectory() throws Exception {
    Path outside = newDirectory("outside");
    try {
      Files.createSymbolicLink(certs.resolve("ghcr.io"), outside);
    } catch (UnsupportedOperationException | IOException e) {
      return; // this file system has no symlinks
    }
    CertsDir.Report r = dir.apply(plan(Fixtures.POLICY), false);
    assertTrue(r.foreign().contains("ghcr.io"));
    try (Stream<Path> s = Files.list(outside)) {
      assertEquals(0, s.count(), "nothing written through the symlink");
    }
  }

  @Test
  void apply_warnsWhenEscapedPortDirectoryShadowsOurs() throws Exception {
    Files.createDirectories(certs.resolve("registry.corp.example_5000_"));
    CertsDir.Report r = dir.apply(plan(Fixtures.POLICY), false);
    assertEquals(List.of("registry.corp.example_5000_"), r.shadowed());
  }

  @Test
  void apply_removesLeftoverTempFilesInOwnedDirectories() throws Exception {
    dir.apply(plan(Fixtures.POLICY), false);
    Files.writeString(certs.resolve("docker.io/.rp-hosts.toml.1234.tmp"), "half");
    CertsDir.Report r = dir.apply(plan(Fixtures.POLICY), false);
    assertFalse(Files.exists(certs.resolve("docker.io/.rp-hosts.toml.1234.tmp")));
    assertEquals(List.of("docker.io/.rp-hosts.toml.1234.tmp"), r.removed());
  }

  @Test
  void cleanup_removesOnlyWhatTheAgentOwns() throws Exception {
    Files.createDirectories(certs.resolve("quay.io"));
    Files.writeString(certs.resolve("quay.io/hosts.toml"), "server = \"https://quay.io\"\n");
    dir.apply(plan(Fixtures.POLICY), false);
    Files.writeString(certs.resolve("docker.io/extra.pem"), "theirs");
    List<String> removed = dir.cleanup();
    assertFalse(removed.isEmpty());
    assertEquals(List.of("docker.io", "quay.io"), dir.list());
    assertEquals(List.of("extra.pem"), ls("docker.io"));
    assertEquals(List.of("hosts.toml"), ls("quay.io"));
  }

  @Test
  void resolve_refusesNamesThatEscapeCertsDir() {
    for (String bad : List.of("..", ".", "", "a/b", "../etc", "a\\b", "x\0y")) {
      assertThrows(IllegalArgumentException.class, () -> dir.resolve(bad), bad);
    }
  }

  @Test
  void apply_fsyncsCertsDirAfterCreatingAHostDirectory() throws Exception {
    // At each sync of certs.d, which host directories exist: each must have been there for one.
    List<List<String>> seenAtRootSync = Collections.synchronizedList(new ArrayList<>());
    CertsDir recording =
        new CertsDir(
            certs,
            p -> {
              if (p.equals(certs)) {
                try {
                  seenAtRootSync.add(dir.list());
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              }
              AtomicFiles.fsyncDirectory(p);
            });
    Plan p = plan(Fixtures.POLICY);
    recording.apply(p, false);
    Set<String> synced = new java.util.TreeSet<>();
    seenAtRootSync.forEach(synced::addAll);
    assertEquals(Set.copyOf(dir.list()), synced, "certs.d synced after every new host directory");
    assertEquals(p.dirs().size(), seenAtRootSync.size(), "once per new directory");

    seenAtRootSync.clear();
    recording.apply(p, false);
    assertEquals(List.of(), seenAtRootSync, "no new directory, no sync of certs.d");

    deleteTree(certs.resolve("ghcr.io"));
    recording.apply(p, false);
    assertEquals(1, seenAtRootSync.size(), "the re-created directory");
    assertTrue(seenAtRootSync.get(0).contains("ghcr.io"));
  }

  @Test
  void rootDeleted_isFalseForALiveOrMissingCertsDir() throws Exception {
    dir.apply(plan(Fixtures.POLICY), false);
    assertFalse(dir.rootDeleted(false));
    assertFalse(dir.rootDeleted(true), "the probe succeeds in a live directory");
    assertEquals(
        List.of(),
        dir.list().stream().filter(AtomicFiles::isTemp).collect(Collectors.toList()),
        "probe removed");
    deleteTree(certs);
    assertFalse(
        dir.rootDeleted(true),
        "missing is not deleted-under-a-mount (apply reports it as an error)");
  }

  /** Hosts that would leave certs.d (or pick a directory other than their own) as a path. */
  static final List<String> ESCAPING_HOSTS =
      List.of(
          "../x",
          "a/b",
          "..",
          ".",
          "foo/../../etc",
          "../../etc/containerd",
          "/etc",
          "x/..",
          "..\\x",
          "docker.io/../../x",
          "_default");

  @Test
  void apply_policyWithPathLikeHost_isRejectedWholeAndNothingIsCreated() throws Exception {
    Path outside = certs.getParent();
    List<String> before = tree(outside);
    for (String host : ESCAPING_HOSTS) {
      Path target = certs.resolve(host.replace('\\', '/')).normalize();
      boolean targetExisted = Files.exists(target);
      String quoted = "\"" + host.replace("\\", "\\\\") + "\"";
      // Alone, next to good registries (the whole policy goes), and in the ConfigMap form the agent
      // reads.
      String alone =
          "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\nregistries:\n  - host: "
              + quoted
              + "\n";
      String mixed = Fixtures.POLICY + "  - host: " + quoted + "\n";
      String configMap =
          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: registry-policy, namespace: registry-policy}\n"
              + "data:\n  policy.yaml: |\n"
              + mixed.replaceAll("(?m)^", "    ");
      int index = (int) Fixtures.POLICY.lines().filter(l -> l.startsWith("  - host: ")).count();
      for (String text : List.of(alone, mixed, configMap)) {
        String path = "registries[" + (text.equals(alone) ? 0 : index) + "].host";
        PolicyException e =
            assertThrows(
                PolicyException.class,
                () -> {
                  Plan p =
                      NodePlan.plan(
                          PolicyDocument.parse(text),
                          SecretStore.directory(bundle),
                          Fixtures.NODE_CERTS);
                  dir.apply(p, false);
                },
                host);
        List<String> problems =
            e.problems().stream().map(Problem::toString).collect(Collectors.toList());
        assertTrue(
            problems.stream().anyMatch(pr -> pr.startsWith(path + ": ")),
            () -> host + ": " + problems);
      }
      // The agent's own pass: same result, reported, nothing written.
      Path policyFile =
          newDirectory("policy-" + ESCAPING_HOSTS.indexOf(host)).resolve("policy.yaml");
      Files.writeString(policyFile, configMap);
      Agent agent =
          new Agent(
              new Agent.Options(
                  policyFile,
                  bundle,
                  certs,
                  Fixtures.NODE_CERTS,
                  false,
                  Duration.ofSeconds(60),
                  null),
              new Metrics());
      assertEquals(Agent.Outcome.INVALID, agent.reconcile("test"), host);
      assertTrue(
          agent.problems().stream()
              .map(AgentProblem::detail)
              .anyMatch(
                  pr -> pr.startsWith("policy invalid: registries[") && pr.contains("].host: ")),
          () -> host + ": " + agent.problems());
      Files.delete(policyFile);
      Files.delete(policyFile.getParent());
      try (Stream<Path> inside = Files.list(certs)) {
        assertEquals(0, inside.count(), () -> host + ": nothing inside certs.d");
      }
      assertEquals(before, tree(outside), () -> host + ": nothing next to or outside certs.d");
      assertEquals(targetExisted, Files.exists(target), () -> host + ": " + target);
    }
  }

  /** Every path below {@code top}, relative to it, sorted. */
  static List<String> tree(Path top) throws IOException {
    try (Stream<Path> s = Files.walk(top)) {
      return s.map(p -> top.relativize(p).toString()).sorted().collect(Collectors.toList());
    }
  }

  List<String> ls(String rel) throws IOException {
    try (Stream<Path> s = Files.list(certs.resolve(rel))) {
      return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  String mode(String rel) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(certs.resolve(rel)));
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x :
          s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).collect(Collectors.toList())) {
        Files.delete(x);
      }
    }
  }
}
