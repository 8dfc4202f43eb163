// A booking's history (booking_history) as the clerk reads it: one sentence per line, in the
// desk's language, with dates through Intl, money in the currency's minor units (money.ts) and
// rooms by their number. Ids are never shown: a room the desk cannot name reads "Room changed".

import { shortDay } from "./format";
import { lookup, translator, type Language, type MessageKey } from "./i18n";
import { formatMoney } from "./money";
import type { HistoryLine } from "./types";

export interface HistoryContext {
  language: Language;
  /** The locale for dates and amounts (the desk's); the language's when not given. */
  locale?: string;
  /** The stay's currency, for amounts whose line names none (a changed total or rate). */
  currency: string;
  /** Room id → room number, when the screen knows the rooms. */
  rooms?: ReadonlyMap<string, string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return trimmed === "" || UUID.test(trimmed) ? null : trimmed;
}

function amount(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value);
  return null;
}

function code(value: unknown): string | null {
  return typeof value === "string" && /^[A-Za-z]{3}$/.test(value) ? value.toUpperCase() : null;
}

/** `[old, new]` of a changed column, or null when the detail is not that shape. */
function pair(value: unknown): [unknown, unknown] | null {
  return Array.isArray(value) && value.length === 2 ? [value[0], value[1]] : null;
}

/** The sentence for one line of the history. */
export function historySentence(line: HistoryLine, context: HistoryContext): string {
  const t = translator(context.language);
  const locale = context.locale ?? context.language;
  const detail = line.detail ?? {};
  const money = (minor: number, currency?: unknown) =>
    formatMoney(minor, code(currency) ?? context.currency, locale);
  const day = (value: unknown) => {
    const d = text(value);
    return d ? shortDay(d, locale) : "—";
  };

  switch (line.action) {
    case "booked":
      return t("history.booked");
    case "changed":
      return changedSentence(detail, context, t, money, day);
    case "checked_in":
      return t("history.checkedIn");
    case "checked_out": {
      const reason = text(detail.reason);
      return reason ? t("history.checkedOutOverride", { reason }) : t("history.checkedOut");
    }
    case "cancelled": {
      const reason = text(detail.reason);
      return reason ? t("history.cancelledReason", { reason }) : t("history.cancelled");
    }
    case "no_show":
      return t("history.noShow");
    case "registered": {
      const parts: string[] = [];
      if (detail.date_of_birth) parts.push(t("history.dateOfBirth"));
      if (detail.nationality) parts.push(t("history.nationality"));
      const kind = text(detail.document);
      if (kind) parts.push(documentKindLabel(kind, context.language));
      if (parts.length === 0) return t("history.registered");
      const what = new Intl.ListFormat(context.language, { type: "conjunction" }).format(parts);
      return t("history.registeredWhat", { what });
    }
    case "payment":
    case "refund": {
      const minor = amount(detail.amount_minor);
      const sentence = t(line.action === "payment" ? "history.payment" : "history.refund", {
        amount: minor === null ? "—" : money(Math.abs(minor), detail.currency),
      });
      const method = text(detail.method);
      return method ? `${sentence} (${methodLabel(method, context.language)})` : sentence;
    }
    case "charge":
    case "adjustment":
    case "void": {
      const minor = amount(detail.amount_minor);
      const shown =
        minor === null
          ? "—"
          : money(line.action === "void" ? Math.abs(minor) : minor, detail.currency);
      let description = text(detail.description);
      // a void's description is "Void of <the entry's>: <reason>", written by the Rust side
      if (line.action === "void" && description?.startsWith("Void of "))
        description = description.slice("Void of ".length);
      const keys = {
        charge: ["history.charge", "history.chargeAmount"],
        adjustment: ["history.adjustment", "history.adjustmentAmount"],
        void: ["history.void", "history.voidAmount"],
      } as const satisfies Record<string, readonly [MessageKey, MessageKey]>;
      const [withText, amountOnly] = keys[line.action];
      return description
        ? t(withText, { description, amount: shown })
        : t(amountOnly, { amount: shown });
    }
    case "override": {
      const minor = amount(detail.amount_minor);
      return t("history.override", {
        amount: minor === null ? "—" : money(minor, detail.currency),
      });
    }
    case "invoice": {
      const minor = amount(detail.total_minor);
      const shown = minor === null ? "—" : money(minor, detail.currency);
      const number = amount(detail.number) ?? text(detail.number);
      if (number === null) return t("history.invoiceNoNumber", { amount: shown });
      return t(minor !== null && minor < 0 ? "history.creditNote" : "history.invoice", {
        number,
        amount: shown,
      });
    }
    default:
      return t("history.other");
  }
}

