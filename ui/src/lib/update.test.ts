import { describe, expect, it } from "vitest";
import {
  bannerShown,
  bannerView,
  checkStep,
  installStep,
  parseUpdateHours,
  updateNote,
  UPDATE_NEEDED,
  type UpdateCalls,
} from "./update";
import type { SyncStatus, UpdateStatus } from "./types";

const status: SyncStatus = {
  mode: "server",
  online: true,
  syncing: false,
  last_sync: null,
  last_error: null,
  session_expired: false,
  update_required: false,
  changes_waiting: 2,
  conflicts_open: 0,
};

const calls = (
  check: UpdateCalls["checkForUpdate"],
  install: UpdateCalls["installUpdate"] = async () => {},
): UpdateCalls => ({
  checkForUpdate: check,
  installUpdate: install,
});
const rejecting = (kind: string, message: string) => async () => Promise.reject({ kind, message });

describe("update banner", () => {
  it("shows only when a server desk was told to update", () => {
    expect(bannerShown(null)).toBe(false);
    expect(bannerShown(status)).toBe(false);
    expect(bannerShown({ ...status, update_required: true })).toBe(true);
    expect(bannerShown({ ...status, mode: "local", update_required: true })).toBe(false);
  });

  it("first asks the clerk to check", () => {
    expect(bannerView({ stage: "needed" })).toEqual({
      text: "This app needs an update to sync again.",
      button: { label: "Check for update", action: "check" },
      busy: false,
    });
    expect(bannerView({ stage: "checking" })).toMatchObject({ button: null, busy: true });
  });

  it("offers the install when a newer version is found", async () => {
    const step = await checkStep(
      calls(async () => ({ current_version: "0.1.0", version: "0.2.0", notes: "Sync protocol 2" })),
    );
    expect(step).toEqual({ stage: "available", version: "0.2.0", notes: "Sync protocol 2" });
    const view = bannerView(step);
    expect(view.text).toBe(
      "Version 0.2.0 is ready to install: Sync protocol 2 Changes waiting are kept.",
    );
    expect(view.button).toEqual({ label: "Install and restart", action: "install" });
    expect(bannerView({ stage: "installing", version: "0.2.0" })).toMatchObject({
      button: null,
      busy: true,
    });
  });

  it("says so when no newer version is published", async () => {
    const step = await checkStep(
      calls(async () => ({ current_version: "0.1.0", version: null, notes: null })),
    );
    expect(step).toEqual({ stage: "none", current: "0.1.0" });
    const view = bannerView(step);
    expect(view.text).toContain(UPDATE_NEEDED);
    expect(view.text).toContain("No newer version is published yet (this is 0.1.0)");
    expect(view.button?.label).toBe("Check again");
  });

  it("says when the update server cannot be reached, and offers to try again", async () => {
    const step = await checkStep(
      calls(
        rejecting(
          "UpdateUnreachable",
          "The update server cannot be reached. Check the internet connection and try again later.",
        ),
      ),
    );
    expect(step).toMatchObject({ stage: "failed", kind: "UpdateUnreachable" });
    expect(bannerView(step)).toEqual({
      text: "The update server cannot be reached. Check the internet connection and try again later.",
      button: { label: "Try again", action: "check" },
      busy: false,
    });
    // a message-less error still reads as a sentence
    expect(bannerView(await checkStep(calls(rejecting("UpdateUnreachable", ""))))).toMatchObject({
      text: "The update server cannot be reached. Try again later.",
    });
  });

  it("reports an install refused for its signature", async () => {
    const step = await installStep(
      calls(
        async () => ({ current_version: "0.1.0", version: "0.2.0", notes: null }),
        rejecting("UpdateNotTrusted", ""),
      ),
    );
    expect(step).toMatchObject({ stage: "failed", kind: "UpdateNotTrusted" });
    expect(bannerView(step)).toMatchObject({
      text: "The update on offer is not signed with this app's key, so it was not installed.",
      button: { label: "Check again", action: "check" },
    });
  });
});

describe("the status bar's note on the desk's own update checks", () => {
  const now = new Date("2026-12-05T10:00:00Z");
  const looked: UpdateStatus = {
    automatic: true,
    demo: false,
    interval_hours: 24,
    current_version: "0.1.0",
    checked_at: "2026-12-05T07:00:00Z",
    offered_version: null,
    notes: null,
    error: null,
  };

  it("says when the desk last looked, in the desk's language", () => {
    expect(updateNote(looked, now)).toEqual({
      text: "Up to date · looked 3 hours ago",
      install: null,
      detail: null,
    });
    expect(updateNote(looked, now, "es")?.text).toBe("Al día · comprobado hace 3 horas");
    expect(updateNote({ ...looked, checked_at: null }, now)?.text).toBe(
      "Looks for updates on start and daily",
    );
  });

  it("offers the install of a version found, with its notes", () => {
    const offered = { ...looked, offered_version: "9.9.9", notes: "Sync protocol 2" };
    expect(updateNote(offered, now)).toEqual({
      text: "Version 9.9.9 available",
      install: "9.9.9",
      detail: "Sync protocol 2",
    });
    // found before the checks were turned off: still worth installing
    expect(updateNote({ ...offered, automatic: false }, now)?.install).toBe("9.9.9");
  });

  it("tells a failed look apart, with the reason for a tooltip", () => {
    const failed = { ...looked, error: "The update server cannot be reached." };
    expect(updateNote(failed, now)).toEqual({
      text: "Could not look for updates (3 hours ago)",
      install: null,
      detail: "The update server cannot be reached.",
    });
  });

  it("says when checks are off, and that a demo desk never looks", () => {
    expect(updateNote({ ...looked, automatic: false, interval_hours: 0 }, now)?.text).toBe(
      "Update checks off",
    );
    expect(updateNote({ ...looked, automatic: false, demo: true }, now)?.text).toBe(
      "No update checks in demo mode",
    );
    expect(updateNote(null, now)).toBeNull();
  });

  it("takes the owner's interval as whole hours up to a week", () => {
    expect(parseUpdateHours(" 24 ")).toBe(24);
    expect(parseUpdateHours("0")).toBe(0);
    expect(parseUpdateHours("168")).toBe(168);
    expect(parseUpdateHours("169")).toBeNull();
    expect(parseUpdateHours("1.5")).toBeNull();
    expect(parseUpdateHours("")).toBeNull();
  });
});
