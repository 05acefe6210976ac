package dev.registrypolicy.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.policy.NamespaceInfo;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.PolicyException;
import dev.registrypolicy.policy.PolicyParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The verdict function, check by check: what it finds, in which order, and the exact messages. */
class AdmissionCheckTest {
  static final String HEAD = "apiVersion: registry-policy.dev/v1alpha1\nkind: RegistryPolicy\n";
  static final String OWN = "registry-policy";
  static final NamespaceInfo APP = NamespaceInfo.named("app");

  static AdmissionCheck check(String yaml) {
    try {
      return AdmissionCheck.of(PolicyParser.parse(HEAD + yaml), OWN);
    } catch (PolicyException e) {
      throw new AssertionError(e.problems().toString(), e);
    }
  }

  static Workload pod(String... images) {
    List<Container> cs = new ArrayList<>();
    for (int i = 0; i < images.length; i++) {
      cs.add(new Container(ContainerKind.CONTAINER, "c" + i, images[i]));
    }
    return new Workload(WorkloadKind.POD, "app", "p", cs);
  }

  static Workload pod(Container... cs) {
    return new Workload(WorkloadKind.POD, "app", "p", List.of(cs));
  }

  static Container c(String name, String image) {
    return new Container(ContainerKind.CONTAINER, name, image);
  }

  static Verdict verdict(String yaml, NamespaceInfo ns, String image) {
    return check(yaml).check(ns, pod(image), null);
  }

  static Action action(String yaml, String image) {
    return verdict(yaml, APP, image).action();
  }

  static List<String> messages(Verdict v) {
    return v.findings().stream().map(Finding::message).collect(Collectors.toList());
  }

  static NamespaceInfo ns(String name, Map<String, String> labels) {
    return new NamespaceInfo(name, labels, Map.of());
  }

  static final String SOURCES =
      """
      admission:
        allowedSources:
          - prefix: registry.corp.example/team
          - prefix: docker.io
      """;

  // ---- nothing to enforce ---------------------------------------------------------------------

  @Test
  void noAdmissionSection_allowsEverything_evenInvalidImages() {
    for (String yaml :
        List.of(
            "",
            "admission: {}\n",
            "admission: {mode: Warn, exemptNamespaces: []}\n",
            // imageMetadata is the webhook's: nothing here evaluates it
            "admission:\n  rules:\n    - {name: meta, imageMetadata: {denyRunAsRoot: true}}\n")) {
      AdmissionCheck ck = check(yaml);
      assertTrue(ck.enforcesNothing(), yaml);
      Verdict v = ck.check(APP, pod("nginx", "Not A Reference", "Registry.Corp/x"), null);
      assertEquals(Action.ALLOW, v.action(), yaml);
      assertEquals(List.of(), v.findings());
      assertEquals(
          List.of(
              "container \"c0\": image \"docker.io/library/nginx:latest\" is allowed",
              "container \"c1\": image \"Not A Reference\" is allowed",
              "container \"c2\": image \"Registry.Corp/x\" is allowed"),
          v.containers().stream().map(ContainerVerdict::message).collect(Collectors.toList()));
      assertNull(v.containers().get(0).rule());
    }
    assertFalse(check("admission: {requireGrantForNodeCredentials: true}\n").enforcesNothing());
    assertFalse(check(SOURCES).enforcesNothing());
    assertFalse(
        check("admission:\n  rules:\n    - {name: d, requireDigest: true}\n").enforcesNothing());
  }

  // ---- imageReference ---------------------------------------------------------------------------

  @Test
  void invalidReference_isOneFindingWithTheParserReason_andNothingElseIsChecked() {
    Verdict v =
        verdict(
            SOURCES + "  rules:\n    - {name: pin, requireDigest: true, mode: Warn}\n",
            APP,
            "Nginx");
    assertEquals(Action.DENY, v.action());
    assertEquals(
        List.of(
            "container \"c0\": image \"Nginx\" is not a valid image reference: repository name"
                + " must be lowercase (rule imageReference)"),
        messages(v));
    ContainerVerdict cv = v.containers().get(0);
    assertEquals(AdmissionCheck.RULE_IMAGE_REFERENCE, cv.rule());
    assertEquals("Nginx", cv.image());
  }

