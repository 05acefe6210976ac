package dev.registrypolicy.controller;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One command's flags: {@code --name value}, {@code --name=value} and switches. Every problem is
 * collected, one message per bad flag, so a user fixes them all in one go; {@code -h}/{@code
 * --help} anywhere asks for the command's help instead.
 */
final class Flags {
  /** One flag: a switch when {@code valueName} is null. */
  record Spec(String name, String valueName, boolean required) {
    static Spec required(String name, String valueName) {
      return new Spec(name, valueName, true);
    }

    static Spec optional(String name, String valueName) {
      return new Spec(name, valueName, false);
    }

    static Spec flag(String name) {
      return new Spec(name, null, false);
    }
  }

  private final Map<String, String> values;
  final List<String> errors;
  final boolean help;

  private Flags(Map<String, String> values, List<String> errors, boolean help) {
    this.values = values;
    this.errors = List.copyOf(errors);
    this.help = help;
  }

  static Flags parse(List<String> args, List<Spec> specs) {
    Map<String, Spec> byName = new LinkedHashMap<>();
    specs.forEach(s -> byName.put(s.name(), s));
    Map<String, String> values = new LinkedHashMap<>();
    List<String> errors = new ArrayList<>();
    boolean help = false;
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("-h") || a.equals("--help")) {
        help = true;
        continue;
      }
      int eq = a.indexOf('=');
      String name = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
      Spec s = byName.get(name);
      if (s == null) {
        errors.add(
            a.startsWith("-") ? "unknown flag " + name : "unexpected argument \"" + a + "\"");
        continue;
      }
      String value;
      if (s.valueName() == null) {
        if (eq > 0) {
          errors.add(name + " takes no value");
          continue;
        }
        value = "true";
      } else if (eq > 0) {
        value = a.substring(eq + 1);
      } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
        value = args.get(++i);
      } else {
        errors.add(name + " needs a value (" + name + " " + s.valueName() + ")");
        continue;
      }
      if (s.valueName() != null && value.isEmpty()) {
        errors.add(name + " needs a value (" + name + " " + s.valueName() + ")");
      } else if (values.putIfAbsent(name, value) != null) {
        errors.add(name + " given more than once");
      }
    }
    for (Spec s : specs) {
      if (s.required()
          && !values.containsKey(s.name())
          && errors.stream().noneMatch(e -> e.startsWith(s.name() + " "))) {
        errors.add(s.name() + " " + s.valueName() + " is required");
      }
    }
    return new Flags(values, errors, help);
  }

  Optional<String> get(String name) {
    return Optional.ofNullable(values.get(name));
  }

  String get(String name, String orElse) {
    return values.getOrDefault(name, orElse);
  }

  boolean isSet(String name) {
    return values.containsKey(name);
  }
}
