package dev.registrypolicy.controller.imagemeta;

import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bearer tokens by realm, service, scope and the credentials they were got with (a hash of them,
 * never the credentials), kept until shortly before they expire; at most {@link #MAX} of them,
 * least recently used dropped first.
 */
final class TokenCache {
  static final int MAX = 1_000;

  /** A token is used until this long before its expiry, so it does not expire in flight. */
  static final long MARGIN_SECONDS = 10;

  private record Token(String value, Instant expires) {}

  private final Clock clock;
  private final Map<String, Token> tokens =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Token> eldest) {
          return size() > MAX;
        }
      };

  TokenCache(Clock clock) {
    this.clock = clock;
  }

  static String key(String realm, String service, String scope, String credentialId) {
    return realm + " " + service + " " + scope + " " + credentialId;
  }

  synchronized String get(String key) {
    Token t = tokens.get(key);
    if (t == null) {
      return null;
    }
    if (!clock.instant().isBefore(t.expires)) {
      tokens.remove(key);
      return null;
    }
    return t.value;
  }

  synchronized void put(String key, String token, long expiresInSeconds) {
    long usable = Math.max(0, expiresInSeconds - MARGIN_SECONDS);
    if (usable > 0) {
      tokens.put(key, new Token(token, clock.instant().plusSeconds(usable)));
    }
  }
}
