package dev.registrypolicy.controller;

import io.kubernetes.client.extended.leaderelection.LeaderElectionRecord;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import io.kubernetes.client.extended.leaderelection.Lock;
import io.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.kubernetes.client.openapi.ApiException;

/**
 * The Lease lock, telling {@link Log} when the API answers it again. The elector and the lock log
 * each failed attempt themselves (every retry period), with the exception: {@link RepeatedFailures}
 * writes such a failure once, and this lock's next answered call ends it with one {@code recovered}
 * line.
 */
final class ReportingLock implements Lock {
  /** How {@link LeaderElector} starts the line of a failed read (client-java-extended 25). */
  static final String ELECTOR_READ_FAILED = "Error retrieving resource lock";

  private final LeaseLock lock;

  ReportingLock(LeaseLock lock) {
    this.lock = lock;
  }

  @Override
  public LeaderElectionRecord get() throws ApiException {
    try {
      LeaderElectionRecord r = lock.get();
      answered();
      return r;
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        answered(); // no Lease yet: the API answered, the elector creates one
      }
      throw e;
    }
  }

  @Override
  public boolean create(LeaderElectionRecord record) {
    boolean ok = lock.create(record);
    if (ok) {
      answered();
    }
    return ok;
  }

  @Override
  public boolean update(LeaderElectionRecord record) {
    boolean ok = lock.update(record);
    if (ok) {
      answered();
    }
    return ok;
  }

  private static void answered() {
    Log.recovered(LeaderElector.class.getName(), ELECTOR_READ_FAILED);
    Log.recovered(LeaseLock.class.getName(), "");
  }

  @Override
  public String identity() {
    return lock.identity();
  }

  @Override
  public String describe() {
    return lock.describe();
  }
}
