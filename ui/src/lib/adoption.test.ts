import { describe, expect, it } from "vitest";
import { adoption, progressPercent } from "./adoption";

describe("connecting a local hotel", () => {
  it("shows the copy's progress by tables, bounded and safe on an empty total", () => {
    expect(progressPercent(null)).toBe(0);
    expect(progressPercent({ table: "rooms", tables_done: 3, tables_total: 12, rows: 40 })).toBe(
      25,
    );
    expect(progressPercent({ table: "rooms", tables_done: 12, tables_total: 12, rows: 40 })).toBe(
      100,
    );
    expect(progressPercent({ table: "rooms", tables_done: 1, tables_total: 0, rows: 0 })).toBe(0);
  });

  it("counts the local changes sent until none waits", () => {
    expect(adoption(50, null)).toEqual({ kind: "sending", sent: 0, total: 50, left: 50 });
    expect(adoption(50, { changes_waiting: 20, online: true })).toEqual({
      kind: "sending",
      sent: 30,
      total: 50,
      left: 20,
    });
    expect(adoption(50, { changes_waiting: 0, online: true })).toEqual({
      kind: "allSent",
      total: 50,
    });
  });

  it("says the changes wait while the server cannot be reached", () => {
    expect(adoption(50, { changes_waiting: 50, online: false })).toEqual({
      kind: "offline",
      left: 50,
      total: 50,
    });
  });

  it("never counts below nothing sent when new work was typed meanwhile", () => {
    expect(adoption(5, { changes_waiting: 8, online: true })).toEqual({
      kind: "sending",
      sent: 0,
      total: 5,
      left: 8,
    });
  });

  it("is all sent at once for a hotel with nothing waiting", () => {
    expect(adoption(0, null)).toEqual({ kind: "allSent", total: 0 });
  });
});