function changedSentence(
  detail: Record<string, unknown>,
  context: HistoryContext,
  t: ReturnType<typeof translator>,
  money: (minor: number) => string,
  day: (value: unknown) => string,
): string {
  const parts: string[] = [];
  const arrival = pair(detail.check_in_date);
  const departure = pair(detail.check_out_date);
  if (arrival && departure) {
    parts.push(
      t("history.datesChanged", {
        from: `${day(arrival[0])} – ${day(departure[0])}`,
        to: `${day(arrival[1])} – ${day(departure[1])}`,
      }),
    );
  } else if (arrival) {
    parts.push(t("history.arrivalChanged", { from: day(arrival[0]), to: day(arrival[1]) }));
  } else if (departure) {
    parts.push(t("history.departureChanged", { from: day(departure[0]), to: day(departure[1]) }));
  }
  const room = pair(detail.room_id);
  if (room) {
    const number = (id: unknown) =>
      typeof id === "string" ? (context.rooms?.get(id) ?? null) : null;
    const from = number(room[0]);
    const to = number(room[1]);
    if (room[1] === null || room[1] === undefined) parts.push(t("history.roomUnassigned"));
    else if (from && to) parts.push(t("history.roomChangedFromTo", { from, to }));
    else if (to) parts.push(t("history.roomChangedTo", { to }));
    else parts.push(t("history.roomChanged"));
  }
  if (pair(detail.room_type_id)) parts.push(t("history.roomTypeChanged"));
  const counted = (value: unknown) => {
    const n = amount(value);
    return n === null ? "—" : String(n);
  };
  const adults = pair(detail.adults);
  if (adults)
    parts.push(t("history.adultsChanged", { from: counted(adults[0]), to: counted(adults[1]) }));
  const children = pair(detail.children);
  if (children)
    parts.push(
      t("history.childrenChanged", { from: counted(children[0]), to: counted(children[1]) }),
    );
  const name = pair(detail.guest_name);
  if (name)
    parts.push(
      t("history.guestNameChanged", { from: text(name[0]) ?? "—", to: text(name[1]) ?? "—" }),
    );
  const cash = (value: unknown) => {
    const n = amount(value);
    return n === null ? "—" : money(n);
  };
  const total = pair(detail.total_amount_cents);
  if (total) parts.push(t("history.totalChanged", { from: cash(total[0]), to: cash(total[1]) }));
  const rate = pair(detail.rate_per_night_cents);
  if (rate) parts.push(t("history.rateChanged", { from: cash(rate[0]), to: cash(rate[1]) }));
  return parts.length > 0 ? parts.join("; ") : t("history.changed");
}

/** "by Ana" when a colleague is named (a local desk names nobody). */
export function historyBy(line: HistoryLine, language: Language): string | null {
  const name = line.by?.trim();
  return name ? translator(language)("history.by", { name }) : null;
}

/** A document kind in words: `national_id` → "National ID card". */
export function documentKindLabel(kind: string, language: Language): string {
  return lookup(language, `doc.${kind}`, () => lookup(language, "doc.other", () => kind));
}

function methodLabel(method: string, language: Language): string {
  return lookup(language, `audit.method.${method}`, () => method.replace(/_/g, " "));
}