  @Test
  void invalidReference_takesTheDefaultMode_andNeverEchoesCredentials() {
    Verdict v =
        verdict(
            "admission:\n  mode: Audit\n  allowedSources: [{prefix: docker.io}]\n",
            APP,
            "https://robot:s3cret@registry.corp.example/app:1");
    assertEquals(Action.AUDIT, v.action());
    String m = v.findings().get(0).message();
    assertFalse(m.contains("s3cret"), m);
    assertFalse(v.containers().get(0).image().contains("s3cret"));
    assertTrue(m.startsWith("container \"c0\": image \"https://***@registry.corp.example"), m);
    assertTrue(m.endsWith("(rule imageReference)"), m);
  }

  @ParameterizedTest
  @CsvSource({
    "Registry.Corp.Example/team/app:1",
    "REGISTRY.CORP.EXAMPLE/team/app",
    "Docker.IO/library/nginx",
    "Index.Docker.IO/library/nginx",
    "LocalHost:5000/app",
    "Registry-1.Docker.IO/library/nginx"
  })
  void uppercaseRegistryHost_isAnInvalidReference(String image) {
    // ImageRef reads these (it lowercases hosts), but containerd looks up certs.d/<host as
    // written>, so the policy's configuration for the lowercase host would not apply.
    Verdict v = verdict(SOURCES + "    - prefix: localhost:5000\n", APP, image);
    assertEquals(Action.DENY, v.action());
    assertEquals(
        List.of(
            "container \"c0\": image \""
                + image
                + "\" is not a valid image reference: "
                + AdmissionCheck.UPPERCASE_DOMAIN_REASON
                + " (rule imageReference)"),
        messages(v));
    assertEquals(image, v.containers().get(0).image());
  }

  @Test
  void uppercaseElsewhere_isNotTheHostRule() {
    // a tag may have uppercase letters; a digest's algorithm part is checked by the parser
    assertEquals(Action.ALLOW, action(SOURCES, "registry.corp.example/team/app:V1.2-RC"));
    assertEquals(
        List.of(
            "container \"c0\": image \"Team/app\" is not a valid image reference: repository"
                + " name must be lowercase (a registry host needs a '.' or a port, or must be"
                + " localhost) (rule imageReference)"),
        messages(verdict(SOURCES, APP, "Team/app")));
  }

  // ---- allowedSources ---------------------------------------------------------------------------

  @ParameterizedTest
  @CsvSource({
    "registry.corp.example/team, ALLOW",
    "registry.corp.example/team/app:1, ALLOW",
    "registry.corp.example/team/sub/app@sha256:"
        + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef, ALLOW",
    "registry.corp.example/team-evil/x, DENY",
    "registry.corp.example/teamx, DENY",
    "registry.corp.example/x, DENY",
    "registry.corp.example.evil.com/team/x, DENY",
    "registry.corp.example:443/team/x, DENY",
    "registry.corp.example:5000/team/x, DENY",
    "nginx, ALLOW",
    "library/nginx:1.25, ALLOW",
    "docker.io/bitnami/redis, ALLOW",
    "index.docker.io/library/nginx, ALLOW",
    // containerd reads registry-1.docker.io through certs.d/registry-1.docker.io, not docker.io
    "registry-1.docker.io/library/nginx, DENY",
    "ghcr.io/team/app, DENY",
    "localhost:5000/x, DENY"
  })
  void allowedSources_matchOnPathSegmentBoundaries(String image, Action expected) {
    assertEquals(expected, action(SOURCES, image), image);
  }

