package dev.registrypolicy.controller.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.registrypolicy.admission.WorkloadKind;
import dev.registrypolicy.policy.ImageRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The CEL image parsing against {@link ImageRef#parse} on seeded random strings: validity (with the
 * uppercase-domain rule) and, for valid references, domain, path, tag, digest, name, canonical
 * form, effective tag, host and port, field by field.
 */
class CelImageParseTest {
  private static final long SEED = 20261202L;
  private static final int IMAGES = 16_000;
  private static final int PER_POD = 40;

  @Test
  void celParsesEveryImageAsImageRef() {
    ValidatingPolicies.Result built =
        ValidatingPolicies.build(
            CelRequests.policy("admission:\n  allowedSources:\n    - prefix: registry.corp\n"),
            CelRequests.OWN);
    assertEquals(List.of(), built.problems());
    CelHarness.Compiled vap = CelHarness.compile(built.policies().get(0), built.bindings().get(0));
    CelImageGenerator gen = new CelImageGenerator(SEED);
    Map<String, Object> ns = CelRequests.namespace("apps", Map.of());
    List<String> failures = new ArrayList<>();
    int valid = 0;
    for (int i = 0; i < IMAGES; i += PER_POD) {
      List<CelRequests.C> cs = new ArrayList<>();
      for (int j = 0; j < PER_POD; j++) {
        cs.add(CelRequests.c("c" + j, gen.next(i + j)));
      }
      Map<String, Object> vars = vap.variables(CelRequests.create(WorkloadKind.POD, ns, cs));
      @SuppressWarnings("unchecked")
      List<List<String>> images = (List<List<String>>) vars.get("images");
      assertEquals(Map.of(), vap.errors, "variables evaluate");
      assertEquals(PER_POD, images.size());
      for (int j = 0; j < PER_POD; j++) {
        String image = cs.get(j).image();
        List<String> got = images.get(j);
        ImageRef want = CelExpected.parse(image);
        String problem = compare(want, got);
        if (want != null) {
          valid++;
        }
        if (problem != null && failures.size() < 20) {
          failures.add(CelLiterals.string(image) + ": " + problem);
        }
      }
    }
    assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
    assertTrue(valid > IMAGES / 5 && valid < IMAGES * 4 / 5, "valid " + valid);
  }

  static String compare(ImageRef want, List<String> got) {
    boolean celValid = got.get(CelImage.VALID).equals("y");
    if (want == null) {
      return celValid ? "CEL accepts it, ImageRef refuses it" : null;
    }
    if (!celValid) {
      return "CEL refuses it, ImageRef reads " + want;
    }
    String[][] pairs = {
      {"domain", want.domain(), got.get(CelImage.DOMAIN)},
      {"path", want.path(), got.get(CelImage.PATH)},
      {
        "tag",
        want.hasTag() ? "y" + want.tag() : "",
        got.get(CelImage.HAS_TAG) + got.get(CelImage.TAG)
      },
      {
        "digest",
        want.hasDigest() ? "y" + want.digest() : "",
        got.get(CelImage.HAS_DIGEST)
            + (got.get(CelImage.HAS_DIGEST).isEmpty() ? "" : got.get(CelImage.DIGEST))
      },
      {"name", want.name(), got.get(CelImage.REF_NAME)},
      {"canonical", want.canonical(), got.get(CelImage.CANONICAL)},
      {
        "effectiveTag",
        want.effectiveTag() == null ? "" : want.effectiveTag(),
        got.get(CelImage.EFFECTIVE_TAG)
      },
      {"host", want.host(), got.get(CelImage.HOST)},
      {"port", want.port() < 0 ? "" : ":" + want.port(), got.get(CelImage.PORT_SUFFIX)},
    };
    for (String[] p : pairs) {
      if (!p[1].equals(p[2])) {
        return String.format(Locale.ROOT, "%s: ImageRef %s, CEL %s", p[0], p[1], p[2]);
      }
    }
    return null;
  }
}
