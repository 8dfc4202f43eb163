// Checks made as the clerk types, before anything is sent (the Rust side checks again); the
// messages in the desk's language (English unless given).

import { nightsBetween, parseDay } from "./format";
import { translator, type Language } from "./i18n";

export type FieldErrors = Record<string, string>;

export interface BookingDraft {
  guest_id: string | null;
  guest_name: string;
  check_in: string;
  check_out: string;
  room_id: string | null;
  adults: string;
  children: string;
}

export function validateBooking(draft: BookingDraft, language: Language = "en"): FieldErrors {
  const t = translator(language);
  const errors: FieldErrors = {};
  if (!draft.guest_id && draft.guest_name.trim() === "") errors.guest_name = t("check.chooseGuest");
  const arrival = parseDay(draft.check_in);
  const departure = parseDay(draft.check_out);
  if (!arrival) errors.check_in = t("check.arrival");
  if (!departure) errors.check_out = t("check.departure");
  if (arrival && departure) {
    const nights = nightsBetween(draft.check_in, draft.check_out) ?? 0;
    if (nights <= 0) errors.check_out = t("check.departureAfter");
    else if (nights > 365) errors.check_out = t("check.maxNights");
  }
  if (!draft.room_id) errors.room_id = t("check.chooseRoom");
  const adults = Number(draft.adults);
  if (!Number.isInteger(adults) || adults < 1 || adults > 100) errors.adults = t("check.oneAdult");
  const children = Number(draft.children || "0");
  if (!Number.isInteger(children) || children < 0 || children > 100)
    errors.children = t("check.zeroOrMore");
  return errors;
}

export function validEmail(text: string): boolean {
  const trimmed = text.trim();
  return trimmed === "" || /^[^@\s]+@[^@\s]+$/.test(trimmed);
}

export interface GuestDraft {
  first_name: string;
  last_name: string;
  email: string;
  country_code: string;
}

export function validateGuest(draft: GuestDraft, language: Language = "en"): FieldErrors {
  const t = translator(language);
  const errors: FieldErrors = {};
  if (draft.first_name.trim() === "" && draft.last_name.trim() === "")
    errors.last_name = t("check.guestName");
  if (!validEmail(draft.email)) errors.email = t("check.email");
  const country = draft.country_code.trim();
  if (country !== "" && !/^[A-Za-z]{2}$/.test(country)) errors.country_code = t("check.country");
  return errors;
}
