package dev.registrypolicy.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The conformance suite on the real file system. */
class CertsDirTempDirTest extends CertsDirConformance {
  @TempDir Path tmp;

  @Override
  Path newDirectory(String name) throws IOException {
    return Files.createDirectories(tmp.resolve(name));
  }
}
