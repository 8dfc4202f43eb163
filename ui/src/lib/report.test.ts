import { describe, expect, it } from "vitest";
import {
  chart,
  compactMoney,
  defaultRange,
  formatPercent,
  niceTicks,
  rangeProblem,
  yScale,
} from "./report";
import type { ReportDay } from "./types";

const day = (date: string, occupancy: number, room: number, other = 0): ReportDay => ({
  date,
  rooms_sellable: 10,
  rooms_sold: Math.round(occupancy / 10),
  occupancy_percent: occupancy,
  room_revenue_minor: room,
  other_revenue_minor: other,
  adr_minor: 0,
  revpar_minor: 0,
});

describe("report range", () => {
  it("defaults to the 30 days ending on the property's today, across a month end", () => {
    expect(defaultRange("2026-12-05")).toEqual({ from: "2026-11-06", to: "2026-12-05" });
    expect(defaultRange("2026-03-01", 1)).toEqual({ from: "2026-03-01", to: "2026-03-01" });
  });
  it("refuses a backwards, unreadable or too long range before asking", () => {
    expect(rangeProblem("2026-12-01", "2026-12-01")).toBeNull();
    expect(rangeProblem("2026-12-02", "2026-12-01")).toBe("report.backwards");
    expect(rangeProblem("2026-02-30", "2026-03-01")).toBe("report.badDate");
    expect(rangeProblem("2024-01-01", "2024-12-31")).toBeNull(); // 366 days of a leap year
    expect(rangeProblem("2025-01-01", "2026-01-01")).toBeNull(); // 366 days
    expect(rangeProblem("2025-01-01", "2026-01-02")).toBe("report.tooLong");
  });
});

describe("chart scales", () => {
  it("puts round ticks from 0 up to at least the highest value", () => {
    expect(niceTicks(100)).toEqual([0, 50, 100]);
    expect(niceTicks(437)).toEqual([0, 200, 400, 600]);
    expect(niceTicks(1000)).toEqual([0, 500, 1000]);
    expect(niceTicks(123_456)).toEqual([0, 50_000, 100_000, 150_000]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(-5)).toEqual([0, 1]);
  });
  it("maps values to SVG y, upside down and clamped", () => {
    const y = yScale(200, 100);
    expect([y(0), y(100), y(200), y(300), y(-1)]).toEqual([100, 50, 0, 0, 100]);
    expect(yScale(0, 100)(5)).toBe(100);
  });
});

describe("chart of a report", () => {
  const days = [
    day("2026-12-01", 50, 30_000, 10_000),
    day("2026-12-02", 100, 60_000),
    day("2026-12-03", 0, 0),
  ];

  it("stacks other revenue on room revenue, on a round revenue axis", () => {
    const c = chart({ days }, 300, 100);
    expect(c.revenueTicks.map((t) => t.value)).toEqual([0, 20_000, 40_000, 60_000]);
    const [first, second, third] = c.bars;
    expect(first.x).toBeCloseTo(15);
    expect(first.width).toBeCloseTo(70);
    expect(first.roomY).toBeCloseTo(50); // 30,000 of 60,000
    expect(first.roomHeight).toBeCloseTo(50);
    expect(first.otherY).toBeCloseTo(100 - (40_000 / 60_000) * 100);
    expect(first.otherHeight).toBeCloseTo((10_000 / 60_000) * 100);
    expect(second.roomY).toBe(0);
    expect(third.roomHeight).toBe(0);
  });
  it("draws occupancy on its own 0–100 % axis through each day's middle", () => {
    const c = chart({ days }, 300, 100);
    expect(c.occupancyPoints).toBe("50,50 150,0 250,100");
    expect(c.occupancyTicks.map((t) => [t.value, t.y])).toEqual([
      [0, 100],
      [25, 75],
      [50, 50],
      [75, 25],
      [100, 0],
    ]);
  });
  it("labels about one day a week and always the last, never two on top of each other", () => {
    const month = Array.from({ length: 30 }, (_, i) =>
      day(`2026-11-${String(i + 1).padStart(2, "0")}`, 10, 100),
    );
    const labels = chart({ days: month }, 600, 100).labels.map((l) => l.date.slice(8));
    expect(labels).toEqual(["01", "08", "15", "22", "30"]);
    const ten = chart({ days: month.slice(0, 9) }, 600, 100).labels.map((l) => l.date.slice(8));
    expect(ten).toEqual(["01", "09"]); // the 8th would touch the 9th
  });
  it("copes with an empty report", () => {
    const c = chart({ days: [] }, 300, 100);
    expect(c.bars).toEqual([]);
    expect(c.occupancyPoints).toBe("");
    expect(c.revenueTicks.map((t) => t.value)).toEqual([0, 1]);
  });
});

describe("report figures", () => {
  it("shows occupancy with one decimal in the locale", () => {
    expect(formatPercent(73.5, "en")).toBe("73.5%");
    expect(formatPercent(100, "en")).toBe("100.0%");
    expect(formatPercent(73.5, "es")).toMatch(/^73,5\s?%$/);
  });
  it("labels the revenue axis short, in the currency's own minor units", () => {
    expect(compactMoney(150_000, "EUR", "en")).toBe("€1.5K");
    expect(compactMoney(150_000, "JPY", "en")).toBe("¥150K");
    expect(compactMoney(0, "USD", "en")).toBe("$0");
  });
});
