package dev.registrypolicy.agent;

import java.util.Iterator;
import java.util.LinkedHashSet;

/**
 * Decides, for one input (the policy or the credentials bundle), whether a pass uses what the API
 * server said or what the mounted file holds. Newest wins and never flip-flops:
 *
 * <ul>
 *   <li>never heard from the API (no access, 403, not started): the file, exactly as without the
 *       fast path;
 *   <li>the watch is healthy (listed, no error since): the API's content, whatever the file holds
 *       (kubelet refreshes it a minute or more later);
 *   <li>the API is unreachable: the file only when its content is one the API never showed (it
 *       changed during the outage and kubelet, which still reaches the API server, brought it); a
 *       file equal to any content the API showed before is an older or the same version (kubelet
 *       lagging behind the watch) and is ignored, so the last API content stays.
 * </ul>
 *
 * Content is compared by SHA-256 (resourceVersions are opaque and must not be compared for order).
 * Thread-safe: the watch thread reports, the pass chooses.
 */
final class InputArbiter<T> {
  /** Hashes of contents the API showed, kept for comparisons with the file; oldest dropped. */
  static final int MAX_SEEN = 256;

  /** Where a pass takes an input from. */
  enum Origin {
    API,
    FILES
  }

  /** The choice: the API's content (with its hash), or the files. */
  record Choice<T>(Origin origin, T content, String hash, String why) {}

  private final String what;
  private final LinkedHashSet<String> seen = new LinkedHashSet<>();
  private T apiContent;
  private String apiHash;
  private boolean heard;
  private boolean healthy;
  private Origin lastOrigin;

  InputArbiter(String what) {
    this.what = what;
  }

  /** The API's content now (listed or from a watch event); the watch is healthy. */
  synchronized boolean fromApi(T content, String hash) {
    boolean changed = !heard || !hash.equals(apiHash) || !healthy;
    apiContent = content;
    apiHash = hash;
    heard = true;
    healthy = true;
    seen.remove(hash);
    seen.add(hash);
    if (seen.size() > MAX_SEEN) {
      Iterator<String> it = seen.iterator();
      it.next();
      it.remove();
    }
    return changed;
  }

  /** The watch failed or ended badly: until the next list, the API content may be old. */
  synchronized boolean unhealthy() {
    boolean changed = healthy;
    healthy = false;
    return changed;
  }

  synchronized boolean healthy() {
    return healthy;
  }

  /**
   * The input a pass uses, given the file's content hash now (null when the file cannot be read).
   */
  synchronized Choice<T> choose(String fileHash) {
    Choice<T> c;
    if (!heard) {
      c = new Choice<>(Origin.FILES, null, fileHash, "no answer from the API server yet");
    } else if (healthy) {
      c = new Choice<>(Origin.API, apiContent, apiHash, "watch healthy");
    } else if (fileHash == null || fileHash.equals(apiHash)) {
      c =
          new Choice<>(
              Origin.API, apiContent, apiHash, "API unreachable; file unreadable or the same");
    } else if (seen.contains(fileHash)) {
      c =
          new Choice<>(
              Origin.API,
              apiContent,
              apiHash,
              "API unreachable; the file holds an older version the API showed before");
    } else {
      c =
          new Choice<>(
              Origin.FILES,
              null,
              fileHash,
              "API unreachable; the file holds a version the API never showed (newer)");
    }
    if (c.origin() != lastOrigin) {
      if (lastOrigin != null || c.origin() == Origin.API) {
        Log.info(
            "input source",
            "input",
            what,
            "source",
            c.origin() == Origin.API ? "api" : "files",
            "why",
            c.why());
      }
      lastOrigin = c.origin();
    }
    return c;
  }
}
