package dev.registrypolicy.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Golden files under src/test/resources/golden. */
final class Golden {
  private Golden() {}

  static String read(String rel) throws IOException {
    try (InputStream in = Golden.class.getResourceAsStream("/golden/" + rel)) {
      if (in == null) {
        throw new IOException("no golden file " + rel);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