  @Test
  void allowedSources_message() {
    Verdict v = verdict("admission:\n  allowedSources: [{prefix: ghcr.io}]\n", APP, "nginx");
    assertEquals(
        "container \"c0\": image \"docker.io/library/nginx:latest\" is not from an allowed source"
            + " (rule allowedSources)",
        v.message(Action.DENY));
    assertEquals(AdmissionCheck.RULE_ALLOWED_SOURCES, v.containers().get(0).rule());
    assertEquals("docker.io/library/nginx:latest", v.findings().get(0).image());
  }

  @Test
  void scopedSources_admitOnlyInTheirNamespaces() {
    String yaml =
        """
        admission:
          allowedSources:
            - prefix: registry.corp.example
            - prefix: ghcr.io/team-a
              scope: {names: [team-a]}
            - prefix: ghcr.io/team-a/tools
              scope:
                selector: {matchLabels: {tools: "yes"}}
            - prefix: ghcr.io
              scope: {names: [ops], exclude: [ops]}
        """;
    AdmissionCheck ck = check(yaml);
    Workload w = pod("ghcr.io/team-a/tools/lint:1");
    assertEquals(Action.ALLOW, ck.check(NamespaceInfo.named("team-a"), w, null).action());
    assertEquals(Action.DENY, ck.check(NamespaceInfo.named("team-b"), w, null).action());
    // a more specific scoped prefix admits where the less specific one does not
    assertEquals(Action.ALLOW, ck.check(ns("team-b", Map.of("tools", "yes")), w, null).action());
    assertEquals(
        Action.DENY,
        ck.check(ns("team-b", Map.of("tools", "yes")), pod("ghcr.io/team-a/app"), null).action());
    // exclude wins over names
    assertEquals(
        Action.DENY, ck.check(NamespaceInfo.named("ops"), pod("ghcr.io/x/y"), null).action());
    assertEquals(
        Action.ALLOW,
        ck.check(NamespaceInfo.named("ops"), pod("registry.corp.example/x"), null).action());
  }

  // ---- rules ------------------------------------------------------------------------------------

