package dev.registrypolicy.agent;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.registrypolicy.policy.SecretKeyRef;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A FIFO where an input file should be is refused, never opened: opening it would block a pass. */
class NonRegularInputTest {
  @TempDir Path tmp;

  private Path fifo(String name) throws Exception {
    Path f = tmp.resolve(name);
    Process p = new ProcessBuilder("mkfifo", f.toString()).start();
    assumeTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "mkfifo is available");
    return f;
  }

  @Test
  @Timeout(30)
  void aFifoPolicyOrBundleEntryOrConfigIsRefusedWithoutBlocking() throws Exception {
    Path policy = fifo("policy.yaml");
    IOException e = assertThrows(IOException.class, () -> PolicySource.readPolicy(policy));
    assertTrue(String.valueOf(e.getMessage()).contains("not a regular file"), e.getMessage());

    fifo("corp-ca_ca.crt");
    IOException b =
        assertThrows(
            IOException.class,
            () -> SecretStore.directory(tmp).read(new SecretKeyRef("corp-ca", "ca.crt")));
    assertTrue(String.valueOf(b.getMessage()).contains("not a regular file"), b.getMessage());

    Path config = fifo("config.toml");
    ContainerdConfig.Diagnosis d = ContainerdConfig.diagnose(config, "/etc/containerd/certs.d");
    assertTrue(d.warnings().toString().contains("not a regular file"), d.warnings().toString());
  }
}
