package dev.registrypolicy.policy;

import dev.registrypolicy.common.Utf8;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the policy text in a file that is either the bare {@code policy.yaml} or a manifest holding
 * the {@code registry-policy} ConfigMap (alone or among other objects, as kustomize or {@code
 * kubectl get -o yaml} print them).
 */
public final class PolicyDocument {
  private static final String EXAMPLE = "/dev/registrypolicy/policy/policy-configmap.yaml";

  private PolicyDocument() {}

  /**
   * The complete, commented example policy ConfigMap (manifests/examples/policy-configmap.yaml), as
   * shipped in this jar.
   */
  public static String example() {
    try (java.io.InputStream in = PolicyDocument.class.getResourceAsStream(EXAMPLE)) {
      if (in == null) {
        throw new IllegalStateException("example policy missing from the build");
      }
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Extracts and parses the policy from a file's text. */
  public static Policy parse(String fileText) throws PolicyException {
    Object[] bare = new Object[1];
    String text = policyText(fileText, bare);
    try {
      // A bare policy was loaded already: interpret that tree rather than load the text again.
      return bare[0] != null ? PolicyParser.parse(text, bare[0]) : PolicyParser.parse(text);
    } catch (PolicyException e) {
      if (text.equals(fileText)) {
        throw e;
      }
      throw inFile(e, fileText);
    }
  }

  private static final Pattern BLOCK_KEY =
      Pattern.compile(
          "(?m)^[ \\t]*[\"']?policy\\.yaml[\"']?[ \\t]*:[ \\t]*\\|[-+0-9]*[ \\t]*(#.*)?$");
  private static final Pattern AT_LINE = Pattern.compile(" at line (\\d{1,9}), column (\\d{1,9})");

  /**
   * Places found in the policy.yaml text of a ConfigMap manifest, also given as places in the file
   * the user named: where policy.yaml is one literal block ({@code policy.yaml: |}), its line n is
   * the file's line (key line + n) and its columns move right by the block's indentation.
   */
  private static PolicyException inFile(PolicyException e, String fileText) {
    Matcher key = BLOCK_KEY.matcher(fileText);
    if (!key.find()) {
      return e;
    }
    int keyStart = key.start();
    int keyLine = 1;
    for (int i = 0; i < keyStart; i++) {
      if (fileText.charAt(i) == '\n') {
        keyLine++;
      }
    }
    if (key.find()) {
      return e; // two candidates: no telling which one
    }
    int indent = 0;
    int i = fileText.indexOf('\n', keyStart);
    // The block's indentation: that of its first line that is not blank.
    while (i >= 0 && i + 1 < fileText.length()) {
      int start = i + 1;
      int end = fileText.indexOf('\n', start);
      String line = fileText.substring(start, end < 0 ? fileText.length() : end);
      if (!line.isBlank()) {
        while (indent < line.length() && line.charAt(indent) == ' ') {
          indent++;
        }
        break;
      }
      i = end;
    }
    int lines = keyLine;
    int cols = indent;
    List<Problem> out = new ArrayList<>();
    for (Problem p : e.problems()) {
      Matcher m = AT_LINE.matcher(p.message());
      out.add(
          m.find()
              ? new Problem(
                  p.path(),
                  p.message().substring(0, m.start())
                      + " at line "
                      + (Long.parseLong(m.group(1)) + lines)
                      + ", column "
                      + (Long.parseLong(m.group(2)) + cols)
                      + " of the file (line "
                      + m.group(1)
                      + " of its policy.yaml)"
                      + p.message().substring(m.end()))
              : p);
    }
    return new PolicyException(out);
  }

  /**
   * Extracts and parses the policy from a file's bytes, which must be UTF-8 (a leading byte order
   * mark is allowed) and at most {@link PolicyLimits#MAX_FILE_BYTES}: the size is checked before
   * anything is decoded, and bytes that are not UTF-8 are a problem such as {@code not valid UTF-8
   * at byte 17 (line 2)} (offset counted from 0). This is the form for callers that read files.
   *
   * @throws PolicyException for every problem found; no other exception escapes
   */
  public static Policy parse(byte[] file) throws PolicyException {
    if (file.length > PolicyLimits.MAX_FILE_BYTES) {
      throw reject(
          "the file is too large: "
              + PolicyLimits.moreThan(PolicyLimits.MAX_FILE_BYTES)
              + "; nothing was parsed");
    }
    String text;
    try {
      text = Utf8.decode(file);
    } catch (Utf8.MalformedException e) {
      throw reject("the file is " + e.getMessage() + "; a policy is UTF-8 text");
    }
    return parse(text);
  }

  /**
   * The policy.yaml text inside {@code fileText}, or {@code fileText} itself if it is a bare
   * policy.
   */
  public static String policyText(String fileText) throws PolicyException {
    return policyText(fileText, new Object[1]);
  }

  /** {@link #policyText(String)}; for a bare policy, its loaded tree is put in {@code bare[0]}. */
  private static String policyText(String fileText, Object[] bare) throws PolicyException {
    List<Problem> problems = new ArrayList<>();
    List<Object> docs = Yaml.loadAll(fileText, "", problems);
    if (docs == null) {
      throw new PolicyException(problems);
    }
    if (docs.isEmpty()) {
      throw reject(
          fileText.isBlank()
              ? "the file is empty (want a RegistryPolicy or the "
                  + Policy.CONFIGMAP_NAME
                  + " ConfigMap)"
              : "the file holds no YAML document, only comments or empty documents (want a RegistryPolicy or the "
                  + Policy.CONFIGMAP_NAME
                  + " ConfigMap)");
    }
    List<Map<?, ?>> configMaps = new ArrayList<>();
    for (Object d : docs) {
      if (d instanceof Map) {
        Map<?, ?> m = (Map<?, ?>) d;
        if (Policy.KIND.equals(m.get("kind"))) {
          if (docs.size() != 1) {
            throw reject("a bare policy must be the only document in the file");
          }
          bare[0] = m;
          return fileText;
        }
        collectConfigMaps(m, configMaps);
      }
    }
    if (configMaps.isEmpty()) {
      if (docs.size() != 1) {
        throw reject(
            "none of the file's "
                + docs.size()
                + " documents is a RegistryPolicy or a ConfigMap"
                + " (want the "
                + Policy.CONFIGMAP_NAME
                + " ConfigMap)");
      }
      return fileText;
    }
    Map<?, ?> chosen = null;
    for (Map<?, ?> cm : configMaps) {
      Object meta = cm.get("metadata");
      Object name = meta instanceof Map ? ((Map<?, ?>) meta).get("name") : null;
      if (Policy.CONFIGMAP_NAME.equals(name) || configMaps.size() == 1) {
        if (chosen != null) {
          throw reject("more than one ConfigMap named " + Policy.CONFIGMAP_NAME);
        }
        chosen = cm;
      }
    }
    if (chosen == null) {
      throw reject("no ConfigMap named " + Policy.CONFIGMAP_NAME + " found");
    }
    Object meta = chosen.get("metadata");
    if (meta instanceof Map) {
      Object name = ((Map<?, ?>) meta).get("name");
      Object ns = ((Map<?, ?>) meta).get("namespace");
      if (name != null && !Policy.CONFIGMAP_NAME.equals(name)) {
        problems.add(
            new Problem(
                "metadata.name",
                "the agent and controller read the ConfigMap named "
                    + Policy.CONFIGMAP_NAME
                    + ", found "
                    + Node.quote(String.valueOf(name))));
      }
      if (ns != null && !Policy.NAMESPACE.equals(ns)) {
        problems.add(
            new Problem(
                "metadata.namespace",
                "the agent and controller read namespace "
                    + Policy.NAMESPACE
                    + ", found "
                    + Node.quote(String.valueOf(ns))));
      }
    }
    Object data = chosen.get("data");
    Object text = data instanceof Map ? ((Map<?, ?>) data).get(Policy.CONFIGMAP_KEY) : null;
    if (!(text instanceof String)) {
      problems.add(
          new Problem(
              "data." + Policy.CONFIGMAP_KEY,
              "required: the ConfigMap holds the policy under this key"));
    }
    if (!problems.isEmpty()) {
      throw new PolicyException(problems);
    }
    return (String) text;
  }

  /**
   * Recursive through nested Lists: bounded by the YAML nesting limit ({@link
   * PolicyLimits#MAX_DEPTH}).
   */
  private static void collectConfigMaps(Map<?, ?> m, List<Map<?, ?>> out) {
    if ("ConfigMap".equals(m.get("kind"))) {
      out.add(m);
    } else if ("List".equals(m.get("kind")) && m.get("items") instanceof List) {
      for (Object item : (List<?>) m.get("items")) {
        if (item instanceof Map) {
          collectConfigMaps((Map<?, ?>) item, out);
        }
      }
    }
  }

  /** A problem with the file as a whole (empty path), for the caller to throw. */
  private static PolicyException reject(String message) {
    return new PolicyException(List.of(new Problem("", message)));
  }
}
