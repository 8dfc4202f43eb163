// A guest's preferences: the saved record (Profile.preferences) read as lines in the desk's
// language, and the edit form turned into what save_guest_preferences takes: only the columns
// that changed, an emptied field sent as null (cleared), lists as arrays. The checks here are
// the server's (sync/client/src/preferences.rs), made as the clerk types; the Rust side makes
// them again.

import { containsCardNumber } from "./folio";
import { blankNumber, formatNumber, longDay, numberIn, parseDay } from "./format";
import { lookup, translator, type Language } from "./i18n";
import type { FieldErrors } from "./validate";

/** Columns whose value is one of a list; an empty choice clears them. */
export const CHOICES = {
  bed_type: ["king", "queen", "twin", "double"],
  smoking: ["smoking", "non_smoking", "no_preference"],
  floor_preference: ["low", "mid", "high", "specific"],
  housekeeping_time: ["morning", "afternoon", "evening", "skip"],
  occasion_type: ["birthday", "anniversary", "honeymoon", "business"],
} as const;
export type ChoiceField = keyof typeof CHOICES;
export const CHOICE_FIELDS = Object.keys(CHOICES) as ChoiceField[];

export const TEXT_FIELDS = [
  "room_type",
  "view_preference",
  "pillow_type",
  "newspaper",
  "preferred_language",
  "notes",
] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

export const LIST_FIELDS = [
  "dietary_restrictions",
  "allergies",
  "favorite_foods",
  "favorite_drinks",
  "special_requests",
  "accessibility_needs",
] as const;
export type ListField = (typeof LIST_FIELDS)[number];

/** A number as a number input holds it (null when empty), or as typed. */
export type NumberText = number | string | null | undefined;

/** The form as typed; its keys are the columns save_guest_preferences names in its refusals. */
export type PreferencesForm = Record<ChoiceField, string> &
  Record<TextField, string> &
  Record<ListField, string> & {
    specific_floor: NumberText;
    room_temperature_c: NumberText;
    wake_up_call: boolean;
    /** HH:MM */
    wake_up_time: string;
    /** YYYY-MM-DD */
    occasion_date: string;
  };

export const FORM_FIELDS: (keyof PreferencesForm)[] = [
  ...CHOICE_FIELDS,
  "specific_floor",
  "room_temperature_c",
  "wake_up_call",
  "wake_up_time",
  "occasion_date",
  ...TEXT_FIELDS,
  ...LIST_FIELDS,
];

/** A list's items: an array's texts, or a text split at commas and new lines; blanks dropped. */
export function splitList(value: unknown): string[] {
  const items = Array.isArray(value)
    ? value.filter((v): v is string => typeof v === "string")
    : typeof value === "string"
      ? value.split(/[,\n]/)
      : [];
  return items.map((item) => item.trim()).filter((item) => item !== "");
}

const textOf = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : "";

/** "07:30:00" or "7:30" → "07:30"; anything else → "". */
export function timeOf(value: unknown): string {
  const match = /^(\d{1,2}):(\d{2})(?::\d{2})?$/.exec(textOf(value).trim());
  if (!match) return "";
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (hours > 23 || minutes > 59) return "";
  return `${String(hours).padStart(2, "0")}:${match[2]}`;
}

/** The form with the saved record (lists one item per line), else empty. */
export function preferencesForm(
  saved: Record<string, unknown> | null | undefined,
): PreferencesForm {
  const record = saved ?? {};
  const form = {} as PreferencesForm;
  for (const field of CHOICE_FIELDS) {
    const value = textOf(record[field]);
    form[field] = (CHOICES[field] as readonly string[]).includes(value) ? value : "";
  }
  for (const field of TEXT_FIELDS) form[field] = textOf(record[field]);
  for (const field of LIST_FIELDS) form[field] = splitList(record[field]).join("\n");
  const floor = record.specific_floor;
  form.specific_floor = typeof floor === "number" ? floor : numberIn(floor);
  const degrees = record.room_temperature_c;
  form.room_temperature_c = typeof degrees === "number" ? degrees : numberIn(degrees);
  form.wake_up_call = record.wake_up_call === true;
  form.wake_up_time = timeOf(record.wake_up_time);
  form.occasion_date = textOf(record.occasion_date).slice(0, 10);
  return form;
}

/** Each column's value as it would be saved from `form` (null: empty). */
function wanted(form: PreferencesForm): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const field of CHOICE_FIELDS) values[field] = form[field].trim() || null;
  for (const field of TEXT_FIELDS) values[field] = form[field].trim() || null;
  for (const field of LIST_FIELDS) values[field] = splitList(form[field]);
  // a floor only for a guest who wants a specific one (the server refuses it otherwise)
  values.specific_floor =
    form.floor_preference === "specific" ? numberIn(form.specific_floor) : null;
  values.room_temperature_c = numberIn(form.room_temperature_c);
  values.wake_up_call = form.wake_up_call;
  // no time kept for a wake-up call the guest does not want
  values.wake_up_time = form.wake_up_call ? timeOf(form.wake_up_time) || null : null;
  values.occasion_date = form.occasion_date.trim() || null;
  return values;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What to send for `form`, typed over `before` (the form as pre-filled): only the columns whose
 * value changed; a field emptied is null (cleared); lists as arrays. Empty when nothing changed.
 */
