package dev.registrypolicy.controller.admission;

import dev.registrypolicy.admission.AdmissionCheck;
import dev.registrypolicy.policy.AccessGrant;
import dev.registrypolicy.policy.NamespaceSelector;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.Registry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code requireGrantForNodeCredentials} as CEL, as {@link AdmissionCheck} decides it: the registry
 * entry for the image's domain (exact host, else the catch-all), the credentials its hosts.toml
 * carries ({@link Registry#nodeCredentials()}), and for each one whether some access grant carrying
 * it grants the namespace ({@link NamespaceSelector#grants}: selected and not opted out by
 * annotation). Credentials are numbered; per request {@code variables.credGranted[i]} is evaluated
 * once, and {@code variables.nodeCreds} maps a host to its credential numbers.
 *
 * @param names credential names by number
 * @param granted per credential, the CEL boolean for "some grant gives the namespace"
 * @param byHost CEL map literal host → credential numbers ({@code {}} when no host has any)
 * @param catchAll CEL list literal of the catch-all's credential numbers, {@code []} without one
 */
record CelNodeCredentials(
    List<String> names, List<String> granted, String byHost, String catchAll) {
  static final String ANNOTATIONS = "variables.nsAnnotations";
  static final String ANNOTATIONS_EXPRESSION = "namespaceObject.metadata.?annotations.orValue({})";

  CelNodeCredentials {
    names = List.copyOf(names);
    granted = List.copyOf(granted);
  }

  static CelNodeCredentials of(Policy policy) {
    Map<String, Integer> numbers = new LinkedHashMap<>();
    Map<String, List<Integer>> byHost = new TreeMap<>();
    List<Integer> catchAll = null;
    for (Registry r : policy.registries()) {
      List<Integer> ids = new ArrayList<>();
      for (String c : r.nodeCredentials()) {
        ids.add(numbers.computeIfAbsent(c, k -> numbers.size()));
      }
      if (r.isCatchAll()) {
        catchAll = ids;
      } else {
        byHost.put(r.host(), ids);
      }
    }
    List<String> granted = new ArrayList<>();
    for (String cred : numbers.keySet()) {
      List<String> any = new ArrayList<>();
      for (AccessGrant g : policy.access()) {
        if (g.credentials().contains(cred)) {
          any.add("(" + CelNamespaces.matches(g.namespaces()) + " && !" + optedOut() + ")");
        }
      }
      granted.add(any.isEmpty() ? "false" : String.join(" || ", any));
    }
    StringBuilder map = new StringBuilder("{");
    for (Map.Entry<String, List<Integer>> e : byHost.entrySet()) {
      if (map.length() > 1) {
        map.append(", ");
      }
      map.append(CelLiterals.string(e.getKey())).append(": ").append(ints(e.getValue()));
    }
    map.append('}');
    return new CelNodeCredentials(
        new ArrayList<>(numbers.keySet()),
        granted,
        map.toString(),
        catchAll == null ? "[]" : ints(catchAll));
  }

  private static String optedOut() {
    String k = CelLiterals.string(NamespaceSelector.OPT_OUT_ANNOTATION);
    // NamespaceSelector.grants: "true".equalsIgnoreCase(value); only ASCII letters fold to "true".
    return "("
        + k
        + " in "
        + ANNOTATIONS
        + " && "
        + ANNOTATIONS
        + "["
        + k
        + "].lowerAscii() == 'true')";
  }

  private static String ints(List<Integer> v) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < v.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(v.get(i));
    }
    return sb.append(']').toString();
  }

  /** CEL: the numbers of the credentials on record c's registry that the namespace lacks. */
  static String ungranted(String c) {
    String domain = c + "[" + CelImage.DOMAIN + "]";
    return "("
        + domain
        + " in variables.nodeCreds ? variables.nodeCreds["
        + domain
        + "] : variables.catchAllCreds).filter(i, !variables.credGranted[i])";
  }
}
