package dev.registrypolicy.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The checks of one built OCI image archive, shared by the agent's and the controller's image
 * tests: a valid OCI layout whose index, manifest and config parse and whose blobs match their
 * digests and sizes ({@link OciArchive}); the name the contract gives it; the image contract
 * ({@link ImageContract}: entrypoint, user, PATH, jar, runtime, users, no shell, links, secrets);
 * and the size target the project set for it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ImageArchiveChecks {

  private OciArchive image;
  private ImageFs fs;

  /** {@code agent} or {@code controller}: the image is {@code registry-policy.invalid/<name>}. */
  protected abstract String imageName();

  protected abstract ImageContract.Expectation expectation();

  /** The size target for the image (compressed, the sum of its layers). */
  protected abstract long targetCompressedBytes();

  /**
   * The compressed size the image must stay within: the target where it is met, else the size it
   * has today plus a little, so that it can only shrink (what stops the target is said where the
   * image is built).
   */
  protected abstract long maxCompressedBytes();

  @BeforeAll
  void read() throws IOException {
    long t0 = System.nanoTime();
    image = OciArchive.read(BuiltArtifacts.imageArchive());
    if (image.problems().isEmpty()) {
      fs = image.filesystem();
    }
    System.out.printf(
        "[image] %s: read %s in %d ms%n",
        imageName(), image.source(), (System.nanoTime() - t0) / 1_000_000);
  }

  @Test
  public void archiveIsAValidOciImageLayout() {
    assertEquals(List.of(), image.problems(), "problems of " + image.source());
    long compressed = image.layers().stream().mapToLong(OciArchive.Descriptor::size).sum();
    long files =
        fs.nodes().values().stream()
            .filter(n -> n.kind() == ImageFs.Kind.FILE)
            .mapToLong(ImageFs.Node::size)
            .sum();
    System.out.printf(
        "[image] %s: %s, %d layers, %.1f MiB compressed, %.1f MiB of files, %d paths%n",
        imageName(),
        image.digest(),
        image.layers().size(),
        compressed / 1048576.0,
        files / 1048576.0,
        fs.nodes().size());
  }

  @Test
  public void indexNamesTheImageAsTheContractSays() {
    String want = "registry-policy.invalid/" + imageName() + ":" + BuiltArtifacts.imageTag();
    JsonObject entry = image.index().getAsJsonArray("manifests").get(0).getAsJsonObject();
    JsonElement annotations = entry.get("annotations");
    String name =
        annotations != null && annotations.isJsonObject()
            ? OciArchive.string(annotations.getAsJsonObject(), "org.opencontainers.image.ref.name")
            : null;
    assertEquals(want, name, "index.json manifests[0] org.opencontainers.image.ref.name");
  }

  @Test
  public void imageKeepsTheContract() throws IOException {
    assertEquals(List.of(), image.problems(), "the archive must be valid to be checked further");
    assertEquals(
        List.of(),
        ImageContract.violations(image, fs, expectation()),
        "image contract violations of " + image.source());
  }

  @Test
  public void imageIsWithinItsSizeBudget() {
    long compressed = image.layers().stream().mapToLong(OciArchive.Descriptor::size).sum();
    System.out.printf(
        "[image] %s: %.1f MiB compressed; target %.1f MiB %s; budget %.1f MiB%n",
        imageName(),
        compressed / 1048576.0,
        targetCompressedBytes() / 1048576.0,
        compressed <= targetCompressedBytes() ? "met" : "NOT met",
        maxCompressedBytes() / 1048576.0);
    assertTrue(
        compressed <= maxCompressedBytes(),
        String.format(
            "%s image is %.1f MiB compressed, more than its budget %.1f MiB (target %.1f MiB)",
            imageName(),
            compressed / 1048576.0,
            maxCompressedBytes() / 1048576.0,
            targetCompressedBytes() / 1048576.0));
  }

  protected OciArchive image() {
    return image;
  }
}
