// Formatting for the screens: dates, statuses, counts (money is in money.ts).

const STATUS: Record<string, string> = {
  pending: "Pending",
  confirmed: "Confirmed",
  checked_in: "In house",
  checked_out: "Checked out",
  cancelled: "Cancelled",
  no_show: "No-show",
  clean: "Clean",
  dirty: "Dirty",
  inspected: "Inspected",
  out_of_order: "Out of order",
  partial: "Part paid",
  paid: "Paid",
  refunded: "Refunded",
};

export function statusLabel(status: string): string {
  return STATUS[status] ?? status.replace(/_/g, " ");
}

/** The booking's number, or what the clerk should know while it has none. */
export function confirmation(number: number | null, legacy: string | null): string {
  if (number !== null) return `#${number}`;
  if (legacy) return legacy;
  return "number on sync";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** Parses `YYYY-MM-DD` as a calendar date (UTC, so no time zone shifts it). */
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

/** "2026-11-25" → "Wed 25 Nov". */
export function shortDay(day: string): string {
  const date = parseDay(day);
  if (!date) return day;
  return `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]}`;
}

/** "1 change waiting", "3 changes waiting". */
export function plural(count: number, one: string, many: string = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** How long ago an RFC 3339 time was, for the status bar. */
export function ago(time: string | null, now: Date = new Date()): string {
  if (!time) return "never";
  const then = new Date(time);
  if (Number.isNaN(then.getTime())) return "never";
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${plural(minutes, "minute")} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${plural(hours, "hour")} ago`;
  return `${plural(Math.round(hours / 24), "day")} ago`;
}
