package dev.registrypolicy.controller.fakeapi;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.JSON;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The in-process API server ({@link dev.registrypolicy.fakeapi.FakeKubeApi}, the model's test
 * sources, which uses no Kubernetes client library) with the client-java conveniences the
 * controller's tests use: {@link ApiClient}s for it, and the store's direct methods taking and
 * returning client-java models.
 */
public final class FakeKubeApi extends dev.registrypolicy.fakeapi.FakeKubeApi {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();
  private static final Pattern MODEL_CLASS =
      Pattern.compile("([A-Z][a-z]+)?V\\d+(?:(?:alpha|beta)\\d+)?([A-Z][A-Za-z0-9]*)");

  private ApiClient sharedClient;

  @Override
  public FakeKubeApi start() throws IOException {
    super.start();
    return this;
  }

  @Override
  public FakeKubeApi withoutValidatingAdmissionPolicies() {
    super.withoutValidatingAdmissionPolicies();
    return this;
  }

  /** One ApiClient for this server (created on first use): no read timeout, 2 s connect timeout. */
  public synchronized ApiClient client() {
    if (sharedClient == null) {
      sharedClient = newClient();
    }
    return sharedClient;
  }

  /** A fresh ApiClient for this server, configured like {@link #client()}. */
  public ApiClient newClient() {
    if (port() == 0) {
      throw new IllegalStateException("start() first");
    }
    ApiClient c = new ApiClient();
    c.setBasePath(baseUrl());
    c.setConnectTimeout(2_000);
    c.setReadTimeout(0);
    return c;
  }

  @Override
  public void close() {
    super.close();
    synchronized (this) {
      if (sharedClient != null) {
        sharedClient.getHttpClient().connectionPool().evictAll();
      }
    }
  }

  // --------------------------------------------------- direct store access (typed)

  public <T extends KubernetesObject> T create(T obj) {
    return fromJson(create(toJson(obj)), obj);
  }

  public <T extends KubernetesObject> T put(T obj) {
    return fromJson(put(toJson(obj)), obj);
  }

  public <T extends KubernetesObject> T get(Class<T> type, String namespace, String name) {
    JsonObject o = get(typeOf(type).qualifiedPlural(), namespace, name);
    return o == null ? null : JSON.deserialize(GSON.toJson(o), type);
  }

  public <T extends KubernetesObject> List<T> list(Class<T> type, String namespace) {
    List<T> out = new ArrayList<>();
    for (JsonObject o : list(typeOf(type).qualifiedPlural(), namespace)) {
      out.add(JSON.deserialize(GSON.toJson(o), type));
    }
    return out;
  }

  public <T extends KubernetesObject> T mutate(
      Class<T> type, String namespace, String name, Consumer<T> change) {
    JsonObject result =
        mutate(
            typeOf(type).qualifiedPlural(),
            namespace,
            name,
            json -> {
              T typed = JSON.deserialize(GSON.toJson(json), type);
              change.accept(typed);
              JsonObject back = JsonParser.parseString(JSON.serialize(typed)).getAsJsonObject();
              json.keySet().clear();
              back.entrySet().forEach(e -> json.add(e.getKey(), e.getValue()));
            });
    return JSON.deserialize(GSON.toJson(result), type);
  }

  public boolean delete(Class<? extends KubernetesObject> type, String namespace, String name) {
    return delete(typeOf(type).qualifiedPlural(), namespace, name);
  }

  private JsonObject toJson(KubernetesObject obj) {
    JsonObject json = JsonParser.parseString(JSON.serialize(obj)).getAsJsonObject();
    if (!json.has("kind") || !json.has("apiVersion")) {
      dev.registrypolicy.fakeapi.ResourceType t = typeOf(obj.getClass());
      json.addProperty("apiVersion", t.apiVersion());
      json.addProperty("kind", t.kind());
    }
    return json;
  }

  @SuppressWarnings("unchecked")
  private static <T> T fromJson(JsonObject json, T like) {
    return (T) JSON.deserialize(GSON.toJson(json), like.getClass());
  }

  /** Resource for a client-java model class such as V1ServiceAccount or EventsV1Event. */
  dev.registrypolicy.fakeapi.ResourceType typeOf(Class<?> model) {
    Matcher m = MODEL_CLASS.matcher(model.getSimpleName());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a client-java model class: " + model);
    }
    String groupWord = m.group(1);
    String kind = m.group(2);
    List<dev.registrypolicy.fakeapi.ResourceType> found = new ArrayList<>();
    for (dev.registrypolicy.fakeapi.ResourceType t : resources()) {
      if (!t.kind().equals(kind)) {
        continue;
      }
      if (groupWord != null) {
        String first = t.group().isEmpty() ? "core" : t.group().split("\\.")[0];
        if (!first.equalsIgnoreCase(groupWord)) {
          continue;
        }
      }
      found.add(t);
    }
    for (dev.registrypolicy.fakeapi.ResourceType t : found) {
      if (found.size() == 1 || t.group().isEmpty()) {
        return t;
      }
    }
    throw new IllegalArgumentException("no unique served resource for " + model);
  }
}
