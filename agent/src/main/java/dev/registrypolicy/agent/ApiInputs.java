package dev.registrypolicy.agent;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.registrypolicy.common.Hashes;
import dev.registrypolicy.common.NodeCredentialsBundle;
import dev.registrypolicy.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fast path's inputs: the policy ConfigMap ({@link Policy#CONFIGMAP_NAME}, key {@link
 * Policy#CONFIGMAP_KEY}) and the node credentials bundle Secret ({@link
 * NodeCredentialsBundle#SECRET_NAME}), each watched by name ({@link ObjectWatch}) and handed to its
 * {@link InputArbiter}. Every change of either calls {@code onChange}, which asks for a pass at
 * once.
 */
final class ApiInputs implements AutoCloseable {
  /** The policy as the API gave it: its bytes, or why there are none. */
  record PolicyText(String text, String missing) {
    /** The policy's bytes (UTF-8, as kubelet writes the file), or null. */
    byte[] bytes() {
      return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    }

    String hash() {
      return text != null ? Hashes.sha256Hex(bytes()) : "absent: " + missing;
    }
  }

  final InputArbiter<PolicyText> policy = new InputArbiter<>("policy");
  final InputArbiter<Bundle> bundle = new InputArbiter<>("credentials bundle");
  private final ObjectWatch policyWatch;
  private final ObjectWatch bundleWatch;

  ApiInputs(KubeClient client, Backoff backoff, Runnable onChange) {
    String ns = client.config().namespace();
    policyWatch =
        new ObjectWatch(
            client,
            "/api/v1/namespaces/" + ns + "/configmaps",
            Policy.CONFIGMAP_NAME,
            backoff,
            new ObjectWatch.Listener() {
              @Override
              public void seen(JsonObject cm) {
                PolicyText p = policyText(cm, ns);
                if (policy.fromApi(p, p.hash())) {
                  onChange.run();
                }
              }

              @Override
              public void failed(KubeClient.ApiException cause) {
                if (policy.unhealthy()) {
                  onChange.run();
                }
              }
            });
    bundleWatch =
        new ObjectWatch(
            client,
            "/api/v1/namespaces/" + ns + "/secrets",
            NodeCredentialsBundle.SECRET_NAME,
            backoff,
            new ObjectWatch.Listener() {
              @Override
              public void seen(JsonObject secret) {
                Bundle b = bundleOf(secret);
                if (bundle.fromApi(b, b.hash())) {
                  onChange.run();
                }
              }

              @Override
              public void failed(KubeClient.ApiException cause) {
                if (bundle.unhealthy()) {
                  onChange.run();
                }
              }
            });
  }

  void start() {
    policyWatch.start();
    bundleWatch.start();
  }

  /** Waits until both objects were listed or failed once, at most {@code max} in all. */
  void awaitFirstAnswers(Duration max) throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    policyWatch.awaitFirstAnswer(max);
    bundleWatch.awaitFirstAnswer(Duration.ofNanos(Math.max(0, end - System.nanoTime())));
  }

  static PolicyText policyText(JsonObject cm, String ns) {
    String where = "ConfigMap " + ns + "/" + Policy.CONFIGMAP_NAME;
    if (cm == null) {
      return new PolicyText(null, where + " does not exist");
    }
    JsonElement data = cm.get("data");
    JsonElement v =
        data != null && data.isJsonObject()
            ? data.getAsJsonObject().get(Policy.CONFIGMAP_KEY)
            : null;
    if (v == null || !v.isJsonPrimitive()) {
      return new PolicyText(null, where + " has no key " + Policy.CONFIGMAP_KEY);
    }
    return new PolicyText(v.getAsString(), null);
  }

  /** The bundle in a Secret (absent: empty); entries that are not bundle keys are left out. */
  static Bundle bundleOf(JsonObject secret) {
    if (secret == null) {
      return Bundle.EMPTY;
    }
    JsonElement data = secret.get("data");
    if (data == null || !data.isJsonObject()) {
      return Bundle.EMPTY;
    }
    TreeMap<String, byte[]> entries = new TreeMap<>();
    for (Map.Entry<String, JsonElement> e : data.getAsJsonObject().entrySet()) {
      if (!Bundle.counts(e.getKey()) || !e.getValue().isJsonPrimitive()) {
        continue;
      }
      try {
        byte[] b = Base64.getDecoder().decode(e.getValue().getAsString());
        if (b.length <= SecretStore.MAX_BYTES) {
          entries.put(e.getKey(), b);
        }
      } catch (IllegalArgumentException x) {
        // not base64: the API server never sends that; such an entry is not a credential
      }
    }
    return new Bundle(entries);
  }

  @Override
  public void close() {
    policyWatch.close();
    bundleWatch.close();
  }
}
