package dev.registrypolicy.controller.imagemeta;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body read into memory up to a limit: past it the subscription is cancelled (the
 * connection dropped) and the body fails with {@link TooLargeException}, so a registry can never
 * make the client buffer more than the limit. A Content-Length over the limit fails before any byte
 * is read. {@link #cancel()} drops a body still arriving (a slow registry past the deadline).
 */
final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
  /** The body was larger than the limit. */
  static final class TooLargeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooLargeException(String message) {
      super(message, null, false, false);
    }
  }

  private final int limit;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final CompletableFuture<byte[]> result = new CompletableFuture<>();
  private volatile Flow.Subscription subscription;
  private volatile boolean cancelled;

  private BoundedBody(int limit) {
    this.limit = limit;
  }

  /** A handler whose subscribers keep at most {@code limit} bytes; {@code sink} gets each one. */
  static HttpResponse.BodyHandler<byte[]> handler(
      int limit, java.util.function.Consumer<BoundedBody> sink) {
    return info -> {
      BoundedBody b = new BoundedBody(limit);
      sink.accept(b);
      long declared = info.headers().firstValueAsLong("Content-Length").orElse(-1);
      if (declared > limit) {
        b.fail(declared);
      }
      return b;
    };
  }

  private void fail(long size) {
    result.completeExceptionally(
        new TooLargeException(
            (size > 0 ? size + " bytes" : "more than " + limit + " bytes")
                + ", over the limit of "
                + limit));
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
  }

  /** Stops reading; the body completes exceptionally if it had not completed. */
  void cancel() {
    cancelled = true;
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
    result.completeExceptionally(new java.util.concurrent.CancellationException("cancelled"));
  }

  @Override
  public CompletionStage<byte[]> getBody() {
    return result;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    if (result.isDone() || cancelled) {
      s.cancel();
    } else {
      s.request(Long.MAX_VALUE);
    }
  }

  @Override
  public void onNext(List<ByteBuffer> items) {
    if (result.isDone()) {
      return;
    }
    for (ByteBuffer b : items) {
      if (out.size() + (long) b.remaining() > limit) {
        fail(-1);
        return;
      }
      byte[] chunk = new byte[b.remaining()];
      b.get(chunk);
      out.writeBytes(chunk);
    }
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(t);
  }

  @Override
  public void onComplete() {
    result.complete(out.toByteArray());
  }
}
