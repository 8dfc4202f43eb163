// A conflict as a clerk reads it. The desk's `list_conflicts` command hands over the raw sync
// record: the table, a machine reason (`room_unavailable`, `superseded`, …), the server's message
// (English, and for `not_found` with the row's UUID in it), the laptop's values (`mine`: every
// column of an insert, the changed ones of an update, one field group of a merge) and the
// server's row (`theirs`: the whole row, one field group of a merge, or none).
//
// Shown raw, that is "deposit paid cents 0" and "room id "01902611-…"". Here it becomes a title
// (who, when, which room), a sentence for the reason, and only the details that differ, with
// labels from a per-table map and values formatted: money in the row's currency, business dates
// and the hotel's times, yes/no, statuses in words. A column that is not in the map is never
// shown (ids, tenant, stamps, JSON blobs); an id is shown only as what the screen can resolve it to
// (a room number, a guest's name), and one it cannot is "another room"/"another guest" or left out.

import { dateTime, dayRange, formatNumber, longDay, statusLabel } from "./format";
import { lookup, translator, type Language, type MessageKey } from "./i18n";
import { formatMoney, isCurrency } from "./money";
import type { Conflict, Row } from "./types";

/** How a column's value is written for the clerk. */
type Kind =
  | "text"
  | "day"
  | "instant"
  | "money"
  | "bool"
  | "status"
  | "choice"
  | "count"
  | "points"
  | "room"
  | "guest"
  | "list";
type Field = [label: MessageKey, kind: Kind];

const ADDRESS: Record<string, Field> = {
  address_line1: ["field.address", "text"],
  address_line2: ["field.address2", "text"],
  city: ["field.city", "text"],
  region: ["field.region", "text"],
  postal_code: ["field.postalCode", "text"],
  country_code: ["field.country", "text"],
};

