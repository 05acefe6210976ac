package dev.registrypolicy.controller.imagemeta;

import dev.registrypolicy.common.GoDuration;
import dev.registrypolicy.common.Hashes;
import dev.registrypolicy.policy.CredentialRef;
import dev.registrypolicy.policy.Endpoint;
import dev.registrypolicy.policy.Policy;
import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.net.http.HttpClient;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * Turns a route's policy settings into an {@link Access}: the endpoint's {@code ca}, {@code
 * clientCert} and {@code skipVerify} into an {@link HttpClient} (one per distinct TLS setting and
 * connect timeout, shared by every policy that uses it: at most {@link #MAX_CLIENTS}, least
 * recently used dropped), its {@code credentials} into an {@code Authorization} value — exactly the
 * settings the agent writes into hosts.toml for that host. Credentials are used only on an endpoint
 * with a URL of its own (the catch-all's upstream has none, as in the agent's {@code
 * nodeCredentials}).
 */
final class EndpointAccess {
  static final int MAX_CLIENTS = 64;

  private final MetadataSettings settings;
  private final Map<String, HttpClient> clients =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, HttpClient> eldest) {
          return size() > MAX_CLIENTS;
        }
      };

  EndpointAccess(MetadataSettings settings) {
    this.settings = settings;
  }

  /**
   * The access for {@code route} under {@code policy}.
   *
   * @throws ImageFetch.UnusableEndpointException naming the Secret or setting that is wrong
   */
  Access resolve(Route route, Policy policy, SecretBytes secrets) {
    Endpoint e = route.endpoint();
    try {
      List<byte[]> cas = new ArrayList<>();
      byte[] cert = null;
      byte[] key = null;
      boolean skip = false;
      Duration connect = settings.connectTimeout();
      String authorization = null;
      if (e != null) {
        for (SecretKeyRef ref : e.ca()) {
          cas.add(require(secrets, ref, "ca"));
        }
        if (e.clientCert() != null) {
          cert = require(secrets, e.clientCert().cert(), "client certificate");
          key = require(secrets, e.clientCert().key(), "client key");
        }
        skip = e.skipVerify();
        if (e.dialTimeout() != null) {
          try {
            long nanos = GoDuration.parse(e.dialTimeout());
            if (nanos > 0 && nanos < connect.toNanos()) {
              connect = Duration.ofNanos(nanos);
            }
          } catch (GoDuration.InvalidDurationException ex) {
            // the policy parser refuses such values; keep the default
          }
        }
        if (e.credentials() != null && e.url() != null) {
          Optional<CredentialRef> ref = policy.credential(e.credentials());
          if (ref.isEmpty()) {
            throw new ImageFetch.UnusableEndpointException(
                "the policy has no credentials named " + e.credentials());
          }
          authorization =
              EndpointCredentials.authorization(ref.get(), e.url().getRawAuthority(), secrets);
        }
      }
      String tlsKey = fingerprint(cas, cert, key, skip, connect);
      HttpClient client;
      synchronized (clients) {
        client = clients.get(tlsKey);
      }
      if (client == null) {
        SSLContext ctx = TlsContexts.build(cas, cert, key, skip, route.describe());
        HttpClient built =
            HttpClient.newBuilder()
                .sslContext(ctx)
                .connectTimeout(connect)
                .followRedirects(HttpClient.Redirect.NEVER) // followed by hand: RegistryHttp
                .version(HttpClient.Version.HTTP_1_1)
                .build();
        synchronized (clients) {
          client = clients.computeIfAbsent(tlsKey, k -> built);
        }
      }
      return new Access(
          client, authorization, authorization == null ? null : Hashes.sha256Hex(authorization));
    } catch (TlsContexts.BadTlsException | EndpointCredentials.BadCredentialsException ex) {
      throw new ImageFetch.UnusableEndpointException(ex.getMessage());
    } catch (IOException ex) {
      throw new ImageFetch.UnusableEndpointException(
          "cannot read the endpoint's Secrets (" + ex.getClass().getSimpleName() + ")");
    }
  }

  private static byte[] require(SecretBytes secrets, SecretKeyRef ref, String what)
      throws IOException {
    return secrets
        .read(ref)
        .orElseThrow(
            () ->
                new ImageFetch.UnusableEndpointException(
                    what + " Secret " + ref.secret() + " key " + ref.key() + " is missing"));
  }

  private static String fingerprint(
      List<byte[]> cas, byte[] cert, byte[] key, boolean skip, Duration connect) {
    MessageDigest md = Hashes.sha256();
    for (byte[] b : cas) {
      md.update(Integer.toString(b.length).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      md.update(b);
    }
    md.update((byte) 0);
    if (cert != null) {
      md.update(cert);
      md.update((byte) 1);
      md.update(key);
    }
    md.update((byte) (skip ? 1 : 0));
    md.update(
        Long.toString(connect.toNanos()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    return java.util.HexFormat.of().formatHex(md.digest());
  }
}
