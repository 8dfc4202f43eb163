// A hotel that started on this laptop alone connects to a server later (issue 18 item 3). The
// server's tenant adopts the local data: `connect_server` rewrites the laptop's rows to the
// tenant and copies what the server already holds (`setup://progress`), and the background sync
// then sends the local hotel's own rows, which wait in the outbox. No command counts what the
// server received, so the desk tells the clerk what it can know: how many changes were waiting
// before, how many are left, and "all sent" once none is.

import type { SyncProgress, SyncStatus } from "./types";

/** The copy's progress bar, 0–100 (tables done of the total). */
export function progressPercent(progress: SyncProgress | null): number {
  if (!progress || progress.tables_total <= 0) return 0;
  return Math.max(
    0,
    Math.min(100, Math.round((progress.tables_done / progress.tables_total) * 100)),
  );
}

export type Adoption =
  /** Still sending the local hotel's changes: `sent` of `total` so far. */
  | { kind: "sending"; sent: number; total: number; left: number }
  /** Nothing waits any more: every local change is on the server. */
  | { kind: "allSent"; total: number }
  /** Changes wait and the server cannot be reached now; they go when it can. */
  | { kind: "offline"; left: number; total: number };

/**
 * Where the sending of the local hotel's changes stands, from the count waiting before the
 * connection and the latest sync status. New work typed meanwhile can make `left` exceed the
 * count before; `sent` never goes below 0.
 */
export function adoption(
  waitingBefore: number,
  status: Pick<SyncStatus, "changes_waiting" | "online"> | null,
): Adoption {
  const left = status?.changes_waiting ?? waitingBefore;
  if (left === 0) return { kind: "allSent", total: waitingBefore };
  if (status?.online === false) return { kind: "offline", left, total: waitingBefore };
  return { kind: "sending", sent: Math.max(0, waitingBefore - left), total: waitingBefore, left };
}
