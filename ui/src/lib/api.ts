// Typed calls to the Rust commands (src-tauri/src/commands). Every call rejects with an
// `AppError` ({kind, message, field?…}); screens show `messageOf(error)` and keep their inputs.

import { invoke as tauriInvoke, type InvokeArgs } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AppStatus,
  Billing,
  BusinessDay,
  Campaign,
  ChargeItem,
  Colleague,
  Conflict,
  DaySummary,
  GuestHit,
  GuestInvoice,
  GuestInput,
  HistoryLine,
  LedgerEntry,
  Membership,
  NewCommunication,
  PaymentMethod,
  Profile,
  Report,
  Program,
  ProgramInput,
  Property,
  Registration,
  RegistrationInput,
  Reservation,
  RoomOffer,
  RoomStatus,
  SyncProgress,
  StayFolio,
  SyncStatus,
  TapeChart,
  TemporaryPassword,
  Today,
  UpdateCheck,
  UpdateStatus,
} from "./types";
import type { Language } from "./i18n";
import type { PaperworkKind } from "./paperwork";

/**
 * Told when any command is refused with `SignInRequired` (the desk locked itself after the
 * owner's idle minutes, or someone signed out): the shell then shows the sign-in screen, whatever
 * screen made the call.
 */
let signInRequired: () => void = () => {};
export function onSignInRequired(handler: () => void) {
  signInRequired = handler;
}

function invoke<T>(command: string, args?: InvokeArgs): Promise<T> {
  return tauriInvoke<T>(command, args).catch((error: unknown) => {
    if (
      typeof error === "object" &&
      error !== null &&
      (error as { kind?: unknown }).kind === "SignInRequired"
    )
      signInRequired();
    throw error;
  });
}

export interface RoomTypeInput {
  code: string;
  name: string;
  base_rate_cents: number;
  max_occupancy: number;
  rooms: string[];
}

export interface SetupInput {
  property_name: string;
  currency: string;
  timezone: string | null;
  room_types: RoomTypeInput[];
}

export interface NewReservation {
  guest_id: string | null;
  guest_name: string | null;
  guest_email?: string | null;
  guest_phone?: string | null;
  room_type_id?: string | null;
  room_id: string | null;
  check_in: string;
  check_out: string;
  adults: number;
  children: number;
  rate_per_night_cents?: number | null;
  source?: string | null;
  special_requests?: string | null;
  notes?: string | null;
}

export interface AudienceInput {
  audience: string;
  target_segments: string[];
  target_vip_statuses: string[];
  target_loyalty_tiers: string[];
}

export interface NewCampaign extends AudienceInput {
  name: string;
  kind: string;
  subject: string | null;
  message: string | null;
  scheduled_at: string | null;
}

/** A charge posted on a folio (`folio_id` null: the guest folio); from a charge item or free text. */
export interface NewCharge {
  reservation_id: string;
  folio_id: string | null;
  charge_item_id: string | null;
  description: string;
  unit_price_minor: number;
  quantity: number;
  charge_type: string;
}

/** A payment or refund (`folio_id` null: the guest folio); `reference` is never a card number. */
export interface NewPayment {
  reservation_id: string;
  folio_id: string | null;
  amount_minor: number;
  method: PaymentMethod;
  reference: string | null;
}

export type Action = "check_in" | "check_out" | "cancel" | "no_show";

export type Resolution =
  { keep: "mine" } | { keep: "theirs" } | { keep: "edited"; edits: Record<string, unknown> };