/** The columns a clerk may see, per table, in the order shown. Any other column is never shown. */
const FIELDS: Record<string, Record<string, Field>> = {
  reservations: {
    guest_name: ["field.guest", "text"],
    guest_id: ["field.guestProfile", "guest"],
    guest_email: ["field.email", "text"],
    guest_phone: ["field.phone", "text"],
    status: ["field.status", "status"],
    check_in_date: ["field.arrival", "day"],
    check_out_date: ["field.departure", "day"],
    room_id: ["field.room", "room"],
    nights: ["field.nights", "count"],
    adults: ["field.adults", "count"],
    children: ["field.children", "count"],
    rate_per_night_cents: ["field.ratePerNight", "money"],
    total_amount_cents: ["field.total", "money"],
    deposit_paid_cents: ["field.depositPaid", "money"],
    balance_due_cents: ["field.balanceDue", "money"],
    payment_status: ["field.payment", "status"],
    currency: ["field.currency", "text"],
    source: ["field.source", "text"],
    special_requests: ["field.specialRequests", "text"],
    notes: ["field.notes", "text"],
    cancellation_reason: ["field.cancellationReason", "text"],
    confirmed_at: ["field.confirmedAt", "instant"],
    checked_in_at: ["field.checkedInAt", "instant"],
    checked_out_at: ["field.checkedOutAt", "instant"],
    cancelled_at: ["field.cancelledAt", "instant"],
    no_show_at: ["field.noShowAt", "instant"],
  },
  guests: {
    first_name: ["field.firstName", "text"],
    last_name: ["field.lastName", "text"],
    email: ["field.email", "text"],
    phone: ["field.phone", "text"],
    ...ADDRESS,
    date_of_birth: ["field.dateOfBirth", "day"],
    nationality: ["field.nationality", "text"],
    vip_status: ["field.vip", "text"],
    segment: ["field.segment", "text"],
    tags: ["field.tags", "list"],
    contact_by_email: ["field.contactByEmail", "bool"],
    contact_by_sms: ["field.contactBySms", "bool"],
    contact_by_phone: ["field.contactByPhone", "bool"],
    marketing_consent: ["field.marketingConsent", "bool"],
    notes: ["field.notes", "text"],
  },
  guest_preferences: {
    bed_type: ["field.bedType", "text"],
    pillow_type: ["field.pillow", "text"],
    smoking: ["field.smoking", "bool"],
    dietary_restrictions: ["field.diet", "list"],
    allergies: ["field.allergies", "list"],
    accessibility_needs: ["field.accessibility", "list"],
    preferred_language: ["field.language", "text"],
    special_requests: ["field.specialRequests", "text"],
    notes: ["field.notes", "text"],
  },
  loyalty_transactions: {
    type: ["field.kind", "choice"],
    points: ["field.points", "points"],
    description: ["field.description", "text"],
  },
  loyalty_members: {
    current_tier: ["field.tier", "text"],
    status: ["field.status", "status"],
    points_balance: ["field.pointsBalance", "points"],
  },
  folios: {
    kind: ["field.kind", "choice"],
    name: ["field.name", "text"],
    status: ["field.status", "status"],
  },
  folio_entries: {
    kind: ["field.kind", "choice"],
    description: ["field.description", "text"],
    amount_minor: ["field.amount", "money"],
    quantity: ["field.quantity", "count"],
    charge_type: ["field.chargeType", "choice"],
    payment_method: ["field.method", "choice"],
    external_reference: ["field.reference", "text"],
    business_date: ["field.date", "day"],
  },
  guest_invoices: {
    bill_to: ["field.billTo", "text"],
    total_minor: ["field.total", "money"],
    issued_on: ["field.date", "day"],
  },
  rooms: {
    number: ["field.room", "text"],
    floor: ["field.floor", "count"],
    housekeeping_status: ["field.housekeeping", "status"],
    notes: ["field.notes", "text"],
  },
  properties: {
    name: ["field.name", "text"],
    phone: ["field.phone", "text"],
    email: ["field.email", "text"],
    ...ADDRESS,
    timezone: ["field.timeZone", "text"],
    currency: ["field.currency", "text"],
  },
  communication_logs: {
    type: ["field.kind", "text"],
    subject: ["field.subject", "text"],
    message: ["field.message", "text"],
  },
  marketing_campaigns: {
    name: ["field.name", "text"],
    subject: ["field.subject", "text"],
    status: ["field.status", "status"],
  },
};

/**
 * For a row the hotel does not have (a refused insert), which of the laptop's values are worth
 * reading beside the title (which already names the guest, the dates and the room).
 */
const BRIEF: Record<string, string[]> = {
  reservations: [
    "status",
    "nights",
    "adults",
    "children",
    "total_amount_cents",
    "special_requests",
    "notes",
  ],
  guests: ["first_name", "last_name", "email", "phone"],
  loyalty_transactions: ["type", "points", "description"],
};

/** What the screen already knows that a conflict's ids point at. */
export interface Lookups {
  /** room id → its number */
  rooms?: ReadonlyMap<string, string>;
  /** guest id → the guest's name */
  guests?: ReadonlyMap<string, string>;
  /** The booking the conflict is about, as this laptop holds it now (a merge sends only one field group). */
  reservation?: {
    guest_name: string;
    check_in: string;
    check_out: string;
    room_number: string | null;
  } | null;
  /** The property's currency, for a row that does not carry its own. */
  currency?: string;
  /** The property's IANA time zone, for times. */
  timeZone?: string;
}

export interface ConflictLine {
  label: string;
  yours: string;
  /** Null when the hotel has no such row. */
  theirs: string | null;
}

