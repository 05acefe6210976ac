package dev.registrypolicy.controller.imagemeta;

import java.net.http.HttpClient;

/**
 * How to talk to one endpoint: the HTTP client holding its TLS settings, and the {@code
 * Authorization} value of its policy credentials (null for none) with an id for the token cache (a
 * hash, never the value). {@link #toString()} shows neither.
 */
record Access(HttpClient client, String authorization, String credentialId) {
  @Override
  public String toString() {
    return "Access[credentials=" + (authorization != null) + "]";
  }
}
