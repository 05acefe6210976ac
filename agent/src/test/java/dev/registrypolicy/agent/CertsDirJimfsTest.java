package dev.registrypolicy.agent;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;

/** The conformance suite on an in-memory POSIX file system. */
class CertsDirJimfsTest extends CertsDirConformance {
  private FileSystem fs;

  @Override
  Path newDirectory(String name) throws IOException {
    if (fs == null) {
      fs =
          Jimfs.newFileSystem(
              Configuration.unix().toBuilder()
                  .setAttributeViews("basic", "owner", "posix", "unix")
                  .build());
    }
    return Files.createDirectories(fs.getPath("/work", name));
  }

  @AfterEach
  void close() throws IOException {
    fs.close();
    fs = null;
  }
}
