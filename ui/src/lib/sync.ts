// What the always-visible status bar says, in the desk's language (the e2e run reads the English).

import { ago } from "./format";
import { translator, type Language } from "./i18n";
import type { SyncStatus } from "./types";

export type Tone = "ok" | "busy" | "warn" | "bad";

export interface StatusLine {
  tone: Tone;
  connection: string;
  waiting: string;
  conflicts: string | null;
  lastSync: string | null;
}

export function statusLine(
  status: SyncStatus,
  now: Date = new Date(),
  language: Language = "en",
  locale: string = language,
): StatusLine {
  const t = translator(language);
  const waiting =
    status.changes_waiting === 0
      ? t("sync.allSaved")
      : t("sync.waiting", { count: status.changes_waiting });
  const conflicts =
    status.conflicts_open > 0 ? t("sync.conflicts", { count: status.conflicts_open }) : null;
  if (status.mode === "demo") {
    return {
      tone: "ok",
      connection: t("sync.demo"),
      waiting: t("sync.nothingSent"),
      conflicts: null,
      lastSync: null,
    };
  }
  if (status.mode === "local" || status.mode === "new") {
    return { tone: "ok", connection: t("sync.localOnly"), waiting, conflicts, lastSync: null };
  }
  const lastSync = lastSyncText(status.last_sync, now, language, locale);
  if (status.update_required)
    return { tone: "bad", connection: t("sync.updateRequired"), waiting, conflicts, lastSync };
  if (status.session_expired)
    return { tone: "bad", connection: t("sync.sessionExpired"), waiting, conflicts, lastSync };
  if (status.syncing)
    return { tone: "busy", connection: t("sync.syncing"), waiting, conflicts, lastSync };
  if (status.online === false)
    return { tone: "warn", connection: t("sync.offline"), waiting, conflicts, lastSync };
  if (status.online === null)
    return { tone: "busy", connection: t("sync.connecting"), waiting, conflicts, lastSync };
  return {
    tone: conflicts ? "warn" : "ok",
    connection: t("sync.online"),
    waiting,
    conflicts,
    lastSync,
  };
}

function lastSyncText(time: string | null, now: Date, language: Language, locale: string): string {
  const t = translator(language);
  const when = ago(time, now, locale);
  if (when === null) return t("sync.neverSynced");
  const seconds = (now.getTime() - new Date(time ?? "").getTime()) / 1000;
  return seconds < 45 ? t("sync.lastSyncJustNow") : t("sync.lastSync", { when });
}
