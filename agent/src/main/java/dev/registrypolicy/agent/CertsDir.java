package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.FileSpec;
import dev.registrypolicy.agent.NodePlan.HostDir;
import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.common.Causes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
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
 * {@code ca-*.crt}, {@code client-*.crt|key}, its temp files). Symlinks are never followed: every
 * operation is made through {@link DirHandle}s (see {@link #apply(Plan, boolean,
 * java.util.concurrent.ExecutorService)}).
 */
final class CertsDir {
  private static final Pattern OWN_FILE =
      Pattern.compile("(ca-[0-9a-f]{8}\\.crt|client-[0-9a-f]{8}\\.(crt|key))");

  private final Path root;

  /**
   * Makes new entries of a directory durable: {@link AtomicFiles#fsyncDirectory}, or a recorder in
   * tests.
   */
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
   * Makes certs.d match the plan: writes what differs, removes owned directories the plan no longer
   * has, and leaves everything else alone. {@code adopt} takes over unmanaged directories the plan
   * wants. Failures are per directory: one bad host does not stop the others.
   */
  Report apply(Plan plan, boolean adopt) throws IOException {
    return apply(plan, adopt, null);
  }

  /**
   * As {@link #apply(Plan, boolean)}, writing host directories in parallel on {@code pool} (each
   * directory's own order is kept: owner file, certificates, hosts.toml last). Most of a write's
   * cost is fsync, so this shortens re-assertion after a wipe. A null pool writes sequentially.
   *
   * <p>certs.d itself is never created: a missing one is an error in the report (in a cluster the
   * DaemonSet's hostPath creates it; creating a mistyped path would write where containerd never
   * looks). Every operation inside certs.d goes through {@link DirHandle}s: certs.d is opened once
   * per pass, each host directory once, by name, without following a symlink, and every create,
   * write, chmod, rename and delete is made relative to those handles.
   */
  Report apply(Plan plan, boolean adopt, java.util.concurrent.ExecutorService pool)
      throws IOException {
    if (!Files.isDirectory(root)) {
      String what =
          Files.exists(root, LinkOption.NOFOLLOW_LINKS) ? "is not a directory" : "does not exist";
      return failed(
          "certs dir "
              + root
              + " "
              + what
              + "; nothing written (the agent does not create it: the"
              + " DaemonSet's hostPath does); retried on the next pass");
    }
    DirHandle top;
    try {
      top = DirHandle.open(root);
    } catch (IOException e) {
      return failed(
          "certs dir "
              + root
              + ": cannot open: "
              + Causes.describe(e)
              + "; nothing written, retried on the next pass");
    }
    try (DirHandle rootDir = top) {
      FileStore store = fileStore();
      List<DirResult> results = new ArrayList<>();
      if (pool == null || plan.dirs().size() < 2) {
        for (HostDir hd : plan.dirs().values()) {
          results.add(applyDir(rootDir, hd, adopt, store));
        }
      } else {
        List<java.util.concurrent.Future<DirResult>> futures = new ArrayList<>();
        for (HostDir hd : plan.dirs().values()) {
          futures.add(pool.submit(() -> applyDir(rootDir, hd, adopt, store)));
        }
        for (java.util.concurrent.Future<DirResult> f : futures) {
          try {
            results.add(f.get());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while writing certs dir " + root);
          } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException(
                "writing certs dir " + root + " failed: " + e.getCause(), e.getCause());
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
      List<Path> entries;
      try {
        entries = rootDir.list();
      } catch (IOException e) {
        errors.add(
            "certs dir "
                + root
                + ": cannot list: "
                + Causes.describe(e)
                + "; stale host directories are removed on a later pass");
        entries = List.of();
      }
      for (Path entry : entries) {
        String name = entry.toString();
        if (!isHostDirName(name)
            || plan.dirs().containsKey(name)
            || plan.held().containsKey(name)) {
          continue; // never one of ours, or wanted; a held host keeps whatever it has
        }
        try {
          removed.addAll(removeOwned(rootDir, entry));
        } catch (IOException e) {
          errors.add(
              name + ": cannot remove: " + Causes.describe(e) + "; retried on the next pass");
        }
      }
      return new Report(written, unchanged, removed, foreign, shadowed, errors);
    }
  }

  private static Report failed(String error) {
    return new Report(List.of(), 0, List.of(), List.of(), List.of(), List.of(error));
  }

  /** certs.d's file system, for the free-space check before writing; null when it cannot be had. */
  private FileStore fileStore() {
    try {
      return Files.getFileStore(root);
    } catch (IOException | RuntimeException e) {
      return null;
    }
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

  private DirResult applyDir(DirHandle rootDir, HostDir hd, boolean adopt, FileStore store) {
    DirResult res = new DirResult();
    String host = hd.name();
    if (!isHostDirName(host)) {
      res.errors.add("not a certs.d directory name: " + host + "; skipped");
      return res;
    }
    Path name = rootDir.name(host);
    try {
      BasicFileAttributes a;
      try {
        a = rootDir.stat(name);
      } catch (IOException e) {
        res.errors.add(
            host
                + ": cannot look up the directory: "
                + Causes.describe(e)
                + "; retried on the next pass");
        return res;
      }
      if (a != null && !a.isDirectory()) {
        res.foreign.add(host); // a symlink, file, FIFO, socket or device: never followed or touched
        return res;
      }
      String escaped = escapedPortForm(host);
      if (escaped != null
          && rootDir.stat(rootDir.name(escaped)) != null
          && !ownedEntry(rootDir, rootDir.name(escaped))) {
        res.shadowed.add(escaped);
      }
      Object createdKey = null;
      boolean created = false;
      if (a == null) {
        long needed = spaceNeeded(store, hd);
        if (needed > 0) {
          res.errors.add(
              host
                  + ": cannot create the directory: no space left on device ("
                  + needed
                  + " bytes needed); nothing created, retried on the next pass");
          return res;
        }
        try {
          // The JDK has no mkdirat: mkdir of one component under certs.d, whose own path is the
          // operator's (not writable by whoever can write into it). mkdir never follows a symlink
          // in the last component (it fails with EEXIST). The new directory is then stat'ed and
          // opened no-follow through certs.d's handle and must be the same inode, so whatever is
          // written goes into a directory that is in certs.d, through its handle.
          Files.createDirectory(root.resolve(host));
          created = true;
          // The new entry in certs.d must survive a power loss like the files written into it.
          syncDirectory.accept(root);
          BasicFileAttributes made = rootDir.stat(name);
          createdKey = made == null ? null : made.fileKey();
        } catch (FileAlreadyExistsException e) {
          // made by someone else meanwhile: it is checked like any existing directory below
        } catch (IOException e) {
          res.errors.add(
              host
                  + ": cannot create the directory: "
                  + Causes.describe(e)
                  + "; retried on the next pass");
          return res;
        }
      }
      DirHandle opened;
      try {
        opened = rootDir.openDir(name);
      } catch (NotDirectoryException e) {
        res.foreign.add(host); // replaced by a symlink or file since the check
        return res;
      } catch (NoSuchFileException e) {
        res.errors.add(
            host
                + ": the directory was moved or removed while being opened; retried on the next pass");
        return res;
      }
      try (DirHandle dir = opened) {
        if (created && createdKey != null && !createdKey.equals(dir.key())) {
          res.errors.add(
              host
                  + ": the directory was replaced right after it was created; nothing written, retried on the next pass");
          return res;
        }
        if (!claimable(dir, hd) && !adopt) {
          res.foreign.add(host);
          return res;
        }
        writeDir(dir, hd, store, res, created ? rootDir : null);
      }
    } catch (AtomicFiles.WriteFailure e) {
      res.errors.add(host + "/" + e.getMessage() + "; retried on the next pass");
    } catch (IOException e) {
      res.errors.add(host + ": cannot write: " + Causes.describe(e) + "; retried on the next pass");
    } catch (UncheckedIOException e) {
      res.errors.add(
          host + ": cannot write: " + Causes.describe(e.getCause()) + "; retried on the next pass");
    }
    return res;
  }

  /**
   * Writes a host directory's files through its handle, then removes stale files of the agent's own
   * kind. {@code createdIn} is certs.d's handle when this pass created the directory: if a write
   * fails then, what was written and the directory are removed again, so a failing pass (a full
   * disk, say) leaves no new entry behind.
   */
  private void writeDir(
      DirHandle dir, HostDir hd, FileStore store, DirResult res, DirHandle createdIn)
      throws IOException {
    // The owner file first (ownership before content), hosts.toml last (it switches to the new
    // files).
    List<String> order = new ArrayList<>();
    order.add(NodePlan.OWNER_FILE);
    for (String n : hd.files().keySet()) {
      if (!n.equals(NodePlan.OWNER_FILE) && !n.equals(NodePlan.HOSTS_TOML)) {
        order.add(n);
      }
    }
    order.add(NodePlan.HOSTS_TOML);
    List<String> installed = new ArrayList<>();
    try {
      for (String n : order) {
        FileSpec spec = hd.files().get(n);
        if (spec == null) {
          continue;
        }
        AtomicFiles.Outcome o =
            AtomicFiles.writeIfChanged(
                dir,
                n,
                spec.content(),
                spec.secret(),
                n.equals(NodePlan.HOSTS_TOML)
                    ? bytes -> hd.hostsToml().verify(new String(bytes, StandardCharsets.UTF_8))
                    : null,
                store);
        if (o == AtomicFiles.Outcome.UNCHANGED) {
          res.unchanged++;
        } else {
          installed.add(n);
          res.written.add(hd.name() + "/" + n);
        }
      }
    } catch (IOException e) {
      if (createdIn != null) {
        undoCreated(createdIn, dir, hd.name(), installed, res);
      }
      throw e;
    }
    for (Path stale : ownFiles(dir)) {
      String n = stale.toString();
      if (!hd.files().containsKey(n)) {
        try {
          dir.deleteFile(stale);
          res.removed.add(hd.name() + "/" + n);
        } catch (NoSuchFileException e) {
          // gone already
        }
      }
    }
  }

  /** Removes a directory this pass created, and what was written into it, after a failed write. */
  private void undoCreated(
      DirHandle rootDir, DirHandle dir, String host, List<String> installed, DirResult res) {
    try {
      for (String n : installed) {
        dir.deleteFile(dir.name(n));
        res.written.remove(host + "/" + n);
      }
      BasicFileAttributes now = rootDir.stat(rootDir.name(host));
      if (dir.list().isEmpty()
          && now != null
          && now.isDirectory()
          && java.util.Objects.equals(now.fileKey(), dir.key())) {
        rootDir.deleteDirectory(rootDir.name(host));
        syncDirectory.accept(root);
      }
    } catch (IOException e) {
      // left for the next pass, which writes into it
    }
  }

  /**
   * How much room a new host directory needs when certs.d's file system has less (so nothing is
   * created just to be removed again), else 0; 0 also when the free space cannot be had.
   */
  private static long spaceNeeded(FileStore store, HostDir hd) {
    if (store == null) {
      return 0;
    }
    long block;
    try {
      block = store.getBlockSize();
    } catch (UnsupportedOperationException | IOException e) {
      block = 4096;
    }
    long needed = block;
    for (FileSpec f : hd.files().values()) {
      needed += f.size() + block;
    }
    try {
      return store.getUnallocatedSpace() < needed ? needed : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /** Removes everything the agent owns and nothing else (uninstall). */
  List<String> cleanup() throws IOException {
    List<String> removed = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return removed;
    }
    List<String> errors = new ArrayList<>();
    try (DirHandle rootDir = DirHandle.open(root)) {
      for (Path entry : rootDir.list()) {
        String name = entry.toString();
        if (!isHostDirName(name)) {
          continue;
        }
        try {
          removed.addAll(removeOwned(rootDir, entry));
        } catch (IOException e) {
          errors.add(name + ": " + Causes.describe(e));
        }
      }
    }
    if (!errors.isEmpty()) {
      throw new IOException(
          "cleanup of certs dir "
              + root
              + " removed "
              + removed.size()
              + " entries but could not remove "
              + String.join(", ", errors)
              + "; run it again once fixed");
    }
    return removed;
  }

  /** Whether a host directory is the agent's (by path: opened without following a symlink). */
  boolean owned(Path dir) {
    Path parent = dir.toAbsolutePath().getParent();
    if (parent == null || dir.getFileName() == null) {
      return false;
    }
    try (DirHandle p = DirHandle.open(parent)) {
      return ownedEntry(p, p.name(dir.getFileName().toString()));
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Whether the entry {@code name} of {@code parent} is a directory (not a symlink) the agent owns.
   */
  private static boolean ownedEntry(DirHandle parent, Path name) {
    try {
      BasicFileAttributes a = parent.stat(name);
      if (a == null || !a.isDirectory()) {
        return false;
      }
      try (DirHandle h = parent.openDir(name)) {
        return owned(h);
      }
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Whether an open host directory is the agent's: it holds the owner file (a regular file), or its
   * hosts.toml (a regular file) starts with the marker line. Read without following a symlink.
   */
  private static boolean owned(DirHandle dir) throws IOException {
    BasicFileAttributes owner = dir.stat(dir.name(NodePlan.OWNER_FILE));
    if (owner != null && owner.isRegularFile()) {
      return true;
    }
    byte[] marker = HostsToml.MARKER_PREFIX.getBytes(StandardCharsets.UTF_8);
    byte[] head = dir.read(dir.name(NodePlan.HOSTS_TOML), marker.length);
    return head != null
        && head.length >= marker.length
        && Arrays.equals(Arrays.copyOf(head, marker.length), marker);
  }

  /**
   * Whether the agent may write a directory the plan wants without {@code --adopt}: it owns it, or
   * everything in it is something this plan writes there (by name, as a regular file, and for
   * certificates and keys with identical content) or one of the agent's temp files, so nothing
   * anyone else made can be lost or overwritten. This covers an empty directory and a wipe racing a
   * rewrite, where the owner file was deleted after the directory was recreated. Someone else's
   * {@code ca-*.crt} under a name this plan does not write, or with other content, makes the
   * directory foreign. Removal and cleanup still require ownership.
   */
  private static boolean claimable(DirHandle dir, HostDir hd) throws IOException {
    if (owned(dir)) {
      return true;
    }
    for (Path entry : dir.list()) {
      String n = entry.toString();
      BasicFileAttributes a = dir.stat(entry);
      if (a == null) {
        continue; // gone meanwhile
      }
      if (!a.isRegularFile()) {
        return false;
      }
      if (AtomicFiles.isTemp(n)) {
        continue;
      }
      FileSpec spec = OWN_FILE.matcher(n).matches() ? hd.files().get(n) : null;
      if (spec == null || a.size() != spec.size()) {
        return false;
      }
      byte[] bytes = dir.read(entry, spec.size());
      if (bytes == null || !spec.sameContent(bytes)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether certs.d itself has been deleted on the node while this process still reaches it: a bind
   * mount (the DaemonSet's hostPath) keeps pointing at the deleted directory, where nothing created
   * is visible on the node and creating anything fails.
   *
   * <p>Where the file system reports a link count ({@code unix:nlink}), only a count of 0 leads to
   * a check; elsewhere only {@code afterFailure} (a pass whose writes failed) does. The check
   * creates and removes a temp file in certs.d: it fails with {@link NoSuchFileException} in a
   * deleted directory although the directory itself is still there. A certs.d that does not exist
   * is not deleted in this sense: {@link #apply} reports it as an error and creates nothing.
   */
  boolean rootDeleted(boolean afterFailure) {
    if (!Files.isDirectory(root)) {
      return false;
    }
    Integer links = linkCount(root);
    if (links == null ? !afterFailure : links > 0) {
      return false;
    }
    Path probe =
        root.resolve(
            AtomicFiles.TEMP_PREFIX
                + "probe."
                + Long.toHexString(ThreadLocalRandom.current().nextLong())
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
      return n instanceof Integer i ? i : null;
    } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
      return null;
    }
  }

  /**
   * The host directories among {@code names} that are real directories in certs.d now (not
   * symlinks, not files), as paths to watch: a symlink someone put under a host's name is never
   * watched or read through.
   */
  List<Path> watchableHostDirs(java.util.Collection<String> names) {
    List<Path> out = new ArrayList<>();
    for (String n : names) {
      if (isHostDirName(n)) {
        Path p = root.resolve(n);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          out.add(p);
        }
      }
    }
    return out;
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

  /**
   * Removes an owned host directory through handles: it is opened without following a symlink, its
   * ownership is read through that handle, only the agent's files are deleted through it
   * (hosts.toml first: containerd stops using the directory in one step), and the directory itself
   * is removed by name only when it is empty and still the one opened. A symlink swapped in under
   * the name is never descended into; one swapped in for a file is removed as a link.
   *
   * @return what was removed, relative to certs.d; empty when the entry is not an owned directory
   */
  private List<String> removeOwned(DirHandle rootDir, Path entry) throws IOException {
    String name = entry.toString();
    BasicFileAttributes a = rootDir.stat(entry);
    if (a == null || !a.isDirectory()) {
      return List.of();
    }
    List<String> removed = new ArrayList<>();
    DirHandle opened;
    try {
      opened = rootDir.openDir(entry);
    } catch (NotDirectoryException | NoSuchFileException e) {
      return List.of(); // replaced or gone since the check: not ours to follow
    }
    try (DirHandle dir = opened) {
      if (!owned(dir)) {
        return List.of();
      }
      Path toml = dir.name(NodePlan.HOSTS_TOML);
      BasicFileAttributes t = dir.stat(toml);
      if (t != null && !t.isDirectory() && deleted(dir, toml)) {
        removed.add(name + "/" + NodePlan.HOSTS_TOML);
      }
      for (Path f : ownFiles(dir)) {
        if (deleted(dir, f)) {
          removed.add(name + "/" + f);
        }
      }
      Path owner = dir.name(NodePlan.OWNER_FILE);
      BasicFileAttributes o = dir.stat(owner);
      if (o != null && !o.isDirectory() && deleted(dir, owner)) {
        removed.add(name + "/" + NodePlan.OWNER_FILE);
      }
      if (dir.list().isEmpty()) {
        BasicFileAttributes now = rootDir.stat(entry);
        if (now != null
            && now.isDirectory()
            && java.util.Objects.equals(now.fileKey(), dir.key())) {
          try {
            rootDir.deleteDirectory(entry);
            removed.add(name + "/");
          } catch (DirectoryNotEmptyException | NoSuchFileException e) {
            // something was put in meanwhile, or it is gone: left as it is
          }
        }
      }
    }
    syncDirectory.accept(root);
    return removed;
  }

  private static boolean deleted(DirHandle dir, Path name) throws IOException {
    try {
      dir.deleteFile(name);
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /** The agent's own auxiliary files and leftover temp files in a directory (never directories). */
  private static List<Path> ownFiles(DirHandle dir) throws IOException {
    List<Path> out = new ArrayList<>();
    for (Path p : dir.list()) {
      String n = p.toString();
      if (OWN_FILE.matcher(n).matches() || AtomicFiles.isTemp(n)) {
        BasicFileAttributes a = dir.stat(p);
        if (a != null && !a.isDirectory()) {
          out.add(p);
        }
      }
    }
    out.sort(null);
    return out;
  }

  /**
   * Whether {@code name} can be a host directory the agent writes: one path component, nothing odd.
   */
  static boolean isHostDirName(String name) {
    if (name.isEmpty() || name.equals(".") || name.equals("..")) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f || c == '\uFFFD') {
        return false;
      }
    }
    return true;
  }

  /** A certs.d entry by name, refusing anything that is not a single path component. */
  Path resolve(String name) {
    if (!isHostDirName(name)) {
      throw new IllegalArgumentException("not a certs.d directory name: " + name);
    }
    Path p = root.resolve(name).normalize();
    if (!root.normalize().equals(p.getParent())) {
      throw new IllegalArgumentException("not a certs.d directory name: " + name);
    }
    return p;
  }

  /**
   * containerd looks up {@code host_port_} before {@code host:port}; that form would shadow ours.
   */
  static String escapedPortForm(String dirName) {
    int colon = dirName.lastIndexOf(':');
    if (colon <= 0 || dirName.endsWith("]")) {
      return null;
    }
    return dirName.substring(0, colon) + "_" + dirName.substring(colon + 1) + "_";
  }

  static Map<String, Object> describe(Report r) {
    return Map.of(
        "written",
        r.written().size(),
        "unchanged",
        r.unchanged(),
        "removed",
        r.removed().size(),
        "foreign",
        r.foreign(),
        "shadowed",
        r.shadowed(),
        "errors",
        r.errors());
  }
}
