import { describe, expect, it } from "vitest";
import { actionFor, screenAllowed, screensFor } from "./keys";

const key = (
  k: string,
  mods: Partial<{ altKey: boolean; ctrlKey: boolean; metaKey: boolean; inField: boolean }> = {},
) => ({
  key: k,
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  inField: false,
  ...mods,
});

describe("keyboard map", () => {
  it("opens screens with Alt and a digit", () => {
    expect(actionFor(key("1", { altKey: true }))).toEqual({ kind: "screen", screen: "today" });
    expect(actionFor(key("6", { altKey: true }))).toEqual({ kind: "screen", screen: "conflicts" });
    expect(actionFor(key("0", { altKey: true }))).toEqual({ kind: "screen", screen: "audit" });
    expect(actionFor(key("1"))).toBeNull();
  });
  it("opens the reports with Alt+R in either case, and R alone types an R", () => {
    expect(actionFor(key("r", { altKey: true }))).toEqual({ kind: "screen", screen: "reports" });
    expect(actionFor(key("R", { altKey: true }))).toEqual({ kind: "screen", screen: "reports" });
    expect(actionFor(key("r"))).toBeNull();
  });
  it("focuses search with / unless typing in a field", () => {
    expect(actionFor(key("/"))).toEqual({ kind: "search" });
    expect(actionFor(key("/", { inField: true }))).toBeNull();
  });
  it("starts something new, syncs, and closes", () => {
    expect(actionFor(key("n", { altKey: true }))).toEqual({ kind: "new" });
    expect(actionFor(key("S", { altKey: true }))).toEqual({ kind: "sync" });
    expect(actionFor(key("Escape", { inField: true }))).toEqual({ kind: "close" });
    expect(actionFor(key("1", { altKey: true, ctrlKey: true }))).toBeNull();
  });
});

describe("the menu by role", () => {
  const ids = (role: string) => screensFor(role).map((s) => s.id);
  it("shows billing and reports to the owner and managers only", () => {
    for (const role of ["owner", "manager"]) {
      expect(ids(role)).toContain("billing");
      expect(ids(role)).toContain("reports");
    }
    for (const role of ["front_desk", "housekeeping"]) {
      expect(ids(role)).not.toContain("billing");
      expect(ids(role)).not.toContain("reports");
      expect(ids(role)).toContain("today");
    }
  });
  it("shows staff to the owner only", () => {
    expect(ids("owner")).toContain("staff");
    expect(screenAllowed("staff", "manager")).toBe(false);
    expect(screenAllowed("staff", "front_desk")).toBe(false);
  });
  it("opens staff with Alt+T", () => {
    expect(actionFor(key("t", { altKey: true }))).toEqual({ kind: "screen", screen: "staff" });
  });
});
