package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MetricsTest {

  @Test
  void rendersExpositionFormatInNameThenLabelOrder() {
    Metrics m = new Metrics();
    Metrics.Gauge problems = m.gauge("b_problem", "Current problems.", "kind", "subject");
    Metrics.Counter reconciles = m.counter("a_reconciles_total", "Reconcile passes.", "outcome");
    Metrics.Counter written = m.counter("c_written_total", "Files written.");
    problems.labels("write", "docker.io").set(1);
    problems.labels("config", "containerd").set(1);
    problems.labels("write", "_default").set(1);
    reconciles.labels("ok").inc();
    reconciles.labels("ok").inc(2);
    reconciles.labels("failed").inc();
    written.inc(3);

    String expected =
        ""
            + "# HELP a_reconciles_total Reconcile passes.\n"
            + "# TYPE a_reconciles_total counter\n"
            + "a_reconciles_total{outcome=\"failed\"} 1\n"
            + "a_reconciles_total{outcome=\"ok\"} 3\n"
            + "# HELP b_problem Current problems.\n"
            + "# TYPE b_problem gauge\n"
            + "b_problem{kind=\"config\",subject=\"containerd\"} 1\n"
            + "b_problem{kind=\"write\",subject=\"_default\"} 1\n"
            + "b_problem{kind=\"write\",subject=\"docker.io\"} 1\n"
            + "# HELP c_written_total Files written.\n"
            + "# TYPE c_written_total counter\n"
            + "c_written_total 3\n";
    assertEquals(expected, m.render());
    assertEquals(expected, m.render(), "rendering is deterministic and side-effect free");
  }

  @Test
  void unlabelledMetricsStartAtZero() {
    Metrics m = new Metrics();
    m.counter("x_total", "x");
    m.gauge("y", "y");
    assertEquals(
        "# HELP x_total x\n# TYPE x_total counter\nx_total 0\n"
            + "# HELP y y\n# TYPE y gauge\ny 0\n",
        m.render());
  }

  @Test
  void labelledMetricWithoutSeriesRendersOnlyHelpAndType() {
    Metrics m = new Metrics();
    m.gauge("p", "problems", "kind");
    assertEquals("# HELP p problems\n# TYPE p gauge\n", m.render());
  }

  @Test
  void escapesLabelValuesAndHelp() {
    Metrics m = new Metrics();
    Metrics.Gauge g = m.gauge("g", "line1\nback\\slash \"quotes\" stay", "v");
    g.labels("a\"b\\c\nd").set(2);
    String out = m.render();
    assertTrue(out.contains("# HELP g line1\\nback\\\\slash \"quotes\" stay\n"), out);
    assertTrue(out.contains("g{v=\"a\\\"b\\\\c\\nd\"} 2\n"), out);
  }

  @Test
  void formatsValues() {
    assertEquals("1", Metrics.formatValue(1));
    assertEquals("-3", Metrics.formatValue(-3));
    assertEquals("0.5", Metrics.formatValue(0.5));
    assertEquals("1700000000", Metrics.formatValue(1.7e9));
    assertEquals("1.7000000005E9", Metrics.formatValue(1.7000000005e9));
    assertEquals("NaN", Metrics.formatValue(Double.NaN));
    assertEquals("+Inf", Metrics.formatValue(Double.POSITIVE_INFINITY));
    assertEquals("-Inf", Metrics.formatValue(Double.NEGATIVE_INFINITY));
    assertEquals("1.0E300", Metrics.formatValue(1e300));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "1abc", "a-b", "a b", "é", "a.b"})
  void rejectsInvalidMetricNames(String name) {
    Metrics m = new Metrics();
    assertThrows(IllegalArgumentException.class, () -> m.counter(name, "h"));
    assertThrows(IllegalArgumentException.class, () -> m.gauge(name, "h"));
    assertThrows(IllegalArgumentException.class, () -> m.gauge(name, "h", () -> 1));
  }

  @Test
  void acceptsColonsAndUnderscores() {
    Metrics m = new Metrics();
    m.counter("_a:b_c:", "h");
    m.gauge(":x", "h");
    assertTrue(m.render().contains("_a:b_c: 0\n"));
  }

  @Test
  void rejectsNullNameAndBadLabels() {
    Metrics m = new Metrics();
    assertThrows(IllegalArgumentException.class, () -> m.counter(null, "h"));
    assertThrows(IllegalArgumentException.class, () -> m.counter("c", "h", "1x"));
    assertThrows(IllegalArgumentException.class, () -> m.counter("c", "h", "__reserved"));
    assertThrows(IllegalArgumentException.class, () -> m.counter("c", "h", "a", "a"));
    Metrics.Counter c = m.counter("ok_total", "h", "a", "b");
    assertThrows(IllegalArgumentException.class, () -> c.labels("only-one"));
    assertThrows(IllegalArgumentException.class, () -> c.labels("x", null));
    assertThrows(IllegalStateException.class, c::inc, "labelled counter needs labels(...)");
  }

  @Test
  void counterOnlyGoesUp() {
    Metrics m = new Metrics();
    Metrics.Counter c = m.counter("c_total", "h");
    assertThrows(IllegalArgumentException.class, () -> c.inc(-1));
    assertThrows(IllegalArgumentException.class, () -> c.inc(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> c.inc(Double.POSITIVE_INFINITY));
    c.inc(0);
    c.inc(0.25);
    assertEquals(0.25, c.value());
  }

  @Test
  void registeringTheSameMetricTwiceReturnsIt() {
    Metrics m = new Metrics();
    Metrics.Counter a = m.counter("c_total", "h", "x");
    assertSame(a, m.counter("c_total", "other help is fine", "x"));
    assertThrows(IllegalArgumentException.class, () -> m.counter("c_total", "h", "y"));
    assertThrows(IllegalArgumentException.class, () -> m.gauge("c_total", "h", "x"));
    m.gauge("computed", "h", () -> 1);
    assertThrows(IllegalArgumentException.class, () -> m.gauge("computed", "h", () -> 2));
    assertThrows(IllegalArgumentException.class, () -> m.gauge("computed", "h"));
    m.gauge("plain", "h");
    assertThrows(IllegalArgumentException.class, () -> m.gauge("plain", "h", () -> 2));
  }

  @Test
  void gaugeSetIncDecRemoveAndClear() {
    Metrics m = new Metrics();
    Metrics.Gauge g = m.gauge("g", "h");
    g.set(5);
    g.inc();
    g.dec();
    g.inc(0.5);
    assertEquals(5.5, g.value());
    assertThrows(IllegalStateException.class, () -> g.remove());

    Metrics.Gauge p = m.gauge("problem", "h", "kind", "subject");
    p.labels("write", "docker.io").set(1);
    p.labels("config", "containerd").set(1);
    assertEquals(
        List.of(List.of("config", "containerd"), List.of("write", "docker.io")), p.seriesLabels());
    assertTrue(p.remove("write", "docker.io"));
    assertFalse(p.remove("write", "docker.io"), "second remove finds nothing");
    assertTrue(Double.isNaN(p.value("write", "docker.io")));
    assertFalse(m.render().contains("docker.io"));
    assertTrue(m.render().contains("problem{kind=\"config\",subject=\"containerd\"} 1\n"));
    p.clear();
    assertFalse(m.render().contains("problem{"));
    p.labels("write", "docker.io").inc();
    assertEquals(1, p.value("write", "docker.io"), "a removed series comes back at zero");
  }

  @Test
  void counterSeriesCanBeRemoved() {
    Metrics m = new Metrics();
    Metrics.Counter c = m.counter("c_total", "h", "host");
    c.labels("a").inc();
    assertTrue(c.remove("a"));
    assertFalse(m.render().contains("host=\"a\""));
  }

  @Test
  void computedGaugeIsEvaluatedAtScrapeTime() {
    Metrics m = new Metrics();
    AtomicInteger n = new AtomicInteger();
    Metrics.Gauge g = m.gauge("managed_hosts", "Hosts.", () -> n.get());
    assertTrue(m.render().contains("managed_hosts 0\n"));
    n.set(7);
    assertTrue(m.render().contains("managed_hosts 7\n"));
    assertEquals(7, g.value());
    assertThrows(IllegalStateException.class, () -> g.set(1));
    assertThrows(IllegalStateException.class, () -> g.labels());
    assertThrows(IllegalStateException.class, g::inc);
  }

  @Test
  void failingSupplierRendersNaNAndDoesNotBreakTheScrape() {
    Metrics m = new Metrics();
    m.gauge(
        "broken",
        "h",
        () -> {
          throw new IllegalStateException("secret-ish detail");
        });
    m.counter("z_total", "h").inc();
    String out = m.render();
    assertTrue(out.contains("broken NaN\n"), out);
    assertTrue(out.contains("z_total 1\n"), out);
    assertFalse(out.contains("secret-ish"));
  }

  @Test
  void unregisterRemovesTheMetric() {
    Metrics m = new Metrics();
    m.counter("c_total", "h");
    assertTrue(m.unregister("c_total"));
    assertEquals("", m.render());
    assertFalse(m.unregister("c_total"));
  }

  @Test
  void concurrentIncrementsAreExact() throws Exception {
    Metrics m = new Metrics();
    Metrics.Counter c = m.counter("c_total", "h", "t");
    Metrics.Gauge g = m.gauge("g", "h");
    int threads = 8;
    int per = 20_000;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> ts = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      String label = i % 2 == 0 ? "even" : "odd";
      Thread t =
          new Thread(
              () -> {
                try {
                  start.await();
                } catch (InterruptedException e) {
                  return;
                }
                for (int k = 0; k < per; k++) {
                  c.labels(label).inc();
                  g.inc();
                  if (k % 1000 == 0) {
                    m.render();
                  }
                }
              });
      ts.add(t);
      t.start();
    }
    start.countDown();
    for (Thread t : ts) {
      t.join();
    }
    assertEquals(threads / 2.0 * per, c.value("even"));
    assertEquals(threads / 2.0 * per, c.value("odd"));
    assertEquals((double) threads * per, g.value());
  }

  @Test
  void everySampleLineParsesAsExpositionFormat() {
    Metrics m = new Metrics();
    m.counter("a_total", "h", "x", "y").labels("1", "q\"").inc();
    m.gauge("b", "h\\n").set(-0.125);
    m.gauge("c", "h", () -> Double.POSITIVE_INFINITY);
    Pattern sample =
        Pattern.compile(
            "[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\\\\n\"])*\",?)*})? "
                + "(NaN|[+-]Inf|-?[0-9]+(\\.[0-9]+)?(E-?[0-9]+)?)");
    Pattern comment = Pattern.compile("# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*");
    String out = m.render();
    assertTrue(out.endsWith("\n"));
    for (String line : out.split("\n")) {
      assertTrue(sample.matcher(line).matches() || comment.matcher(line).matches(), line);
    }
  }

  // ---- the agent's own series ------------------------------------------------------------

  @TempDir Path tmp;

  /**
   * An agent on a fresh certs.d in {@link #tmp}; {@code containerdConfig} may be null (no
   * --containerd-config).
   */
  private Agent agent(Metrics metrics, Path policy, Path containerdConfig) throws Exception {
    Path bundle = tmp.resolve("bundle");
    Fixtures.writeBundle(bundle);
    return new Agent(
        new Agent.Options(
            policy,
            bundle,
            Files.createDirectories(tmp.resolve("certs.d")),
            Fixtures.NODE_CERTS,
            false,
            Duration.ofSeconds(60),
            containerdConfig),
        metrics);
  }

  private static List<String> lines(Metrics m, String name) {
    List<String> out = new ArrayList<>();
    for (String line : m.render().split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        out.add(line);
      }
    }
    return out;
  }

  @Test
  void agentPolicyInfo_hasOnlyTheCurrentGoodPolicysFullSha() throws Exception {
    Metrics m = new Metrics();
    Path policy = tmp.resolve("policy.yaml");
    Files.writeString(policy, "apiVersion: nope\n");
    Agent a = agent(m, policy, null);
    a.reconcile("test");
    assertEquals(List.of(), lines(m, "registry_policy_agent_policy_info"), "no good policy yet");

    Files.writeString(policy, Fixtures.POLICY);
    a.reconcile("test");
    String first = (String) a.health().details().get("policySha256");
    assertEquals(64, first.length());
    assertEquals(
        List.of("registry_policy_agent_policy_info{sha256=\"" + first + "\"} 1"),
        lines(m, "registry_policy_agent_policy_info"),
        "the same sha as /healthz");

    Files.writeString(policy, Fixtures.POLICY + "# changed\n");
    a.reconcile("test");
    String second = (String) a.health().details().get("policySha256");
    assertFalse(first.equals(second));
    assertEquals(
        List.of("registry_policy_agent_policy_info{sha256=\"" + second + "\"} 1"),
        lines(m, "registry_policy_agent_policy_info"),
        "no stale series for the previous policy");

    Files.writeString(policy, "apiVersion: nope\n");
    a.reconcile("test");
    assertEquals(
        List.of("registry_policy_agent_policy_info{sha256=\"" + second + "\"} 1"),
        lines(m, "registry_policy_agent_policy_info"),
        "an invalid policy keeps the last good one");
  }

  @Test
  void agentContainerdDiagnosis_versionAndConfigPath() throws Exception {
    Path policy = tmp.resolve("policy.yaml");
    Files.writeString(policy, Fixtures.POLICY);
    Path config = tmp.resolve("config.toml");
    Metrics m = new Metrics();
    Agent a = agent(m, policy, config);

    Files.writeString(
        config,
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \""
            + Fixtures.NODE_CERTS
            + "\"\n");
    a.reconcile("test");
    assertEquals(
        List.of("registry_policy_agent_containerd_config_version 2"),
        lines(m, "registry_policy_agent_containerd_config_version"));
    assertEquals(
        List.of("registry_policy_agent_containerd_config_path_ok 1"),
        lines(m, "registry_policy_agent_containerd_config_path_ok"));

    Files.writeString(
        config,
        "version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n"
            + "  config_path = '/etc/docker/certs.d'\n");
    a.reconcile("test");
    assertEquals(
        List.of("registry_policy_agent_containerd_config_version 3"),
        lines(m, "registry_policy_agent_containerd_config_version"));
    assertEquals(
        List.of("registry_policy_agent_containerd_config_path_ok 0"),
        lines(m, "registry_policy_agent_containerd_config_path_ok"),
        "points elsewhere");

    Files.delete(config);
    a.reconcile("test");
    assertEquals(
        List.of("registry_policy_agent_containerd_config_version 0"),
        lines(m, "registry_policy_agent_containerd_config_version"),
        "unreadable");
    assertEquals(
        List.of("registry_policy_agent_containerd_config_path_ok 0"),
        lines(m, "registry_policy_agent_containerd_config_path_ok"));
  }

  @Test
  void agentContainerdDiagnosis_absentWithoutContainerdConfig() throws Exception {
    Path policy = tmp.resolve("policy.yaml");
    Files.writeString(policy, Fixtures.POLICY);
    Metrics m = new Metrics();
    agent(m, policy, null).reconcile("test");
    assertFalse(m.render().contains("registry_policy_agent_containerd_"), m::render);
  }
}
