// The shapes the Rust commands send and take (src-tauri/src/commands/*).

export type Mode = "new" | "local" | "demo" | "server";

/** The sheet a property prints on (from its country, else its currency). */
export type PaperSize = "a4" | "letter";

export interface Property {
  id: string;
  name: string;
  currency: string;
  timezone: string;
  paper_size: PaperSize;
}

export interface AppStatus {
  mode: Mode;
  property: Property | null;
  server: string | null;
  initial_sync_done: boolean;
  role: string;
  locked: boolean;
  /** Who is signed in at a server desk (`user_id` null: known only from an old offline sign-in). */
  user: { email: string; role: string; user_id: string | null } | null;
  today: string;
  /** Minutes without input before a signed-in desk locks (0: never); the owner sets it. */
  idle_lock_minutes: number;
}

export interface Reservation {
  id: string;
  confirmation_number: number | null;
  legacy_code: string | null;
  guest_id: string | null;
  guest_name: string;
  guest_email: string | null;
  guest_phone: string | null;
  status: string;
  room_id: string | null;
  room_number: string | null;
  room_type_id: string;
  room_type_name: string | null;
  check_in: string;
  check_out: string;
  nights: number;
  adults: number;
  children: number;
  rate_per_night_cents: number;
  total_amount_cents: number;
  deposit_paid_cents: number;
  balance_due_cents: number;
  currency: string;
  payment_status: string;
  special_requests: string | null;
  notes: string | null;
  pending_sync: boolean;
}

export interface RoomOffer {
  id: string;
  number: string;
  room_type_id: string;
  room_type_name: string;
  base_rate_cents: number;
  max_occupancy: number;
  housekeeping_status: string;
}

export interface RoomStatus {
  id: string;
  number: string;
  floor: number | null;
  room_type_name: string;
  housekeeping_status: string;
  notes: string | null;
  occupant: string | null;
  pending_sync: boolean;
}

export interface Today {
  date: string;
  arrivals: Reservation[];
  departures: Reservation[];
  in_house: Reservation[];
  occupancy: { occupied: number; sellable: number; percent: number };
  rooms_to_clean: RoomStatus[];
}

export interface TapeStay {
  id: string;
  room_id: string;
  guest_name: string;
  status: string;
  check_in: string;
  check_out: string;
}

export interface TapeChart {
  start: string;
  days: number;
  rooms: RoomOffer[];
  stays: TapeStay[];
}

export interface GuestHit {
  id: string;
  full_name: string;
  email: string | null;
  phone: string | null;
  city: string | null;
  vip_status: string;
}

export interface Membership {
  id: string;
  program_id: string;
  program_name: string;
  membership_number: number | null;
  tier: string | null;
  status: string;
  available_points: number;
}

export interface Communication {
  id: string;
  kind: string | null;
  direction: string | null;
  subject: string | null;
  status: string | null;
  created_at: string | null;
}

export type Row = Record<string, unknown>;

export interface Profile {
  guest: Row;
  preferences: Row | null;
  stays: Reservation[];
  communications: Communication[];
  loyalty: Membership[];
  pending_sync: boolean;
}

export interface GuestInput {
  first_name: string;
  last_name: string;
  email?: string | null;
  phone?: string | null;
  address_line1?: string | null;
  city?: string | null;
  postal_code?: string | null;
  country_code?: string | null;
  segment?: string | null;
  vip_status?: string | null;
  marketing_consent?: boolean | null;
  notes?: string | null;
}

export interface Tier {
  name: string;
  required_points: number;
  multiplier: number;
}

export interface Program {
  id: string;
  name: string;
  enabled: boolean;
  tiers: Tier[];
  points_per_currency_unit: number;
  first_stay_bonus_points: number;
  minimum_redemption_points: number;
  members: number;
}

export interface LedgerEntry {
  id: string;
  kind: string;
  points: number;
  description: string | null;
  balance_after: number | null;
  created_at: string | null;
  pending_sync: boolean;
}

export interface Campaign {
  id: string;
  name: string;
  kind: string;
  status: string;
  audience: string;
  target_segments: string[];
  target_vip_statuses: string[];
  target_loyalty_tiers: string[];
  scheduled_at: string | null;
  target_count: number;
  sent_count: number;
  open_rate: string | null;
  click_rate: string | null;
  conversion_rate: string | null;
}

export interface Billing {
  subscriptions: Row[];
  plans: Row[];
  invoices: Row[];
  usage_alerts: Row[];
  feature_flags: Row[];
}

