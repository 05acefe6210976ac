package dev.registrypolicy.controller.webhook;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The webhook's settings, from the controller's flags.
 *
 * @param enabled whether the controller serves the webhook and keeps its configurations
 * @param port the HTTPS port the server listens on (the Service maps 443 to it)
 * @param failurePolicy what the API server does when the validating webhook cannot be reached or
 *     errs (the mutating webhook is always {@code Ignore})
 * @param timeoutSeconds how long the API server waits for an answer, 1-30
 * @param certificates who makes the serving certificate
 * @param secretName the {@code kubernetes.io/tls} Secret holding it
 * @param serviceName the Service in front of the server
 * @param serviceNamespace the Service's (and Secret's) namespace: the controller's own
 * @param metadataBudget how long after a review arrives the image-content rules' metadata lookups
 *     must be done (those that are not count as timeouts, the rule's {@code onError} decides); less
 *     than {@code timeoutSeconds}, so the review still answers before the API server gives up
 */
public record WebhookSettings(
    boolean enabled,
    int port,
    FailurePolicy failurePolicy,
    int timeoutSeconds,
    CertificateMode certificates,
    String secretName,
    String serviceName,
    String serviceNamespace,
    java.time.Duration metadataBudget) {
  public static final int DEFAULT_PORT = 9443;
  public static final int DEFAULT_TIMEOUT_SECONDS = 5;

  /**
   * The API's range for a webhook's timeoutSeconds (admissionregistration.k8s.io/v1
   * ValidatingWebhook.timeoutSeconds: "The timeout value must be between 1 and 30 seconds").
   */
  public static final int MIN_TIMEOUT_SECONDS = 1;

  public static final int MAX_TIMEOUT_SECONDS = 30;
  public static final String DEFAULT_SECRET = "registry-policy-webhook-tls";
  public static final String DEFAULT_SERVICE = "registry-policy-webhook";

  /**
   * What a review keeps of its {@code timeoutSeconds} after the metadata budget: time to evaluate,
   * answer and cross the network before the API server gives up.
   */
  public static final java.time.Duration METADATA_MARGIN = java.time.Duration.ofMillis(250);

  /** The least metadata budget accepted: below it even a cache miss on loopback cannot finish. */
  public static final java.time.Duration MIN_METADATA_BUDGET = java.time.Duration.ofMillis(50);

  /**
   * The default metadata budget: the timeout less one second, or half of it when that is less (4 s
   * of the default 5 s; 500 ms of 1 s).
   */
  public static java.time.Duration defaultMetadataBudget(int timeoutSeconds) {
    long ms = timeoutSeconds * 1000L;
    return java.time.Duration.ofMillis(Math.max(ms - 1000, ms / 2));
  }

  /** Flag names, as the controller's {@code run} command takes them. */
  public static final String FLAG_ENABLED = "--webhook";

  public static final String FLAG_PORT = "--webhook-port";
  public static final String FLAG_FAILURE_POLICY = "--webhook-failure-policy";
  public static final String FLAG_TIMEOUT = "--webhook-timeout-seconds";
  public static final String FLAG_CERTIFICATES = "--webhook-certificates";
  public static final String FLAG_SECRET = "--webhook-tls-secret";
  public static final String FLAG_SERVICE = "--webhook-service";
  public static final String FLAG_METADATA_BUDGET = "--webhook-image-metadata-budget-ms";

  /** Each flag: name, the value's placeholder (null for a switch), and its help line. */
  public static final List<Flag> FLAGS =
      List.of(
          new Flag(FLAG_ENABLED, null, "serve the admission webhook and keep its configurations"),
          new Flag(FLAG_PORT, "PORT", "webhook HTTPS port (default " + DEFAULT_PORT + ")"),
          new Flag(
              FLAG_FAILURE_POLICY,
              "Fail|Ignore",
              "what the API server does when the validating webhook fails (default Fail)"),
          new Flag(
              FLAG_TIMEOUT,
              "SECONDS",
              "API server wait for the webhook, "
                  + MIN_TIMEOUT_SECONDS
                  + "-"
                  + MAX_TIMEOUT_SECONDS
                  + " (default "
                  + DEFAULT_TIMEOUT_SECONDS
                  + ")"),
          new Flag(
              FLAG_CERTIFICATES,
              "self|secret",
              "self: the controller makes and rotates the CA and serving certificate; secret:"
                  + " read them from the TLS Secret (cert-manager) and never write it (default"
                  + " self)"),
          new Flag(
              FLAG_SECRET, "NAME", "the webhook's TLS Secret (default " + DEFAULT_SECRET + ")"),
          new Flag(FLAG_SERVICE, "NAME", "the webhook's Service (default " + DEFAULT_SERVICE + ")"),
          new Flag(
              FLAG_METADATA_BUDGET,
              "MILLISECONDS",
              "how long a review waits for image metadata (image-content rules) before the rules'"
                  + " onError decides; at most the timeout less "
                  + METADATA_MARGIN.toMillis()
                  + " ms (default: the timeout less 1 s, or half of it when that is less)"));

  /** DNS-1123 label: what Service names are; Secret names are subdomains. */
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile(
          "(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  public WebhookSettings {
    Objects.requireNonNull(failurePolicy, "failurePolicy");
    Objects.requireNonNull(certificates, "certificates");
    Objects.requireNonNull(secretName, "secretName");
    Objects.requireNonNull(serviceName, "serviceName");
    Objects.requireNonNull(serviceNamespace, "serviceNamespace");
    Objects.requireNonNull(metadataBudget, "metadataBudget");
  }

  /** Settings with the default metadata budget for {@code timeoutSeconds}. */
  public WebhookSettings(
      boolean enabled,
      int port,
      FailurePolicy failurePolicy,
      int timeoutSeconds,
      CertificateMode certificates,
      String secretName,
      String serviceName,
      String serviceNamespace) {
    this(
        enabled,
        port,
        failurePolicy,
        timeoutSeconds,
        certificates,
        secretName,
        serviceName,
        serviceNamespace,
        defaultMetadataBudget(timeoutSeconds));
  }

  /** The API server's {@code failurePolicy} values. */
  public enum FailurePolicy {
    FAIL("Fail"),
    IGNORE("Ignore");

    private final String wireName;

    FailurePolicy(String wireName) {
      this.wireName = wireName;
    }

    public String wireName() {
      return wireName;
    }
  }

  /** Who makes the serving certificate. */
  public enum CertificateMode {
    /** The controller: a CA and a serving certificate in the TLS Secret, rotated. */
    SELF("self"),
    /** Someone else (cert-manager): the controller only reads the Secret. */
    SECRET("secret");

    private final String wireName;

    CertificateMode(String wireName) {
      this.wireName = wireName;
    }

    public String wireName() {
      return wireName;
    }
  }

  /** One flag of {@link #FLAGS}. */
  public record Flag(String name, String valueName, String help) {}

  /** Settings and every problem found, one message per bad flag. */
  public record Parsed(WebhookSettings settings, List<String> errors) {
    public Parsed {
      errors = List.copyOf(errors);
    }
  }

  /**
   * Reads the flags' values ({@code values} maps a flag name of {@link #FLAGS} to its value; a
   * switch maps to {@code "true"}); unknown names are errors too. {@code settings} is null when
   * there are errors.
   */
  public static Parsed parse(Map<String, String> values, String ownNamespace) {
    List<String> errors = new ArrayList<>();
    for (String k : values.keySet()) {
      if (FLAGS.stream().noneMatch(f -> f.name().equals(k))) {
        errors.add("unknown webhook flag " + k);
      }
    }
    boolean enabled = "true".equals(values.getOrDefault(FLAG_ENABLED, "false"));
    if (!List.of("true", "false").contains(values.getOrDefault(FLAG_ENABLED, "false"))) {
      errors.add(FLAG_ENABLED + " takes no value");
    }
    int port = number(values, FLAG_PORT, DEFAULT_PORT, 1, 65535, "a port 1-65535", errors);
    int timeout =
        number(
            values,
            FLAG_TIMEOUT,
            DEFAULT_TIMEOUT_SECONDS,
            MIN_TIMEOUT_SECONDS,
            MAX_TIMEOUT_SECONDS,
            "whole seconds "
                + MIN_TIMEOUT_SECONDS
                + "-"
                + MAX_TIMEOUT_SECONDS
                + " (the API's range for timeoutSeconds)",
            errors);
    FailurePolicy fp = FailurePolicy.FAIL;
    String fpText = values.get(FLAG_FAILURE_POLICY);
    if (fpText != null) {
      fp = null;
      for (FailurePolicy p : FailurePolicy.values()) {
        if (p.wireName().equals(fpText)) {
          fp = p;
        }
      }
      if (fp == null) {
        errors.add(FLAG_FAILURE_POLICY + " wants Fail or Ignore, not \"" + fpText + "\"");
      }
    }
    CertificateMode mode = CertificateMode.SELF;
    String modeText = values.get(FLAG_CERTIFICATES);
    if (modeText != null) {
      mode = null;
      for (CertificateMode m : CertificateMode.values()) {
        if (m.wireName().equals(modeText)) {
          mode = m;
        }
      }
      if (mode == null) {
        errors.add(FLAG_CERTIFICATES + " wants self or secret, not \"" + modeText + "\"");
      }
    }
    String secret = values.getOrDefault(FLAG_SECRET, DEFAULT_SECRET);
    if (!DNS_SUBDOMAIN.matcher(secret).matches()) {
      errors.add(FLAG_SECRET + " wants a Secret name (DNS subdomain), not \"" + secret + "\"");
    }
    String service = values.getOrDefault(FLAG_SERVICE, DEFAULT_SERVICE);
    if (!DNS_LABEL.matcher(service).matches()) {
      errors.add(FLAG_SERVICE + " wants a Service name (DNS label), not \"" + service + "\"");
    }
    if (ownNamespace == null || !DNS_LABEL.matcher(ownNamespace).matches()) {
      errors.add("the controller's namespace is not a valid namespace name: " + ownNamespace);
    }
    long maxBudget = timeout * 1000L - METADATA_MARGIN.toMillis();
    int budget =
        number(
            values,
            FLAG_METADATA_BUDGET,
            (int) defaultMetadataBudget(timeout).toMillis(),
            (int) MIN_METADATA_BUDGET.toMillis(),
            (int) maxBudget,
            "milliseconds "
                + MIN_METADATA_BUDGET.toMillis()
                + "-"
                + maxBudget
                + " (less than "
                + FLAG_TIMEOUT
                + " "
                + timeout
                + " s by at least "
                + METADATA_MARGIN.toMillis()
                + " ms)",
            errors);
    if (!errors.isEmpty()) {
      return new Parsed(null, errors);
    }
    return new Parsed(
        new WebhookSettings(
            enabled,
            port,
            fp,
            timeout,
            mode,
            secret,
            service,
            ownNamespace,
            java.time.Duration.ofMillis(budget)),
        List.of());
  }

  private static int number(
      Map<String, String> values,
      String flag,
      int orElse,
      int min,
      int max,
      String wants,
      List<String> errors) {
    String text = values.get(flag);
    if (text == null) {
      return orElse;
    }
    try {
      int n = Integer.parseInt(text);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    errors.add(flag + " wants " + wants + ", not \"" + text + "\"");
    return orElse;
  }

  /** {@code <service>.<namespace>.svc}: the name the API server connects to. */
  public String serviceHost() {
    return serviceName + "." + serviceNamespace + ".svc";
  }
}
