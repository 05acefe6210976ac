package dev.registrypolicy.agent.lab;

import dev.registrypolicy.agent.lab.cri.AuthConfig;
import dev.registrypolicy.agent.lab.cri.Image;
import dev.registrypolicy.agent.lab.cri.ImageServiceGrpc;
import dev.registrypolicy.agent.lab.cri.ImageSpec;
import dev.registrypolicy.agent.lab.cri.ImageStatusRequest;
import dev.registrypolicy.agent.lab.cri.ImageStatusResponse;
import dev.registrypolicy.agent.lab.cri.ListImagesRequest;
import dev.registrypolicy.agent.lab.cri.PullImageRequest;
import dev.registrypolicy.agent.lab.cri.RemoveImageRequest;
import dev.registrypolicy.agent.lab.cri.RuntimeServiceGrpc;
import dev.registrypolicy.agent.lab.cri.VersionRequest;
import dev.registrypolicy.agent.lab.cri.VersionResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A CRI client (package {@code runtime.v1}) over containerd's unix socket — the calls the kubelet
 * makes, so a pull through here uses the daemon's {@code config_path} hosts.toml files. Every call
 * has a deadline ({@link #DEFAULT_DEADLINE} unless given).
 */
public final class CriClient implements AutoCloseable {

  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(20);

  /**
   * Outcome of a PullImage call: {@code code == OK} with the image ref, or the gRPC status code and
   * description containerd answered (e.g. {@code UNKNOWN} + "... 401 Unauthorized").
   */
  public record PullResult(
      String image, Status.Code code, String imageRef, String description, Duration elapsed) {

    public boolean ok() {
      return code == Status.Code.OK;
    }

    /** The image ref, or an {@link AssertionError} carrying the status. */
    public String orThrow() {
      if (!ok()) {
        throw new AssertionError("PullImage " + image + " failed: " + this);
      }
      return imageRef;
    }

    /** True if the pull failed and the description matches {@code regex} (find, not full match). */
    public boolean failedWith(String regex) {
      return !ok() && description != null && Pattern.compile(regex).matcher(description).find();
    }

    @Override
    public String toString() {
      return ok()
          ? "OK " + imageRef + " in " + elapsed.toMillis() + " ms"
          : code + ": " + description + " (after " + elapsed.toMillis() + " ms)";
    }
  }

  private final Path socket;
  private final Duration deadline;
  private final EventLoopGroup group;
  private final ManagedChannel channel;
  private final RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime;
  private final ImageServiceGrpc.ImageServiceBlockingStub images;

  private CriClient(Path socket, Duration deadline) {
    this.socket = socket;
    this.deadline = deadline;
    this.group =
        new EpollEventLoopGroup(
            1,
            r -> {
              Thread t = new Thread(r, "cri-client-" + socket.getFileName());
              t.setDaemon(true);
              return t;
            });
    this.channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .eventLoopGroup(group)
            .channelType(EpollDomainSocketChannel.class)
            // gRPC always asks for SO_KEEPALIVE, which a unix socket does not have; a null
            // value removes the option again instead of logging "Unknown channel option".
            .withOption(ChannelOption.SO_KEEPALIVE, null)
            .overrideAuthority("localhost")
            .usePlaintext()
            .maxInboundMessageSize(16 * 1024 * 1024)
            .build();
    this.runtime = RuntimeServiceGrpc.newBlockingStub(channel);
    this.images = ImageServiceGrpc.newBlockingStub(channel);
  }

  /** A client for {@code unix://socket}; connecting happens lazily on the first call. */
  public static CriClient connect(Path socket) {
    return connect(socket, DEFAULT_DEADLINE);
  }

  public static CriClient connect(Path socket, Duration deadline) {
    return new CriClient(socket, deadline);
  }

  public Path socket() {
    return socket;
  }

  /** Lets the next call reconnect at once instead of waiting out gRPC's reconnect backoff. */
  public void resetConnectBackoff() {
    channel.resetConnectBackoff();
  }

  /** {@code RuntimeService/Version}: runtime name, version and CRI API version. */
  public VersionResponse version() {
    return runtime().version(VersionRequest.newBuilder().setVersion("v1").build());
  }

  /** {@code RuntimeService/Version} with its own (short) deadline; used for readiness polling. */
  public VersionResponse version(Duration callDeadline) {
    return runtime
        .withDeadlineAfter(callDeadline.toMillis(), TimeUnit.MILLISECONDS)
        .version(VersionRequest.newBuilder().setVersion("v1").build());
  }

  /** PullImage without credentials; never throws for a gRPC failure, see {@link PullResult}. */
  public PullResult pullImage(String image) {
    return pull(image, null);
  }

  /** PullImage with {@code PullImageRequest.auth} username/password (empty server_address). */
  public PullResult pullImage(String image, String username, String password) {
    return pull(image, AuthConfig.newBuilder().setUsername(username).setPassword(password).build());
  }

  private PullResult pull(String image, AuthConfig auth) {
    PullImageRequest.Builder req = PullImageRequest.newBuilder().setImage(spec(image));
    if (auth != null) {
      req.setAuth(auth);
    }
    long t0 = System.nanoTime();
    try {
      String ref = images().pullImage(req.build()).getImageRef();
      return new PullResult(
          image, Status.Code.OK, ref, null, Duration.ofNanos(System.nanoTime() - t0));
    } catch (StatusRuntimeException e) {
      Status s = e.getStatus();
      return new PullResult(
          image, s.getCode(), null, s.getDescription(), Duration.ofNanos(System.nanoTime() - t0));
    }
  }

  /** RemoveImage; idempotent in CRI (no error for an absent image). */
  public void removeImage(String image) {
    images().removeImage(RemoveImageRequest.newBuilder().setImage(spec(image)).build());
  }

  /** ImageStatus; empty if the runtime does not have the image. */
  public Optional<Image> imageStatus(String image) {
    ImageStatusResponse r =
        images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec(image)).build());
    return r.hasImage() ? Optional.of(r.getImage()) : Optional.empty();
  }

  public List<Image> listImages() {
    return images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList();
  }

  private RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
    return runtime.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private ImageServiceGrpc.ImageServiceBlockingStub images() {
    return images.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static ImageSpec spec(String image) {
    return ImageSpec.newBuilder().setImage(image).build();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
