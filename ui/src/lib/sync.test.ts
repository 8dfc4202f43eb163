import { describe, expect, it } from "vitest";
import { statusLine } from "./sync";
import type { SyncStatus } from "./types";

const base: SyncStatus = {
  mode: "server",
  online: true,
  syncing: false,
  last_sync: "2026-11-25T11:58:00Z",
  last_error: null,
  session_expired: false,
  update_required: false,
  changes_waiting: 0,
  conflicts_open: 0,
};
const now = new Date("2026-11-25T12:00:00Z");

describe("status bar", () => {
  it("says online, saved, and when it last synced", () => {
    expect(statusLine(base, now)).toEqual({
      tone: "ok",
      connection: "Online",
      waiting: "All changes saved",
      conflicts: null,
      lastSync: "Last sync 2 minutes ago",
    });
  });
  it("counts changes waiting while offline", () => {
    const line = statusLine({ ...base, online: false, changes_waiting: 1 }, now);
    expect(line.connection).toBe("Offline");
    expect(line.tone).toBe("warn");
    expect(line.waiting).toBe("1 change waiting");
  });
  it("raises conflicts, expired sessions and required updates", () => {
    expect(statusLine({ ...base, conflicts_open: 2 }, now)).toMatchObject({
      tone: "warn",
      conflicts: "2 conflicts to resolve",
    });
    expect(statusLine({ ...base, session_expired: true }, now)).toMatchObject({
      tone: "bad",
      connection: "Sign in again to sync",
    });
    expect(statusLine({ ...base, update_required: true }, now)).toMatchObject({
      tone: "bad",
      connection: "Update the app to sync",
    });
  });
  it("explains local and demo desks", () => {
    expect(
      statusLine({ ...base, mode: "local", online: null, changes_waiting: 9 }, now),
    ).toMatchObject({
      connection: "This laptop only (no server)",
      waiting: "9 changes waiting",
    });
    expect(statusLine({ ...base, mode: "demo" }, now).connection).toBe("Demo data on this laptop");
  });
  it("says when it never synced, or just did", () => {
    expect(statusLine({ ...base, last_sync: null }, now).lastSync).toBe("Not synced yet");
    expect(statusLine({ ...base, last_sync: "2026-11-25T11:59:40Z" }, now).lastSync).toBe(
      "Last sync just now",
    );
  });
  it("speaks Spanish when the desk does, plural-safe", () => {
    expect(
      statusLine({ ...base, online: false, changes_waiting: 1, conflicts_open: 3 }, now, "es"),
    ).toEqual({
      tone: "warn",
      connection: "Sin conexión",
      waiting: "1 cambio pendiente",
      conflicts: "3 conflictos por resolver",
      lastSync: "Última sincronización hace 2 minutos",
    });
  });
});