export const api = {
  appStatus: () => invoke<AppStatus>("get_app_status"),
  setupLocal: (input: SetupInput) => invoke<Property>("setup_local_hotel", { input }),
  loadDemo: (guests?: number) => invoke<Property>("load_demo", { guests: guests ?? null }),
  properties: () => invoke<Property[]>("list_properties"),
  setDeskProperty: (id: string) => invoke<Property>("set_desk_property", { id }),
  connectServer: (input: {
    server: string;
    email: string;
    password: string;
    device_name?: string;
  }) => invoke<AppStatus>("connect_server", { input }),

  /** `new_password` only after a `PasswordChangeRequired` refusal (a temporary password). */
  signIn: (email: string, password: string, new_password?: string) =>
    invoke<AppStatus>(
      "sign_in",
      new_password ? { email, password, new_password } : { email, password },
    ),
  signOut: () => invoke<AppStatus>("sign_out", {}),
  /** Owner only: minutes of no input before the desk locks, 0 (never) to 480. */
  setIdleLock: (minutes: number) => invoke<AppStatus>("set_idle_lock", { minutes }),

  today: (date?: string) => invoke<Today>("get_today", { date: date ?? null }),

  searchReservations: (text: string) => invoke<Reservation[]>("search_reservations", { text }),
  reservation: (id: string) => invoke<Reservation>("get_reservation", { id }),
  availableRooms: (check_in: string, check_out: string, ignoring?: string) =>
    invoke<RoomOffer[]>("find_available_rooms", {
      check_in,
      check_out,
      ignoring: ignoring ?? null,
    }),
  createReservation: (input: NewReservation) =>
    invoke<Reservation>("create_reservation", { input }),
  changeReservation: (input: {
    id: string;
    check_in: string;
    check_out: string;
    room_id: string | null;
  }) => invoke<Reservation>("change_reservation", { input }),
  /** `reason`: why a booking is cancelled; `override_reason`: a manager lets a guest check out with a balance. */
  act: (id: string, action: Action, reason?: string, override_reason?: string) =>
    invoke<{ reservation: Reservation; points_earned: number }>("reservation_action", {
      id,
      action,
      reason: reason ?? null,
      override_reason: override_reason ?? null,
    }),

  /** What is on file for the stay's registration card (date of birth, nationality, document). */
  registration: (reservation_id: string) =>
    invoke<Registration>("get_registration", { reservation_id }),
  /** Records what the clerk captured at check-in; empty fields are left as they are. */
  captureRegistration: (reservation_id: string, input: RegistrationInput) =>
    invoke<Registration>("capture_registration", { reservation_id, input }),
  /** The booking's history, oldest first, each line with the colleague who did it. */
  bookingHistory: (id: string) => invoke<HistoryLine[]>("booking_history", { id }),
  /** Owners and managers: days after check-out that identity documents are kept (1–3650). */
  setDocumentRetention: (days: number) => invoke<number>("set_document_retention", { days }),

  folio: (reservation_id: string) => invoke<StayFolio>("get_folio", { reservation_id }),
  postCharge: (charge: NewCharge) => invoke<StayFolio>("post_charge", { charge }),
  recordPayment: (payment: NewPayment) => invoke<StayFolio>("record_payment", { payment }),
  recordRefund: (refund: NewPayment) => invoke<StayFolio>("record_refund", { refund }),
  voidEntry: (reservation_id: string, entry_id: string, reason: string) =>
    invoke<StayFolio>("void_folio_entry", { reservation_id, entry_id, reason }),
  openCompanyFolio: (reservation_id: string, name: string) =>
    invoke<StayFolio>("open_company_folio", { reservation_id, name }),
  /** Moves part (or all) of a charge to another folio of the stay. */
  moveEntry: (
    reservation_id: string,
    entry_id: string,
    amount_minor: number,
    to_folio_id: string,
  ) =>
    invoke<StayFolio>("move_folio_entry", { reservation_id, entry_id, amount_minor, to_folio_id }),
  chargeItems: () => invoke<ChargeItem[]>("list_charge_items", {}),

  businessDay: () => invoke<BusinessDay>("get_business_day", {}),
  /** Closes the open business date. */
  runNightAudit: () => invoke<DaySummary>("run_night_audit", {}),

  /** `folio_id` null: the stay's guest folio. */
  issueInvoice: (reservation_id: string, folio_id: string | null) =>
    invoke<GuestInvoice>("issue_guest_invoice", { reservation_id, folio_id }),
  issueCreditNote: (invoice_id: string) =>
    invoke<GuestInvoice>("issue_credit_note", { invoice_id }),
  invoices: (reservation_id: string) =>
    invoke<GuestInvoice[]>("list_guest_invoices", { reservation_id }),
  /** The PDF's path; the desk opens it in the system viewer. */
  openInvoice: (id: string) => invoke<string>("open_guest_invoice", { id }),

  /** Saves a list, the cards or the outage pack as a PDF and opens it to print; resolves with its path. */
  printPaperwork: (kind: PaperworkKind, language: Language, date?: string) =>
    invoke<string>("print_paperwork", { kind, date: date ?? null, language }),
  /** One stay's registration card as a PDF, opened to print; resolves with its path. */
  printRegistrationCard: (reservation_id: string, language: Language) =>
    invoke<string>("print_registration_card", { reservation_id, language }),

  tapeChart: (start: string, days: number) => invoke<TapeChart>("get_tape_chart", { start, days }),

  searchGuests: (term: string) => invoke<GuestHit[]>("search_guests", { term }),
  guest: (id: string) => invoke<Profile>("get_guest", { id }),
  createGuest: (input: GuestInput) => invoke<Profile>("create_guest", { input }),
  updateGuest: (id: string, input: GuestInput) => invoke<Profile>("update_guest", { id, input }),
  mergeGuests: (keep_id: string, duplicate_id: string) =>
    invoke<Profile>("merge_guests", { keep_id, duplicate_id }),
  /** Saves the columns in `changes` (column → value; left out: as is; null or "": cleared). */
  savePreferences: (guest_id: string, changes: Record<string, unknown>) =>
    invoke<Profile>("save_guest_preferences", { guest_id, changes }),
  /** Logs a call, an e-mail or a note with the guest, as the signed-in colleague. */
  logCommunication: (guest_id: string, entry: NewCommunication) =>
    invoke<Profile>("log_communication", { guest_id, entry }),

  rooms: () => invoke<RoomStatus[]>("list_rooms"),
  setRoomStatus: (room_id: string, status: string) =>
    invoke<RoomStatus>("set_room_status", { room_id, status }),

  programs: () => invoke<Program[]>("list_programs"),
  /** Owners and managers: a new program; resolves with every program. */
  createProgram: (input: ProgramInput) => invoke<Program[]>("create_loyalty_program", { input }),
  /** Owners and managers: a program's rules and tiers; resolves with every program. */
  updateProgram: (id: string, input: ProgramInput) =>
    invoke<Program[]>("update_loyalty_program", { id, input }),
  enroll: (guest_id: string, program_id: string) =>
    invoke<Membership>("enroll_guest", { guest_id, program_id }),
  redeem: (member_id: string, points: number, description?: string) =>
    invoke<number>("redeem_points", {
      input: { member_id, points, description: description ?? null },
    }),
  addPoints: (member_id: string, points: number, description?: string) =>
    invoke<number>("add_points", {
      input: { member_id, points, description: description ?? null },
    }),
  ledger: (member_id: string) => invoke<LedgerEntry[]>("member_ledger", { member_id }),

  campaigns: () => invoke<Campaign[]>("list_campaigns"),
  previewAudience: (audience: AudienceInput, kind: string) =>
    invoke<number>("preview_audience", { audience, kind }),
  createCampaign: (input: NewCampaign) => invoke<Campaign>("create_campaign", { input }),
  billing: () => invoke<Billing>("get_billing"),

  /** Occupancy, ADR, RevPAR and revenue per day, `from`–`to` inclusive (at most 366 days). */
  report: (from: string, to: string) => invoke<Report>("get_report", { from, to }),
  /** Saves the report as CSV; resolves with the file's path. */
  exportReportCsv: (from: string, to: string) => invoke<string>("export_report_csv", { from, to }),

  /** The hotel's colleagues (owners and managers read it; the writes are the owner's). */
  staff: () => invoke<Colleague[]>("list_staff", {}),
  addStaff: (input: { email: string; display_name: string; role: string }) =>
    invoke<Colleague>("add_staff", { input }),
  changeStaffRole: (user_id: string, role: string) =>
    invoke<Colleague>("change_staff_role", { user_id, role }),
  /** Enabling again is the platform's, never the desk's. */
  disableStaff: (user_id: string) => invoke<Colleague>("disable_staff", { user_id }),
  /** Online only; the answer is shown once and never stored. */
  giveTemporaryPassword: (user_id: string) =>
    invoke<TemporaryPassword>("give_temporary_password", { user_id }),
  /** Saves the guest list as CSV; resolves with the file's path. */
  exportGuestsCsv: () => invoke<string>("export_guests_csv", {}),

  syncStatus: () => invoke<SyncStatus>("get_sync_status"),
  syncNow: () => invoke<void>("sync_now"),
  /** The desk's diagnostics for support (no guest data, no secrets). */
  diagnostics: () => invoke<string>("get_diagnostics"),
  conflicts: () => invoke<Conflict[]>("list_conflicts"),
  resolve: (id: number, resolution: Resolution) =>
    invoke<void>("resolve_conflict", { id, resolution }),

  checkForUpdate: () => invoke<UpdateCheck>("check_for_update"),
  /** Downloads, verifies and installs the update, then the app restarts (resolves only if not). */
  installUpdate: () => invoke<void>("install_update"),
  getUpdateStatus: () => invoke<UpdateStatus>("get_update_status"),
  setUpdateChecks: (hours: number) => invoke<UpdateStatus>("set_update_checks", { hours }),
  onUpdateStatus: (handler: (status: UpdateStatus) => void): Promise<UnlistenFn> =>
    listen<UpdateStatus>("update://status", (event) => handler(event.payload)),

  onSyncStatus: (handler: (status: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>("sync://status", (event) => handler(event.payload)),
  onSetupProgress: (handler: (progress: SyncProgress) => void): Promise<UnlistenFn> =>
    listen<SyncProgress>("setup://progress", (event) => handler(event.payload)),
};
