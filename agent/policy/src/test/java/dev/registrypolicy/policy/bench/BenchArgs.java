package dev.registrypolicy.policy.bench;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The benchmark harnesses' argument grammar: benchmark names, {@code all}, {@code help} and {@code
 * key=value} settings (optionally with a leading {@code --}), separated by spaces or commas, as one
 * Maven property or several arguments.
 */
public final class BenchArgs {
  private BenchArgs() {}

  /**
   * The benchmarks selected (all of them when none is named), or null after printing {@code usage}
   * for {@code help}. Settings go to {@code setting}.
   */
  public static Set<String> parse(
      String[] args, List<String> all, BiConsumer<String, String> setting, String usage) {
    Set<String> benches = new LinkedHashSet<>();
    for (String arg : args) {
      for (String tok : arg.trim().split("[\\s,]+")) {
        if (tok.isEmpty()) {
          continue;
        }
        String t = tok.startsWith("--") ? tok.substring(2) : tok;
        int eq = t.indexOf('=');
        if (eq > 0) {
          setting.accept(t.substring(0, eq), t.substring(eq + 1));
        } else if (t.equals("all")) {
          benches.addAll(all);
        } else if (all.contains(t)) {
          benches.add(t);
        } else if (t.equals("help")) {
          System.out.println(usage);
          return null;
        } else {
          throw new IllegalArgumentException("unknown benchmark or argument \"" + tok + "\"");
        }
      }
    }
    if (benches.isEmpty()) {
      benches.addAll(all);
    }
    return benches;
  }
}
