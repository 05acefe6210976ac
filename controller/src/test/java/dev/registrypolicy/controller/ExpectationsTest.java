package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ExpectationsTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final Expectations ex = new Expectations(30, now::get);

  @Test
  void createIsPendingUntilObservedBeforeThePassMark() {
    ex.created("Secret/a/pull");
    long mark = ex.mark();
    assertTrue(ex.pending("Secret/a/pull", mark, null));
    assertTrue(ex.pending("Secret/a/pull", mark, null), "asking again does not meet it");
    ex.observed("Secret/a/pull", "7");
    assertFalse(ex.pending("Secret/a/pull", ex.mark(), null));
    assertEquals(0, ex.size());
  }

  /** The race a flaky CI run showed: the event arrives after the pass read its caches. */
  @Test
  void observationDuringAPassDoesNotMeetThatPassesExpectation() {
    ex.patched("ServiceAccount/a/default", "23");
    long mark = ex.mark(); // the pass starts and reads the cache: still version 23
    ex.observed("ServiceAccount/a/default", "24"); // the informer catches up meanwhile
    assertTrue(
        ex.pending("ServiceAccount/a/default", mark, "23"), "this pass holds a stale snapshot");
    assertFalse(ex.pending("ServiceAccount/a/default", ex.mark(), "24"), "the next pass sees 24");
  }

  @Test
  void createObservedDuringAPassStillWaitsForTheNextPass() {
    ex.created("Secret/a/pull");
    long mark = ex.mark();
    ex.observed("Secret/a/pull", "9");
    assertTrue(ex.pending("Secret/a/pull", mark, null));
    assertFalse(ex.pending("Secret/a/pull", ex.mark(), null));
  }

  @Test
  void patchIsMetByAnyOtherCachedVersion() {
    ex.patched("ServiceAccount/a/default", "23");
    assertTrue(ex.pending("ServiceAccount/a/default", ex.mark(), "23"));
    assertFalse(ex.pending("ServiceAccount/a/default", ex.mark(), "31"));
    assertFalse(ex.pending("ServiceAccount/a/default", ex.mark(), "23"), "met once, forgotten");
  }

  @Test
  void observingTheReplacedVersionMeetsNothing() {
    ex.patched("ServiceAccount/a/default", "23");
    ex.observed("ServiceAccount/a/default", "23"); // a late event for the version before the patch
    assertTrue(ex.pending("ServiceAccount/a/default", ex.mark(), "23"));
  }

  @Test
  void expectationsLapse() {
    ex.created("Secret/a/pull");
    now.addAndGet(30);
    assertTrue(ex.pending("Secret/a/pull", ex.mark(), null));
    now.addAndGet(1);
    assertFalse(ex.pending("Secret/a/pull", ex.mark(), null), "a lost event delays, never blocks");
  }

  @Test
  void forgetAndUnknownKeys() {
    assertFalse(ex.pending("Secret/x/y", ex.mark(), null));
    ex.created("Secret/a/pull");
    ex.forget("Secret/a/pull");
    assertFalse(ex.pending("Secret/a/pull", ex.mark(), null));
  }

  @Test
  void lapsedEntriesOfVanishedObjectsAreSwept() {
    for (int i = 0; i < 600; i++) {
      ex.created("Secret/ns" + i + "/pull");
    }
    now.addAndGet(31);
    ex.created("Secret/fresh/pull");
    assertEquals(1, ex.size());
  }
}
