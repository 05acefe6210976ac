package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.FileSpec;
import dev.registrypolicy.agent.NodePlan.HostDir;
import dev.registrypolicy.agent.NodePlan.Plan;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * containerd's certs.d as the agent manages it. A host directory is the agent's when it holds
 * {@link NodePlan#OWNER_FILE} or its hosts.toml starts with the marker line; the agent changes or
 * removes only such directories, and within them only files it writes (hosts.toml, the owner file,
 * {@code ca-*.crt}, {@code client-*.crt|key}, its temp files). Symlinks are never followed.
 */
final class CertsDir {
  private static final Pattern OWN_FILE = Pattern.compile("(ca-[0-9a-f]{8}\\.crt|client-[0-9a-f]{8}\\.(crt|key))");

  private final Path root;
  /** Makes new entries of a directory durable: {@link AtomicFiles#fsyncDirectory}, or a recorder in tests. */
  private final Consumer<Path> syncDirectory;

  CertsDir(Path root) {
    this(root, AtomicFiles::fsyncDirectory);
  }

  CertsDir(Path root, Consumer<Path> syncDirectory) {
    this.root = root;
    this.syncDirectory = syncDirectory;
  }

  Path root() {
    return root;
  }

  /** What one apply did; paths are relative to certs.d. */
  record Report(
      List<String> written,
      int unchanged,
      List<String> removed,
      List<String> foreign,
      List<String> shadowed,
      List<String> errors) {
    Report {
      written = List.copyOf(written);
      removed = List.copyOf(removed);
      foreign = List.copyOf(foreign);
      shadowed = List.copyOf(shadowed);
      errors = List.copyOf(errors);
    }

    boolean changedNothing() {
      return written.isEmpty() && removed.isEmpty();
    }
  }

  /**
   * Makes certs.d match the plan: writes what differs, removes owned directories the plan no
   * longer has, and leaves everything else alone. {@code adopt} takes over unmanaged directories
   * the plan wants. Failures are per directory: one bad host does not stop the others.
   */
  Report apply(Plan plan, boolean adopt) throws IOException {
    return apply(plan, adopt, null);
  }

  /**
   * As {@link #apply(Plan, boolean)}, writing host directories in parallel on {@code pool} (each
   * directory's own order is kept: owner file, certificates, hosts.toml last). Most of a write's
   * cost is fsync, so this shortens re-assertion after a wipe. A null pool writes sequentially.
   */
  Report apply(Plan plan, boolean adopt, java.util.concurrent.ExecutorService pool) throws IOException {
    if (!Files.isDirectory(root)) {
      Files.createDirectories(root);
      Path parent = root.toAbsolutePath().getParent();
      if (parent != null) {
        syncDirectory.accept(parent);
      }
    }
    List<DirResult> results = new ArrayList<>();
    if (pool == null || plan.dirs().size() < 2) {
      for (HostDir hd : plan.dirs().values()) {
        results.add(applyDir(hd, adopt));
      }
    } else {
      List<java.util.concurrent.Future<DirResult>> futures = new ArrayList<>();
      for (HostDir hd : plan.dirs().values()) {
        futures.add(pool.submit(() -> applyDir(hd, adopt)));
      }
      for (java.util.concurrent.Future<DirResult> f : futures) {
        try {
          results.add(f.get());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while writing certs.d", e);
        } catch (java.util.concurrent.ExecutionException e) {
          throw new IOException("writing certs.d failed", e.getCause());
        }
      }
    }
    List<String> written = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    List<String> foreign = new ArrayList<>();
    List<String> shadowed = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    int unchanged = 0;
    for (DirResult d : results) {
      written.addAll(d.written);
      removed.addAll(d.removed);
      foreign.addAll(d.foreign);
      shadowed.addAll(d.shadowed);
      errors.addAll(d.errors);
      unchanged += d.unchanged;
    }
    for (String name : list()) {
      if (plan.dirs().containsKey(name) || plan.held().containsKey(name)) {
        continue; // a held host keeps whatever it has
      }
      Path dir = resolve(name);
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(dir) && owned(dir)) {
        try {
          removed.addAll(removeOwned(name));
        } catch (IOException e) {
          errors.add(name + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
      }
    }
    return new Report(written, unchanged, removed, foreign, shadowed, errors);
  }

  /** What applying one host directory did. */
  private static final class DirResult {
    final List<String> written = new ArrayList<>();
    final List<String> removed = new ArrayList<>();
    final List<String> foreign = new ArrayList<>();
    final List<String> shadowed = new ArrayList<>();
    final List<String> errors = new ArrayList<>();
    int unchanged;
  }

  private DirResult applyDir(HostDir hd, boolean adopt) {
    DirResult res = new DirResult();
    Path dir = resolve(hd.name());
    try {
      if (Files.isSymbolicLink(dir) || (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS))) {
        res.foreign.add(hd.name());
        return res;
      }
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && !claimable(dir) && !adopt) {
        res.foreign.add(hd.name());
        return res;
      }
      String escaped = escapedPortForm(hd.name());
      if (escaped != null && Files.exists(resolve(escaped), LinkOption.NOFOLLOW_LINKS) && !owned(resolve(escaped))) {
        res.shadowed.add(escaped);
      }
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectories(dir);
        // The new entry in certs.d must survive a power loss like the files written into it.
        syncDirectory.accept(root);
      }
      // The owner file first (ownership before content), hosts.toml last (it switches to the new files).
      List<String> order = new ArrayList<>();
      order.add(NodePlan.OWNER_FILE);
      for (String name : hd.files().keySet()) {
        if (!name.equals(NodePlan.OWNER_FILE) && !name.equals(NodePlan.HOSTS_TOML)) {
          order.add(name);
        }
      }
      order.add(NodePlan.HOSTS_TOML);
      for (String name : order) {
        FileSpec spec = hd.files().get(name);
        if (spec == null) {
          continue;
        }
        AtomicFiles.Outcome o = AtomicFiles.writeIfChanged(dir.resolve(name), spec.content(), spec.secret(),
            name.equals(NodePlan.HOSTS_TOML) ? bytes -> hd.hostsToml().verify(new String(bytes, StandardCharsets.UTF_8)) : null);
        if (o == AtomicFiles.Outcome.UNCHANGED) {
          res.unchanged++;
        } else {
          res.written.add(hd.name() + "/" + name);
        }
      }
      for (String stale : ownFiles(dir)) {
        if (!hd.files().containsKey(stale)) {
          Files.deleteIfExists(dir.resolve(stale));
          res.removed.add(hd.name() + "/" + stale);
        }
      }
    } catch (IOException | UncheckedIOException e) {
      res.errors.add(hd.name() + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
    return res;
  }

  /** Removes everything the agent owns and nothing else (uninstall). */
  List<String> cleanup() throws IOException {
    List<String> removed = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return removed;
    }
    for (String name : list()) {
      Path dir = resolve(name);
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(dir) && owned(dir)) {
        removed.addAll(removeOwned(name));
      }
    }
    return removed;
  }

  /** Whether a host directory is the agent's. */
  boolean owned(Path dir) {
    if (Files.isRegularFile(dir.resolve(NodePlan.OWNER_FILE), LinkOption.NOFOLLOW_LINKS)) {
      return true;
    }
    Path toml = dir.resolve(NodePlan.HOSTS_TOML);
    if (!Files.isRegularFile(toml, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    try (BufferedReader r = Files.newBufferedReader(toml, StandardCharsets.UTF_8)) {
      String first = r.readLine();
      return first != null && first.startsWith(HostsToml.MARKER_PREFIX);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Whether the agent may write a directory the plan wants: it owns it, or the directory holds
   * nothing but files of the agent's own kind (or nothing at all), so nothing anyone else made can
   * be lost. This covers a wipe racing a rewrite, where the owner file was deleted after the
   * directory was recreated. Removal and cleanup still require {@link #owned}.
   */
  boolean claimable(Path dir) {
    if (owned(dir)) {
      return true;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (!(OWN_FILE.matcher(n).matches() || AtomicFiles.isTemp(n)) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          return false;
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Whether certs.d itself has been deleted on the node while this process still reaches it: a
   * bind mount (the DaemonSet's hostPath) keeps pointing at the deleted directory, where nothing
   * created is visible on the node and creating anything fails. A certs.d that simply does not
   * exist is not deleted in this sense ({@link #apply} creates it).
   *
   * <p>Where the file system reports a link count ({@code unix:nlink}), only a count of 0 leads
   * to a check; elsewhere only {@code afterFailure} (a pass whose writes failed) does. The check
   * creates and removes a temp file in certs.d: it fails with {@link NoSuchFileException} in a
   * deleted directory although the directory itself is still there.
   */
  boolean rootDeleted(boolean afterFailure) {
    if (!Files.isDirectory(root)) {
      return false;
    }
    Integer links = linkCount(root);
    if (links == null ? !afterFailure : links > 0) {
      return false;
    }
    Path probe = root.resolve(AtomicFiles.TEMP_PREFIX + "probe." + Long.toHexString(ThreadLocalRandom.current().nextLong())
        + AtomicFiles.TEMP_SUFFIX);
    try {
      Files.createFile(probe);
      Files.deleteIfExists(probe);
      return false;
    } catch (NoSuchFileException e) {
      return Files.isDirectory(root);
    } catch (IOException e) {
      return false;
    }
  }

  /** The link count of {@code p} (following symlinks), or null where the file system has none. */
  static Integer linkCount(Path p) {
    try {
      Object n = Files.getAttribute(p, "unix:nlink");
      return n instanceof Integer ? (Integer) n : null;
    } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
      return null;
    }
  }

  /** Directory names directly under certs.d. */
  List<String> list() throws IOException {
    TreeSet<String> names = new TreeSet<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        names.add(p.getFileName().toString());
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return new ArrayList<>(names);
  }

  private List<String> removeOwned(String name) throws IOException {
    Path dir = resolve(name);
    List<String> removed = new ArrayList<>();
    // hosts.toml first: containerd stops using the directory in one step.
    if (Files.deleteIfExists(dir.resolve(NodePlan.HOSTS_TOML))) {
      removed.add(name + "/" + NodePlan.HOSTS_TOML);
    }
    for (String f : ownFiles(dir)) {
      Files.deleteIfExists(dir.resolve(f));
      removed.add(name + "/" + f);
    }
    if (Files.deleteIfExists(dir.resolve(NodePlan.OWNER_FILE))) {
      removed.add(name + "/" + NodePlan.OWNER_FILE);
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      if (!ds.iterator().hasNext()) {
        Files.delete(dir);
        removed.add(name + "/");
      }
    }
    syncDirectory.accept(root);
    return removed;
  }

  /** The agent's own auxiliary files and leftover temp files in a directory. */
  private static List<String> ownFiles(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if ((OWN_FILE.matcher(n).matches() || AtomicFiles.isTemp(n)) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          out.add(n);
        }
      }
    }
    out.sort(null);
    return out;
  }

  /** A certs.d entry by name, refusing anything that is not a single path component. */
  Path resolve(String name) {
    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")
        || name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("not a certs.d directory name: " + name);
    }
    Path p = root.resolve(name).normalize();
    if (!root.normalize().equals(p.getParent())) {
      throw new IllegalArgumentException("not a certs.d directory name: " + name);
    }
    return p;
  }

  /** containerd looks up {@code host_port_} before {@code host:port}; that form would shadow ours. */
  static String escapedPortForm(String dirName) {
    int colon = dirName.lastIndexOf(':');
    if (colon <= 0 || dirName.endsWith("]")) {
      return null;
    }
    return dirName.substring(0, colon) + "_" + dirName.substring(colon + 1) + "_";
  }

  static Map<String, Object> describe(Report r) {
    return Map.of("written", r.written().size(), "unchanged", r.unchanged(), "removed", r.removed().size(),
        "foreign", r.foreign(), "shadowed", r.shadowed(), "errors", r.errors());
  }
}