export interface ConflictView {
  title: string;
  reason: string;
  lines: ConflictLine[];
  /** Details that differ but cannot be shown in words (an id the screen cannot resolve). */
  hidden: number;
  /** The hotel has no such row (a refused insert, or a row it no longer has). */
  onlyYours: boolean;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

function present(value: unknown): boolean {
  return (
    value !== null &&
    value !== undefined &&
    value !== "" &&
    !(Array.isArray(value) && value.length === 0)
  );
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

interface Context {
  language: Language;
  locale: string;
  lookups: Lookups;
  currency: string | null;
  /** Refused as a card number: the digits are not shown again, only the last four. */
  maskCards: boolean;
}

/** "4111 1111 1111 1111" → "•••• 1111": a run of 13 to 19 digits (spaces and dashes between). */
export function maskCardNumbers(value: string): string {
  return value.replace(
    /\d(?:[ -]?\d){12,18}/g,
    (run) => `•••• ${run.replace(/\D/g, "").slice(-4)}`,
  );
}

/** A value in words, or null when it cannot be shown (an unresolvable id, a blob). */
function valueText(kind: Kind, value: unknown, cx: Context): string | null {
  const t = translator(cx.language);
  if (!present(value)) return t("value.empty");
  switch (kind) {
    case "bool":
      return typeof value === "boolean" ? t(value ? "value.yes" : "value.no") : null;
    case "money": {
      const minor = Number(value);
      if (!Number.isFinite(minor) || !cx.currency) return null;
      return formatMoney(minor, cx.currency, cx.locale);
    }
    case "count":
      return typeof value === "number" ? formatNumber(value, cx.locale) : null;
    case "points":
      return typeof value === "number" ? lookupPoints(value, cx) : null;
    case "day":
      return typeof value === "string" ? longDay(value, cx.locale) : null;
    case "instant":
      return typeof value === "string" ? dateTime(value, cx.lookups.timeZone, cx.locale) : null;
    case "status":
      return typeof value === "string" ? statusLabel(value, cx.language) : null;
    case "choice":
      return typeof value === "string"
        ? lookup(cx.language, `choice.${value}`, () => value.replace(/_/g, " "))
        : null;
    case "room":
      return (typeof value === "string" && cx.lookups.rooms?.get(value)) || null;
    case "guest":
      return (typeof value === "string" && cx.lookups.guests?.get(value)) || null;
    case "list":
      return Array.isArray(value)
        ? value.map(String).join(", ")
        : typeof value === "string"
          ? value
          : null;
    case "text":
      if (typeof value === "number") return formatNumber(value, cx.locale);
      // a bare id in a text column says nothing to a clerk
      if (typeof value !== "string" || UUID.test(value)) return null;
      return cx.maskCards ? maskCardNumbers(value) : value;
  }
}

function lookupPoints(points: number, cx: Context): string {
  return translator(cx.language)("conflicts.points", {
    count: points,
    points: formatNumber(points, cx.locale),
  });
}

function same(a: unknown, b: unknown): boolean {
  if (!present(a) && !present(b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

function title(c: Conflict, cx: Context): string {
  const t = translator(cx.language);
  const mine = c.mine;
  const theirs = c.theirs ?? {};
  const pick = (column: string) => mine[column] ?? theirs[column];
  const noun = lookup(cx.language, `table.${c.table}`, () => t("table.other"));
  const parts: (string | null)[] = [];
  switch (c.table) {
    case "reservations": {
      const held = cx.lookups.reservation;
      parts.push(text(pick("guest_name")) ?? held?.guest_name ?? noun);
      const from = text(pick("check_in_date")) ?? held?.check_in ?? null;
      const to = text(pick("check_out_date")) ?? held?.check_out ?? null;
      if (from && to) parts.push(dayRange(from, to, cx.locale));
      const roomId = text(pick("room_id"));
      const room = (roomId && cx.lookups.rooms?.get(roomId)) ?? held?.room_number ?? null;
      if (room) parts.push(t("conflicts.room", { room }));
      break;
    }
    case "guests": {
      const name =
        text(pick("full_name")) ??
        ([text(pick("first_name")), text(pick("last_name"))].filter(Boolean).join(" ") || null);
      parts.push(name ?? cx.lookups.guests?.get(c.row_id) ?? noun);
      break;
    }
    case "loyalty_transactions": {
      parts.push(noun);
      const guest = text(pick("guest_id"));
      if (guest && cx.lookups.guests?.has(guest)) parts.push(cx.lookups.guests.get(guest) ?? null);
      const points = pick("points");
      if (typeof points === "number") parts.push(lookupPoints(Math.abs(points), cx));
      break;
    }
    case "folio_entries": {
      parts.push(cx.lookups.reservation?.guest_name ?? noun);
      const description = text(pick("description"));
      const kind = text(pick("kind"));
      parts.push(description ?? (kind ? lookup(cx.language, `choice.${kind}`, () => kind) : null));
      const amount = pick("amount_minor");
      if (typeof amount === "number" && cx.currency)
        parts.push(formatMoney(amount, cx.currency, cx.locale));
      break;
    }
    case "rooms":
      parts.push(
        text(pick("number")) ? t("conflicts.room", { room: String(pick("number")) }) : noun,
      );
      break;
    default:
      parts.push(noun, text(pick("name")) ?? text(pick("subject")));
  }
  const shown = parts.filter((p): p is string => !!p && !UUID.test(p)).join(" · ");
  return cx.maskCards ? maskCardNumbers(shown) : shown;
}

/** A conflict in the clerk's words, in `language` (dates and amounts in `locale`). */
export function describeConflict(
  c: Conflict,
  lookups: Lookups = {},
  language: Language = "en",
  locale: string = language,
): ConflictView {
  const t = translator(language);
  const currencyOf = (row: Row | null) =>
    row && typeof row.currency === "string" && isCurrency(row.currency) ? row.currency : null;
  const cx: Context = {
    language,
    locale,
    lookups,
    currency: currencyOf(c.mine) ?? currencyOf(c.theirs) ?? lookups.currency ?? null,
    maskCards: c.reason === "card_number",
  };
  const fields = FIELDS[c.table] ?? {};
  const theirs = c.theirs;
  const lines: ConflictLine[] = [];
  let hidden = 0;
  // the map's order, not the row's: a clerk reads the guest before the money
  const columns = [
    ...Object.keys(fields).filter((k) => k in c.mine),
    ...Object.keys(c.mine).filter((k) => !(k in fields)),
  ];
  for (const column of columns) {
    const mine = c.mine[column];
    if (theirs ? same(mine, theirs[column]) : !present(mine)) continue;
    const field = fields[column];
    if (!field) {
      // not a detail a clerk reads (ids, stamps); only a changed one is worth a mention
      if (theirs && column !== "updated_at" && column !== "created_at") hidden += 1;
      continue;
    }
    const [label, kind] = field;
    if (!theirs && BRIEF[c.table] && !BRIEF[c.table].includes(column)) continue;
    let yours = valueText(kind, mine, cx);
    let other = theirs ? valueText(kind, theirs[column], cx) : null;
    if (theirs && (kind === "room" || kind === "guest") && (yours !== null || other !== null)) {
      // one side resolves, the other is an id this laptop does not know
      const another = t(kind === "room" ? "value.anotherRoom" : "value.anotherGuest");
      yours ??= another;
      other ??= another;
    }
    // the same in words (24000 and "24000"): nothing to show, nothing hidden
    if (yours === other) continue;
    if (yours === null || (theirs && other === null)) {
      hidden += theirs ? 1 : 0;
      continue;
    }
    lines.push({ label: t(label), yours, theirs: other });
  }
  return {
    title: title(c, cx),
    reason: lookup(language, `reason.${c.reason}`, () => t("reason.other")),
    lines,
    hidden,
    onlyYours: theirs === null,
  };
}

/** Everything the clerk reads of a conflict, as one text (for tests and screen readers). */
export function conflictText(view: ConflictView): string {
  return [
    view.title,
    view.reason,
    ...view.lines.map((l) => `${l.label}: ${l.yours} / ${l.theirs ?? ""}`),
  ].join("\n");
}
