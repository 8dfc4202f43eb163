// The night audit's summary for the screen: revenue by charge type (taxes apart), payments by
// method, with totals, and the business day's state. Amounts stay in minor units (money.ts);
// words come from the message catalogue (i18n.ts), English unless the desk's language is given.

import { lookup, translator, type Language } from "./i18n";
import { sumMinor } from "./money";
import type { BusinessDay, DaySummary } from "./types";

export const TAX_TYPES = ["vat", "city_tax"];

const TYPE_ORDER = [
  "room",
  "food",
  "beverage",
  "minibar",
  "parking",
  "no_show",
  "other",
  "vat",
  "city_tax",
];

const METHOD_ORDER = ["cash", "card", "transfer", "other"];

export interface SummaryRow {
  key: string;
  label: string;
  amount_minor: number;
}

/** `prefix` "audit.type" and key "room" → "Rooms"; a key the catalogue lacks, as words. */
function label(language: Language, prefix: string, key: string): string {
  return lookup(language, `${prefix}.${key}`, () =>
    key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()),
  );
}

/** Sums rows of the same key and orders them as the desk reads them (unknown keys last, by name). */
function grouped(
  rows: { key: string; amount_minor: number }[],
  order: string[],
  labelOf: (key: string) => string,
): SummaryRow[] {
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.key, sumMinor([totals.get(r.key) ?? 0, r.amount_minor]));
  const rank = (key: string) => {
    const i = order.indexOf(key);
    return i === -1 ? order.length : i;
  };
  return [...totals.entries()]
    .map(([key, amount_minor]) => ({ key, label: labelOf(key), amount_minor }))
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

export function auditReport(summary: DaySummary, language: Language = "en"): AuditReport {
  const t = translator(language);
  const charges = grouped(
    summary.revenue.map((r) => ({ key: r.charge_type, amount_minor: r.amount_minor })),
    TYPE_ORDER,
    (key) => label(language, "audit.type", key),
  );
  const revenue = charges.filter((r) => !TAX_TYPES.includes(r.key));
  const taxes = charges.filter((r) => TAX_TYPES.includes(r.key));
  const payments = grouped(
    summary.payments.map((p) => ({ key: p.method, amount_minor: p.amount_minor })),
    METHOD_ORDER,
    (key) => label(language, "audit.method", key),
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
    occupancy: occupancyText(
      summary.rooms_sold,
      summary.rooms_total,
      summary.occupancy_percent,
      language,
    ),
    posted:
      summary.charges_posted > 0
        ? t("audit.posted", { count: summary.charges_posted })
        : t("audit.nothingPosted"),
  };
}

/** "31 of 40 rooms sold · 77.5%" (the percent as the server computed it, to one decimal). */
export function occupancyText(
  sold: number,
  total: number,
  percent: number,
  language: Language = "en",
): string {
  const shown = new Intl.NumberFormat(language, { maximumFractionDigits: 1 }).format(
    Math.round(percent * 10) / 10,
  );
  return translator(language)("audit.occupancy", { sold, count: total, percent: shown });
}

/** The business day's line and whether the audit is due now. */
export function businessDayState(
  day: BusinessDay,
  language: Language = "en",
): { line: string; due: boolean; badge: string | null } {
  const t = translator(language);
  return {
    line: t("audit.line", { date: day.business_date, time: day.local_time, zone: day.timezone }),
    due: day.audit_due,
    badge: day.audit_due ? t("audit.due") : null,
  };
}
