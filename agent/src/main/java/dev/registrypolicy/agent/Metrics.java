package dev.registrypolicy.agent;

import dev.registrypolicy.common.Causes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;

/**
 * A deliberately tiny, thread-safe Prometheus registry for the node agent.
 *
 * <p>Only counters and gauges exist, which is all the agent exposes. {@link #render()} produces the
 * text exposition format 0.0.4, ordered by metric name and then by label values, so the output is
 * deterministic and easy to assert on. No reflection, no annotations: safe for native images.
 *
 * <p>Registering a name a second time with the same type and label names returns the existing
 * metric (so restarting a component does not throw); any other clash is an {@link
 * IllegalArgumentException}.
 */
public final class Metrics {

  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  /** The content type of {@link #render()}'s output. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final Map<String, Metric> metrics = new ConcurrentHashMap<>();

  /** Registers (or returns the identical existing) counter. */
  public Counter counter(String name, String help, String... labelNames) {
    return (Counter)
        register(name, () -> new Counter(name, help, labelNames), Counter.class, labelNames);
  }

  /** Registers (or returns the identical existing) gauge that is set by the caller. */
  public Gauge gauge(String name, String help, String... labelNames) {
    return (Gauge)
        register(name, () -> new Gauge(name, help, labelNames, null), Gauge.class, labelNames);
  }

  /**
   * Registers an unlabelled gauge whose value is computed by {@code supplier} at every scrape. The
   * returned gauge is read-only: {@code set}, {@code inc} and {@code labels} throw {@link
   * IllegalStateException}. A supplier that throws or returns NaN is reported as NaN.
   */
  public Gauge gauge(String name, String help, DoubleSupplier supplier) {
    Objects.requireNonNull(supplier, "supplier");
    Gauge g =
        (Gauge)
            register(
                name,
                () -> new Gauge(name, help, new String[0], supplier),
                Gauge.class,
                new String[0]);
    if (g.supplier != supplier) {
      throw new IllegalArgumentException("metric " + name + " is already registered");
    }
    return g;
  }

  /** Removes a metric and all its series; returns whether it existed. */
  public boolean unregister(String name) {
    return metrics.remove(name) != null;
  }

  private Metric register(
      String name,
      java.util.function.Supplier<Metric> factory,
      Class<? extends Metric> type,
      String[] labelNames) {
    validateMetricName(name);
    Metric created = null;
    Metric existing = metrics.get(name);
    if (existing == null) {
      created = factory.get();
      existing = metrics.putIfAbsent(name, created);
    }
    if (existing == null) {
      return created;
    }
    if (existing.getClass() != type
        || !Arrays.equals(existing.labelNames, labelNames)
        || (existing instanceof Gauge && ((Gauge) existing).supplier != null)) {
      throw new IllegalArgumentException(
          "metric " + name + " is already registered with another type or other labels");
    }
    return existing;
  }

  /**
   * Renders every metric in the Prometheus text format 0.0.4. Metrics are sorted by name, series by
   * their label values (compared value by value, in label-name order).
   */
  public String render() {
    List<Metric> sorted = new ArrayList<>(metrics.values());
    sorted.sort(Comparator.comparing(m -> m.name));
    StringBuilder out = new StringBuilder(256 + sorted.size() * 96);
    for (Metric m : sorted) {
      m.render(out);
    }
    return out.toString();
  }

  static void validateMetricName(String name) {
    if (name == null || !METRIC_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("invalid metric name: " + name);
    }
  }

  static void validateLabelName(String name) {
    if (name == null || !LABEL_NAME.matcher(name).matches() || name.startsWith("__")) {
      throw new IllegalArgumentException("invalid label name: " + name);
    }
  }

  // ------------------------------------------------------------------------------------------
  // formatting helpers

