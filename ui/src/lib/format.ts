// Formatting for the screens: dates, times and numbers through Intl, in the desk's locale (see
// i18n.ts `locale`) and the property's time zone. Money is in money.ts; words (statuses, counts)
// are in the message catalogue, i18n.ts.
//
// Two kinds of date, never mixed up:
// - a business date (`YYYY-MM-DD`: a stay's arrival, a folio entry's day) is a calendar date at the
//   property, not an instant. It is formatted from its parts in UTC, so the laptop's own time zone
//   can never shift it by a day.
// - an instant (RFC 3339: `created_at`, a sync time) is shown in the property's IANA time zone when
//   the screen knows it, since the desk stands in the hotel, not wherever the laptop was set up.

import { lookup, translate, type Language } from "./i18n";

/** Parses `YYYY-MM-DD` as a calendar date (UTC midnight, so no time zone shifts it). */
export function parseDay(text: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!match) return null;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.getUTCMonth() === Number(match[2]) - 1 ? date : null;
}

export function dayString(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  const date = parseDay(day);
  if (!date) return day;
  date.setUTCDate(date.getUTCDate() + days);
  return dayString(date);
}

export function nightsBetween(checkIn: string, checkOut: string): number | null {
  const a = parseDay(checkIn);
  const b = parseDay(checkOut);
  if (!a || !b) return null;
  return Math.round((b.getTime() - a.getTime()) / 86_400_000);
}

// Building an Intl formatter is slow next to using one; a list of 100 rows reuses them.
const formatters = new Map<string, Intl.DateTimeFormat>();
function dateFormat(
  locale: string | undefined,
  options: Intl.DateTimeFormatOptions,
): Intl.DateTimeFormat {
  const key = `${locale ?? ""}|${JSON.stringify(options)}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, found);
  }
  return found;
}

const SHORT: Intl.DateTimeFormatOptions = {
  weekday: "short",
  day: "numeric",
  month: "short",
  timeZone: "UTC",
};
const LONG: Intl.DateTimeFormatOptions = {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
  timeZone: "UTC",
};
const RANGE: Intl.DateTimeFormatOptions = {
  day: "numeric",
  month: "short",
  year: "numeric",
  timeZone: "UTC",
};

/** A business date without its year: "Wed 25 Nov" (en-GB), "mié, 25 nov" (es). Not a date: as given. */
export function shortDay(day: string, locale?: string): string {
  const date = parseDay(day);
  return date ? dateFormat(locale, SHORT).format(date) : day;
}

/** A day column's head: "Wed 25" (en), "mié 25" (es). */
export function dayHead(day: string, locale?: string): string {
  const date = parseDay(day);
  return date
    ? dateFormat(locale, { weekday: "short", day: "numeric", timeZone: "UTC" }).format(date)
    : day;
}

/** A business date with its year, for a date that may be far off: "Wed 25 Nov 2026" (en-GB). */
export function longDay(day: string, locale?: string): string {
  const date = parseDay(day);
  return date ? dateFormat(locale, LONG).format(date) : day;
}

/** A stay's dates: "25–28 Nov 2026" (en-GB), "Nov 25 – 28, 2026" (en-US). */
export function dayRange(from: string, to: string, locale?: string): string {
  const a = parseDay(from);
  const b = parseDay(to);
  if (!a || !b) return [from, to].filter(Boolean).join(" – ");
  if (b < a) return `${longDay(from, locale)} – ${longDay(to, locale)}`;
  return dateFormat(locale, RANGE).formatRange(a, b);
}

function instant(time: string | Date): Date | null {
  const date = typeof time === "string" ? new Date(time) : time;
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * The calendar date (`YYYY-MM-DD`) an instant falls on in a time zone: the same instant is
 * 26 Nov in Auckland and still 25 Nov in Los Angeles. Without a zone, the laptop's.
 */
export function dayIn(time: string | Date, timeZone?: string): string | null {
  const date = instant(time);
  if (!date) return null;
  const parts = dateFormat("en-CA", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    timeZone,
  }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** An instant as the date and time on the hotel's wall: "26 Nov 2026, 09:00" (en-GB, Auckland). */
export function dateTime(time: string | Date, timeZone?: string, locale?: string): string {
  const date = instant(time);
  if (!date) return typeof time === "string" ? time : "";
  return dateFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(date);
}

/** An instant's date at the hotel, "26 Nov 2026"; for lists where the hour does not matter. */
export function dateOf(time: string | Date, timeZone?: string, locale?: string): string {
  const date = instant(time);
  if (!date) return typeof time === "string" ? time : "";
  return dateFormat(locale, { dateStyle: "medium", timeZone }).format(date);
}

/** A count with the locale's grouping: 12345 → "12,345" (en), "12.345" (de). */
export function formatNumber(value: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(value);
}

/**
 * How long ago an instant was, in words of the locale ("3 hours ago", "hace 3 horas"); null when
 * it never happened or is unreadable. Under 45 seconds reads as "now".
 */
export function ago(
  time: string | null,
  now: Date = new Date(),
  locale: string = "en",
): string | null {
  if (!time) return null;
  const then = instant(time);
  if (!then) return null;
  const words = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (seconds < 45) return words.format(0, "second");
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return words.format(-minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 24) return words.format(-hours, "hour");
  return words.format(-Math.round(hours / 24), "day");
}

/** A status in words of the desk's language: `checked_in` → "In house", "En casa". */
export function statusLabel(status: string, language: Language = "en"): string {
  return lookup(language, `status.${status}`, () => status.replace(/_/g, " "));
}

/** The booking's number, or what the clerk should know while it has none. */
export function confirmation(
  number: number | null,
  legacy: string | null,
  language: Language = "en",
): string {
  if (number !== null) return `#${number}`;
  if (legacy) return legacy;
  return translate(language, "booking.numberOnSync");
}

/**
 * A number typed in a form (a number input gives a number, or null when empty; a text field a
 * string, "21,5" read as 21.5): the number, or null when empty or not a number.
 */
export function numberIn(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string") return null;
  const text = value.trim().replace(",", ".");
  if (text === "" || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return null;
  return Number(text);
}

/** Whether a typed number field is empty (nothing typed, as opposed to something unreadable). */
export function blankNumber(value: unknown): boolean {
  return (
    value === null || value === undefined || (typeof value === "string" && value.trim() === "")
  );
}
