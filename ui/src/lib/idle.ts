// The desk's idle lock, seen from the UI. The Rust side already refuses any command after the
// owner's idle minutes (`SignInRequired`), but a desk left open on a screen shows guests' names
// and balances until someone clicks. So the UI also watches keyboard and mouse, and signs out by
// itself when nobody has touched it for `idle_lock_minutes`. The decisions are kept pure here
// (times in ms passed in) so they are tested without timers.

import type { AppStatus } from "./types";

/** Whether this desk locks at all: a server desk with someone signed in and a non-zero setting. */
export function locksWhenIdle(
  status: Pick<AppStatus, "mode" | "locked" | "user" | "idle_lock_minutes">,
): boolean {
  return (
    status.mode === "server" &&
    !status.locked &&
    status.user !== null &&
    status.idle_lock_minutes > 0
  );
}

/** When (ms since epoch) the desk locks if nothing happens after `lastActivity`; null: never. */
export function lockAt(lastActivity: number, minutes: number): number | null {
  if (!Number.isFinite(minutes) || minutes <= 0) return null;
  return lastActivity + minutes * 60_000;
}

/** Whether the desk should lock now. */
export function lockDue(lastActivity: number, minutes: number, now: number): boolean {
  const at = lockAt(lastActivity, minutes);
  return at !== null && now >= at;
}

/**
 * How long to wait before looking again: until the lock is due, but at most `poll` ms (a laptop
 * that slept skips timers; looking every so often catches up on wake), and at least 1 s.
 */
export function nextCheck(
  lastActivity: number,
  minutes: number,
  now: number,
  poll = 30_000,
): number | null {
  const at = lockAt(lastActivity, minutes);
  if (at === null) return null;
  return Math.max(1_000, Math.min(poll, at - now));
}

/**
 * Input events count as activity, but a mouse moving constantly must not cost a state write per
 * pixel: activity is recorded at most once per `every` ms.
 */
export function shouldRecord(lastRecorded: number, now: number, every = 5_000): boolean {
  return now - lastRecorded >= every;
}

/** The owner's idle setting as typed: a whole number of minutes 0–480 (0: never), else null. */
export function parseIdleMinutes(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,3}$/.test(trimmed)) return null;
  const minutes = Number(trimmed);
  return minutes <= 480 ? minutes : null;
}
