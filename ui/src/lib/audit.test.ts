import { describe, expect, it } from "vitest";
import { auditReport, businessDayState, occupancyText } from "./audit";
import type { DaySummary } from "./types";

const summary: DaySummary = {
  business_date: "2026-12-03",
  next_business_date: "2026-12-04",
  currency: "EUR",
  rooms_sold: 31,
  rooms_total: 40,
  occupancy_percent: 77.5,
  revenue: [
    { charge_type: "vat", amount_minor: 31000 },
    { charge_type: "food", amount_minor: 4550 },
    { charge_type: "room", amount_minor: 310000 },
    { charge_type: "spa", amount_minor: 9000 },
    { charge_type: "city_tax", amount_minor: 6200 },
    { charge_type: "food", amount_minor: 450 },
  ],
  payments: [
    { method: "transfer", amount_minor: 50000 },
    { method: "card", amount_minor: 120000 },
    { method: "cash", amount_minor: -2000 },
  ],
  no_shows: 2,
  charges_posted: 62,
};

describe("night audit report", () => {
  it("orders revenue by type, merges repeats, keeps taxes apart, totals each", () => {
    const report = auditReport(summary);
    expect(report.revenue.map((r) => [r.key, r.amount_minor])).toEqual([
      ["room", 310000],
      ["food", 5000],
      ["spa", 9000],
    ]);
    expect(report.revenue.map((r) => r.label)).toEqual(["Rooms", "Food", "Spa"]);
    expect(report.revenue_total_minor).toBe(324000);
    expect(report.taxes.map((r) => [r.label, r.amount_minor])).toEqual([
      ["VAT", 31000],
      ["City tax", 6200],
    ]);
    expect(report.taxes_total_minor).toBe(37200);
    expect(report.charged_total_minor).toBe(361200);
  });
  it("totals payments net of refunds by method", () => {
    const report = auditReport(summary);
    expect(report.payments.map((p) => [p.label, p.amount_minor])).toEqual([
      ["Cash", -2000],
      ["Card", 120000],
      ["Transfer", 50000],
    ]);
    expect(report.payments_total_minor).toBe(168000);
  });
  it("says whether this run posted the day's charges", () => {
    expect(auditReport(summary).posted).toMatch(/^62 entries posted/);
    expect(auditReport({ ...summary, charges_posted: 1 }).posted).toMatch(/^1 entry posted/);
    expect(auditReport({ ...summary, charges_posted: 0 }).posted).toMatch(/already posted/);
  });
  it("handles an empty day", () => {
    const report = auditReport({
      ...summary,
      revenue: [],
      payments: [],
      rooms_sold: 0,
      occupancy_percent: 0,
    });
    expect(report.revenue).toEqual([]);
    expect(report.charged_total_minor).toBe(0);
    expect(report.payments_total_minor).toBe(0);
    expect(report.occupancy).toBe("0 of 40 rooms sold · 0%");
  });
});

describe("occupancy and the business day", () => {
  it("writes occupancy", () => {
    expect(occupancyText(31, 40, 77.5)).toBe("31 of 40 rooms sold · 77.5%");
    expect(occupancyText(1, 3, 33.333333)).toBe("1 of 3 rooms sold · 33.3%");
    expect(occupancyText(1, 1, 100)).toBe("1 of 1 room sold · 100%");
  });
  it("badges a due audit", () => {
    const day = {
      property_id: "p",
      timezone: "Europe/Lisbon",
      business_date: "2026-12-03",
      local_time: "2026-12-04 02:10",
      audit_due: true,
      can_close: true,
    };
    expect(businessDayState(day)).toEqual({
      line: "Business date 2026-12-03 · 2026-12-04 02:10 in Europe/Lisbon",
      due: true,
      badge: "Audit due",
    });
    expect(businessDayState({ ...day, audit_due: false }).badge).toBeNull();
  });
});

describe("in Spanish", () => {
  it("names the lines and counts in the desk's language", () => {
    expect(occupancyText(1, 1, 100, "es")).toBe("1 de 1 habitación vendida · 100 %");
    expect(occupancyText(31, 40, 77.5, "es")).toBe("31 de 40 habitaciones vendidas · 77,5 %");
  });
});
