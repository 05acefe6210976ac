package dev.registrypolicy.agent.image;

/**
 * The agent's jlinked runtime ({@code agent/target/jlink-runtime}) does TLS 1.3 and 1.2 with
 * elliptic-curve-only endpoints, ECDSA and RSA certificates: what its registry probe needs.
 */
class AgentRuntimeTlsIT extends RuntimeTlsChecks {}