export function preferenceChanges(
  form: PreferencesForm,
  before: PreferencesForm,
): Record<string, unknown> {
  const now = wanted(form);
  const was = wanted(before);
  const changes: Record<string, unknown> = {};
  for (const field of FORM_FIELDS) {
    if (!same(now[field], was[field])) changes[field] = now[field];
  }
  return changes;
}

/** The checks made before anything is sent, in the desk's language (English unless given). */
export function validatePreferences(form: PreferencesForm, language: Language = "en"): FieldErrors {
  const t = translator(language);
  const errors: FieldErrors = {};
  for (const field of CHOICE_FIELDS) {
    const value = form[field].trim();
    if (value !== "" && !(CHOICES[field] as readonly string[]).includes(value))
      errors[field] = t("pref.chooseOption");
  }
  if (form.floor_preference === "specific") {
    const floor = numberIn(form.specific_floor);
    if (floor === null || !Number.isInteger(floor)) errors.specific_floor = t("pref.floorNeeded");
  }
  if (!blankNumber(form.room_temperature_c)) {
    const degrees = numberIn(form.room_temperature_c);
    if (degrees === null || degrees < 10 || degrees > 35)
      errors.room_temperature_c = t("pref.temperatureRange");
  }
  if (form.wake_up_call && timeOf(form.wake_up_time) === "")
    errors.wake_up_time =
      form.wake_up_time.trim() === "" ? t("pref.timeNeeded") : t("pref.badTime");
  const occasion = form.occasion_date.trim();
  if (occasion !== "" && !parseDay(occasion)) errors.occasion_date = t("reg.badDate");
  for (const field of TEXT_FIELDS) {
    if (containsCardNumber(form[field])) errors[field] = t("pref.cardNumber");
  }
  return errors;
}

/**
 * The form field a refusal of save_guest_preferences is about, or null for the form as a whole
 * (`preferences`: a card number in a text, or a column the desk does not know).
 */
export function preferenceField(field: string | null | undefined): keyof PreferencesForm | null {
  if (!field) return null;
  return (FORM_FIELDS as string[]).includes(field) ? (field as keyof PreferencesForm) : null;
}

/** A column's name in words ("Bed type", "Tipo de cama"). */
export function preferenceLabel(field: string, language: Language): string {
  return lookup(language, `pref.${field}`, () => field.replace(/_/g, " "));
}

/** A choice in words: `non_smoking` → "Non-smoking". */
export function choiceLabel(field: ChoiceField, value: string, language: Language): string {
  return lookup(language, `pref.${field}.${value}`, () => value.replace(/_/g, " "));
}

export interface PreferenceLine {
  field: string;
  label: string;
  value: string;
}

/** The order the profile shows preferences in (pairs shown as one line). */
const SHOWN: string[] = [
  "bed_type",
  "room_type",
  "floor_preference",
  "view_preference",
  "smoking",
  "room_temperature_c",
  "pillow_type",
  "housekeeping_time",
  "wake_up_call",
  "newspaper",
  "preferred_language",
  ...LIST_FIELDS,
  "occasion_type",
  "notes",
];

/**
 * The saved record as lines for the profile, in the desk's language: a label and a value, lists
 * comma-separated; empty, false and unknown columns left out (never a raw null or id).
 */
export function preferenceLines(
  saved: Record<string, unknown> | null | undefined,
  language: Language,
  locale: string = language,
): PreferenceLine[] {
  if (!saved) return [];
  const t = translator(language);
  const form = preferencesForm(saved);
  const lines: PreferenceLine[] = [];
  const add = (field: string, value: string) => {
    if (value.trim() !== "") lines.push({ field, label: preferenceLabel(field, language), value });
  };
  for (const field of SHOWN) {
    if ((CHOICE_FIELDS as string[]).includes(field)) {
      const choice = field as ChoiceField;
      if (form[choice] === "") continue;
      let value = choiceLabel(choice, form[choice], language);
      if (choice === "floor_preference" && form.floor_preference === "specific") {
        const floor = numberIn(form.specific_floor);
        if (floor !== null) value = t("pref.floorNumber", { floor: formatNumber(floor, locale) });
      }
      if (choice === "occasion_type" && parseDay(form.occasion_date))
        value = `${value}, ${longDay(form.occasion_date, locale)}`;
      add(field, value);
    } else if (field === "room_temperature_c") {
      const degrees = numberIn(form.room_temperature_c);
      if (degrees !== null) add(field, `${formatNumber(degrees, locale)} °C`);
    } else if (field === "wake_up_call") {
      if (form.wake_up_call)
        add(
          field,
          form.wake_up_time ? t("pref.wakeUpAt", { time: form.wake_up_time }) : t("pref.yes"),
        );
    } else if ((LIST_FIELDS as readonly string[]).includes(field)) {
      add(field, splitList(saved[field]).join(", "));
    } else {
      add(field, form[field as TextField]);
    }
  }
  // an occasion date without its kind still says when
  if (form.occasion_type === "" && parseDay(form.occasion_date))
    add("occasion_date", longDay(form.occasion_date, locale));
  return lines;
}
