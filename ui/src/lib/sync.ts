// What the always-visible status bar says.

import { ago, plural } from "./format";
import type { SyncStatus } from "./types";

export type Tone = "ok" | "busy" | "warn" | "bad";

export interface StatusLine {
  tone: Tone;
  connection: string;
  waiting: string;
  conflicts: string | null;
  lastSync: string | null;
}

export function statusLine(status: SyncStatus, now: Date = new Date()): StatusLine {
  const waiting =
    status.changes_waiting === 0 ? "All changes saved" : `${plural(status.changes_waiting, "change")} waiting`;
  const conflicts = status.conflicts_open > 0 ? plural(status.conflicts_open, "conflict") + " to resolve" : null;
  if (status.mode === "demo") {
    return { tone: "ok", connection: "Demo data on this laptop", waiting: "Nothing is sent", conflicts: null, lastSync: null };
  }
  if (status.mode === "local" || status.mode === "new") {
    return { tone: "ok", connection: "This laptop only (no server)", waiting, conflicts, lastSync: null };
  }
  const lastSync = `Last sync ${ago(status.last_sync, now)}`;
  if (status.update_required) return { tone: "bad", connection: "Update the app to sync", waiting, conflicts, lastSync };
  if (status.session_expired) return { tone: "bad", connection: "Sign in again to sync", waiting, conflicts, lastSync };
  if (status.syncing) return { tone: "busy", connection: "Syncing…", waiting, conflicts, lastSync };
  if (status.online === false) return { tone: "warn", connection: "Offline", waiting, conflicts, lastSync };
  if (status.online === null) return { tone: "busy", connection: "Connecting…", waiting, conflicts, lastSync };
  return { tone: conflicts ? "warn" : "ok", connection: "Online", waiting, conflicts, lastSync };
}
