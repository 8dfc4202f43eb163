import { describe, expect, it } from "vitest";
import { bannerShown, bannerView, checkStep, installStep, UPDATE_NEEDED, type UpdateCalls } from "./update";
import type { SyncStatus } from "./types";

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

const calls = (check: UpdateCalls["checkForUpdate"], install: UpdateCalls["installUpdate"] = async () => {}): UpdateCalls => ({
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
    const step = await checkStep(calls(async () => ({ current_version: "0.1.0", version: "0.2.0", notes: "Sync protocol 2" })));
    expect(step).toEqual({ stage: "available", version: "0.2.0", notes: "Sync protocol 2" });
    const view = bannerView(step);
    expect(view.text).toBe("Version 0.2.0 is ready to install: Sync protocol 2 Changes waiting are kept.");
    expect(view.button).toEqual({ label: "Install and restart", action: "install" });
    expect(bannerView({ stage: "installing", version: "0.2.0" })).toMatchObject({ button: null, busy: true });
  });

  it("says so when no newer version is published", async () => {
    const step = await checkStep(calls(async () => ({ current_version: "0.1.0", version: null, notes: null })));
    expect(step).toEqual({ stage: "none", current: "0.1.0" });
    const view = bannerView(step);
    expect(view.text).toContain(UPDATE_NEEDED);
    expect(view.text).toContain("No newer version is published yet (this is 0.1.0)");
    expect(view.button?.label).toBe("Check again");
  });

  it("says when the update server cannot be reached, and offers to try again", async () => {
    const step = await checkStep(
      calls(rejecting("UpdateUnreachable", "The update server cannot be reached. Check the internet connection and try again later.")),
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
      calls(async () => ({ current_version: "0.1.0", version: "0.2.0", notes: null }), rejecting("UpdateNotTrusted", "")),
    );
    expect(step).toMatchObject({ stage: "failed", kind: "UpdateNotTrusted" });
    expect(bannerView(step)).toMatchObject({
      text: "The update on offer is not signed with this app's key, so it was not installed.",
      button: { label: "Check again", action: "check" },
    });
  });
});
