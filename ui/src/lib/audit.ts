// The night audit's summary for the screen: revenue by charge type (taxes apart), payments by
// method, with totals, and the business day's state. Amounts stay in minor units (money.ts).

import { sumMinor } from "./money";
import type { BusinessDay, DaySummary } from "./types";

export const TAX_TYPES = ["vat", "city_tax"];

const TYPE_LABEL: Record<string, string> = {
  room: "Rooms",
  food: "Food",
  beverage: "Beverage",
  minibar: "Minibar",
  parking: "Parking",
  no_show: "No-show fees",
  other: "Other",
  vat: "VAT",
  city_tax: "City tax",
};
const TYPE_ORDER = ["room", "food", "beverage", "minibar", "parking", "no_show", "other", "vat", "city_tax"];

const METHOD_LABEL: Record<string, string> = { cash: "Cash", card: "Card", transfer: "Transfer", other: "Other" };
const METHOD_ORDER = ["cash", "card", "transfer", "other"];

export interface SummaryRow {
  key: string;
  label: string;
  amount_minor: number;
}

function label(map: Record<string, string>, key: string): string {
  return map[key] ?? key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** Sums rows of the same key and orders them as the desk reads them (unknown keys last, by name). */
function grouped(rows: { key: string; amount_minor: number }[], order: string[], labels: Record<string, string>): SummaryRow[] {
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.key, sumMinor([totals.get(r.key) ?? 0, r.amount_minor]));
  const rank = (key: string) => {
    const i = order.indexOf(key);
    return i === -1 ? order.length : i;
  };
  return [...totals.entries()]
    .map(([key, amount_minor]) => ({ key, label: label(labels, key), amount_minor }))
    .sort((a, b) => rank(a.key) - rank(b.key) || a.key.localeCompare(b.key));
}

export interface AuditReport {
  revenue: SummaryRow[];
  revenue_total_minor: number;
  taxes: SummaryRow[];
  taxes_total_minor: number;
  /** Revenue and taxes: what the day charged. */
  charged_total_minor: number;
  payments: SummaryRow[];
  payments_total_minor: number;
  occupancy: string;
  posted: string;
}

export function auditReport(summary: DaySummary): AuditReport {
  const charges = grouped(
    summary.revenue.map((r) => ({ key: r.charge_type, amount_minor: r.amount_minor })),
    TYPE_ORDER,
    TYPE_LABEL,
  );
  const revenue = charges.filter((r) => !TAX_TYPES.includes(r.key));
  const taxes = charges.filter((r) => TAX_TYPES.includes(r.key));
  const payments = grouped(
    summary.payments.map((p) => ({ key: p.method, amount_minor: p.amount_minor })),
    METHOD_ORDER,
    METHOD_LABEL,
  );
  const revenue_total_minor = sumMinor(revenue.map((r) => r.amount_minor));
  const taxes_total_minor = sumMinor(taxes.map((r) => r.amount_minor));
  return {
    revenue,
    revenue_total_minor,
    taxes,
    taxes_total_minor,
    charged_total_minor: revenue_total_minor + taxes_total_minor,
    payments,
    payments_total_minor: sumMinor(payments.map((p) => p.amount_minor)),
    occupancy: occupancyText(summary.rooms_sold, summary.rooms_total, summary.occupancy_percent),
    posted:
      summary.charges_posted > 0
        ? `${summary.charges_posted} ${summary.charges_posted === 1 ? "entry" : "entries"} posted by this audit.`
        : "Nothing posted by this run: the day's charges were already posted (another desk ran it).",
  };
}

/** "31 of 40 rooms sold · 77.5%" (the percent as the server computed it, to one decimal). */
export function occupancyText(sold: number, total: number, percent: number): string {
  const shown = Math.round(percent * 10) / 10;
  return `${sold} of ${total} ${total === 1 ? "room" : "rooms"} sold · ${shown}%`;
}

/** The business day's line and whether the audit is due now. */
export function businessDayState(day: BusinessDay): { line: string; due: boolean; badge: string | null } {
  return {
    line: `Business date ${day.business_date} · ${day.local_time} in ${day.timezone}`,
    due: day.audit_due,
    badge: day.audit_due ? "Audit due" : null,
  };
}
