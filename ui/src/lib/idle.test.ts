import { describe, expect, it } from "vitest";
import { lockAt, lockDue, locksWhenIdle, nextCheck, parseIdleMinutes, shouldRecord } from "./idle";

const user = { email: "ana@hotel.test", role: "front_desk", user_id: null };
const MIN = 60_000;

describe("idle lock", () => {
  it("locks only a server desk with someone signed in and a non-zero setting", () => {
    expect(locksWhenIdle({ mode: "server", locked: false, user, idle_lock_minutes: 15 })).toBe(
      true,
    );
    expect(locksWhenIdle({ mode: "server", locked: false, user, idle_lock_minutes: 0 })).toBe(
      false,
    );
    expect(locksWhenIdle({ mode: "server", locked: true, user, idle_lock_minutes: 15 })).toBe(
      false,
    );
    expect(
      locksWhenIdle({ mode: "server", locked: false, user: null, idle_lock_minutes: 15 }),
    ).toBe(false);
    expect(locksWhenIdle({ mode: "local", locked: false, user, idle_lock_minutes: 15 })).toBe(
      false,
    );
    expect(locksWhenIdle({ mode: "demo", locked: false, user: null, idle_lock_minutes: 15 })).toBe(
      false,
    );
  });

  it("is due exactly the owner's minutes after the last input, never with 0", () => {
    expect(lockAt(1_000, 15)).toBe(1_000 + 15 * MIN);
    expect(lockAt(1_000, 0)).toBeNull();
    expect(lockDue(0, 15, 15 * MIN - 1)).toBe(false);
    expect(lockDue(0, 15, 15 * MIN)).toBe(true);
    expect(lockDue(0, 0, 100 * MIN)).toBe(false);
  });

  it("looks again when due, but at least every poll and not faster than a second", () => {
    expect(nextCheck(0, 15, 0)).toBe(30_000);
    expect(nextCheck(0, 1, 50_000)).toBe(10_000);
    expect(nextCheck(0, 1, 70_000)).toBe(1_000); // overdue (a laptop waking): right away
    expect(nextCheck(0, 0, 0)).toBeNull();
  });

  it("records a stream of mouse moves only every few seconds", () => {
    expect(shouldRecord(0, 4_999)).toBe(false);
    expect(shouldRecord(0, 5_000)).toBe(true);
  });

  it("reads the owner's minutes as typed, 0 to 480", () => {
    expect(parseIdleMinutes(" 15 ")).toBe(15);
    expect(parseIdleMinutes("0")).toBe(0);
    expect(parseIdleMinutes("480")).toBe(480);
    expect(parseIdleMinutes("481")).toBeNull();
    expect(parseIdleMinutes("-5")).toBeNull();
    expect(parseIdleMinutes("7.5")).toBeNull();
    expect(parseIdleMinutes("")).toBeNull();
  });
});
