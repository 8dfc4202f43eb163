// The "needs an update" banner of the status bar: shown when the server refused this version
// (426 client_too_old → `update_required`); it checks the update server and offers the install,
// and says plainly what happened at each step. Pure, so the flow is tested without the app.

import { isAppError, messageOf } from "./errors";
import { ago } from "./format";
import { translator, type Language } from "./i18n";
import type { SyncStatus, UpdateCheck, UpdateStatus } from "./types";

export type UpdateStep =
  | { stage: "needed" }
  | { stage: "checking" }
  | { stage: "none"; current: string }
  | { stage: "available"; version: string; notes: string | null }
  | { stage: "installing"; version: string }
  | { stage: "failed"; kind: string; message: string };

export interface UpdateCalls {
  checkForUpdate: () => Promise<UpdateCheck>;
  installUpdate: () => Promise<void>;
}

export interface BannerView {
  text: string;
  button: { label: string; action: "check" | "install" } | null;
  busy: boolean;
}

export const UPDATE_NEEDED = "This app needs an update to sync again.";

export function bannerShown(status: SyncStatus | null): boolean {
  return !!status && status.mode === "server" && status.update_required;
}

function failed(error: unknown): UpdateStep {
  return {
    stage: "failed",
    kind: isAppError(error) ? error.kind : "Unknown",
    message: messageOf(error),
  };
}

export async function checkStep(calls: UpdateCalls): Promise<UpdateStep> {
  try {
    const found = await calls.checkForUpdate();
    return found.version
      ? { stage: "available", version: found.version, notes: found.notes }
      : { stage: "none", current: found.current_version };
  } catch (error) {
    return failed(error);
  }
}

/** On success the app restarts and this never resolves; what it returns is the failure. */
export async function installStep(calls: UpdateCalls): Promise<UpdateStep> {
  try {
    await calls.installUpdate();
    return { stage: "needed" };
  } catch (error) {
    return failed(error);
  }
}

export function bannerView(step: UpdateStep): BannerView {
  const check = (label: string) => ({ label, action: "check" as const });
  switch (step.stage) {
    case "needed":
      return { text: UPDATE_NEEDED, button: check("Check for update"), busy: false };
    case "checking":
      return { text: "Looking for an update…", button: null, busy: true };
    case "none":
      return {
        text: `${UPDATE_NEEDED} No newer version is published yet (this is ${step.current}); changes wait here until it is.`,
        button: check("Check again"),
        busy: false,
      };
    case "available":
      return {
        text: `Version ${step.version} is ready to install${step.notes ? `: ${step.notes}` : "."} Changes waiting are kept.`,
        button: { label: "Install and restart", action: "install" },
        busy: false,
      };
    case "installing":
      return {
        text: `Installing version ${step.version}… the app restarts when it is done.`,
        button: null,
        busy: true,
      };
    case "failed":
      return {
        text: step.message,
        button: check(step.kind === "UpdateUnreachable" ? "Try again" : "Check again"),
        busy: false,
      };
  }
}

// The status bar's quiet note about the desk's own update checks (`update_checks` on the Rust
// side: on start and every `interval_hours`, never in demo mode).

export interface UpdateNote {
  text: string;
  /** The version to offer an install of, when one is on offer. */
  install: string | null;
  /** The check's error in full, for a tooltip. */
  detail: string | null;
}

export function updateNote(
  status: UpdateStatus | null,
  now: Date = new Date(),
  language: Language = "en",
  locale: string = language,
): UpdateNote | null {
  if (!status) return null;
  const t = translator(language);
  const note = (text: string, detail: string | null = null): UpdateNote => ({
    text,
    install: null,
    detail,
  });
  // an offer found earlier stays worth showing even when checks were turned off since
  if (status.offered_version) {
    return {
      text: t("update.available", { version: status.offered_version }),
      install: status.offered_version,
      detail: status.notes,
    };
  }
  if (status.demo) return note(t("update.offDemo"));
  if (!status.automatic) return note(t("update.off"));
  const when = ago(status.checked_at, now, locale);
  if (status.error && when) return note(t("update.failed", { when }), status.error);
  if (when) return note(t("update.upToDate", { when }));
  return note(t("update.willLook"));
}

/** The owner's interval as typed: a whole number of hours from 0 (never) to 168 (a week). */
export function parseUpdateHours(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,3}$/.test(trimmed)) return null;
  const hours = Number(trimmed);
  return hours <= 168 ? hours : null;
}
