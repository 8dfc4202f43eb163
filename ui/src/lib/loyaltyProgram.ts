// Setting up a loyalty program at the desk (owners and managers): a Program as a form, and the
// form turned into the ProgramInput create_loyalty_program / update_loyalty_program take, numbers
// parsed, an empty expiry as "never", tier rows trimmed, benefits one per line. The checks here
// are the server's (sync/client/src/loyalty_programs.rs), tiers that climb among them, made as
// the owner types; the Rust side makes them again.

import { blankNumber, numberIn } from "./format";
import { translator, type Language } from "./i18n";
import type { FieldErrors } from "./validate";
import type { Program, ProgramInput, TierInput } from "./types";

/** A number as a number input holds it (null when empty), or as typed. */
export type NumberText = number | string | null | undefined;

export interface TierRow {
  name: string;
  required_points: NumberText;
  multiplier: NumberText;
  /** One benefit per line. */
  benefits: string;
}

/** The form as typed; its keys are the fields the commands name in their refusals. */
export interface ProgramForm {
  name: string;
  description: string;
  enabled: boolean;
  points_per_currency_unit: NumberText;
  first_stay_bonus_points: NumberText;
  birthday_bonus_points: NumberText;
  point_value_cents: NumberText;
  minimum_redemption_points: NumberText;
  /** Empty: points never expire. */
  points_expiry_days: NumberText;
  tiers: TierRow[];
}

export const PROGRAM_FIELDS: (keyof ProgramForm)[] = [
  "name",
  "description",
  "enabled",
  "points_per_currency_unit",
  "first_stay_bonus_points",
  "birthday_bonus_points",
  "point_value_cents",
  "minimum_redemption_points",
  "points_expiry_days",
  "tiers",
];

/** Who may set programs up (the Rust side's `managers_only`). */
export function managesPrograms(role: string | null | undefined): boolean {
  return role === "owner" || role === "manager";
}

/** A new tier row, asking for more points than the last row (when it has a number). */
export function blankTier(after?: TierRow): TierRow {
  const last = after ? numberIn(after.required_points) : null;
  return {
    name: "",
    required_points: last === null ? (after ? null : 0) : last + 1000,
    multiplier: 1,
    benefits: "",
  };
}

/** A new program: enabled, a point per unit spent, a point worth a cent, one base tier. */
export function blankProgram(): ProgramForm {
  return {
    name: "",
    description: "",
    enabled: true,
    points_per_currency_unit: 1,
    first_stay_bonus_points: 0,
    birthday_bonus_points: 0,
    point_value_cents: 1,
    minimum_redemption_points: 0,
    points_expiry_days: null,
    tiers: [],
  };
}

/** The form with a program's rules and tiers. */
export function programForm(program: Program): ProgramForm {
  return {
    name: program.name,
    description: program.description ?? "",
    enabled: program.enabled,
    points_per_currency_unit: program.points_per_currency_unit,
    first_stay_bonus_points: program.first_stay_bonus_points,
    birthday_bonus_points: program.birthday_bonus_points,
    point_value_cents: program.point_value_cents,
    minimum_redemption_points: program.minimum_redemption_points,
    points_expiry_days: program.points_expiry_days,
    tiers: program.tiers.map((tier) => ({
      name: tier.name,
      required_points: tier.required_points,
      multiplier: tier.multiplier,
      benefits: tier.benefits.join("\n"),
    })),
  };
}

/** A row nothing was typed in (left out rather than refused). */
function emptyRow(row: TierRow): boolean {
  return (
    row.name.trim() === "" &&
    blankNumber(row.required_points) &&
    row.benefits.trim() === "" &&
    (blankNumber(row.multiplier) || numberIn(row.multiplier) === 1)
  );
}

