import { describe, expect, it } from "vitest";
import { addDays, ago, confirmation, nightsBetween, parseDay, plural, shortDay, statusLabel } from "./format";

describe("dates", () => {
  it("parses calendar dates and refuses impossible ones", () => {
    expect(parseDay("2026-02-28")?.getUTCDate()).toBe(28);
    expect(parseDay("2026-02-30")).toBeNull();
    expect(parseDay("28/02/2026")).toBeNull();
  });
  it("counts nights and adds days across months and years", () => {
    expect(nightsBetween("2026-12-30", "2027-01-02")).toBe(3);
    expect(nightsBetween("2026-03-28", "2026-03-30")).toBe(2);
    expect(nightsBetween("2026-01-05", "2026-01-01")).toBe(-4);
    expect(nightsBetween("x", "2026-01-01")).toBeNull();
    expect(addDays("2026-02-27", 2)).toBe("2026-03-01");
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
  });
  it("writes short days", () => {
    expect(shortDay("2026-11-25")).toBe("Wed 25 Nov");
  });
  it("says how long ago the last sync was", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    expect(ago(null, now)).toBe("never");
    expect(ago("2026-11-25T11:59:40Z", now)).toBe("just now");
    expect(ago("2026-11-25T11:59:00Z", now)).toBe("1 minute ago");
    expect(ago("2026-11-25T09:00:00Z", now)).toBe("3 hours ago");
    expect(ago("2026-11-23T12:00:00Z", now)).toBe("2 days ago");
  });
});

describe("labels", () => {
  it("names statuses and counts for the clerk", () => {
    expect(statusLabel("checked_in")).toBe("In house");
    expect(statusLabel("out_of_order")).toBe("Out of order");
    expect(statusLabel("something_new")).toBe("something new");
    expect(plural(1, "change")).toBe("1 change");
    expect(plural(3, "change")).toBe("3 changes");
  });
  it("shows the number, the legacy code, or that the number comes with sync", () => {
    expect(confirmation(1042, null)).toBe("#1042");
    expect(confirmation(null, "T-101-18C2F")).toBe("T-101-18C2F");
    expect(confirmation(null, null)).toBe("number on sync");
  });
});
