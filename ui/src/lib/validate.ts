// Checks made as the clerk types, before anything is sent (the Rust side checks again).

import { nightsBetween, parseDay } from "./format";

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

export function validateBooking(draft: BookingDraft): FieldErrors {
  const errors: FieldErrors = {};
  if (!draft.guest_id && draft.guest_name.trim() === "") errors.guest_name = "Choose a guest or type a name.";
  const arrival = parseDay(draft.check_in);
  const departure = parseDay(draft.check_out);
  if (!arrival) errors.check_in = "Enter the arrival date.";
  if (!departure) errors.check_out = "Enter the departure date.";
  if (arrival && departure) {
    const nights = nightsBetween(draft.check_in, draft.check_out) ?? 0;
    if (nights <= 0) errors.check_out = "The departure date must be after the arrival date.";
    else if (nights > 365) errors.check_out = "A stay is at most 365 nights.";
  }
  if (!draft.room_id) errors.room_id = "Choose a room.";
  const adults = Number(draft.adults);
  if (!Number.isInteger(adults) || adults < 1 || adults > 100) errors.adults = "At least one adult.";
  const children = Number(draft.children || "0");
  if (!Number.isInteger(children) || children < 0 || children > 100) errors.children = "0 or more.";
  return errors;
}

export function validEmail(text: string): boolean {
  const t = text.trim();
  return t === "" || /^[^@\s]+@[^@\s]+$/.test(t);
}

export interface GuestDraft {
  first_name: string;
  last_name: string;
  email: string;
  country_code: string;
}

export function validateGuest(draft: GuestDraft): FieldErrors {
  const errors: FieldErrors = {};
  if (draft.first_name.trim() === "" && draft.last_name.trim() === "") errors.last_name = "Enter the guest's name.";
  if (!validEmail(draft.email)) errors.email = "This email address is not valid.";
  const country = draft.country_code.trim();
  if (country !== "" && !/^[A-Za-z]{2}$/.test(country)) errors.country_code = "Two letters, such as FR.";
  return errors;
}
