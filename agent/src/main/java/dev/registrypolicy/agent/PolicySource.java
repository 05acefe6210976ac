package dev.registrypolicy.agent;

import dev.registrypolicy.agent.NodePlan.Plan;
import dev.registrypolicy.common.Causes;
import dev.registrypolicy.common.Hashes;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyDocument;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyLimits;
import dev.registrypolicy.policy.Problem;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;

/**
 * The agent's inputs: the policy and the credentials bundle, each from the API server's watch
 * ({@link ApiInputs}, when the fast path is on) or from the mounted files, whichever {@link
 * InputArbiter} says is newest. Reads them, gives a plan or the problems that stop one (the same
 * parse and plan whatever the source), and a fingerprint of the mounted files that tells a real
 * change from a file-system event that changed nothing (kubelet re-swapping the same content, a
 * touch).
 */
final class PolicySource {
  /**
   * Most of the policy file ever read or hashed: one byte past the model's file limit, enough for
   * the model to report the file as too large.
   */
  static final int MAX_POLICY_BYTES = PolicyLimits.MAX_FILE_BYTES + 1;

  private final Path policyFile;
  private final Path secretsDir;
  private final String nodeCertsDir;
  private final ApiInputs api;

  PolicySource(Path policyFile, Path secretsDir, String nodeCertsDir) {
    this(policyFile, secretsDir, nodeCertsDir, null);
  }

  /** With the fast path's inputs ({@code api}; null: files only). */
  PolicySource(Path policyFile, Path secretsDir, String nodeCertsDir, ApiInputs api) {
    this.policyFile = policyFile;
    this.secretsDir = secretsDir;
    this.nodeCertsDir = nodeCertsDir;
    this.api = api;
  }

  Path policyFile() {
    return policyFile;
  }

  Path secretsDir() {
    return secretsDir;
  }

  /**
   * What one read of the inputs gave.
   *
   * @param plan the plan, held hosts included; null when the policy or the bundle is unusable
   * @param problems why there is no plan, or the held hosts' problems (subject = host directory)
   * @param fingerprint sha256 over the mounted policy bytes and every bundle file, as read
   * @param bundleRevision the revision entry of the bundle used, or null
   * @param source where the policy came from: "api" or "files"
   */
  record Loaded(
      Plan plan,
      List<AgentProblem> problems,
      String fingerprint,
      String bundleRevision,
      String source) {
    Loaded {
      problems = List.copyOf(problems);
    }
  }

  /** Reads the inputs and plans; held hosts get their directory from {@code previous}. */
  Loaded load(Plan previous) {
    List<AgentProblem> problems = new ArrayList<>();
    String fingerprint = fingerprint();
    byte[] bytes = null;
    IOException fileError = null;
    try {
      bytes = readPolicy(policyFile);
    } catch (IOException e) {
      fileError = e;
    }
    String source = "files";
    String subject = policyFile.toString();
    SecretStore store = SecretStore.directory(secretsDir);
    String revision;
    if (api != null) {
      InputArbiter.Choice<ApiInputs.PolicyText> p =
          api.policy.choose(bytes == null ? null : Hashes.sha256Hex(bytes));
      if (p.origin() == InputArbiter.Origin.API) {
        source = "api";
        subject = "configmap/" + Policy.CONFIGMAP_NAME;
        bytes = p.content().bytes();
        fileError =
            bytes == null ? new java.nio.file.NoSuchFileException(p.content().missing()) : null;
      }
      InputArbiter.Choice<Bundle> b = api.bundle.choose(Bundle.directoryHash(secretsDir));
      if (b.origin() == InputArbiter.Origin.API) {
        store = b.content().store();
        revision = b.content().revision();
      } else {
        revision = Bundle.directoryRevision(secretsDir);
      }
    } else {
      revision = Bundle.directoryRevision(secretsDir);
    }
    if (bytes == null) {
      problems.add(
          new AgentProblem(
              AgentProblem.POLICY_UNREADABLE,
              subject,
              source.equals("api")
                  ? "cannot read policy: " + fileError.getMessage()
                  : "cannot read policy " + policyFile + ": " + Causes.describe(fileError)));
      return new Loaded(null, problems, fingerprint, revision, source);
    }
    Policy policy;
    try {
      policy = parse(bytes);
    } catch (PolicyException e) {
      for (Problem p : e.problems()) {
        problems.add(
            new AgentProblem(
                AgentProblem.POLICY_INVALID,
                p.path().isEmpty() ? subject : p.path(),
                "policy invalid: " + p));
      }
      return new Loaded(null, problems, fingerprint, revision, source);
    }
    Plan plan;
    try {
      plan = NodePlan.plan(policy, store, nodeCertsDir).keepingFrom(previous);
    } catch (IOException e) {
      problems.add(
          new AgentProblem(
              AgentProblem.CREDENTIALS_UNREADABLE,
              String.valueOf(secretsDir),
              "cannot read the credentials bundle " + secretsDir + ": " + Causes.describe(e)));
      return new Loaded(null, problems, fingerprint, revision, source);
    }
    plan.held()
        .forEach(
            (dir, why) -> {
              for (String p : why) {
                problems.add(new AgentProblem(AgentProblem.CREDENTIALS, dir, p));
              }
            });
    return new Loaded(plan, problems, fingerprint, revision, source);
  }