  static final String DIGEST =
      "@sha256:" + "abababababababababababababababababababababababababababababababab";

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "requireDigest: true   | nginx:1.25                 | is not pinned by digest",
        "requireDigest: true   | nginx:1.25" + DIGEST + "   | ",
        "requireDigest: true   | nginx" + DIGEST + "        | ",
        "blockUntagged: true   | nginx                      | has no tag",
        "blockUntagged: true   | nginx:latest               | ",
        "blockUntagged: true   | nginx" + DIGEST + "        | ",
        "blockLatestTag: true  | nginx                      | uses the latest tag",
        "blockLatestTag: true  | nginx:latest               | uses the latest tag",
        "blockLatestTag: true  | nginx:latest" + DIGEST + " | uses the latest tag",
        "blockLatestTag: true  | nginx" + DIGEST + "        | ",
        "blockLatestTag: true  | nginx:Latest               | ",
        "blockLatestTag: true  | nginx:1.25                 | ",
        "allowedNameTags: [{name: nginx, tag: 1.*}]                 | nginx:1.25 | ",
        "allowedNameTags: [{name: nginx, tag: 1.*}]                 | nginx:2.0  | does not match an allowed name and tag",
        "allowedNameTags: [{name: nginx, tag: 1.*}]                 | nginx"
            + DIGEST
            + " | does not match an allowed name and tag",
        "allowedNameTags: [{name: docker.io/library/*}]             | nginx      | ",
        "allowedNameTags: [{name: docker.io/library/*}]             | registry-1.docker.io/library/nginx | does not match an allowed name and tag",
        "allowedNameTags: [{name: index.docker.io/library/*}]       | docker.io/library/nginx | ",
        "allowedNameTags: [{name: registry-1.docker.io/library/*}]   | registry-1.docker.io/library/nginx | ",
        "allowedNameTags: [{name: registry-1.docker.io/library/*}]   | nginx | does not match an allowed name and tag",
        "blockedImages: [{name: busybox}]                           | busybox:1.36 | is blocked",
        "blockedImages: [{name: busybox}]                           | registry.corp.example/busybox | is blocked",
        "blockedImages: [{name: busybox}]                           | registry-1.docker.io/library/busybox | is blocked",
        "blockedImages: [{name: busybox}]                           | registry.corp.example/busybox/x | ",
        "blockedImages: [{host: docker.io, name: library/nginx}]    | registry-1.docker.io/library/nginx | is blocked",
        "blockedImages: [{host: docker.io, name: library/nginx}]    | index.docker.io/library/nginx:1 | is blocked",
        "blockedImages: [{host: registry-1.docker.io}]              | nginx | is blocked",
        "blockedImages: [{host: docker.io}]                         | ghcr.io/x | ",
        "blockedImages: [{host: \"*.corp.example\", port: 5000}]  | registry.corp.example:5000/x | is blocked",
        "blockedImages: [{host: \"*.corp.example\", port: 5000}]  | registry.corp.example/x | ",
        "blockedImages: [{tag: debug*}]                             | registry.corp.example/x:debug-1 | is blocked",
      })
  void eachRuleCheck(String check, String image, String what) throws Exception {
    Verdict v = verdict("admission:\n  rules:\n    - name: r\n      " + check + "\n", APP, image);
    if (what == null) {
      assertEquals(List.of(), v.findings(), image);
      assertEquals(Action.ALLOW, v.action());
    } else {
      String img = dev.registrypolicy.policy.ImageRef.parse(image).canonical();
      assertEquals(
          List.of("container \"c0\": image \"" + img + "\" " + what + " (rule r)"),
          messages(v),
          image);
    }
  }

  @Test
  void aRuleGivesItsFirstFailingCheckOnly_inTheFixedOrder() {
    String rule =
        "admission:\n  rules:\n    - name: all\n      requireDigest: true\n"
            + "      blockUntagged: true\n      blockLatestTag: true\n"
            + "      allowedNameTags: [{name: ghcr.io/*}]\n      blockedImages: [{name: nginx}]\n";
    assertEquals(
        List.of(
            "container \"c0\": image \"docker.io/library/nginx:latest\" is not pinned by digest"
                + " (rule all)"),
        messages(verdict(rule, APP, "nginx")));
    assertEquals(
        List.of(
            "container \"c0\": image \"docker.io/library/nginx"
                + DIGEST
                + "\" does not match an"
                + " allowed name and tag (rule all)"),
        messages(verdict(rule, APP, "nginx" + DIGEST)));
    String noDigest = rule.replace("      requireDigest: true\n", "");
    assertEquals(
        List.of("container \"c0\": image \"docker.io/library/nginx:latest\" has no tag (rule all)"),
        messages(verdict(noDigest, APP, "nginx")));
    assertEquals(
        List.of("container \"c0\": image \"ghcr.io/nginx:latest\" uses the latest tag (rule all)"),
        messages(verdict(noDigest, APP, "ghcr.io/nginx:latest")));
    assertEquals(
        List.of("container \"c0\": image \"ghcr.io/nginx:1\" is blocked (rule all)"),
        messages(verdict(noDigest, APP, "ghcr.io/nginx:1")));
  }

  @Test
  void checksRunInOrder_everyRuleGivesItsFinding_andTheVerdictTakesTheMostSevere() {
    String yaml =
        """
        credentials: [{name: hub, secret: hub-pull}]
        registries: [{host: docker.io, credentials: hub}]
        admission:
          mode: Warn
          requireGrantForNodeCredentials: true
          allowedSources: [{prefix: ghcr.io}]
          rules:
            - {name: audit-latest, mode: Audit, blockLatestTag: true}
            - {name: deny-digest, mode: Deny, requireDigest: true}
            - {name: elsewhere, namespaces: {names: [other]}, requireDigest: true}
            - {name: warn-untagged, blockUntagged: true}
        """;
    Verdict v = check(yaml).check(APP, pod("nginx"), null);
    String img = "container \"c0\": image \"docker.io/library/nginx:latest\" ";
    assertEquals(
        List.of(
            img + "is not from an allowed source (rule allowedSources)",
            img
                + "would be pulled with node credentials \"hub\" for registry \"docker.io\" that"
                + " no access grant gives namespace \"app\" (rule requireGrantForNodeCredentials)",
            img + "uses the latest tag (rule audit-latest)",
            img + "is not pinned by digest (rule deny-digest)",
            img + "has no tag (rule warn-untagged)"),
        messages(v));
    assertEquals(
        List.of(Action.WARN, Action.WARN, Action.AUDIT, Action.DENY, Action.WARN),
        v.findings().stream().map(Finding::action).collect(Collectors.toList()));
    ContainerVerdict cv = v.containers().get(0);
    assertEquals(Action.DENY, cv.action());
    assertEquals("deny-digest", cv.rule());
    assertEquals(img + "is not pinned by digest (rule deny-digest)", cv.message());
    assertEquals(Action.DENY, v.action());
    // what each binding shows: the first finding of its action per container
    assertEquals(
        img + "is not from an allowed source (rule allowedSources)", v.message(Action.WARN));
    assertEquals(img + "uses the latest tag (rule audit-latest)", v.message(Action.AUDIT));
    assertNull(v.message(Action.ALLOW));
  }

  @Test
  void theContainerVerdictTakesTheFirstFindingOfItsMostSevereAction() {
    String yaml =
        """
        admission:
          mode: Warn
          rules:
            - {name: a, blockLatestTag: true}
            - {name: b, blockUntagged: true}
            - {name: c, mode: Audit, requireDigest: true}
        """;
    Verdict v = check(yaml).check(APP, pod("nginx", "nginx:1", "nginx" + DIGEST), null);
    assertEquals(List.of("a", "c", ""), rules(v));
    assertEquals(Action.WARN, v.action());
    assertEquals(
        List.of(Action.WARN, Action.AUDIT, Action.ALLOW),
        v.containers().stream().map(ContainerVerdict::action).collect(Collectors.toList()));
    assertEquals(
        "container \"c0\": image \"docker.io/library/nginx:latest\" uses the latest tag (rule a)",
        v.message(Action.WARN));
    assertEquals(
        "container \"c0\": image \"docker.io/library/nginx:latest\" is not pinned by digest (rule"
            + " c); container \"c1\": image \"docker.io/library/nginx:1\" is not pinned by digest"
            + " (rule c)",
        v.message(Action.AUDIT));
    assertEquals(
        "container \"c2\": image \"docker.io/library/nginx" + DIGEST + "\" is allowed",
        v.containers().get(2).message());
  }

  static List<String> rules(Verdict v) {
    return v.containers().stream()
        .map(c -> c.rule() == null ? "" : c.rule())
        .collect(Collectors.toList());
  }

  @Test
  void ruleNamespaces_selectByNameLabelsAndExclude() {
    String yaml =
        """
        admission:
          rules:
            - name: prod-pins
              namespaces:
                selector:
                  matchExpressions: [{key: env, operator: In, values: [prod]}]
                exclude: [legacy]
              requireDigest: true
        """;
    AdmissionCheck ck = check(yaml);
    Workload w = pod("nginx:1");
    assertEquals(Action.DENY, ck.check(ns("shop", Map.of("env", "prod")), w, null).action());
    assertEquals(Action.ALLOW, ck.check(ns("shop", Map.of("env", "dev")), w, null).action());
    assertEquals(Action.ALLOW, ck.check(ns("legacy", Map.of("env", "prod")), w, null).action());
  }

  // ---- exemptions -------------------------------------------------------------------------------

  @Test
  void exemptNamespaces_defaultIsKubeSystemAndTheOwnNamespace() {
    AdmissionCheck ck = check(SOURCES);
    assertTrue(ck.exempt("kube-system"));
    assertTrue(ck.exempt(OWN));
    assertFalse(ck.exempt("default"));
    Workload bad = pod("ghcr.io/x", "Bad Image");
    for (String n : List.of("kube-system", OWN)) {
      Verdict v = ck.check(NamespaceInfo.named(n), bad, null);
      assertEquals(Action.ALLOW, v.action());
      assertEquals(List.of(), v.findings());
      assertEquals(
          "container \"c0\": image \"ghcr.io/x:latest\" is allowed",
          v.containers().get(0).message());
    }
    assertEquals(Action.DENY, ck.check(NamespaceInfo.named("default"), bad, null).action());
    AdmissionCheck other = AdmissionCheck.of(policy(SOURCES), "platform");
    assertTrue(other.exempt("platform"));
    assertFalse(other.exempt(OWN));
  }

  @Test
  void exemptNamespaces_givenReplacesTheDefault_andAnEmptyListExemptsNothing() {
    AdmissionCheck listed = check(SOURCES + "  exemptNamespaces: [legacy]\n");
    assertTrue(listed.exempt("legacy"));
    assertFalse(listed.exempt("kube-system"));
    assertFalse(listed.exempt(OWN));
    assertEquals(
        Action.DENY,
        listed.check(NamespaceInfo.named("kube-system"), pod("ghcr.io/x"), null).action());
    assertEquals(
        Action.ALLOW, listed.check(NamespaceInfo.named("legacy"), pod("ghcr.io/x"), null).action());
    AdmissionCheck none = check(SOURCES + "  exemptNamespaces: []\n");
    assertFalse(none.exempt("kube-system"));
    assertFalse(none.exempt(OWN));
    assertEquals(
        Action.DENY, none.check(NamespaceInfo.named(OWN), pod("ghcr.io/x"), null).action());
  }

  static Policy policy(String yaml) {
    try {
      return PolicyParser.parse(HEAD + yaml);
    } catch (PolicyException e) {
      throw new AssertionError(e.problems().toString(), e);
    }
  }

  // ---- UPDATE -----------------------------------------------------------------------------------

  @Test
  void update_unchangedContainersAreAllowed_onlyWhatTheUpdateIntroducesIsChecked() {
    AdmissionCheck ck = check(SOURCES);
    Workload old = pod(c("web", "ghcr.io/legacy:1"), c("side", "nginx"));
    // scaling or relabelling: same containers
    Verdict same = ck.check(APP, pod(c("web", "ghcr.io/legacy:1"), c("side", "nginx")), old);
    assertEquals(Action.ALLOW, same.action());
    assertEquals(List.of(), same.findings());
    // a new image, a renamed container and a container moved to another list are new
    Verdict changed =
        ck.check(
            APP,
            pod(
                c("web", "ghcr.io/legacy:2"),
                c("web2", "ghcr.io/legacy:1"),
                new Container(ContainerKind.INIT, "side", "ghcr.io/legacy:1"),
                c("side", "nginx")),
            old);
    assertEquals(
        List.of(
            "container \"web\": image \"ghcr.io/legacy:2\" is not from an allowed source (rule"
                + " allowedSources)",
            "container \"web2\": image \"ghcr.io/legacy:1\" is not from an allowed source (rule"
                + " allowedSources)",
            "init container \"side\": image \"ghcr.io/legacy:1\" is not from an allowed source"
                + " (rule allowedSources)"),
        messages(changed));
    assertEquals(
        List.of(Action.DENY, Action.DENY, Action.DENY, Action.ALLOW),
        changed.containers().stream().map(ContainerVerdict::action).collect(Collectors.toList()));
    // the image string must be equal as written: a respelling is checked again
    assertEquals(
        Action.DENY,
        ck.check(APP, pod(c("web", "ghcr.io/legacy:1@sha256:" + "ab".repeat(32))), old).action());
  }

  @Test
  void ephemeralContainers_areChecked_andTheSubresourceChecksOnlyTheNewOnes() {
    AdmissionCheck ck = check(SOURCES);
    Container app = c("app", "ghcr.io/legacy:1"); // admitted before the policy
    Container debug1 = new Container(ContainerKind.EPHEMERAL, "debugger-1", "busybox");
    Container debug2 = new Container(ContainerKind.EPHEMERAL, "debugger-2", "ghcr.io/tools/dbg");
    Workload before = pod(app, debug1);
    Workload after = pod(app, debug1, debug2);
    Verdict v = ck.check(APP, after, before);
    assertEquals(
        List.of(
            "ephemeral container \"debugger-2\": image \"ghcr.io/tools/dbg:latest\" is not from"
                + " an allowed source (rule allowedSources)"),
        messages(v));
    assertEquals(Action.DENY, v.action());
    assertEquals(Action.ALLOW, ck.check(APP, pod(app, debug1), pod(app)).action());
  }

  @Test
  void nounsFollowTheContainerList() {
    Verdict v =
        check("admission:\n  allowedSources: [{prefix: ghcr.io}]\n")
            .check(
                APP,
                pod(
                    c("web", "nginx"),
                    new Container(ContainerKind.INIT, "setup", "nginx"),
                    new Container(ContainerKind.EPHEMERAL, "dbg", "nginx")),
                null);
    assertEquals(
        List.of("container \"web\"", "init container \"setup\"", "ephemeral container \"dbg\""),
        v.findings().stream()
            .map(f -> f.message().substring(0, f.message().indexOf(':')))
            .collect(Collectors.toList()));
  }

  // ---- requireGrantForNodeCredentials --------------------------------------------------------

  static final String NODE_CREDS =
      """
      credentials:
        - {name: corp, secret: corp-pull}
        - {name: mirror, secret: mirror-pull}
        - {name: cache, secret: cache-pull}
        - {name: spare, secret: spare-pull}
      registries:
        - host: registry.corp.example
          credentials: corp
          mirrors: [{url: "https://mirror.corp.example", credentials: mirror}]
        - host: ghcr.io
          upstream: Never
          credentials: spare
          mirrors: [{url: "https://ghcr-mirror.corp.example"}]
        - host: quay.io
        - host: "*"
          mirrors: [{url: "https://cache.corp.example", credentials: cache}]
      access:
        - name: corp-teams
          credentials: [corp]
          namespaces:
            selector: {matchLabels: {corp: "true"}}
        - name: mirror-everywhere
          credentials: [mirror]
          namespaces: {exclude: [sandbox]}
        - name: cache-team-a
          credentials: [cache]
          secretName: cache
          namespaces: {names: [team-a]}
      admission:
        requireGrantForNodeCredentials: true
      """;

  @Test
  void nodeCredentials_needAGrantForEveryCredentialTheRegistryCarries() {
    AdmissionCheck ck = check(NODE_CREDS);
    NamespaceInfo corp = ns("shop", Map.of("corp", "true"));
    NamespaceInfo plain = NamespaceInfo.named("shop");
    NamespaceInfo sandbox = ns("sandbox", Map.of("corp", "true"));
    Workload corpImage = pod("registry.corp.example/app:1");
    assertEquals(Action.ALLOW, ck.check(corp, corpImage, null).action());
    // the upstream's credentials: granted only by label
    assertEquals(
        List.of(
            "container \"c0\": image \"registry.corp.example/app:1\" would be pulled with node"
                + " credentials \"corp\" for registry \"registry.corp.example\" that no access"
                + " grant gives namespace \"shop\" (rule requireGrantForNodeCredentials)"),
        messages(ck.check(plain, corpImage, null)));
    // the mirror's credentials: granted everywhere but sandbox
    assertEquals(
        List.of(
            "container \"c0\": image \"registry.corp.example/app:1\" would be pulled with node"
                + " credentials \"mirror\" for registry \"registry.corp.example\" that no access"
                + " grant gives namespace \"sandbox\" (rule requireGrantForNodeCredentials)"),
        messages(ck.check(sandbox, corpImage, null)));
  }

  @Test
  void nodeCredentials_optOutAnnotationWithdrawsTheGrant() {
    AdmissionCheck ck = check(NODE_CREDS);
    NamespaceInfo optedOut =
        new NamespaceInfo(
            "shop",
            Map.of("corp", "true"),
            Map.of(dev.registrypolicy.policy.NamespaceSelector.OPT_OUT_ANNOTATION, "true"));
    assertEquals(Action.DENY, ck.check(optedOut, pod("registry.corp.example/app"), null).action());
  }

  @Test
  void nodeCredentials_catchAllAppliesToHostsWithoutAnEntry_exactEntriesDoNotFallThrough() {
    AdmissionCheck ck = check(NODE_CREDS);
    NamespaceInfo teamA = NamespaceInfo.named("team-a");
    NamespaceInfo other = NamespaceInfo.named("other");
    // no entry of its own: the catch-all's mirror credentials
    assertEquals(Action.ALLOW, ck.check(teamA, pod("gcr.io/x/y"), null).action());
    assertEquals(
        List.of(
            "container \"c0\": image \"docker.io/library/nginx:latest\" would be pulled with node"
                + " credentials \"cache\" for registry \"docker.io\" that no access grant gives"
                + " namespace \"other\" (rule requireGrantForNodeCredentials)"),
        messages(ck.check(other, pod("nginx"), null)));
    // registry.corp.example:5000 is another host (another certs.d directory): the catch-all
    assertEquals("cache", credential(ck.check(other, pod("registry.corp.example:5000/app"), null)));
    // quay.io has an entry without credentials: nothing required, the catch-all is not used
    assertEquals(Action.ALLOW, ck.check(other, pod("quay.io/x/y"), null).action());
    // ghcr.io is Never: its upstream is not contacted, so its credentials are on no node
    assertEquals(Action.ALLOW, ck.check(other, pod("ghcr.io/x/y"), null).action());
  }

  static String credential(Verdict v) {
    String m = v.findings().get(0).message();
    int i = m.indexOf("node credentials \"") + "node credentials \"".length();
    return m.substring(i, m.indexOf('"', i));
  }

  @Test
  void nodeCredentials_offByDefault() {
    AdmissionCheck ck =
        check(NODE_CREDS.replace("requireGrantForNodeCredentials: true", "mode: Deny"));
    assertTrue(ck.enforcesNothing());
    assertEquals(
        Action.ALLOW,
        ck.check(NamespaceInfo.named("x"), pod("registry.corp.example/a"), null).action());
  }

  @Test
  void nodeCredentials_registry1IsItsOwnHost() {
    String yaml =
        """
        credentials: [{name: hub, secret: hub-pull}]
        registries: [{host: docker.io, credentials: hub}]
        access: [{name: hub, credentials: [hub], namespaces: {names: [hub-users]}}]
        admission: {requireGrantForNodeCredentials: true}
        """;
    AdmissionCheck ck = check(yaml);
    NamespaceInfo other = NamespaceInfo.named("other");
    assertEquals(Action.DENY, ck.check(other, pod("nginx"), null).action());
    assertEquals(Action.DENY, ck.check(other, pod("index.docker.io/library/nginx"), null).action());
    // certs.d/registry-1.docker.io does not exist: the docker.io credentials are not used
    assertEquals(
        Action.ALLOW, ck.check(other, pod("registry-1.docker.io/library/nginx"), null).action());
    assertEquals(
        Action.ALLOW, ck.check(NamespaceInfo.named("hub-users"), pod("nginx"), null).action());
  }

  // ---- verdict shape ----------------------------------------------------------------------------

  @Test
  void emptyWorkload_isAllowed() {
    Verdict v = check(SOURCES).check(APP, pod(new Container[0]), null);
    assertEquals(Action.ALLOW, v.action());
    assertEquals(List.of(), v.containers());
  }

  @Test
  void equalContainersGetOneVerdictEach() {
    Verdict v = check(SOURCES).check(APP, pod(c("a", "ghcr.io/x"), c("a", "ghcr.io/x")), null);
    assertEquals(2, v.containers().size());
    assertEquals(2, v.findings().size());
    assertEquals(2, v.firstFindings(Action.DENY).size());
  }
}
