package dev.registrypolicy.agent;

/**
 * Demo-only X.509 material for {@code registry-policy-agent demo}: a self-signed CA, an
 * intermediate CA it signed, and a client certificate (signed by the intermediate) with its EC
 * P-256 key. Made once with openssl for this project, valid for 100 years, subjects labelled
 * "registry-policy demo (not secret, demo only)". NOT SECRET: the key is public in this source
 * file, so nothing may ever trust this CA or accept this client certificate. It exists so the demo
 * writes what a real cluster would (parsable certificates and a matching key) instead of
 * placeholders.
 */
final class DemoMaterial {
  private DemoMaterial() {}

  /** The demo root CA certificate (Secret corp-ca, key ca.crt). */
  static final String CA_CERT =
      """
      -----BEGIN CERTIFICATE-----
      MIICGTCCAb+gAwIBAgIUbNVGzq+vvao4vrRhYC1UK84Ktr8wCgYIKoZIzj0EAwIw
      WTE1MDMGA1UECgwscmVnaXN0cnktcG9saWN5IGRlbW8gKG5vdCBzZWNyZXQsIGRl
      bW8gb25seSkxIDAeBgNVBAMMF3JlZ2lzdHJ5LXBvbGljeSBkZW1vIENBMCAXDTI2
      MTIwMjAxMDcwOFoYDzIxMjYxMTA4MDEwNzA4WjBZMTUwMwYDVQQKDCxyZWdpc3Ry
      eS1wb2xpY3kgZGVtbyAobm90IHNlY3JldCwgZGVtbyBvbmx5KTEgMB4GA1UEAwwX
      cmVnaXN0cnktcG9saWN5IGRlbW8gQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
      AAT7zG3zPAJECHy66wPuotWsnqzef/kuxheYVewABzTzflqUicKYxgP6N6uJEMmL
      D1/Eyq3fNRPtR58B9bnZ+1v4o2MwYTAdBgNVHQ4EFgQUjhe4eF2zlxSlK5uatzaC
      8+J9rmswHwYDVR0jBBgwFoAUjhe4eF2zlxSlK5uatzaC8+J9rmswDwYDVR0TAQH/
      BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSAAwRQIgLHkolQXz
      ZUZGnQA6BOIc5FHyevF5cdnaMVX4E8UO9wECIQDYLevabMIwat9ynHK3rEMfhSdL
      6jKA8yBPXCoEjskvuQ==
      -----END CERTIFICATE-----
      """;

  /**
   * The demo intermediate CA, signed by {@link #CA_CERT} (Secret corp-ca, key intermediate.crt).
   */
  static final String INTERMEDIATE_CERT =
      """
      -----BEGIN CERTIFICATE-----
      MIICKTCCAc+gAwIBAgIUQU8BK5gsGJpPJCgbnPsos17Tx74wCgYIKoZIzj0EAwIw
      WTE1MDMGA1UECgwscmVnaXN0cnktcG9saWN5IGRlbW8gKG5vdCBzZWNyZXQsIGRl
      bW8gb25seSkxIDAeBgNVBAMMF3JlZ2lzdHJ5LXBvbGljeSBkZW1vIENBMCAXDTI2
      MTIwMjAxMDcwOFoYDzIxMjYxMTA4MDEwNzA4WjBmMTUwMwYDVQQKDCxyZWdpc3Ry
      eS1wb2xpY3kgZGVtbyAobm90IHNlY3JldCwgZGVtbyBvbmx5KTEtMCsGA1UEAwwk
      cmVnaXN0cnktcG9saWN5IGRlbW8gaW50ZXJtZWRpYXRlIENBMFkwEwYHKoZIzj0C
      AQYIKoZIzj0DAQcDQgAE6JLdVZuBgPT9JD6ZPt0A9cv+YtiqpzAYgL7frB3YaMZs
      lFaLnMH/hSzR1/F+LrOfBHvWakXtPtxdDg8Lq8meMKNmMGQwEgYDVR0TAQH/BAgw
      BgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFG0UFcDPDXwTJvXqe4PI
      bOqmHE54MB8GA1UdIwQYMBaAFI4XuHhds5cUpSubmrc2gvPifa5rMAoGCCqGSM49
      BAMCA0gAMEUCIQD1gopZk5MnGDgH9cOTxFM1eyNeOM1bAqviteTm5O2wMwIgIB8g
      WJH/bm+yJVri7fncZlLrZb2rZSsecCbvY6DlJZQ=
      -----END CERTIFICATE-----
      """;

  /**
   * The demo client certificate, signed by {@link #INTERMEDIATE_CERT} (Secret pull-through-client,
   * tls.crt).
   */
  static final String CLIENT_CERT =
      """
      -----BEGIN CERTIFICATE-----
      MIICPDCCAeKgAwIBAgIUaahr6Q7V7gfen/6rkY9MVLnBDQEwCgYIKoZIzj0EAwIw
      ZjE1MDMGA1UECgwscmVnaXN0cnktcG9saWN5IGRlbW8gKG5vdCBzZWNyZXQsIGRl
      bW8gb25seSkxLTArBgNVBAMMJHJlZ2lzdHJ5LXBvbGljeSBkZW1vIGludGVybWVk
      aWF0ZSBDQTAgFw0yNjEyMDIwMTA3MDhaGA8yMTI2MTEwODAxMDcwOFowXTE1MDMG
      A1UECgwscmVnaXN0cnktcG9saWN5IGRlbW8gKG5vdCBzZWNyZXQsIGRlbW8gb25s
      eSkxJDAiBgNVBAMMG3JlZ2lzdHJ5LXBvbGljeSBkZW1vIGNsaWVudDBZMBMGByqG
      SM49AgEGCCqGSM49AwEHA0IABFLn8dB/2P9kMAFRO/zP87J44s2WxTTSGDuG4spb
      XoZjrTiOIq8mKaX8OubDVSxulkkAOqtUXgEsyxykVJGWjQKjdTBzMAwGA1UdEwEB
      /wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMB0GA1Ud
      DgQWBBTy/fP8YJKK5skbYFG8RxkGhR4GfTAfBgNVHSMEGDAWgBRtFBXAzw18Eyb1
      6nuDyGzqphxOeDAKBggqhkjOPQQDAgNIADBFAiEAjBB8ghC/xdnWz+toI+WXLh+R
      DBgqUWiBIx8j2e0q4xkCIFrps4fwWIz+BwU4b0t1nopvvrXelNc8dF/e8cS7pcqu
      -----END CERTIFICATE-----
      """;

  /**
   * The demo client certificate's key, PKCS#8, public and demo only (Secret pull-through-client,
   * tls.key).
   */
  static final String CLIENT_KEY =
      """
      -----BEGIN PRIVATE KEY-----
      MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsBbBKd4NjiH8lckn
      FWdsR6s45++od1X4lY+vrHz/OF2hRANCAARS5/HQf9j/ZDABUTv8z/OyeOLNlsU0
      0hg7huLKW16GY604jiKvJiml/Drmw1UsbpZJADqrVF4BLMscpFSRlo0C
      -----END PRIVATE KEY-----
      """;
}
