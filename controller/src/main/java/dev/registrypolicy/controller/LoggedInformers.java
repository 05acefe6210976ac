package dev.registrypolicy.controller;

import com.google.gson.reflect.TypeToken;
import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.informer.ListerWatcher;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.util.CallGenerator;
import io.kubernetes.client.util.CallGeneratorParams;
import io.kubernetes.client.util.Watch;
import io.kubernetes.client.util.Watchable;
import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Iterator;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Informers whose list and watch failures are logged with their cause, and their recovery. */
public final class LoggedInformers {
  private static final Logger LOG = Logger.getLogger(LoggedInformers.class.getName());

  private LoggedInformers() {}

  /** The message of an informer's failure line; its recovery is found by the same text. */
  public static String failure(String what) {
    return Log.kv("cannot list and watch " + what + "; retrying");
  }

  /**
   * An informer whose failures are logged with their cause through {@link Log} (each distinct
   * failure once, see {@link RepeatedFailures}) and whose next successful list or watch logs the
   * recovery. The client's own handler would log only "Reflector loop failed unexpectedly", and
   * connection failures of a watch not at all.
   */
  public static <T extends KubernetesObject, L extends KubernetesListObject>
      SharedIndexInformer<T> create(
          ApiClient client,
          SharedInformerFactory f,
          String what,
          CallGenerator calls,
          Class<T> type,
          Class<L> listType,
          long resyncMillis) {
    return create(client, f, what, calls, type, listType, resyncMillis, o -> {});
  }

  /**
   * The same, with {@code trim} applied to every object listed or watched before the cache holds it
   * (to drop fields the controller never reads, such as a Node's status: the cache then holds only
   * what is left).
   */
  public static <T extends KubernetesObject, L extends KubernetesListObject>
      SharedIndexInformer<T> create(
          ApiClient client,
          SharedInformerFactory f,
          String what,
          CallGenerator calls,
          Class<T> type,
          Class<L> listType,
          long resyncMillis,
          Consumer<T> trim) {
    String failure = failure(what);
    Type watchType = TypeToken.getParameterized(Watch.Response.class, type).getType();
    ListerWatcher<T, L> lw =
        new ListerWatcher<>() {
          @Override
          public L list(CallGeneratorParams p) throws ApiException {
            L list = client.<L>execute(calls.generate(p), listType).getData();
            Log.recovered(LOG.getName(), failure);
            if (list != null && list.getItems() != null) {
              for (KubernetesObject o : list.getItems()) {
                trim.accept(type.cast(o));
              }
            }
            return list;
          }

          @Override
          public Watchable<T> watch(CallGeneratorParams p) throws ApiException {
            try {
              Watchable<T> w = Watch.createWatch(client, calls.generate(p), watchType);
              Log.recovered(LOG.getName(), failure);
              return new Trimmed<>(w, trim);
            } catch (ApiException e) {
              if (e.getCode() == 0) {
                // The informer retries a watch that could not connect without calling its handler.
                LOG.log(Level.WARNING, failure, e);
              }
              throw e;
            }
          }
        };
    return f.sharedIndexInformerFor(
        lw, type, resyncMillis, (cls, t) -> LOG.log(Level.WARNING, failure, t));
  }

  /** A watch whose objects are trimmed as they arrive. */
  private static final class Trimmed<T> implements Watchable<T> {
    private final Watchable<T> watch;
    private final Consumer<T> trim;

    Trimmed(Watchable<T> watch, Consumer<T> trim) {
      this.watch = watch;
      this.trim = trim;
    }

    @Override
    public boolean hasNext() {
      return watch.hasNext();
    }

    @Override
    public Watch.Response<T> next() {
      Watch.Response<T> r = watch.next();
      if (r != null && r.object != null) {
        trim.accept(r.object);
      }
      return r;
    }

    @Override
    public Iterator<Watch.Response<T>> iterator() {
      return this;
    }

    @Override
    public void close() throws IOException {
      watch.close();
    }
  }
}
