package dev.registrypolicy.common;

import java.util.List;
import java.util.Map;

/** How messages name the type of a decoded YAML or JSON value: "found a list". */
public final class ValueTypes {
  /** What YAML calls a map. */
  public static final String MAPPING = "a mapping";

  /** What JSON calls a map (AdmissionReviews, workload objects). */
  public static final String OBJECT = "an object";

  private ValueTypes() {}

  /**
   * {@code nothing}, {@code a string}, {@code a boolean}, {@code a number}, {@code a list}, {@code
   * mapNoun} for a map, or a value of another type.
   */
  public static String describe(Object value, String mapNoun) {
    if (value == null) {
      return "nothing";
    }
    if (value instanceof String) {
      return "a string";
    }
    if (value instanceof Boolean) {
      return "a boolean";
    }
    if (value instanceof Number) {
      return "a number";
    }
    if (value instanceof List) {
      return "a list";
    }
    if (value instanceof Map) {
      return mapNoun;
    }
    return "a value of another type (binary, set or tagged)";
  }
}