/** Benefits one per line, blanks dropped. */
export function splitBenefits(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** The tier rows as sent: empty rows left out, names and benefits trimmed. */
export function tierInputs(rows: TierRow[]): TierInput[] {
  return rows
    .filter((row) => !emptyRow(row))
    .map((row) => ({
      name: row.name.trim(),
      required_points: numberIn(row.required_points) ?? 0,
      multiplier: numberIn(row.multiplier) ?? 1,
      benefits: splitBenefits(row.benefits),
    }));
}

const wholeAtLeast = (value: NumberText, least: number) => {
  const n = numberIn(value);
  return n !== null && Number.isInteger(n) && n >= least;
};

/**
 * The checks made before anything is sent, as the server makes them, in the desk's language
 * (English unless given). A tier's problem is under `tiers` (the table) and `tier.<row>` (its row).
 */
export function validateProgram(form: ProgramForm, language: Language = "en"): FieldErrors {
  const t = translator(language);
  const errors: FieldErrors = {};
  if (form.name.trim() === "") errors.name = t("program.nameNeeded");
  const perUnit = numberIn(form.points_per_currency_unit);
  if (perUnit === null || perUnit < 0 || perUnit > 1000)
    errors.points_per_currency_unit = t("program.perUnitRange");
  const value = numberIn(form.point_value_cents);
  if (value === null || value < 0 || value > 100000)
    errors.point_value_cents = t("program.pointValueRange");
  for (const field of [
    "first_stay_bonus_points",
    "birthday_bonus_points",
    "minimum_redemption_points",
  ] as const) {
    if (!blankNumber(form[field]) && !wholeAtLeast(form[field], 0))
      errors[field] = t("program.wholePoints");
  }
  if (!blankNumber(form.points_expiry_days) && !wholeAtLeast(form.points_expiry_days, 1))
    errors.points_expiry_days = t("program.expiryWhole");
  const tierError = checkTiers(form.tiers, language);
  if (tierError) {
    errors.tiers = tierError.message;
    errors[`tier.${tierError.row}`] = tierError.message;
  }
  return errors;
}

/**
 * The first problem with the tiers, as the server sees them (a tier without a name, two tiers of
 * one name, tiers not climbing in points, a multiplier out of 1–10), with the row it is on.
 */
export function checkTiers(
  rows: TierRow[],
  language: Language = "en",
): { row: number; message: string } | null {
  const t = translator(language);
  const seen: string[] = [];
  let previous: number | null = null;
  for (const [row, tier] of rows.entries()) {
    if (emptyRow(tier)) continue;
    const name = tier.name.trim();
    if (name === "") return { row, message: t("program.tierName") };
    if (seen.includes(name.toLowerCase()))
      return { row, message: t("program.tierTwice", { name }) };
    seen.push(name.toLowerCase());
    const points = numberIn(tier.required_points);
    if (points === null || !Number.isInteger(points) || points < 0)
      return { row, message: t("program.tierPoints", { name }) };
    if (previous !== null && points <= previous)
      return { row, message: t("program.tiersClimb", { name }) };
    previous = points;
    const multiplier = numberIn(tier.multiplier);
    if (multiplier === null || multiplier < 1 || multiplier > 10)
      return { row, message: t("program.multiplierRange", { name }) };
  }
  return null;
}

/** What to send for `form`, or the problems to show at their fields. */
export function programInput(
  form: ProgramForm,
  language: Language = "en",
): { ok: true; value: ProgramInput } | { ok: false; errors: FieldErrors } {
  const errors = validateProgram(form, language);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const points = (value: NumberText) => numberIn(value) ?? 0;
  return {
    ok: true,
    value: {
      name: form.name.trim(),
      description: form.description.trim() || null,
      enabled: form.enabled,
      points_per_currency_unit: points(form.points_per_currency_unit),
      first_stay_bonus_points: points(form.first_stay_bonus_points),
      birthday_bonus_points: points(form.birthday_bonus_points),
      point_value_cents: points(form.point_value_cents),
      minimum_redemption_points: points(form.minimum_redemption_points),
      points_expiry_days: numberIn(form.points_expiry_days),
      tiers: tierInputs(form.tiers),
    },
  };
}

/** The form field a refusal of the commands is about, or null for the form as a whole. */
export function programField(field: string | null | undefined): keyof ProgramForm | null {
  if (!field) return null;
  return (PROGRAM_FIELDS as string[]).includes(field) ? (field as keyof ProgramForm) : null;
}

/**
 * What a point is worth, from its value in cents (hundredths) of the currency: 0.5 EUR cents →
 * "€0.005"; up to four decimals, never rounded to nothing.
 */
export function pointWorth(cents: number, currency: string, locale?: string): string {
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency: currency.toUpperCase(),
      minimumFractionDigits: 2,
      maximumFractionDigits: 4,
    }).format(cents / 100);
  } catch {
    return `${cents / 100} ${currency}`;
  }
}
