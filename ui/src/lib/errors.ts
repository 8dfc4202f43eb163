// Turning whatever a command threw into something the clerk can read, and knowing which input
// it is about (so the form keeps every typed value and focuses the field at fault).

import { lookup, type Language, type Params } from "./i18n";
import type { AppError } from "./types";

const FALLBACK: Record<string, string> = {
  DatesOutOfOrder: "The departure date must be after the arrival date.",
  RoomTaken: "That room is already booked for some of these nights.",
  RoomOutOfOrder: "That room is out of order.",
  NotEnoughPoints: "Not enough points.",
  ServerUnreachable: "The server cannot be reached. Work goes on here and is sent later.",
  SessionExpired: "Your session has expired. Sign in again.",
  SignInRefused: "The email or password is not right.",
  ClientTooOld: "This app needs an update to sync again.",
  NotSetUp: "This laptop is not set up yet.",
  UpdateUnreachable: "The update server cannot be reached. Try again later.",
  UpdateNotTrusted:
    "The update on offer is not signed with this app's key, so it was not installed.",
  NoUpdate: "No newer version is published yet.",
  balance_due:
    "The folio still has a balance: take a payment or refund first, or a manager can let the guest leave with a reason.",
  card_number: "Don't type card numbers here; write the terminal's receipt reference instead.",
  folio_closed: "That folio is closed: nothing more can be posted on it.",
  override_needs_reason: "A manager's reason is needed to let the guest leave with a balance.",
  audit_not_due: "The business day has not ended yet, or its audit has already run.",
};

export function isAppError(value: unknown): value is AppError {
  return (
    typeof value === "object" && value !== null && typeof (value as AppError).kind === "string"
  );
}

/** A sentence for the clerk, whatever was thrown. */
export function messageOf(error: unknown): string {
  if (isAppError(error)) {
    if (error.message) return error.message;
    return FALLBACK[error.kind] ?? "Something went wrong. Nothing was lost; try again.";
  }
  if (typeof error === "string" && error.length > 0) return error;
  if (error instanceof Error) return error.message;
  return "Something went wrong. Nothing was lost; try again.";
}

/**
 * A sentence for the clerk in `language`: the catalogue's `error.<kind>` filled with the error's
 * fields when it has one (errors the desk explains in every language), else `messageOf`.
 */
export function messageIn(error: unknown, language: Language): string {
  if (!isAppError(error)) return messageOf(error);
  const params: Params = {};
  for (const [name, value] of Object.entries(error)) {
    if (typeof value === "string" || typeof value === "number") params[name] = value;
  }
  return lookup(language, `error.${error.kind}`, () => messageOf(error), params);
}

/** The input an error is about, to focus and mark it. */
export function fieldOf(error: unknown): string | null {
  if (!isAppError(error)) return null;
  if (error.field) return error.field;
  switch (error.kind) {
    case "DatesOutOfOrder":
      return "check_out";
    case "RoomTaken":
    case "RoomOutOfOrder":
      return "room_id";
    case "NotEnoughPoints":
      return "points";
    case "card_number":
      return "reference";
    case "override_needs_reason":
      return "override_reason";
    default:
      return null;
  }
}
