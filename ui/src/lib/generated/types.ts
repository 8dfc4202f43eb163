// Generated from the desk's Rust types by src-tauri/src/ui_types.rs: do not edit.
// Regenerate: PMS_UPDATE_UI_TYPES=1 cargo test -p pms-desk --test ui_types

export type Mode = "new" | "local" | "demo" | "server";

export type PaperSize = "a4" | "letter";

export type Property = { id: string, name: string, currency: string, timezone: string, 
/**
 * The paper it prints on (from its country, else its currency): `a4` or `letter`.
 */
paper_size: PaperSize, 
/**
 * Days after a stay's check-out that identity documents captured for it are kept.
 */
document_retention_days: number, };

export type User = { email: string, role: string, 
/**
 * The staff member's account (from the server, or kept from their last online sign-in on
 * this laptop); what the desk writes is attributed to it.
 */
user_id: string | null, };

export type AppStatus = { mode: Mode, property: Property | null, server: string | null, initial_sync_done: boolean, 
/**
 * The staff role the screens are shown for (local and demo desks act as the owner).
 */
role: string, 
/**
 * A server desk opens its data only to a signed-in staff member.
 */
locked: boolean, user: User | null, today: string, 
/**
 * Minutes without a command before a signed-in desk locks (0: never).
 */
idle_lock_minutes: number, };

export type SyncProgress = { table: string, tables_done: number, tables_total: number, rows: number, };

export type SyncInfo = { 
/**
 * `None` until a server was tried (and always for a local-only desk).
 */
online: boolean | null, syncing: boolean, last_sync: string | null, 
/**
 * The last failure, as a clerk reads it.
 */
last_error: string | null, session_expired: boolean, update_required: boolean, };

export type SyncStatus = { mode: Mode, changes_waiting: number, conflicts_open: number, 
/**
 * `None` until a server was tried (and always for a local-only desk).
 */
online: boolean | null, syncing: boolean, last_sync: string | null, 
/**
 * The last failure, as a clerk reads it.
 */
last_error: string | null, session_expired: boolean, update_required: boolean, };

export type Conflict = { id: number, table: string, row_id: string, op: string, 
/**
 * `room_unavailable`, `insufficient_points`, `superseded`, `invalid_transition`, …
 */
reason: string, message: string | null, 
/**
 * A sentence for the clerk: what happened.
 */
summary: string, mine: Record<string, unknown>, theirs: Record<string, unknown> | null, created_at: string, };

export type UpdateStatus = { 
/**
 * Whether this desk looks by itself (off in demo mode or when the owner set 0 hours).
 */
automatic: boolean, demo: boolean, interval_hours: number, current_version: string, 
/**
 * When the desk last looked (RFC 3339, UTC), by itself or asked.
 */
checked_at: string | null, 
/**
 * A newer version the update server offered at that look.
 */
offered_version: string | null, notes: string | null, 
/**
 * What went wrong at that look, in the clerk's words (the server unreachable, …).
 */
error: string | null, };

export type UpdateCheck = { current_version: string, 
/**
 * The newer version on offer; `None` when this is the newest.
 */
version: string | null, notes: string | null, };

export type Reservation = { id: string, 
/**
 * The sequential number: the server's, or a local hotel's own (`sole_writer`); `None` on a
 * connected desk until the server has assigned it.
 */
confirmation_number: number | null, legacy_code: string | null, guest_id: string | null, guest_name: string, guest_email: string | null, guest_phone: string | null, status: string, room_id: string | null, room_number: string | null, room_type_id: string, room_type_name: string | null, check_in: string, check_out: string, nights: number, adults: number, children: number, rate_per_night_cents: number, total_amount_cents: number, deposit_paid_cents: number, balance_due_cents: number, currency: string, payment_status: string, special_requests: string | null, notes: string | null, 
/**
 * A change to this booking is waiting to be sent.
 */
pending_sync: boolean, };

export type RoomOffer = { id: string, number: string, room_type_id: string, room_type_name: string, base_rate_cents: number, max_occupancy: number, housekeeping_status: string, };

export type TapeStay = { id: string, room_id: string, guest_name: string, status: string, check_in: string, check_out: string, };

export type TapeChart = { start: string, days: number, rooms: Array<RoomOffer>, stays: Array<TapeStay>, };

