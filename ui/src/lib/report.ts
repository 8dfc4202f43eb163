// The Reports screen's arithmetic: the default range, checking a range before asking for it, and
// the chart (scales, ticks, bars and the occupancy line) drawn as plain SVG by Reports.svelte.
// Hand-made rather than a charting library: one bar-and-line chart needs ~100 lines, adds no
// dependency to an offline desktop app, and every number in it is tested here.

import { addDays, nightsBetween, parseDay } from "./format";
import { minorDigits } from "./money";
import type { Report } from "./types";

/** The most days `get_report` answers for (the Rust side refuses more). */
export const MAX_DAYS = 366;

/** The default range: the 30 days ending on the property's today, both included. */
export function defaultRange(today: string, days = 30): { from: string; to: string } {
  return { from: addDays(today, -(days - 1)), to: today };
}

/** Why a range cannot be asked for ("report.badDate", "report.backwards", "report.tooLong"), or null. */
export function rangeProblem(
  from: string,
  to: string,
): "report.badDate" | "report.backwards" | "report.tooLong" | null {
  if (!parseDay(from) || !parseDay(to)) return "report.badDate";
  const span = nightsBetween(from, to) ?? -1;
  if (span < 0) return "report.backwards";
  if (span + 1 > MAX_DAYS) return "report.tooLong";
  return null;
}

/**
 * Round tick values from 0 to at least `max`, about `count` of them, on steps of 1, 2 or 5 times
 * a power of ten (so an axis reads 0, 500, 1000, not 0, 437, 874). `max` ≤ 0 gives [0, 1].
 */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let i = 0; ticks.length === 0 || ticks[ticks.length - 1] < max; i++)
    ticks.push(Math.round(i * step * 1e9) / 1e9);
  return ticks;
}

/** Maps [0, top] onto [height, 0] (SVG's y grows downwards); a top of 0 maps everything to the base. */
export function yScale(top: number, height: number): (value: number) => number {
  return (value) =>
    top > 0 ? height - (Math.max(0, Math.min(value, top)) / top) * height : height;
}

export interface ChartBar {
  date: string;
  x: number;
  width: number;
  /** Room revenue, from the base up. */
  roomY: number;
  roomHeight: number;
  /** Other revenue, stacked on the room revenue. */
  otherY: number;
  otherHeight: number;
}

export interface Chart {
  width: number;
  height: number;
  bars: ChartBar[];
  /** The occupancy line, "x,y x,y …" for <polyline points>. */
  occupancyPoints: string;
  /** Left axis: revenue ticks in minor units with their y. */
  revenueTicks: { value: number; y: number }[];
  /** Right axis: occupancy ticks (0–100 %) with their y. */
  occupancyTicks: { value: number; y: number }[];
  /** Day labels to draw under the bars (about one a week so they do not overlap). */
  labels: { date: string; x: number }[];
}

/**
 * The chart of a report's days inside a `width` × `height` plot area: a stacked bar of room and
 * other revenue per day on the left axis, and occupancy as a line on a 0–100 % right axis.
 */
export function chart(
  report: Pick<Report, "days">,
  width: number,
  height: number,
  labelEvery = 7,
): Chart {
  const days = report.days;
  const revenue = days.map((d) => d.room_revenue_minor + d.other_revenue_minor);
  const ticks = niceTicks(Math.max(0, ...revenue));
  const top = ticks[ticks.length - 1];
  const money = yScale(top, height);
  const percent = yScale(100, height);
  const slot = days.length > 0 ? width / days.length : width;
  const barWidth = Math.max(1, slot * 0.7);
  const bars = days.map((d, i) => {
    const x = i * slot + (slot - barWidth) / 2;
    const roomY = money(d.room_revenue_minor);
    const otherY = money(d.room_revenue_minor + d.other_revenue_minor);
    return {
      date: d.date,
      x,
      width: barWidth,
      roomY,
      roomHeight: height - roomY,
      otherY,
      otherHeight: roomY - otherY,
    };
  });
  const occupancyPoints = days
    .map((d, i) => `${round(i * slot + slot / 2)},${round(percent(d.occupancy_percent))}`)
    .join(" ");
  const labels = days
    .map((d, i) => ({ date: d.date, x: i * slot + slot / 2 }))
    .filter((_, i) => i % labelEvery === 0 || i === days.length - 1)
    .filter(
      (label, i, all) =>
        i === all.length - 1 || all[all.length - 1].x - label.x >= slot * (labelEvery / 2),
    );
  return {
    width,
    height,
    bars,
    occupancyPoints,
    revenueTicks: ticks.map((value) => ({ value, y: money(value) })),
    occupancyTicks: [0, 25, 50, 75, 100].map((value) => ({ value, y: percent(value) })),
    labels,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** An axis label for a minor amount, short: 150000 EUR → "€1.5K" (en). */
export function compactMoney(minor: number, currency: string, locale?: string): string {
  let digits: number;
  try {
    digits = minorDigits(currency);
  } catch {
    return String(minor);
  }
  return new Intl.NumberFormat(locale, {
    style: "currency",
    currency: currency.toUpperCase(),
    notation: "compact",
    minimumFractionDigits: 0,
    maximumFractionDigits: 1,
  }).format(minor / 10 ** digits);
}

/** An occupancy with its one decimal, in the locale: 73.5 → "73.5%" (en), "73,5 %" (es). */
export function formatPercent(value: number, locale?: string): string {
  return new Intl.NumberFormat(locale, {
    style: "percent",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  }).format(value / 100);
}
