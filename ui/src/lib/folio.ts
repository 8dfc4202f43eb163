// The folio panel's logic: rows with what is voided, what can be voided, balances recomputed
// from entries (as the contract and the server define them), and the checks made before a
// charge, payment, refund, split or check-out is sent (the Rust side checks again). What the
// clerk reads comes from the message catalogue, in English unless the desk's language is given.

import { lookup, translate, translator, type Language } from "./i18n";
import { formatMoney, parseMoney, sumMinor } from "./money";
import type { FieldErrors } from "./validate";
import {
  CHARGE_TYPES,
  PAYMENT_METHODS,
  type Balance,
  type ChargeItem,
  type FolioEntry,
  type PaymentMethod,
  type StayFolio,
} from "./types";

/** The English of the card-number refusal (the catalogue's `check.cardNumber`). */
export const CARD_NUMBER_MESSAGE = translate("en", "check.cardNumber");

/**
 * Whether `text` holds something that looks like a card number: a run of 13 to 19 digits,
 * optionally split by single spaces or dashes, that passes the Luhn check (the rule of
 * sync/protocol's card.rs and the server's `app.contains_card_number`).
 */
export function containsCardNumber(text: string): boolean {
  return digitRuns(text).some(isCardNumber);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function digitRuns(text: string): string[] {
  const chars = [...text];
  const runs: string[] = [];
  let current = "";
  chars.forEach((c, i) => {
    if (isDigit(c)) {
      current += c;
    } else {
      const joins =
        (c === " " || c === "-") &&
        current !== "" &&
        isDigit(chars[i + 1]) &&
        isDigit(chars[i - 1]);
      if (!joins && current !== "") {
        runs.push(current);
        current = "";
      }
    }
  });
  if (current !== "") runs.push(current);
  return runs;
}

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function isCardNumber(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && luhn(digits);
}

/** Ids of entries that count for nothing: voided by another entry, and the voids themselves. */
export function voidedIds(entries: FolioEntry[]): Set<string> {
  const ids = new Set<string>();
  for (const e of entries) {
    if (e.voids_entry_id) {
      ids.add(e.id);
      ids.add(e.voids_entry_id);
    }
  }
  return ids;
}

/** What an entry adds to a balance: charge, tax and adjustment (signed) add, a payment takes off, a refund adds back. */
export function signedMinor(entry: FolioEntry): number {
  switch (entry.kind) {
    case "charge":
    case "tax":
    case "adjustment":
    case "refund":
      return entry.amount_minor;
    case "payment":
      return -entry.amount_minor;
    default:
      return 0; // an override (a manager let the guest leave) moves nothing
  }
}

/**
 * A balance from entries: charged = charges + taxes + adjustments, paid = payments − refunds,
 * balance = charged − paid; voided entries, their voids and overrides count for nothing.
 */
export function balanceOf(
  entries: FolioEntry[],
  voided: Set<string> = voidedIds(entries),
): Balance {
  const counted = entries.filter((e) => !voided.has(e.id));
  const of = (...kinds: string[]) =>
    sumMinor(counted.filter((e) => kinds.includes(e.kind)).map((e) => e.amount_minor));
  const charged_minor = of("charge", "tax", "adjustment");
  const paid_minor = of("payment") - of("refund");
  return { charged_minor, paid_minor, balance_minor: charged_minor - paid_minor };
}

/** Each folio's balance and the stay's, recomputed from the entries. */
export function recomputeBalances(stay: StayFolio): {
  folios: Record<string, Balance>;
  stay: Balance;
} {
  const voided = voidedIds(stay.entries);
  const folios: Record<string, Balance> = {};
  for (const f of stay.folios)
    folios[f.id] = balanceOf(
      stay.entries.filter((e) => e.folio_id === f.id),
      voided,
    );
  return { folios, stay: balanceOf(stay.entries, voided) };
}

export interface FolioRow {
  entry: FolioEntry;
  /** Counts for nothing (shown struck through): voided by another entry, or a void itself. */
  voided: boolean;
  isVoid: boolean;
  canVoid: boolean;
  /** What the row adds to the balance (negative for a payment); 0 for an override. */
  signed_minor: number;
  label: string;
}

/** "card" → "Card", "no_show" → "No-show fee": for the forms' choices, in the desk's language. */
export function choiceLabel(value: string, language: Language = "en"): string {
  return lookup(language, `choice.${value}`, () => {
    const text = value.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  });
}

/** A line for the clerk: the description, or what the entry is. */
export function entryLabel(entry: FolioEntry, language: Language = "en"): string {
  const t = translator(language);
  const kind = lookup(language, `choice.${entry.kind}`, () => entry.kind);
  const parts: string[] = [];
  if (entry.voids_entry_id) parts.push(t("entry.void"));
  if (entry.description)
    parts.push(entry.kind === "override" ? `${kind}: ${entry.description}` : entry.description);
  else parts.push(kind);
  if (entry.kind === "tax" && entry.tax_rate_bp !== null)
    parts.push(`(${entry.tax_rate_bp / 100}%)`);
  const method = entry.payment_method;
  if (method)
    parts.push(
      `· ${lookup(language, `choice.${method}`, () => method).toLocaleLowerCase(language)}`,
    );
  if (entry.external_reference)
    parts.push(`· ${t("entry.ref", { reference: entry.external_reference })}`);
  return parts.join(" ");
}

/** An entry can be voided when it still counts, is not a void and is not an override. */
export function canVoid(entry: FolioEntry, voided: Set<string>): boolean {
  return !voided.has(entry.id) && entry.voids_entry_id === null && entry.kind !== "override";
}

/** A folio's rows, oldest first. */
export function folioRows(stay: StayFolio, folioId: string, language: Language = "en"): FolioRow[] {
  const voided = voidedIds(stay.entries);
  return stay.entries
    .filter((e) => e.folio_id === folioId)
    .map((entry) => ({
      entry,
      voided: voided.has(entry.id),
      isVoid: entry.voids_entry_id !== null,
      canVoid: canVoid(entry, voided),
      signed_minor: signedMinor(entry),
      label: entryLabel(entry, language),
    }));
}

/** What of a charge can still move to another folio: all of it while it counts, nothing once voided. */
export function remainingOfCharge(entry: FolioEntry, entries: FolioEntry[]): number {
  if (entry.kind !== "charge" || entry.voids_entry_id !== null) return 0;
  return voidedIds(entries).has(entry.id) ? 0 : entry.amount_minor;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

export interface SplitDraft {
  entry_id: string;
  amount: string;
  to_folio_id: string;
}

/** A split of a charge to another folio: amount > 0 and ≤ what remains of it, to another open folio. */
export function validateSplit(
  stay: StayFolio,
  draft: SplitDraft,
  language: Language = "en",
): Checked<{ entry_id: string; amount_minor: number; to_folio_id: string }> {
  const t = translator(language);
  const errors: FieldErrors = {};
  const entry = stay.entries.find((e) => e.id === draft.entry_id);
  const remaining = entry ? remainingOfCharge(entry, stay.entries) : 0;
  if (!entry || remaining <= 0) errors.entry_id = t("check.chargeStillCounts");
  const amount = parseMoney(draft.amount, stay.currency);
  if (amount === null || amount <= 0) errors.amount = t("check.amountToMove");
  else if (entry && remaining > 0 && amount > remaining)
    errors.amount = t("check.atMostLeft", {
      amount: formatMoney(remaining, stay.currency, language),
    });
  const target = stay.folios.find((f) => f.id === draft.to_folio_id);
  if (!target) errors.to_folio_id = t("check.chooseFolio");
  else if (entry && target.id === entry.folio_id) errors.to_folio_id = t("check.anotherFolio");
  else if (target.status !== "open") errors.to_folio_id = t("check.folioClosed");
  if (Object.keys(errors).length > 0 || amount === null) return { ok: false, errors };
  return {
    ok: true,
    value: { entry_id: draft.entry_id, amount_minor: amount, to_folio_id: draft.to_folio_id },
  };
}

export interface PaymentDraft {
  amount: string;
  method: string;
  reference: string;
}

/**
 * A payment or refund form: a positive amount in the stay's currency, a known method, and a
 * reference that is not a card number. A refund gives back at most what the folio was paid.
 */
export function validatePayment(
  draft: PaymentDraft,
  currency: string,
  kind: "payment" | "refund" = "payment",
  paidMinor?: number,
  language: Language = "en",
): Checked<{ amount_minor: number; method: PaymentMethod; reference: string | null }> {
  const t = translator(language);
  const errors: FieldErrors = {};
  const amount = parseMoney(draft.amount, currency);
  if (amount === null || amount <= 0) errors.amount = t("check.amountExample");
  else if (kind === "refund" && paidMinor !== undefined && amount > paidMinor)
    errors.amount =
      paidMinor > 0
        ? t("check.atMostPaid", { amount: formatMoney(paidMinor, currency, language) })
        : t("check.nothingPaid");
  if (!(PAYMENT_METHODS as string[]).includes(draft.method))
    errors.method = t("check.chooseMethod");
  const reference = draft.reference.trim();
  if (containsCardNumber(reference)) errors.reference = t("check.cardNumber");
  else if (reference.length > 100) errors.reference = t("check.atMost100");
  if (Object.keys(errors).length > 0 || amount === null) return { ok: false, errors };
  return {
    ok: true,
    value: {
      amount_minor: amount,
      method: draft.method as PaymentMethod,
      reference: reference || null,
    },
  };
}

export interface ChargeDraft {
  /** A charge item's id, or "" for a free description and price. */
  item_id: string;
  quantity: string;
  description: string;
  price: string;
  charge_type: string;
}

/** An extra: from a charge item (its name, price and type) or free text, times a whole quantity. */
export function validateCharge(
  draft: ChargeDraft,
  items: ChargeItem[],
  currency: string,
  language: Language = "en",
): Checked<{
  charge_item_id: string | null;
  description: string;
  unit_price_minor: number;
  quantity: number;
  charge_type: string;
}> {
  const t = translator(language);
  const errors: FieldErrors = {};
  const quantity = Number(draft.quantity.trim());
  if (!/^\d+$/.test(draft.quantity.trim()) || quantity < 1 || quantity > 999)
    errors.quantity = t("check.wholeQuantity");
  const description = draft.description.trim();
  if (containsCardNumber(description)) errors.description = t("check.cardNumber");
  let value: {
    charge_item_id: string | null;
    description: string;
    unit_price_minor: number;
    charge_type: string;
  } | null = null;
  if (draft.item_id) {
    const item = items.find((i) => i.id === draft.item_id);
    if (!item) errors.item_id = t("check.chooseItem");
    else if (item.currency !== currency)
      errors.item_id = t("check.itemCurrency", { item: item.currency, stay: currency });
    else
      value = {
        charge_item_id: item.id,
        description: description || item.name,
        unit_price_minor: item.price_minor,
        charge_type: item.charge_type,
      };
  } else {
    if (description === "") errors.description = t("check.describeExtra");
    const price = parseMoney(draft.price, currency);
    if (price === null || price <= 0) errors.price = t("check.priceExample");
    if (!(CHARGE_TYPES as readonly string[]).includes(draft.charge_type))
      errors.charge_type = t("check.chooseChargeType");
    if (price !== null)
      value = {
        charge_item_id: null,
        description,
        unit_price_minor: price,
        charge_type: draft.charge_type,
      };
  }
  if (Object.keys(errors).length > 0 || value === null) return { ok: false, errors };
  if (!Number.isSafeInteger(value.unit_price_minor * quantity))
    return { ok: false, errors: { quantity: t("check.totalTooLarge") } };
  return { ok: true, value: { ...value, quantity } };
}

/** A reason the clerk writes (a void, a manager override): not empty, not a card number. */
export function validateReason(text: string, language: Language = "en"): string | null {
  const t = translator(language);
  const reason = text.trim();
  if (reason.length < 3) return t("check.writeReason");
  if (containsCardNumber(reason)) return t("check.cardNumber");
  return null;
}

export interface CheckOutGuard {
  /** The guest can leave without more ado. */
  ok: boolean;
  /** A manager's reason is needed to let the guest leave with this balance. */
  needsOverride: boolean;
  message: string | null;
}

/** Before check-out: a settled folio lets the guest go; an amount owed (or owed back) needs payment, a refund, or a manager's reason. */
export function checkOutGuard(
  balanceMinor: number,
  currency: string,
  language: Language = "en",
): CheckOutGuard {
  if (balanceMinor === 0) return { ok: true, needsOverride: false, message: null };
  const t = translator(language);
  const amount = formatMoney(Math.abs(balanceMinor), currency, language);
  if (balanceMinor > 0)
    return {
      ok: false,
      needsOverride: true,
      message: t("check.owes", { amount }),
    };
  return {
    ok: false,
    needsOverride: true,
    message: t("check.inCredit", { amount }),
  };
}
