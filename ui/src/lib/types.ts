// The shapes the Rust commands send and take. They are generated from the Rust types
// (`./generated/types.ts`, by src-tauri/src/ui_types.rs; a test fails when it is stale) and
// re-exported here; what follows them is the UI's own.

export type * from "./generated/types";

/** A row as JSON (a guest's columns, a conflict's two sides). */
export type Row = Record<string, unknown>;

/** The typed error every command returns (src-tauri/src/error.rs). */
export interface AppError {
  kind: string;
  message: string;
  field?: string;
  room?: string;
  available?: number;
  requested?: number;
}

// Folios (issue 17). Amounts are integers in the currency's minor units (money.ts). The Rust
// side sends `kind` and `payment_method` as strings; these are the values the screens offer.

export type EntryKind = "charge" | "payment" | "refund" | "adjustment" | "tax" | "override";
export type PaymentMethod = "cash" | "card" | "transfer" | "other";
export const PAYMENT_METHODS: PaymentMethod[] = ["cash", "card", "transfer", "other"];
export const CHARGE_TYPES = [
  "room",
  "food",
  "beverage",
  "minibar",
  "parking",
  "no_show",
  "city_tax",
  "vat",
  "other",
] as const;
export type ChargeType = (typeof CHARGE_TYPES)[number];
