package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.policy.PolicyParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Someone with write access to certs.d swaps entries while the agent writes and removes: host
 * directories for symlinks to a victim directory outside certs.d (just created, being written,
 * being removed), temp files for symlinks and hard links to victim files, our files for symlinks,
 * and host directories for other directories. One thread does the swaps (bounded in time and
 * count), the test thread runs {@link CertsDir#apply} and {@link CertsDir#cleanup} in a loop.
 *
 * <p>Asserted: nothing outside certs.d changes (every entry's type, mode, inode, size, mtime and
 * content, snapshotted before and compared after); the foreign directories swapped in keep their
 * files; no file in certs.d holding credentials or a key is ever readable by group or others
 * (sampled during the run and checked at the end); no exception escapes a pass. The victim
 * directory holds look-alikes of every file the agent writes or removes (marker, owner file, {@code
 * ca-*}, {@code client-*.key}, a temp file), so a path re-resolved through a swapped symlink would
 * hit one of them. The figures are printed ({@code [race]} lines) and recorded in agent/README.md.
 */
class SymlinkRaceTest {
  private static final long SEED = Long.getLong("rp.race.seed", 20_261_202L);
  private static final int MAX_PASSES = Integer.getInteger("rp.race.passes", 300);
  private static final long MAX_MILLIS = Long.getLong("rp.race.millis", 5_000L);
  private static final int MAX_SWAPS = 5_000;
  private static final Set<PosixFilePermission> GROUP_OR_OTHER =
      Set.of(
          PosixFilePermission.GROUP_READ,
          PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.OTHERS_READ,
          PosixFilePermission.OTHERS_WRITE);

  @TempDir Path tmp;

  Path certs;
  Path victim;
  CertsDir dir;
  Plan full;
  Plan changed;
  Plan smaller;
  ExecutorService pool;
  final Random random = new Random(SEED);

  @BeforeEach
  void setUp() throws Exception {
    assumeTrue(
        System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux"),
        "needs Linux");
    certs = Files.createDirectories(tmp.resolve("certs.d"));
    Path bundle = tmp.resolve("bundle");
    Fixtures.writeBundle(bundle);
    victim = Files.createDirectories(tmp.resolve("victim"));
    put(
        victim.resolve("hosts.toml"),
        HostsToml.MARKER_PREFIX + "; policy-sha256=victim\nserver = \"x\"\n",
        "rw-r--r--");
    put(victim.resolve(NodePlan.OWNER_FILE), "", "rw-r--r--");
    put(victim.resolve("ca-12345678.crt"), "victim CA", "rw-r--r--");
    put(victim.resolve("client-12345678.crt"), "victim client cert", "rw-r--r--");
    put(victim.resolve("client-12345678.key"), "victim key", "rw-------");
    put(victim.resolve(".rp-hosts.toml.1.tmp"), "victim temp", "rw-r-----");
    put(victim.resolve("secret.txt"), "victim secret", "r--------");
    put(victim.resolve("linked.txt"), "victim file that gets hard-linked", "rw-r--r--");
    full =
        NodePlan.plan(
            PolicyParser.parse(Fixtures.POLICY),
            SecretStore.directory(bundle),
            Fixtures.NODE_CERTS);
    changed =
        NodePlan.plan(
            PolicyParser.parse(
                Fixtures.POLICY
                    .replace("hub-mirror", "hub-mirror-b")
                    .replace("ghcr-mirror", "ghcr-mirror-b")),
            SecretStore.directory(bundle),
            Fixtures.NODE_CERTS);
    String dropped =
        Fixtures.POLICY
            .replace(
                "  - host: ghcr.io\n    upstream: Never\n    mirrors:\n"
                    + "      - url: https://ghcr-mirror.corp.example\n        capabilities: [pull, resolve, push]\n",
                "")
            .replace(
                "  - host: lab.corp.example\n    url: http://lab.corp.example\n    skipVerify: true\n",
                "");
    smaller =
        NodePlan.plan(
            PolicyParser.parse(dropped), SecretStore.directory(bundle), Fixtures.NODE_CERTS);
    assertTrue(smaller.dirs().size() < full.dirs().size(), "the smaller plan drops hosts");
    dir = new CertsDir(certs);
    pool = Executors.newFixedThreadPool(4);
  }

  @AfterEach
  void tearDown() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  static void put(Path p, String content, String mode) throws IOException {
    Files.writeString(p, content, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
  }

  /** What one scenario did. */
  static final class Figures {
    final AtomicInteger passes = new AtomicInteger();
    final AtomicInteger swaps = new AtomicInteger();
    final AtomicInteger samples = new AtomicInteger();
    final AtomicInteger tamperErrors = new AtomicInteger();
    final AtomicInteger otherErrors = new AtomicInteger();
    final AtomicInteger cleanupFailures = new AtomicInteger();
    final List<String> readable = Collections.synchronizedList(new ArrayList<>());
    final Set<String> errorTexts = Collections.synchronizedSet(new java.util.TreeSet<>());
    final List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
  }

  /** One swap attempt by the attacker; returns whether it changed anything. */
  interface Attack {
    boolean once(Random r) throws IOException;
  }

  @Test
  void hostDirectorySwappedForSymlink_whileCreatedWrittenAndRemoved() throws Exception {
    race(
        "host dir -> symlink",
        r -> {
          List<Path> dirs = hostDirs();
          if (dirs.isEmpty()
              || dirs.stream().filter(x -> x.getFileName().toString().startsWith(".moved-")).count()
                  > 20) {
            dropSomeLinks(r);
            Thread.yield(); // let the agent remove what was moved aside before swapping more
            return false;
          }
          Path d = dirs.get(r.nextInt(dirs.size()));
          Path away = certs.resolve(".moved-" + r.nextInt(1_000_000));
          try {
            Files.move(d, away, StandardCopyOption.ATOMIC_MOVE);
            Files.createSymbolicLink(d, victim);
            return true;
          } catch (IOException e) {
            return false; // lost the race to the agent
          } finally {
            dropSomeLinks(r);
          }
        });
  }

  @Test
  void tempFileSwappedForSymlinkOrHardLink() throws Exception {
    race(
        "temp file -> symlink/hard link",
        r -> {
          boolean any = false;
          for (Path d : hostDirs()) {
            for (Path t : list(d)) {
              if (!AtomicFiles.isTemp(t.getFileName().toString())) {
                continue;
              }
              Path staged = d.resolve(".attack-" + r.nextInt(1_000_000));
              try {
                if (r.nextBoolean()) {
                  Files.createSymbolicLink(
                      staged, victim.resolve(r.nextBoolean() ? "secret.txt" : "hosts.toml"));
                } else {
                  Files.createLink(staged, victim.resolve("linked.txt"));
                }
                Files.move(staged, t, StandardCopyOption.ATOMIC_MOVE); // rename over the temp file
                any = true;
              } catch (IOException e) {
                Files.deleteIfExists(staged);
              }
            }
          }
          return any;
        });
  }

  @Test
  void ownFilesSwappedForSymlinks_andDirectoriesForOtherDirectories() throws Exception {
    AtomicInteger foreignMade = new AtomicInteger();
    race(
        "own file -> symlink, dir -> other dir",
        r -> {
          List<Path> dirs = hostDirs();
          if (dirs.isEmpty()) {
            return false;
          }
          Path d = dirs.get(r.nextInt(dirs.size()));
          try {
            if (Files.exists(d.resolve("notes.txt"), LinkOption.NOFOLLOW_LINKS)) {
              return false; // a foreign directory swapped in earlier: its files are checked at the
              // end
            }
            if (r.nextBoolean()) {
              List<Path> files =
                  list(d).stream()
                      .filter(f -> !f.getFileName().toString().startsWith(".attack"))
                      .collect(Collectors.toList());
              if (files.isEmpty()) {
                return false;
              }
              Path f = files.get(r.nextInt(files.size()));
              Path staged = d.resolve(".attack-" + r.nextInt(1_000_000));
              Files.createSymbolicLink(
                  staged, victim.resolve(r.nextBoolean() ? "client-12345678.key" : "hosts.toml"));
              Files.move(staged, f, StandardCopyOption.ATOMIC_MOVE);
              return true;
            }
            int n = foreignMade.incrementAndGet();
            Path foreign = Files.createDirectories(certs.resolve(".foreign-" + n));
            Files.writeString(foreign.resolve("notes.txt"), "foreign " + n);
            Files.writeString(foreign.resolve("ca-12345678.crt"), "foreign CA " + n);
            Files.move(
                d, certs.resolve(".moved-" + r.nextInt(1_000_000)), StandardCopyOption.ATOMIC_MOVE);
            Files.move(foreign, d, StandardCopyOption.ATOMIC_MOVE);
            return true;
          } catch (IOException e) {
            return false;
          }
        });
    // Every foreign directory swapped in still holds exactly its two files, wherever it now is in
    // certs.d.
    Map<String, String> foreignFiles = new TreeMap<>();
    try (Stream<Path> s = Files.walk(certs)) {
      for (Path p :
          s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
              .collect(Collectors.toList())) {
        String text = Files.readString(p, StandardCharsets.ISO_8859_1);
        if (text.startsWith("foreign ")) {
          foreignFiles.put(text, p.getFileName().toString());
        }
      }
    }
    for (int n = 1; n <= foreignMade.get(); n++) {
      assertEquals("notes.txt", foreignFiles.get("foreign " + n), "foreign notes " + n);
      assertEquals("ca-12345678.crt", foreignFiles.get("foreign CA " + n), "foreign CA " + n);
    }
  }

  /**
   * Runs the agent's passes (full plan, changed plan, smaller plan, cleanup; sequential and
   * parallel) against the attack until {@link #MAX_PASSES} or {@link #MAX_MILLIS}, whichever is
   * first, then checks that nothing outside certs.d changed.
   */
  private void race(String name, Attack attack) throws Exception {
    Map<String, String> outsideBefore = FsSnapshot.of(tmp, p -> !p.startsWith(certs));
    Figures f = new Figures();
    AtomicBoolean stop = new AtomicBoolean();
    Random attackerRandom = new Random(random.nextLong());
    Thread attacker =
        new Thread(
            () -> {
              int i = 0;
              while (!stop.get() && f.swaps.get() < MAX_SWAPS) {
                try {
                  if (attack.once(attackerRandom)) {
                    f.swaps.incrementAndGet();
                  }
                  if (++i % 25 == 0) {
                    sampleModes(f);
                  }
                } catch (IOException | RuntimeException e) {
                  // the agent moved something first; try again
                }
              }
            },
            "attacker");
    attacker.setDaemon(true);
    attacker.start();
    Plan[] cycle = {full, changed, smaller, full, null};
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_MILLIS);
    try {
      for (int pass = 0; pass < MAX_PASSES && System.nanoTime() < deadline; pass++) {
        Plan p = cycle[pass % cycle.length];
        try {
          if (p == null) {
            dir.cleanup();
          } else {
            CertsDir.Report r = dir.apply(p, false, pass % 2 == 0 ? pool : null);
            for (String e : r.errors()) {
              (e.contains("replaced") || e.contains("moved") ? f.tamperErrors : f.otherErrors)
                  .incrementAndGet();
              f.errorTexts.add(e.replaceAll("\\.moved-[0-9]+", ".moved-N"));
              HostileCertsDirTest.assertCleanText(e);
            }
          }
        } catch (IOException e) {
          f.cleanupFailures.incrementAndGet();
        } catch (RuntimeException | AssertionError e) {
          f.unexpected.add(e);
        }
        f.passes.incrementAndGet();
      }
    } finally {
      stop.set(true);
      attacker.join(TimeUnit.SECONDS.toMillis(30));
    }
    sampleModes(f);
    Map<String, String> outsideAfter = FsSnapshot.of(tmp, p -> !p.startsWith(certs));
    int changedOutside = diff(outsideBefore, outsideAfter);
    System.out.printf(
        "[race] %s: %d passes, %d swaps made, %d passes reported a swap they caught, %d other errors, "
            + "%d cleanups failed, %d mode samples, %d writes outside certs.d, %d credential files readable by others%n",
        name,
        f.passes.get(),
        f.swaps.get(),
        f.tamperErrors.get(),
        f.otherErrors.get(),
        f.cleanupFailures.get(),
        f.samples.get(),
        changedOutside,
        f.readable.size());
    f.errorTexts.stream().limit(8).forEach(e -> System.out.println("[race]   error seen: " + e));
    assertEquals(List.of(), f.unexpected, "no exception escapes a pass");
    assertEquals(outsideBefore, outsideAfter, "nothing outside certs.d changed");
    assertEquals(
        List.of(), f.readable, "credential and key files in certs.d are never readable by others");
    assertTrue(f.swaps.get() > 0, "the attacker made swaps");
    // And the agent converges once the attack stops.
    removeLinksAtHostNames();
    CertsDir.Report settled = dir.apply(full, false);
    CertsDir.Report again = dir.apply(full, false);
    assertTrue(
        again.changedNothing() && again.errors().isEmpty(), () -> settled + " then " + again);
  }

  private static int diff(Map<String, String> a, Map<String, String> b) {
    Set<String> keys = new java.util.TreeSet<>(a.keySet());
    keys.addAll(b.keySet());
    return (int) keys.stream().filter(k -> !java.util.Objects.equals(a.get(k), b.get(k))).count();
  }

  /** Real directories directly in certs.d (host directories and the ones moved aside). */
  private List<Path> hostDirs() throws IOException {
    return list(certs).stream()
        .filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
        .collect(Collectors.toList());
  }

  private static List<Path> list(Path d) {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
      ds.forEach(out::add);
    } catch (IOException e) {
      // moved or removed meanwhile
    }
    return out;
  }

  /**
   * Removes some symlinks at host names, so that the agent creates the directories anew (and can be
   * raced again).
   */
  private void dropSomeLinks(Random r) throws IOException {
    for (Path p : list(certs)) {
      if (Files.isSymbolicLink(p) && r.nextInt(3) == 0) {
        Files.deleteIfExists(p);
      }
    }
  }

  private void removeLinksAtHostNames() throws IOException {
    for (Path p : list(certs)) {
      if (Files.isSymbolicLink(p)) {
        Files.delete(p);
      }
    }
  }

  /**
   * Every regular file in certs.d holding credentials or a key must be readable by its owner only.
   */
  private void sampleModes(Figures f) {
    f.samples.incrementAndGet();
    try (Stream<Path> s = Files.walk(certs)) {
      for (Path p : s.collect(Collectors.toList())) {
        try {
          if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            continue;
          }
          Set<PosixFilePermission> mode =
              Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
          String text = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
          if ((text.contains("Authorization") || text.contains("PRIVATE KEY"))
              && mode.stream().anyMatch(GROUP_OR_OTHER::contains)) {
            f.readable.add(certs.relativize(p) + " " + PosixFilePermissions.toString(mode));
          }
        } catch (IOException e) {
          // renamed or removed between listing and reading
        }
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      // a directory vanished under the walk; the next sample covers it
    }
  }
}