export interface SyncStatus {
  mode: Mode;
  online: boolean | null;
  syncing: boolean;
  last_sync: string | null;
  last_error: string | null;
  session_expired: boolean;
  update_required: boolean;
  changes_waiting: number;
  conflicts_open: number;
}

export interface Conflict {
  id: number;
  table: string;
  row_id: string;
  op: string;
  reason: string;
  message: string | null;
  summary: string;
  mine: Row;
  theirs: Row | null;
  created_at: string;
}

export interface SyncProgress {
  table: string;
  tables_done: number;
  tables_total: number;
  rows: number;
}

/** The typed error every command returns (src-tauri/src/error.rs). */
export interface AppError {
  kind: string;
  message: string;
  field?: string;
  room?: string;
  available?: number;
  requested?: number;
}

/** What the update server offers (`check_for_update`); `version` is null when this is the newest. */
/** What the desk's own update checks found (`get_update_status`, `update://status`). */
export interface UpdateStatus {
  automatic: boolean;
  demo: boolean;
  interval_hours: number;
  current_version: string;
  checked_at: string | null;
  offered_version: string | null;
  notes: string | null;
  error: string | null;
}

export interface UpdateCheck {
  current_version: string;
  version: string | null;
  notes: string | null;
}

// Folios, night audit and guest invoices (issue 17). Amounts are integers in the currency's
// minor units (money.ts); `currency` is the ISO 4217 code.

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

export interface Folio {
  id: string;
  kind: "guest" | "company";
  name: string | null;
  status: "open" | "closed";
  currency: string;
}

export interface FolioEntry {
  id: string;
  folio_id: string;
  kind: EntryKind;
  amount_minor: number;
  currency: string;
  /** YYYY-MM-DD, the property's business date. */
  business_date: string;
  description: string | null;
  payment_method: PaymentMethod | null;
  external_reference: string | null;
  /** This entry cancels that one (a void). */
  voids_entry_id: string | null;
  charge_type: string | null;
  /** A tax entry's rate in basis points (1000 = 10%). */
  tax_rate_bp: number | null;
}

export interface Balance {
  charged_minor: number;
  paid_minor: number;
  balance_minor: number;
}

export interface StayFolio {
  currency: string;
  folios: (Folio & { balance: Balance })[];
  /** Every folio's entries, oldest first. */
  entries: FolioEntry[];
  /** The whole stay. */
  balance: Balance;
}

export interface ChargeItem {
  id: string;
  name: string;
  charge_type: string;
  price_minor: number;
  currency: string;
}

export interface BusinessDay {
  property_id: string;
  /** IANA, e.g. "Europe/Lisbon". */
  timezone: string;
  business_date: string;
  /** Now in the property's zone, "YYYY-MM-DD HH:MM". */
  local_time: string;
  audit_due: boolean;
}

export interface DaySummary {
  business_date: string;
  next_business_date: string;
  currency: string;
  rooms_sold: number;
  rooms_total: number;
  occupancy_percent: number;
  revenue: { charge_type: string; amount_minor: number }[];
  payments: { method: string; amount_minor: number }[];
  no_shows: number;
  charges_posted: number;
}

export interface GuestInvoice {
  id: string;
  kind: "invoice" | "credit_note";
  /** e.g. "D1-000012". */
  number_label: string;
  series_prefix: string;
  number: number;
  folio_id: string;
  reservation_id: string;
  issued_on: string; // the property's date of issue, YYYY-MM-DD
  currency: string;
  net_minor: number;
  tax_minor: number;
  total_minor: number;
  corrects_invoice_id: string | null;
}

// Reports (issue 18 item 7): `get_report`, computed on the mirror. Amounts are minor units of
// `currency`; `occupancy_percent` has one decimal.

export interface ReportFigures {
  rooms_sellable: number;
  rooms_sold: number;
  occupancy_percent: number;
  room_revenue_minor: number;
  other_revenue_minor: number;
  adr_minor: number;
  revpar_minor: number;
}

export interface ReportDay extends ReportFigures {
  /** YYYY-MM-DD, the property's calendar date. */
  date: string;
}

export interface Report {
  property_id: string;
  property_name: string;
  currency: string;
  from: string;
  to: string;
  days: ReportDay[];
  totals: ReportFigures;
}

/** A colleague on the owner's staff screen (`list_staff`); `pending`: added on this laptop, not yet on the server. */
export interface Colleague {
  id: string;
  user_id: string;
  email: string;
  display_name: string;
  role: string;
  enabled: boolean;
  pending: boolean;
}

/** A temporary password from the server (`give_temporary_password`): shown once, never kept. */
export interface TemporaryPassword {
  temporary_password: string;
  expires_at: string;
}