export type HistoryLine = { 
/**
 * RFC 3339; none only for a line whose time this laptop never knew.
 */
at: string | null, 
/**
 * An event's action, or `payment`, `refund`, `charge`, `adjustment`, `void`, `invoice`.
 */
action: string, 
/**
 * What changed or was taken: the event's detail, or the entry's amount and description.
 */
detail: Record<string, unknown> | null, 
/**
 * The colleague's name as the staff list has it; none for a local desk or a server job.
 */
by: string | null, };

export type DocumentInput = { 
/**
 * One of [`DOCUMENT_KINDS`].
 */
kind: string, number: string, issuing_country: string | null, 
/**
 * `YYYY-MM-DD`.
 */
expires_on: string | null, };

export type RegistrationInput = { 
/**
 * `YYYY-MM-DD`.
 */
date_of_birth: string | null, 
/**
 * ISO 3166 alpha-2 ("PT").
 */
nationality: string | null, document: DocumentInput | null, };

export type Document = { id: string, kind: string, number: string, issuing_country: string | null, expires_on: string | null, reservation_id: string | null, 
/**
 * The property's date after which it is no longer kept.
 */
kept_until: string, };

export type Registration = { reservation_id: string, guest_id: string | null, date_of_birth: string | null, nationality: string | null, 
/**
 * The document shown for this stay, else the guest's newest one still kept.
 */
document: Document | null, };

export type RoomStatus = { id: string, number: string, floor: number | null, room_type_name: string, housekeeping_status: string, notes: string | null, 
/**
 * The guest in the room now, if any.
 */
occupant: string | null, pending_sync: boolean, };

export type Occupancy = { 
/**
 * Rooms with a stay tonight.
 */
occupied: number, 
/**
 * Rooms that can be sold tonight (out of order left out).
 */
sellable: number, percent: number, };

export type Today = { date: string, arrivals: Array<Reservation>, departures: Array<Reservation>, in_house: Array<Reservation>, occupancy: Occupancy, rooms_to_clean: Array<RoomStatus>, };

export type GuestHit = { id: string, full_name: string, email: string | null, phone: string | null, city: string | null, vip_status: string, };

export type Communication = { id: string, kind: string | null, direction: string | null, subject: string | null, status: string | null, created_at: string | null, };

export type Profile = { 
/**
 * The guest's row (synced columns) as JSON.
 */
guest: Record<string, unknown>, preferences: Record<string, unknown> | null, stays: Array<Reservation>, communications: Array<Communication>, loyalty: Array<Membership>, pending_sync: boolean, };

export type GuestInput = { first_name: string, last_name: string, email?: string | null, phone?: string | null, address_line1?: string | null, city?: string | null, postal_code?: string | null, country_code?: string | null, segment?: string | null, vip_status?: string | null, marketing_consent?: boolean | null, notes?: string | null, };

export type Kind = "call" | "email" | "note";

export type NewCommunication = { kind: Kind, 
/**
 * The guest called or wrote (`true`), or the hotel did; a note is always the guest's.
 */
inbound: boolean, subject: string | null, message: string, };

export type Membership = { id: string, program_id: string, program_name: string, membership_number: number | null, tier: string | null, status: string, 
/**
 * The server's balance plus entries not yet synced.
 */
available_points: number, };

export type Tier = { name: string, required_points: number, multiplier: number, benefits: Array<string>, };

export type Program = { id: string, name: string, description: string | null, enabled: boolean, tiers: Array<Tier>, points_per_currency_unit: number, first_stay_bonus_points: number, birthday_bonus_points: number, point_value_cents: number, minimum_redemption_points: number, points_expiry_days: number | null, currency: string, members: number, };

export type TierInput = { name: string, required_points: number, 
/**
 * Points earned are multiplied by this at the tier (1 = none).
 */
multiplier: number, benefits: Array<string>, };

export type ProgramInput = { name: string, description: string | null, enabled: boolean, 
/**
 * Points per unit of the currency spent on a stay.
 */
points_per_currency_unit: number, first_stay_bonus_points: number, birthday_bonus_points: number, 
/**
 * What a point is worth when redeemed, in cents of the currency.
 */
point_value_cents: number, minimum_redemption_points: number, 
/**
 * None: points never expire.
 */
points_expiry_days: number | null, tiers: Array<TierInput>, };

export type LedgerEntry = { id: string, kind: string, points: number, description: string | null, balance_after: number | null, created_at: string | null, pending_sync: boolean, };

