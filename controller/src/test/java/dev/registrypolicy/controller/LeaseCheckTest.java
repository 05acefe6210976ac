package dev.registrypolicy.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The leader Lease decides whether uninstall may run; a clock and a sleeper of the test's. */
class LeaseCheckTest {
  static final Instant NOW = Instant.parse("2026-12-02T10:00:00Z");

  final AtomicReference<Instant> clock = new AtomicReference<>(NOW);
  final AtomicInteger sleeps = new AtomicInteger();

  /** Each sleep moves the clock on by the time slept. */
  final LeaseCheck.Sleeper sleeper =
      d -> {
        sleeps.incrementAndGet();
        clock.set(clock.get().plus(d));
      };

  static LeaseCheck.Seen lease(String holder, Instant renewed, Integer seconds) {
    return LeaseCheck.Seen.of(
        new V1Lease()
            .spec(
                new V1LeaseSpec()
                    .holderIdentity(holder)
                    .renewTime(
                        renewed == null ? null : OffsetDateTime.ofInstant(renewed, ZoneOffset.UTC))
                    .leaseDurationSeconds(seconds)));
  }

  LeaseCheck.Verdict await(LeaseCheck.Seen... reads) throws Exception {
    Deque<LeaseCheck.Seen> q = new ArrayDeque<>(java.util.List.of(reads));
    return LeaseCheck.await(() -> q.size() > 1 ? q.poll() : q.peek(), clock::get, sleeper);
  }

  @Test
  void absentOrUnheldOrExpired_isFreeAtOnce() throws Exception {
    assertTrue(await(LeaseCheck.Seen.of(null)).free());
    assertTrue(await(lease("", NOW, 15)).free());
    assertTrue(await(lease("pod-a", null, 15)).free());
    assertTrue(await(lease("pod-a", NOW.minusSeconds(16), 15)).free());
    assertEquals(0, sleeps.get());
  }

  @Test
  void heldButNotRenewed_isWaitedForUntilItExpires() throws Exception {
    LeaseCheck.Seen held = lease("pod-a", NOW.minusSeconds(10), 15);
    LeaseCheck.Verdict v = await(held);
    assertTrue(v.free(), v.message());
    assertEquals(5, sleeps.get(), "one read a second until renewTime + 15 s");
  }

  @Test
  void renewedWhileWaiting_isRefusedNamingTheHolder() throws Exception {
    LeaseCheck.Verdict v =
        await(lease("pod-a", NOW.minusSeconds(1), 15), lease("pod-a", NOW.plusSeconds(1), 15));
    assertFalse(v.free());
    assertTrue(v.message().contains("renewed by pod-a"), v.message());
    assertTrue(v.message().contains("registry-policy/registry-policy-controller"), v.message());
    assertTrue(v.message().contains("nothing was changed"), v.message());
    assertEquals(1, sleeps.get());
  }

  @Test
  void takenOverByAnExpiredHolder_countsAsFree() throws Exception {
    // Another holder wrote it, but long ago by this clock: nothing renews it now.
    assertTrue(
        await(lease("pod-a", NOW.minusSeconds(1), 15), lease("pod-b", NOW.minusSeconds(60), 15))
            .free());
  }

  @Test
  void heldLongerThanTheWait_isRefusedWithoutWaiting() throws Exception {
    LeaseCheck.Verdict v = await(lease("pod-a", NOW, 3600));
    assertFalse(v.free());
    assertTrue(v.message().contains("delete lease registry-policy-controller"), v.message());
    assertEquals(0, sleeps.get());
  }

  @Test
  void aClockThatDoesNotMove_endsTheWaitAfterBoundedReads() throws Exception {
    LeaseCheck.Sleeper frozen = d -> sleeps.incrementAndGet();
    LeaseCheck.Seen held = lease("pod-a", NOW, 15);
    LeaseCheck.Verdict v = LeaseCheck.await(() -> held, clock::get, frozen);
    assertFalse(v.free());
    assertEquals(
        LeaseCheck.MAX_WAIT.toMillis() / LeaseCheck.POLL.toMillis() + 2, (long) sleeps.get());
    assertTrue(Duration.ofSeconds(60).equals(LeaseCheck.MAX_WAIT));
  }
}
