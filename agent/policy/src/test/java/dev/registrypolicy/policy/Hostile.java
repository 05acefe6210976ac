package dev.registrypolicy.policy;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/**
 * Support for the hostile-input tests: a parse on a thread as small as the agent's, and the example
 * policy as a tree.
 */
final class Hostile {
  /** The DaemonSet runs the agent with -Xss256k (manifests/agent-daemonset.yaml). */
  static final long AGENT_STACK = 256 * 1024;

  private Hostile() {}

  /**
   * What one parse ended in: a policy or a PolicyException; anything else fails the test, naming
   * the input.
   */
  record Outcome(Policy policy, PolicyException problem) {}

  interface Parse {
    Policy run() throws PolicyException;
  }

  static Outcome parse(String label, Parse parse) {
    AtomicReference<Object> result = new AtomicReference<>();
    Thread t =
        new Thread(
            null,
            () -> {
              try {
                result.set(parse.run());
              } catch (Throwable e) {
                result.set(e);
              }
            },
            "hostile-parse",
            AGENT_STACK);
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    Object r = result.get();
    if (r instanceof Policy) {
      return new Outcome((Policy) r, null);
    }
    if (r instanceof PolicyException) {
      return new Outcome(null, (PolicyException) r);
    }
    String shown = label.length() > 300 ? label.substring(0, 300) + "..." : label;
    if (r instanceof Throwable) {
      AssertionError e = new AssertionError("parse of " + shown + " threw " + r, (Throwable) r);
      throw e;
    }
    return fail("parse of " + shown + " returned " + r);
  }

  static Outcome parseDocument(String text) {
    return parse(text, () -> PolicyDocument.parse(text));
  }

  static Outcome parsePolicy(String text) {
    return parse(text, () -> PolicyParser.parse(text));
  }

  /** The example policy (the ConfigMap's policy.yaml) as plain maps and lists. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> exampleTree() throws PolicyException {
    List<Problem> problems = new ArrayList<>();
    Object tree = Yaml.loadOne(PolicyDocument.policyText(PolicyDocument.example()), "", problems);
    if (!problems.isEmpty()) {
      throw new PolicyException(problems);
    }
    return (Map<String, Object>) copy(tree);
  }

  static Object copy(Object o) {
    if (o instanceof Map) {
      Map<Object, Object> m = new LinkedHashMap<>();
      ((Map<?, ?>) o).forEach((k, v) -> m.put(k, copy(v)));
      return m;
    }
    if (o instanceof List) {
      List<Object> l = new ArrayList<>();
      for (Object x : (List<?>) o) {
        l.add(copy(x));
      }
      return l;
    }
    return o;
  }

  /** Paths (keys and indexes) of every scalar leaf of a tree, depth first. */
  static List<List<Object>> leaves(Object tree) {
    List<List<Object>> out = new ArrayList<>();
    walk(tree, new ArrayList<>(), out);
    return out;
  }

  private static void walk(Object o, List<Object> path, List<List<Object>> out) {
    if (o instanceof Map) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
        path.add(e.getKey());
        walk(e.getValue(), path, out);
        path.remove(path.size() - 1);
      }
    } else if (o instanceof List) {
      List<?> l = (List<?>) o;
      for (int i = 0; i < l.size(); i++) {
        path.add(i);
        walk(l.get(i), path, out);
        path.remove(path.size() - 1);
      }
    } else {
      out.add(new ArrayList<>(path));
    }
  }

  /** A copy of {@code tree} with the leaf at {@code path} set to {@code value}. */
  @SuppressWarnings("unchecked")
  static Object with(Object tree, List<Object> path, Object value) {
    Object root = copy(tree);
    Object o = root;
    for (int i = 0; i < path.size() - 1; i++) {
      Object k = path.get(i);
      o =
          k instanceof Integer && o instanceof List
              ? ((List<?>) o).get((Integer) k)
              : ((Map<?, ?>) o).get(k);
    }
    Object last = path.get(path.size() - 1);
    if (last instanceof Integer && o instanceof List) {
      ((List<Object>) o).set((Integer) last, value);
    } else {
      ((Map<Object, Object>) o).put(last, value);
    }
    return root;
  }

  static String dump(Object tree) {
    return new Dump(
            DumpSettings.builder()
                .setDefaultFlowStyle(FlowStyle.BLOCK)
                .setWidth(1 << 20)
                .setSplitLines(false)
                .build())
        .dumpToString(tree);
  }
}