  /**
   * The policy file's bytes: the one place it is read. Refuses a directory and anything larger than
   * {@link #MAX_POLICY_BYTES} before reading it whole.
   */
  static byte[] readPolicy(Path file) throws IOException {
    if (Files.isDirectory(file)) {
      throw new java.nio.file.FileSystemException(
          file.toString(), null, "is a directory, not a file");
    }
    if (Files.exists(file) && !Files.isRegularFile(file)) {
      // A FIFO or device would block the pass in open() or never end: never opened.
      throw new java.nio.file.FileSystemException(
          file.toString(), null, "is not a regular file (a FIFO, socket or device)");
    }
    try (InputStream in = Files.newInputStream(file)) {
      // One byte past the model's limit is enough for the model to say the file is too large, in
      // the same words as validate; nothing larger is ever held in memory.
      return in.readNBytes(MAX_POLICY_BYTES);
    }
  }

  /** Parses the policy bytes; the model checks size and UTF-8 (with the offending byte) first. */
  static Policy parse(byte[] bytes) throws PolicyException {
    return PolicyDocument.parse(bytes);
  }

  /**
   * sha256 over the policy file and every file of the bundle (by name, in name order; kubelet's
   * {@code ..} entries skipped). What cannot be read counts as its own state ("missing", "error"),
   * so a file that appears or goes changes the fingerprint too.
   */
  String fingerprint() {
    MessageDigest md = Hashes.sha256();
    hashFile(md, "policy", policyFile, MAX_POLICY_BYTES);
    if (secretsDir != null) {
      TreeSet<String> names = new TreeSet<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(secretsDir)) {
        for (Path p : ds) {
          String n = p.getFileName().toString();
          if (!n.startsWith("..")) {
            names.add(n);
          }
        }
      } catch (IOException e) {
        md.update(("bundle unreadable: " + Causes.describe(e)).getBytes(StandardCharsets.UTF_8));
      }
      for (String n : names) {
        hashFile(md, "bundle/" + n, secretsDir.resolve(n), SecretStore.MAX_BYTES + 1L);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void hashFile(MessageDigest md, String label, Path file, long max) {
    md.update((label + "\0").getBytes(StandardCharsets.UTF_8));
    if (!Files.isRegularFile(file)) {
      md.update((Files.exists(file) ? "not a file" : "missing").getBytes(StandardCharsets.UTF_8));
      return;
    }
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[8192];
      long total = 0;
      int n;
      while ((n = in.read(buf)) > 0 && total < max) {
        md.update(buf, 0, n);
        total += n;
      }
    } catch (IOException e) {
      md.update(("error: " + Causes.describe(e)).getBytes(StandardCharsets.UTF_8));
    }
    md.update((byte) 0);
  }
}
