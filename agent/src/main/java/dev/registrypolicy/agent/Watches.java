package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.FileSpec;
import dev.registrypolicy.agent.NodePlan.HostDir;
import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.common.Causes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The file-system watches of the daemon and the filter that decides which events are worth a pass.
 * Watched: certs.d, each managed host directory, and the directories of the policy file and of the
 * bundle, where only the watched names count (the policy file's name and kubelet's {@code ..data}
 * swap; the bundle's files). An event is worth a pass only when something is not as the last pass
 * left it:
 *
 * <ul>
 *   <li>policy or bundle: their fingerprint ({@link PolicySource#fingerprint()}) differs from the
 *       one the last pass read (a swap with the same content, a touch, a file written next to the
 *       policy: no pass);
 *   <li>certs.d: a managed host directory deleted or replaced by something that is not a directory,
 *       a foreign or shadowing entry going, a {@code host_port_} entry appearing;
 *   <li>a host directory: a planned file deleted, or created/changed so that it no longer holds the
 *       planned content and mode.
 * </ul>
 *
 * The agent's own temp files ({@code .rp-*.tmp}) never count, and the files it just wrote hold the
 * planned content, so its own writes never wake it. A watch that stops (a watched directory
 * deleted) counts as a change. Overflow counts, but does not cut a backoff short.
 */
final class Watches implements AutoCloseable {
  /**
   * Kubelet's ConfigMap and Secret volumes point {@code ..data} at the current content; a swap
   * renames it.
   */
  static final String KUBELET_DATA = "..data";

  /** What a watched directory is to the agent. */
  private record Role(Kind kind, String hostDir) {}

  private enum Kind {
    CERTS_DIR,
    HOST_DIR,
    POLICY_DIR,
    BUNDLE_DIR
  }

  /** A reason to pass; {@code inputChanged} cuts a backoff short. */
  record Trigger(String reason, boolean inputChanged) {}

  /** Sees every event and whether it was worth a pass (tests). */
  interface Listener {
    void seen(Path dir, String name, boolean pass);
  }

  private final Agent agent;
  private final WatchService ws;
  private final Path certsRoot;
  private final Path policyDir;
  private final String policyName;
  private final Path bundleDir;
  private final Map<WatchKey, List<Role>> roles = new ConcurrentHashMap<>();
  private final Map<String, WatchKey> hostKeys = new ConcurrentHashMap<>();
  private final Metrics.Counter events;

  Watches(Agent agent) throws IOException {
    this.agent = agent;
    Agent.Options o = agent.options();
    this.certsRoot = o.certsDir();
    this.ws = certsRoot.getFileSystem().newWatchService();
    Path policy = o.policyFile().toAbsolutePath();
    this.policyDir = policy.getParent();
    this.policyName = policy.getFileName().toString();
    this.bundleDir = o.secretsDir();
    this.events =
        agent
            .metrics()
            .counter(
                "registry_policy_agent_watch_events_total",
                "File-system events seen by the agent, by what they led to (pass: something changed; ignored: its own"
                    + " writes, unchanged inputs, unrelated files).",
                "result");
  }

  /**
   * Watches certs.d, the policy and the bundle, and exactly the host directories of {@code plan}
   * that are the agent's: not those {@code report} found foreign (someone else's edits there are
   * not the agent's business; their removal shows in certs.d's own events).
   */
  void register(Plan plan, CertsDir.Report report) {
    watch(certsRoot, new Role(Kind.CERTS_DIR, null));
    if (policyDir != null) {
      watch(policyDir, new Role(Kind.POLICY_DIR, null));
    }
    if (bundleDir != null) {
      watch(bundleDir, new Role(Kind.BUNDLE_DIR, null));
    }
    Set<String> wanted = new java.util.HashSet<>(plan == null ? Set.of() : plan.dirs().keySet());
    if (report != null) {
      wanted.removeAll(report.foreign());
    }
    for (String name : new ArrayList<>(hostKeys.keySet())) {
      if (!wanted.contains(name)) {
        WatchKey k = hostKeys.remove(name);
        if (k != null
            && roles.getOrDefault(k, List.of()).stream().allMatch(r -> r.kind() == Kind.HOST_DIR)) {
          roles.remove(k);
          k.cancel();
        }
      }
    }
    for (String name : wanted) {
      Path dir;
      try {
        dir = agent.certsDir().resolve(name);
      } catch (IllegalArgumentException e) {
        continue; // not a single path component: never planned by a valid policy
      }
      WatchKey k = watch(dir, new Role(Kind.HOST_DIR, name));
      if (k != null) {
        hostKeys.put(name, k);
      }
    }
  }

  /**
   * Registers a directory; returns its key or null. A host directory must be a real directory (a
   * symlink there is foreign and never watched through); the configured directories (certs.d, the
   * policy's and the bundle's) may be reached through links, as mounts and kubelet make them.
   */
  private WatchKey watch(Path dir, Role role) {
    boolean isDir =
        role.kind() == Kind.HOST_DIR
            ? Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
            : Files.isDirectory(dir);
    if (!isDir) {
      return null;
    }
    try {
      WatchKey k =
          dir.register(
              ws,
              StandardWatchEventKinds.ENTRY_CREATE,
              StandardWatchEventKinds.ENTRY_DELETE,
              StandardWatchEventKinds.ENTRY_MODIFY);
      roles.compute(
          k,
          (key, list) -> {
            List<Role> l = list == null ? new CopyOnWriteArrayList<>() : list;
            if (!l.contains(role)) {
              l.add(role);
            }
            return l;
          });
      return k;
    } catch (IOException | ClosedWatchServiceException e) {
      Log.debug(
          "cannot watch",
          "dir",
          dir,
          "error",
          e instanceof IOException io ? Causes.describe(io) : "closed");
      return null;
    }
  }

  /**
   * Blocks until an event is worth a pass.
   *
   * @throws ClosedWatchServiceException when closed
   */
  Trigger take() throws InterruptedException {
    while (true) {
      WatchKey key = ws.take();
      List<WatchEvent<?>> evs = key.pollEvents();
      boolean valid = key.reset();
      List<Role> rs = roles.getOrDefault(key, List.of());
      Trigger t = null;
      for (WatchEvent<?> ev : evs) {
        Trigger x = null;
        for (Role r : rs) {
          Trigger y = classify(r, ev);
          x = y != null && (x == null || y.inputChanged()) ? y : x;
        }
        events.labels(x == null ? "ignored" : "pass").inc();
        Listener l = agent.watchListener;
        if (l != null) {
          l.seen((Path) key.watchable(), String.valueOf(ev.context()), x != null);
        }
        t = x != null && (t == null || x.inputChanged()) ? x : t;
      }
      if (!valid) {
        roles.remove(key);
        Plan plan = agent.currentPlan();
        for (Role r : rs) {
          if (r.kind() != Kind.HOST_DIR || (plan != null && plan.dirs().containsKey(r.hostDir()))) {
            t = new Trigger("watch", true); // a watched directory went away
          }
          if (r.kind() == Kind.HOST_DIR) {
            hostKeys.remove(r.hostDir(), key);
          }
        }
      }
      if (t != null) {
        return t;
      }
    }
  }

  private Trigger classify(Role role, WatchEvent<?> ev) {
    if (ev.kind() == StandardWatchEventKinds.OVERFLOW) {
      return new Trigger("watch overflow", false);
    }
    String name = String.valueOf(ev.context());
    boolean deleted = ev.kind() == StandardWatchEventKinds.ENTRY_DELETE;
    return switch (role.kind()) {
      case POLICY_DIR ->
          name.equals(policyName) || name.equals(KUBELET_DATA) ? inputTrigger() : null;
      case BUNDLE_DIR ->
          name.equals(KUBELET_DATA) || !name.startsWith("..") ? inputTrigger() : null;
      case CERTS_DIR -> AtomicFiles.isTemp(name) ? null : certsDirEvent(name, deleted);
      case HOST_DIR ->
          AtomicFiles.isTemp(name) ? null : hostDirEvent(role.hostDir(), name, deleted);
    };
  }

  /** A pass when the policy or bundle content differs from what the last pass read. */
  private Trigger inputTrigger() {
    String seen = agent.snapshot().fingerprint();
    return agent.source().fingerprint().equals(seen) ? null : new Trigger("watch", true);
  }

  private Trigger certsDirEvent(String name, boolean deleted) {
    HealthSnapshot s = agent.snapshot();
    Plan plan = agent.currentPlan();
    if (plan == null) {
      return null; // nothing applied yet: nothing to repair
    }
    if (plan.dirs().containsKey(name)) {
      if (deleted || !Files.isDirectory(certsRoot.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
        return new Trigger("watch", true);
      }
      return null; // (re)created as a directory: its files are watched on their own
    }
    if (deleted) {
      boolean reported =
          s.report() != null
              && (s.report().shadowed().contains(name) || s.report().foreign().contains(name));
      return reported ? new Trigger("watch", true) : null;
    }
    for (String dir : plan.dirs().keySet()) {
      if (name.equals(CertsDir.escapedPortForm(dir))) {
        return new Trigger("watch", true); // a directory that would shadow a managed one
      }
    }
    return null;
  }

  private Trigger hostDirEvent(String dirName, String name, boolean deleted) {
    Plan plan = agent.currentPlan();
    HostDir hd = plan == null ? null : plan.dirs().get(dirName);
    FileSpec spec = hd == null ? null : hd.files().get(name);
    if (spec == null) {
      return null; // not a file the agent keeps there
    }
    if (deleted || !holds(certsRoot.resolve(dirName).resolve(name), spec)) {
      return new Trigger("watch", true);
    }
    return null; // already as planned: the agent's own write, or a change that changed nothing
  }

  /** Whether {@code p} is a regular file (not a symlink) with the planned mode and content. */
  static boolean holds(Path p, FileSpec spec) {
    try {
      BasicFileAttributes a =
          Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!a.isRegularFile() || a.size() != spec.size()) {
        return false;
      }
      PosixFileAttributeView v =
          Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
      if (v != null
          && !v.readAttributes()
              .permissions()
              .equals(spec.secret() ? AtomicFiles.PRIVATE : AtomicFiles.PUBLIC)) {
        return false;
      }
      try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
        return spec.sameContent(in.readNBytes(spec.size() + 1));
      }
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  @Override
  public void close() throws IOException {
    ws.close();
  }
}
