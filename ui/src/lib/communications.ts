// A guest's communications: the form for logging a call, an e-mail or a note by hand (turned into
// what log_communication takes), and each logged communication as words for the profile
// ("Call from guest", "E-mail to guest", "Note"). The checks here are the server's
// (sync/client/src/communications.rs), made as the clerk types; the Rust side makes them again.

import { containsCardNumber } from "./folio";
import { dateOf } from "./format";
import { lookup, translator, type Language } from "./i18n";
import type { FieldErrors } from "./validate";
import type { Communication, Kind, NewCommunication } from "./types";

export const KINDS: Kind[] = ["call", "email", "note"];

/** The form as typed; its keys are the fields log_communication names in its refusals. */
export interface CommunicationForm {
  kind: Kind;
  /** The guest called or wrote (true), or the hotel did; a note has no direction. */
  inbound: boolean;
  subject: string;
  message: string;
}

export function blankCommunication(): CommunicationForm {
  return { kind: "call", inbound: true, subject: "", message: "" };
}

/** Whether the form asks who contacted whom (calls and e-mails; a note is the desk's own). */
export function hasDirection(kind: Kind): boolean {
  return kind !== "note";
}

/** What to send for `form`: texts trimmed, an empty subject as null, a note always inbound. */
export function communicationEntry(form: CommunicationForm): NewCommunication {
  return {
    kind: form.kind,
    inbound: hasDirection(form.kind) ? form.inbound : true,
    subject: form.subject.trim() || null,
    message: form.message.trim(),
  };
}

/** The checks made before anything is sent, in the desk's language (English unless given). */
export function validateCommunication(
  form: CommunicationForm,
  language: Language = "en",
): FieldErrors {
  const t = translator(language);
  const errors: FieldErrors = {};
  if (!KINDS.includes(form.kind)) errors.kind = t("comm.chooseKind");
  if (containsCardNumber(form.subject)) errors.subject = t("comm.cardNumber");
  if (form.message.trim() === "") errors.message = t("comm.writeMessage");
  else if (containsCardNumber(form.message)) errors.message = t("comm.cardNumber");
  return errors;
}

/** The form field a refusal of log_communication is about, or null for the form as a whole. */
export function communicationField(
  field: string | null | undefined,
): keyof CommunicationForm | null {
  return field === "message" || field === "subject" || field === "kind" ? field : null;
}

/**
 * What a logged communication was, in words: the server's type (`phone` for a call, `email`,
 * `in_person` for a note, `sms`, …) with its direction: "Call from guest", "E-mail to guest",
 * "Note". A type the desk has no words for reads as itself ("Whatsapp from guest").
 */
export function communicationSentence(c: Communication, language: Language): string {
  const kind = c.kind ?? "";
  if (kind === "in_person" || kind === "note") return translator(language)("comm.note");
  const direction = c.direction === "outbound" ? "out" : c.direction === "inbound" ? "in" : "";
  const fallbackKind = () => {
    const words = kind.replace(/_/g, " ").trim();
    return words
      ? words[0].toUpperCase() + words.slice(1)
      : translator(language)("comm.kind.message");
  };
  const known = lookup(language, `comm.kind.${kind}`, fallbackKind);
  if (!direction) return known;
  return lookup(language, `comm.${kind}.${direction}`, () =>
    translator(language)(direction === "in" ? "comm.fromGuest" : "comm.toGuest", {
      kind: known,
    }),
  );
}

/** The server's type for what the desk logs: a call is `phone`, a note `in_person`. */
export function serverKind(kind: Kind): string {
  return kind === "call" ? "phone" : kind === "note" ? "in_person" : "email";
}

/** What the clerk just logged, in the words the profile will show for it ("Call to guest"). */
export function entrySentence(entry: NewCommunication, language: Language): string {
  return communicationSentence(
    {
      id: "",
      kind: serverKind(entry.kind),
      direction: entry.inbound ? "inbound" : "outbound",
      subject: entry.subject,
      status: null,
      created_at: null,
    },
    language,
  );
}

/** A kind the form offers, in words ("Call", "E-mail", "Note"). */
export function kindLabel(kind: Kind, language: Language): string {
  return lookup(language, `comm.form.${kind}`, () => kind);
}

/** A status worth showing ("Failed", "Bounced"); null for one that says nothing (sent, none). */
export function communicationStatus(c: Communication, language: Language): string | null {
  const status = c.status?.trim();
  if (!status || status === "sent" || status === "logged") return null;
  return lookup(language, `comm.status.${status}`, () => status.replace(/_/g, " "));
}

export interface CommunicationLine {
  id: string;
  when: string;
  what: string;
  subject: string | null;
  status: string | null;
}

/** A logged communication as a line of the profile: never a raw id, type or null. */
export function communicationLine(
  c: Communication,
  language: Language,
  locale: string = language,
  timeZone?: string,
): CommunicationLine {
  return {
    id: c.id,
    when: c.created_at ? dateOf(c.created_at, timeZone, locale) : "",
    what: communicationSentence(c, language),
    subject: c.subject?.trim() || null,
    status: communicationStatus(c, language),
  };
}
