package dev.registrypolicy.fakeapi;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The core's own behaviour that the agent relies on: RBAC by resourceNames, bookmarks, 410. */
class FakeKubeApiCoreTest {
  private static final String NS = "registry-policy";
  private static final String SA = "system:serviceaccount:registry-policy:agent";

  private FakeKubeApi fake;

  @BeforeEach
  void start() throws IOException {
    fake = new FakeKubeApi().start();
    fake.create(
        JsonParser.parseString(
                "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\""
                    + NS
                    + "\"}}")
            .getAsJsonObject());
    fake.create(configMap("registry-policy", "a"));
    fake.create(configMap("other", "b"));
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  static JsonObject configMap(String name, String value) {
    return JsonParser.parseString(
            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\""
                + name
                + "\",\"namespace\":\""
                + NS
                + "\"},\"data\":{\"k\":\""
                + value
                + "\"}}")
        .getAsJsonObject();
  }

  private int call(String method, String pathAndQuery, String token, String body)
      throws IOException {
    HttpURLConnection c =
        (HttpURLConnection) URI.create(fake.baseUrl() + pathAndQuery).toURL().openConnection();
    c.setRequestMethod(method);
    if (token != null) {
      c.setRequestProperty("Authorization", "Bearer " + token);
    }
    if (body != null) {
      c.setDoOutput(true);
      c.setRequestProperty("Content-Type", "application/json");
      try (OutputStream os = c.getOutputStream()) {
        os.write(body.getBytes(UTF_8));
      }
    }
    int code = c.getResponseCode();
    try (InputStream in = code < 400 ? c.getInputStream() : c.getErrorStream()) {
      if (in != null) {
        in.readAllBytes();
      }
    }
    return code;
  }

  @Test
  void rbacResourceNamesNeedAMatchingNameFieldSelectorForListAndWatch() throws IOException {
    fake.enableRbac();
    fake.issueToken("t1", SA);
    fake.bind(
        SA,
        NS,
        List.of(
            new FakeKubeApi.PolicyRule(
                List.of(""),
                List.of("configmaps"),
                List.of("get", "list", "watch", "create"),
                List.of("registry-policy"))));
    String cms = "/api/v1/namespaces/" + NS + "/configmaps";
    assertEquals(401, call("GET", cms + "/registry-policy", null, null), "no token");
    assertEquals(401, call("GET", cms + "/registry-policy", "wrong", null), "unknown token");
    assertEquals(200, call("GET", cms + "/registry-policy", "t1", null));
    assertEquals(403, call("GET", cms + "/other", "t1", null), "another name");
    assertEquals(403, call("GET", cms, "t1", null), "list without a name selector");
    assertEquals(
        200, call("GET", cms + "?fieldSelector=metadata.name%3Dregistry-policy", "t1", null));
    assertEquals(
        200, call("GET", cms + "?fieldSelector=metadata.name%3D%3Dregistry-policy", "t1", null));
    assertEquals(403, call("GET", cms + "?fieldSelector=metadata.name%3Dother", "t1", null));
    assertEquals(
        200,
        call(
            "GET",
            cms + "?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dregistry-policy",
            "t1",
            null));
    assertEquals(403, call("GET", cms + "?watch=true&timeoutSeconds=1", "t1", null));
    assertEquals(
        403,
        call("POST", cms, "t1", configMap("registry-policy", "x").toString()),
        "create is never restricted by name, so a named rule does not grant it");
    assertEquals(
        403, call("GET", "/api/v1/namespaces/elsewhere/configmaps/registry-policy", "t1", null));
    fake.revokeToken("t1");
    assertEquals(401, call("GET", cms + "/registry-policy", "t1", null), "revoked");
  }

  @Test
  void bookmarksOnlyForWatchesThatAskedAndExpiredVersionsAreGone() throws Exception {
    String path =
        "/api/v1/namespaces/"
            + NS
            + "/configmaps?watch=true&timeoutSeconds=2&allowWatchBookmarks=true&resourceVersion="
            + fake.resourceVersion();
    HttpURLConnection c =
        (HttpURLConnection) URI.create(fake.baseUrl() + path).toURL().openConnection();
    assertEquals(200, c.getResponseCode());
    try (BufferedReader r = new BufferedReader(new InputStreamReader(c.getInputStream(), UTF_8))) {
      long deadline = System.nanoTime() + 2_000_000_000L;
      while (fake.activeWatches() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      fake.mutate("configmaps", NS, "other", o -> o.getAsJsonObject("data").addProperty("k", "c"));
      fake.sendBookmarks();
      JsonObject modified = JsonParser.parseString(r.readLine()).getAsJsonObject();
      assertEquals("MODIFIED", modified.get("type").getAsString());
      JsonObject bookmark = JsonParser.parseString(r.readLine()).getAsJsonObject();
      assertEquals("BOOKMARK", bookmark.get("type").getAsString());
      assertEquals(
          Long.toString(fake.resourceVersion()),
          bookmark
              .getAsJsonObject("object")
              .getAsJsonObject("metadata")
              .get("resourceVersion")
              .getAsString());
    }
    long old = fake.resourceVersion();
    fake.compactHistory();
    HttpURLConnection gone =
        (HttpURLConnection)
            URI.create(
                    fake.baseUrl()
                        + "/api/v1/namespaces/"
                        + NS
                        + "/configmaps?watch=true&resourceVersion="
                        + old)
                .toURL()
                .openConnection();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(gone.getInputStream(), UTF_8))) {
      JsonObject e = JsonParser.parseString(r.readLine()).getAsJsonObject();
      assertEquals("ERROR", e.get("type").getAsString());
      assertEquals(410, e.getAsJsonObject("object").get("code").getAsInt());
    }
    HttpURLConnection plain =
        (HttpURLConnection)
            URI.create(
                    fake.baseUrl()
                        + "/api/v1/namespaces/"
                        + NS
                        + "/configmaps?watch=true&timeoutSeconds=1&resourceVersion="
                        + fake.resourceVersion())
                .toURL()
                .openConnection();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(plain.getInputStream(), UTF_8))) {
      Thread.sleep(100);
      fake.sendBookmarks();
      assertTrue(r.readLine() == null, "a watch that did not ask gets no bookmark");
    }
  }
}