export type Campaign = { id: string, name: string, kind: string, status: string, audience: string, target_segments: string[], target_vip_statuses: string[], target_loyalty_tiers: string[], scheduled_at: string | null, target_count: number, sent_count: number, open_rate: string | null, click_rate: string | null, conversion_rate: string | null, };

export type Billing = { subscriptions: Array<Record<string, unknown>>, plans: Array<Record<string, unknown>>, invoices: Array<Record<string, unknown>>, usage_alerts: Array<Record<string, unknown>>, feature_flags: Array<Record<string, unknown>>, };

export type Folio = { id: string, kind: string, name: string | null, status: string, currency: string, };

export type FolioEntry = { id: string, folio_id: string, kind: string, amount_minor: number, currency: string, business_date: string, description: string | null, payment_method: string | null, external_reference: string | null, voids_entry_id: string | null, charge_type: string | null, quantity: number, applies_to_entry_id: string | null, tax_rate_bp: number | null, };

export type Balance = { 
/**
 * Charges and taxes, plus adjustments (signed).
 */
charged_minor: number, 
/**
 * Payments minus refunds.
 */
paid_minor: number, 
/**
 * What the guest owes on the folios: charged minus paid (negative: in credit).
 */
balance_minor: number, };

export type FolioWithBalance = { balance: Balance, id: string, kind: string, name: string | null, status: string, currency: string, };

export type StayFolio = { currency: string, folios: Array<FolioWithBalance>, entries: Array<FolioEntry>, balance: Balance, };

export type ChargeItem = { id: string, name: string, charge_type: string, price_minor: number, currency: string, };

export type BusinessDay = { property_id: string, 
/**
 * IANA name of the property's zone ("Europe/Lisbon").
 */
timezone: string, 
/**
 * The open business date: money posted now is booked on it.
 */
business_date: string, 
/**
 * Now at the property, "YYYY-MM-DD HH:MM".
 */
local_time: string, 
/**
 * The business date is over and its audit hour has passed: an open desk audits it.
 */
audit_due: boolean, 
/**
 * Whether the business date has begun at the property (a day not begun cannot be closed).
 */
can_close: boolean, };

export type Revenue = { charge_type: string, amount_minor: number, };

export type Takings = { method: string, amount_minor: number, };

export type DaySummary = { business_date: string, next_business_date: string, currency: string, rooms_sold: number, rooms_total: number, occupancy_percent: number, 
/**
 * Charges of the day by type, taxes as `vat` and `city_tax`.
 */
revenue: Array<Revenue>, 
/**
 * Payments minus refunds of the day by method.
 */
payments: Array<Takings>, no_shows: number, 
/**
 * Entries this run posted (none when another desk had posted them).
 */
charges_posted: number, };

export type InvoiceLine = { entry_id: string, date: string, description: string, quantity: number, unit_price_minor: number, amount_minor: number, charge_type: string | null, };

export type InvoiceTaxLine = { entry_ids: Array<string>, name: string, 
/**
 * VAT's rate in basis points; none for a city tax.
 */
rate_bp: number | null, 
/**
 * What the rate applies to (the lines' amounts it taxes).
 */
base_minor: number, tax_minor: number, };

export type GuestInvoice = { id: string, kind: string, number_label: string, series_prefix: string, number: number, folio_id: string, reservation_id: string, property_id: string, bill_to: string, issued_on: string, currency: string, net_minor: number, tax_minor: number, total_minor: number, paid_minor: number, corrects_invoice_id: string | null, lines: Array<InvoiceLine>, taxes: Array<InvoiceTaxLine>, };

export type ReportFigures = { rooms_sellable: number, rooms_sold: number, occupancy_percent: number, room_revenue_minor: number, other_revenue_minor: number, adr_minor: number, revpar_minor: number, };

export type ReportDay = { date: string, rooms_sellable: number, rooms_sold: number, occupancy_percent: number, room_revenue_minor: number, other_revenue_minor: number, adr_minor: number, revpar_minor: number, };

export type Report = { property_id: string, property_name: string, currency: string, from: string, to: string, days: Array<ReportDay>, totals: ReportFigures, };

export type Colleague = { id: string, user_id: string, email: string, display_name: string, role: string, enabled: boolean, 
/**
 * Still on this laptop only (added offline): no temporary password until it is sent.
 */
pending: boolean, };

export type TemporaryPassword = { temporary_password: string, expires_at: string, };
