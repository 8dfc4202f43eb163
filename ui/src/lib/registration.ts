// The registration step of check-in: the guest's date of birth and nationality and the identity
// document they show, as a form pre-filled from get_registration, turned into what
// capture_registration takes. Only what the clerk typed or changed is sent (an empty field keeps
// what is on file), so a check-in that changed nothing records nothing. The checks here are
// made as the clerk types; the Rust side makes them again (and a few more: a birth date in the
// future, a document expired at the property's today).

import { containsCardNumber } from "./folio";
import { parseDay } from "./format";
import { translator, type Language } from "./i18n";
import type { FieldErrors } from "./validate";
import type { DocumentInput, Registration, RegistrationInput } from "./types";

/** The kinds of identity document a property records (sync/client registration.rs). */
export const DOCUMENT_KINDS = [
  "passport",
  "national_id",
  "driving_licence",
  "residence_permit",
  "other",
] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** The form as typed; its keys are the fields capture_registration names in its refusals. */
export interface RegistrationForm {
  date_of_birth: string;
  nationality: string;
  document_kind: string;
  document_number: string;
  document_country: string;
  document_expires_on: string;
}

export const FORM_FIELDS: (keyof RegistrationForm)[] = [
  "date_of_birth",
  "nationality",
  "document_kind",
  "document_number",
  "document_country",
  "document_expires_on",
];

/** The form with what is on file (a document from an earlier stay too), else empty. */
export function formFrom(registration: Registration | null): RegistrationForm {
  const document = registration?.document ?? null;
  return {
    date_of_birth: registration?.date_of_birth ?? "",
    nationality: registration?.nationality ?? "",
    document_kind: document?.kind ?? "passport",
    document_number: document?.number ?? "",
    document_country: document?.issuing_country ?? "",
    document_expires_on: document?.expires_on ?? "",
  };
}

const trim = (text: string) => text.trim();
const upper = (text: string) => text.trim().toUpperCase();
/** Runs of spaces as one, as the Rust side keeps a number. */
const number = (text: string) => text.trim().split(/\s+/).filter(Boolean).join(" ");

/** Whether the document fields differ from what was on file. */
function documentChanged(form: RegistrationForm, before: RegistrationForm): boolean {
  return (
    form.document_kind !== before.document_kind ||
    number(form.document_number) !== number(before.document_number) ||
    upper(form.document_country) !== upper(before.document_country) ||
    trim(form.document_expires_on) !== trim(before.document_expires_on)
  );
}

/**
 * What to send for `form`, typed over `before` (the form as pre-filled): a field empty or as it
 * was is left out (null); the nationality and issuing country upper-cased; the document whole
 * when any of its fields changed and it has a number. Null when there is nothing to send.
 */
export function registrationInput(
  form: RegistrationForm,
  before: RegistrationForm,
): RegistrationInput | null {
  const changed = (now: string, was: string) => (now !== "" && now !== was ? now : null);
  const date_of_birth = changed(trim(form.date_of_birth), trim(before.date_of_birth));
  const nationality = changed(upper(form.nationality), upper(before.nationality));
  let document: DocumentInput | null = null;
  if (number(form.document_number) !== "" && documentChanged(form, before)) {
    document = {
      kind: form.document_kind,
      number: number(form.document_number),
      issuing_country: upper(form.document_country) || null,
      expires_on: trim(form.document_expires_on) || null,
    };
  }
  if (date_of_birth === null && nationality === null && document === null) return null;
  return { date_of_birth, nationality, document };
}

/** The checks made before anything is sent, in the desk's language (English unless given). */
export function validateRegistration(
  form: RegistrationForm,
  before: RegistrationForm,
  language: Language = "en",
): FieldErrors {
  const t = translator(language);
  const errors: FieldErrors = {};
  const birth = trim(form.date_of_birth);
  if (birth !== "" && !parseDay(birth)) errors.date_of_birth = t("reg.badDate");
  const nationality = trim(form.nationality);
  if (nationality !== "" && !/^[A-Za-z]{2}$/.test(nationality))
    errors.nationality = t("check.country");
  if (!documentChanged(form, before)) return errors;
  const typed = number(form.document_number);
  if (typed === "") {
    // a country or expiry typed for a document that has no number: nothing could be kept
    if (
      before.document_number === "" &&
      (trim(form.document_country) !== "" || trim(form.document_expires_on) !== "")
    )
      errors.document_number = t("reg.numberNeeded");
    return errors;
  }
  if (!(DOCUMENT_KINDS as readonly string[]).includes(form.document_kind))
    errors.document_kind = t("reg.chooseKind");
  if ([...typed].length > 40) errors.document_number = t("reg.numberTooLong");
  else if (containsCardNumber(typed)) errors.document_number = t("reg.cardNumber");
  const country = trim(form.document_country);
  if (country !== "" && !/^[A-Za-z]{2}$/.test(country))
    errors.document_country = t("check.country");
  const expiry = trim(form.document_expires_on);
  if (expiry !== "" && !parseDay(expiry)) errors.document_expires_on = t("reg.badDate");
  return errors;
}

/**
 * The form field a refusal of capture_registration is about, or null for the form as a whole
 * (`document number`: a card number typed as the document's number).
 */
export function formField(field: string | null | undefined): keyof RegistrationForm | null {
  if (!field) return null;
  const normalised = field.replace(/\s+/g, "_");
  return (FORM_FIELDS as string[]).includes(normalised)
    ? (normalised as keyof RegistrationForm)
    : null;
}

/**
 * A document number as a screen shows it: every character but the last four hidden, spaces
 * dropped ("AB 123 4567" → "•••••4567"); a number of four characters or fewer is hidden whole.
 */
export function maskNumber(text: string): string {
  const chars = [...text.replace(/\s+/g, "")];
  if (chars.length <= 4) return "•".repeat(chars.length);
  return "•".repeat(chars.length - 4) + chars.slice(-4).join("");
}

/** Who may set how long documents are kept (the Rust side's `managers_only`). */
export function setsRetention(role: string): boolean {
  return role === "owner" || role === "manager";
}

/** The retention setting as typed: a whole number of days 1–3650, else null. */
export function parseRetentionDays(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,4}$/.test(trimmed)) return null;
  const days = Number(trimmed);
  return days >= 1 && days <= 3650 ? days : null;
}
