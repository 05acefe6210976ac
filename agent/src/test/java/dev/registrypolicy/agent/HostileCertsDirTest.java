package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.agent.NodePlan.HostDir;
import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.policy.PolicyParser;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * certs.d as a hostile node may have it, on the real file system: foreign entries of every name,
 * type and mode never break a pass and are left untouched; failures read the same on every pass,
 * name the file and say the cause in words; a failing pass leaves nothing new behind.
 */
class HostileCertsDirTest {
  @TempDir Path tmp;

  Path certs;
  Path bundle;
  Path outside;
  CertsDir dir;
  final List<AutoCloseable> toClose = new ArrayList<>();
  final List<Path> immutable = new ArrayList<>();

  @BeforeEach
  void setUp() throws IOException {
    assumeTrue(
        System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux"),
        "needs Linux");
    certs = Files.createDirectories(tmp.resolve("certs.d"));
    bundle = tmp.resolve("bundle");
    Fixtures.writeBundle(bundle);
    outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(outside.resolve("hosts.toml"), "# someone else's\n");
    dir = new CertsDir(certs);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (Path p : immutable) {
      FsSnapshot.run(tmp, "chattr", "-i", p.toString());
    }
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  Plan plan() throws Exception {
    return NodePlan.plan(
        PolicyParser.parse(Fixtures.POLICY), SecretStore.directory(bundle), Fixtures.NODE_CERTS);
  }

  /** One foreign entry directly in certs.d: how to make it. */
  interface Maker {
    void make(Path certs) throws Exception;
  }

  /** Every kind of foreign entry: by type (some named as a host the plan wants), mode and name. */
  Map<String, Maker> foreignEntries() {
    Map<String, Maker> m = new TreeMap<>();
    m.put(
        "symlink to a directory outside, named as a planned host",
        c -> Files.createSymbolicLink(c.resolve("ghcr.io"), outside));
    m.put(
        "dangling symlink, named as a planned host",
        c -> Files.createSymbolicLink(c.resolve("gcr.io"), tmp.resolve("nowhere")));
    m.put("symlink loop", c -> Files.createSymbolicLink(c.resolve("loop"), c.resolve("loop")));
    m.put(
        "symlink to a file outside",
        c -> Files.createSymbolicLink(c.resolve("etc-like"), outside.resolve("hosts.toml")));
    m.put(
        "regular file, named as a planned host",
        c -> Files.writeString(c.resolve("lab.corp.example"), "a file"));
    m.put(
        "regular file, mode 000",
        c -> {
          Files.writeString(c.resolve("locked.file"), "x");
          Files.setPosixFilePermissions(
              c.resolve("locked.file"), PosixFilePermissions.fromString("---------"));
        });
    m.put(
        "FIFO, named as a planned host",
        c -> assertEquals(0, FsSnapshot.run(c, "mkfifo", "_default")));
    m.put("FIFO", c -> assertEquals(0, FsSnapshot.run(c, "mkfifo", "a.fifo")));
    m.put(
        "socket, named as a planned host",
        c -> bindSocket(c.resolve("registry.corp.example:5000")));
    m.put("socket", c -> bindSocket(c.resolve("a.sock")));
    m.put(
        "unreadable directory (mode 000) with a file",
        c -> {
          Files.createDirectories(c.resolve("locked.dir"));
          Files.writeString(c.resolve("locked.dir/hosts.toml"), "x");
          Files.setPosixFilePermissions(
              c.resolve("locked.dir"), PosixFilePermissions.fromString("---------"));
        });
    m.put("directory named a\\b", c -> Files.createDirectories(c.resolve("a\\b")).resolve("x"));
    m.put("directory named with a newline", c -> Files.createDirectories(c.resolve("a\nb")));
    m.put(
        "directory named with a tab and a control character",
        c -> Files.createDirectories(c.resolve("a\tb\u0001")));
    m.put(
        "directory named with non-UTF-8 bytes",
        c -> assertEquals(0, FsSnapshot.run(c, "sh", "-c", "mkdir \"$(printf 'x\\377\\376y')\"")));
    m.put(
        "directory with a 255-byte name", c -> Files.createDirectories(c.resolve("d".repeat(255))));
    m.put(
        "directory named as a temp file",
        c -> Files.createDirectories(c.resolve(".rp-hosts.toml.1.tmp")));
    m.put("directory named as our files", c -> Files.createDirectories(c.resolve("hosts.toml")));
    m.put(
        "directory named with spaces and a leading dash",
        c -> Files.createDirectories(c.resolve("-x y")));
    m.put("directory named ...", c -> Files.createDirectories(c.resolve("...")));
    m.put(
        "directory with the owner file as a directory",
        c -> {
          Files.createDirectories(c.resolve("quay.io").resolve(NodePlan.OWNER_FILE));
        });
    m.put(
        "directory whose hosts.toml is a symlink to a marked file outside",
        c -> {
          Files.writeString(
              outside.resolve("marked.toml"), HostsToml.MARKER_PREFIX + "; policy-sha256=x\n");
          Files.createDirectories(c.resolve("mirror.example"));
          Files.createSymbolicLink(
              c.resolve("mirror.example/hosts.toml"), outside.resolve("marked.toml"));
        });
    return m;
  }

  void bindSocket(Path p) throws IOException {
    ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    ch.bind(UnixDomainSocketAddress.of(p));
    toClose.add(ch);
  }

  @Test
  void foreignEntriesOfEveryKind_neverBreakAPassAndAreLeftUntouched() throws Exception {
    Plan p = plan();
    List<String> planned = List.copyOf(p.dirs().keySet());
    for (Map.Entry<String, Maker> kind : foreignEntries().entrySet()) {
      // Each kind alone, then all together below.
      CertsDirConformance.deleteTree(certs);
      Files.createDirectories(certs);
      kind.getValue().make(certs);
      checkPasses(p, planned, kind.getKey());
      for (AutoCloseable c : toClose) {
        c.close();
      }
      toClose.clear();
    }
    CertsDirConformance.deleteTree(certs);
    Files.createDirectories(certs);
    for (Maker m : foreignEntries().values()) {
      m.make(certs);
    }
    checkPasses(p, planned, "all kinds together");
  }

  private void checkPasses(Plan p, List<String> planned, String kind) throws Exception {
    Map<String, String> foreignBefore = FsSnapshot.of(certs, x -> !isOurs(x, planned));
    Map<String, String> outsideBefore = FsSnapshot.of(outside, x -> true);
    CertsDir.Report first = dir.apply(p, false);
    assertEquals(List.of(), first.errors(), kind);
    for (String host : planned) {
      Path d = certs.resolve(host);
      if (Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        assertTrue(
            Files.readString(d.resolve("hosts.toml")).startsWith(HostsToml.MARKER_PREFIX),
            kind + ": " + host);
      } else {
        assertTrue(
            first.foreign().contains(host), kind + ": " + host + " reported foreign: " + first);
      }
    }
    CertsDir.Report second = dir.apply(p, false);
    assertEquals(List.of(), second.errors(), kind);
    assertTrue(second.changedNothing(), () -> kind + ": " + second);
    dir.cleanup();
    assertEquals(
        foreignBefore,
        FsSnapshot.of(certs, x -> !isOurs(x, planned)),
        kind + ": foreign entries untouched");
    assertEquals(
        outsideBefore,
        FsSnapshot.of(outside, x -> true),
        kind + ": nothing outside certs.d changed");
  }

  /**
   * Whether {@code p} is certs.d itself or inside a host directory the plan writes (a real
   * directory).
   */
  private boolean isOurs(Path p, List<String> planned) {
    if (p.equals(certs)) {
      return true;
    }
    Path first = certs.relativize(p).getName(0);
    return planned.contains(first.toString())
        && Files.isDirectory(certs.resolve(first), java.nio.file.LinkOption.NOFOLLOW_LINKS);
  }

  @Test
  void immutableHostDirectory_givesTheSameErrorEveryPass_namingFileAndCause() throws Exception {
    Plan p = plan();
    dir.apply(p, false);
    Path docker = certs.resolve("docker.io");
    Files.writeString(
        docker.resolve("hosts.toml"), Files.readString(docker.resolve("hosts.toml")) + "# drift\n");
    if (FsSnapshot.run(tmp, "chattr", "+i", docker.toString()) == 0) {
      immutable.add(docker);
    } else {
      assumeTrue(
          !"root".equals(System.getProperty("user.name")),
          "chattr +i unavailable and root ignores modes");
      Files.setPosixFilePermissions(docker, PosixFilePermissions.fromString("r-xr-xr-x"));
    }
    Map<String, String> before = FsSnapshot.of(certs, x -> true);
    List<String> first = dir.apply(p, false).errors();
    List<String> second = dir.apply(p, false).errors();
    assertEquals(1, first.size(), first::toString);
    assertEquals(first, second, "the same text for the same cause");
    String e = first.get(0);
    assertTrue(e.startsWith("docker.io/hosts.toml: cannot "), e);
    assertTrue(e.contains("operation not permitted") || e.contains("permission denied"), e);
    assertCleanText(e);
    assertEquals(
        before, FsSnapshot.of(certs, x -> true), "a failing pass leaves nothing new behind");
  }

  @Test
  void hostsTomlThatIsADirectory_givesTheSameErrorEveryPass_andNoLeftovers() throws Exception {
    Plan p = plan();
    dir.apply(p, false);
    Path toml = certs.resolve("ghcr.io/hosts.toml");
    Files.delete(toml);
    Files.createDirectories(toml.resolve("inside"));
    List<String> first = dir.apply(p, false).errors();
    List<String> second = dir.apply(p, false).errors();
    assertEquals(
        List.of(
            "ghcr.io/hosts.toml: cannot rename into place: is a directory; retried on the next pass"),
        first);
    assertEquals(first, second);
    try (Stream<Path> s = Files.list(certs.resolve("ghcr.io"))) {
      assertEquals(
          List.of(),
          s.map(x -> x.getFileName().toString())
              .filter(AtomicFiles::isTemp)
              .collect(Collectors.toList()),
          "the temp file is removed");
    }
    assertTrue(Files.isDirectory(toml.resolve("inside")), "someone's directory is not removed");
  }

  @Test
  void hostDirectoryNameTooLong_isAnErrorInWords() throws Exception {
    Plan p = plan();
    HostDir ghcr = p.dirs().get("ghcr.io");
    String longName = "h".repeat(300);
    Map<String, HostDir> dirs = new TreeMap<>();
    dirs.put(longName, new HostDir(longName, ghcr.hostsToml(), ghcr.files()));
    dirs.put("ghcr.io", ghcr);
    Plan withLong = new Plan(p.policySha256(), new TreeMap<>(dirs));
    CertsDir.Report r = dir.apply(withLong, false);
    assertEquals(
        List.of(
            longName
                + ": cannot look up the directory: file name too long; retried on the next pass"),
        r.errors());
    assertTrue(Files.exists(certs.resolve("ghcr.io/hosts.toml")), "the other hosts are written");
    assertEquals(r.errors(), dir.apply(withLong, false).errors());
  }

  @Test
  void fullDisk_failsInWordsAndLeavesNoNewEntries() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("small"));
    assumeTrue(
        FsSnapshot.run(tmp, "mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt.toString())
            == 0,
        "needs to mount a 256 KiB tmpfs (root with CAP_SYS_ADMIN)");
    toClose.add(() -> FsSnapshot.run(tmp, "umount", mnt.toString()));
    Path small = Files.createDirectories(mnt.resolve("certs.d"));
    CertsDir sd = new CertsDir(small);
    Plan p = plan();
    assertEquals(List.of(), sd.apply(p, false).errors());
    // Change a file and remove a host directory, fill the file system: the pass must fail, saying
    // why, and create nothing.
    Files.writeString(small.resolve("docker.io/hosts.toml"), "# drift\n");
    CertsDirConformance.deleteTree(small.resolve("ghcr.io"));
    byte[] chunk = new byte[1024];
    try (java.io.OutputStream out = Files.newOutputStream(mnt.resolve("filler"))) {
      for (int i = 0; i < 1024; i++) {
        out.write(chunk);
      }
    } catch (IOException full) {
      // the disk is full now
    }
    Map<String, String> before = FsSnapshot.of(small, x -> true);
    CertsDir.Report r = sd.apply(p, false);
    assertFalse(r.errors().isEmpty());
    for (String e : r.errors()) {
      assertTrue(e.contains("no space left on device"), e);
      assertCleanText(e);
    }
    assertTrue(
        r.errors().stream().anyMatch(e -> e.startsWith("docker.io/hosts.toml: ")), r::toString);
    assertTrue(
        r.errors().stream().anyMatch(e -> e.startsWith("ghcr.io: cannot create the directory")),
        r::toString);
    assertEquals(before, FsSnapshot.of(small, x -> true), "nothing created, nothing left behind");
    assertEquals(r.errors(), sd.apply(p, false).errors(), "the same text on the next pass");
    Files.delete(mnt.resolve("filler"));
    assertEquals(List.of(), sd.apply(p, false).errors(), "recovers once there is room");
  }

  static void assertCleanText(String e) {
    assertFalse(e.contains(AtomicFiles.TEMP_PREFIX), () -> "no temp-file name: " + e);
    assertFalse(e.contains("Exception"), () -> "no class name: " + e);
  }
}
