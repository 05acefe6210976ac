package dev.registrypolicy.policy;

import dev.registrypolicy.common.Utf8;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds the policy text in a file that is either the bare {@code policy.yaml} or a manifest holding
 * the {@code registry-policy} ConfigMap (alone or among other objects, as kustomize or {@code
 * kubectl get -o yaml} print them).
 */
public final class PolicyDocument {
  private static final String EXAMPLE = "/dev/registrypolicy/policy/policy-configmap.yaml";

  private PolicyDocument() {}

  /**
   * The commented example policy ConfigMap (manifests/policy-configmap.yaml), as shipped in this
   * jar.
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
    // A bare policy was loaded already: interpret that tree rather than load the text again.
    return bare[0] != null ? PolicyParser.parse(text, bare[0]) : PolicyParser.parse(text);
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
              + file.length
              + " bytes, at most "
              + PolicyLimits.MAX_FILE_BYTES
              + " ("
              + (PolicyLimits.MAX_FILE_BYTES >> 20)
              + " MiB)");
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