  static String formatValue(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == Math.rint(v) && Math.abs(v) < 9.007199254740992E15) {
      if (v == 0 && 1 / v < 0) {
        return "-0";
      }
      return Long.toString((long) v);
    }
    return Double.toString(v);
  }

  static void escapeHelp(StringBuilder out, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '\n') {
        out.append("\\n");
      } else {
        out.append(c);
      }
    }
  }

  static void escapeLabelValue(StringBuilder out, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '"') {
        out.append("\\\"");
      } else {
        out.append(c);
      }
    }
  }

  private static final Comparator<List<String>> LABEL_ORDER =
      (a, b) -> {
        int n = Math.min(a.size(), b.size());
        for (int i = 0; i < n; i++) {
          int c = a.get(i).compareTo(b.get(i));
          if (c != 0) {
            return c;
          }
        }
        return Integer.compare(a.size(), b.size());
      };

  // ------------------------------------------------------------------------------------------
  // metric types

  /** A value cell holding a double in an AtomicLong (exact compare-and-set updates). */
  static final class Cell {
    private final AtomicLong bits = new AtomicLong(Double.doubleToRawLongBits(0.0));

    double get() {
      return Double.longBitsToDouble(bits.get());
    }

    void set(double v) {
      bits.set(Double.doubleToRawLongBits(v));
    }

    void add(double delta) {
      while (true) {
        long prev = bits.get();
        long next = Double.doubleToRawLongBits(Double.longBitsToDouble(prev) + delta);
        if (bits.compareAndSet(prev, next)) {
          return;
        }
      }
    }
  }

  /** Common parts of counters and gauges. */
  abstract static class Metric {
    final String name;
    final String help;
    final String[] labelNames;
    final ConcurrentHashMap<List<String>, Cell> series = new ConcurrentHashMap<>();

    Metric(String name, String help, String[] labelNames) {
      this.name = name;
      this.help = help == null ? "" : help;
      this.labelNames = labelNames.clone();
      for (String l : this.labelNames) {
        validateLabelName(l);
      }
      if (Arrays.stream(this.labelNames).distinct().count() != this.labelNames.length) {
        throw new IllegalArgumentException("duplicate label name in metric " + name);
      }
      if (this.labelNames.length == 0) {
        series.put(List.of(), new Cell());
      }
    }

    abstract String type();

    final List<String> key(String... values) {
      if (values == null || values.length != labelNames.length) {
        throw new IllegalArgumentException(
            "metric "
                + name
                + " expects "
                + labelNames.length
                + " label value(s), got "
                + (values == null ? 0 : values.length));
      }
      for (String v : values) {
        if (v == null) {
          throw new IllegalArgumentException("metric " + name + ": label values must not be null");
        }
      }
      return List.of(values);
    }

    final Cell cell(String... values) {
      return series.computeIfAbsent(key(values), k -> new Cell());
    }

    final Cell unlabelled() {
      if (labelNames.length != 0) {
        throw new IllegalStateException(
            "metric " + name + " has labels " + Arrays.toString(labelNames) + "; use labels(...)");
      }
      return series.get(List.of());
    }

    /** Current value of a series, or NaN when it does not exist. */
    public double value(String... labelValues) {
      Cell c = series.get(key(labelValues));
      return c == null ? Double.NaN : c.get();
    }

    /** Label-value lists of every series currently present, sorted. */
    public List<List<String>> seriesLabels() {
      List<List<String>> keys = new ArrayList<>(series.keySet());
      keys.sort(LABEL_ORDER);
      return Collections.unmodifiableList(keys);
    }

    void render(StringBuilder out) {
      out.append("# HELP ").append(name).append(' ');
      escapeHelp(out, help);
      out.append('\n');
      out.append("# TYPE ").append(name).append(' ').append(type()).append('\n');
      TreeMap<List<String>, Cell> sorted = new TreeMap<>(LABEL_ORDER);
      sorted.putAll(series);
      for (Map.Entry<List<String>, Cell> e : sorted.entrySet()) {
        sample(out, e.getKey(), e.getValue().get());
      }
    }

    final void sample(StringBuilder out, List<String> values, double v) {
      out.append(name);
      if (!values.isEmpty()) {
        out.append('{');
        for (int i = 0; i < labelNames.length; i++) {
          if (i > 0) {
            out.append(',');
          }
          out.append(labelNames[i]).append("=\"");
          escapeLabelValue(out, values.get(i));
          out.append('"');
        }
        out.append('}');
      }
      out.append(' ').append(formatValue(v)).append('\n');
    }
  }

  /** A monotonically increasing counter. */
  public static final class Counter extends Metric {

    Counter(String name, String help, String[] labelNames) {
      super(name, help, labelNames);
    }

    @Override
    String type() {
      return "counter";
    }

    /** Increments the unlabelled counter by one. */
    public void inc() {
      inc(1);
    }

    /** Increments the unlabelled counter by {@code amount} (must be &gt;= 0). */
    public void inc(double amount) {
      checkAmount(amount);
      unlabelled().add(amount);
    }

    /** The series for these label values (created at 0 on first use). */
    public Counter.Child labels(String... labelValues) {
      return new Counter.Child(this, cell(labelValues));
    }

    /** Removes one labelled series; returns whether it existed. */
    public boolean remove(String... labelValues) {
      return series.remove(key(labelValues)) != null;
    }

    void checkAmount(double amount) {
      if (!(amount >= 0) || Double.isInfinite(amount)) {
        throw new IllegalArgumentException(
            "counter " + name + " can only grow by a finite amount >= 0");
      }
    }

    /** One labelled series of a counter. */
    public static final class Child {
      private final Counter parent;
      private final Cell cell;

      Child(Counter parent, Cell cell) {
        this.parent = parent;
        this.cell = cell;
      }

      public void inc() {
        inc(1);
      }

      public void inc(double amount) {
        parent.checkAmount(amount);
        cell.add(amount);
      }

      public double get() {
        return cell.get();
      }
    }
  }

  /** A gauge: set by the caller, or computed at scrape time. */
  public static final class Gauge extends Metric {
    final DoubleSupplier supplier;

    Gauge(String name, String help, String[] labelNames, DoubleSupplier supplier) {
      super(name, help, labelNames);
      this.supplier = supplier;
    }

    @Override
    String type() {
      return "gauge";
    }

    private void writable() {
      if (supplier != null) {
        throw new IllegalStateException("gauge " + name + " is computed at scrape time");
      }
    }

    public void set(double v) {
      writable();
      unlabelled().set(v);
    }

    public void inc() {
      inc(1);
    }

    public void inc(double delta) {
      writable();
      unlabelled().add(delta);
    }

    public void dec() {
      inc(-1);
    }

    /** The series for these label values (created at 0 on first use). */
    public Gauge.Child labels(String... labelValues) {
      writable();
      return new Gauge.Child(cell(labelValues));
    }

    /** Removes one labelled series (e.g. a problem that went away); returns whether it existed. */
    public boolean remove(String... labelValues) {
      writable();
      if (labelNames.length == 0) {
        throw new IllegalStateException("gauge " + name + " has no labels");
      }
      return series.remove(key(labelValues)) != null;
    }

    /** Removes every labelled series. */
    public void clear() {
      writable();
      if (labelNames.length != 0) {
        series.clear();
      }
    }

    @Override
    public double value(String... labelValues) {
      if (supplier != null) {
        key(labelValues);
        return compute();
      }
      return super.value(labelValues);
    }

    private double compute() {
      try {
        return supplier.getAsDouble();
      } catch (RuntimeException e) {
        Log.debug("gauge supplier failed", "gauge", name, "error", Causes.kind(e));
        return Double.NaN;
      }
    }

    @Override
    void render(StringBuilder out) {
      if (supplier == null) {
        super.render(out);
        return;
      }
      out.append("# HELP ").append(name).append(' ');
      escapeHelp(out, help);
      out.append('\n');
      out.append("# TYPE ").append(name).append(" gauge\n");
      sample(out, List.of(), compute());
    }

    /** One labelled series of a gauge. */
    public static final class Child {
      private final Cell cell;

      Child(Cell cell) {
        this.cell = cell;
      }

      public void set(double v) {
        cell.set(v);
      }

      public void inc() {
        cell.add(1);
      }

      public void inc(double delta) {
        cell.add(delta);
      }

      public void dec() {
        cell.add(-1);
      }

      public double get() {
        return cell.get();
      }
    }
  }
}
