// Money in the currency's minor units (ISO 4217: JPY has none, EUR two, BHD three). How many
// digits a currency has comes from Intl, never from a hard-coded 100.

const digitsCache = new Map<string, number>();

/** A well-formed ISO 4217 code (three letters) that Intl accepts. */
export function isCurrency(code: string): boolean {
  if (!/^[A-Za-z]{3}$/.test(code)) return false;
  try {
    new Intl.NumberFormat("en", { style: "currency", currency: code });
    return true;
  } catch {
    return false;
  }
}

/** The currency's minor-unit digits: JPY 0, EUR 2, BHD 3. Throws RangeError for a malformed code. */
export function minorDigits(currency: string): number {
  const code = currency.toUpperCase();
  const known = digitsCache.get(code);
  if (known !== undefined) return known;
  const digits =
    new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  digitsCache.set(code, digits);
  return digits;
}

/** 1050 EUR → "€10.50", 1500 JPY → "¥1,500", 1234 BHD → "BHD 1.234" (in the desk's locale unless given). */
export function formatMoney(minor: number, currency: string, locale?: string): string {
  let digits: number;
  try {
    digits = minorDigits(currency);
  } catch {
    // a malformed code (corrupt data): show the raw minor units rather than guess a scale
    return `${minor} ${currency}`;
  }
  return new Intl.NumberFormat(locale, {
    style: "currency",
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minor / 10 ** digits);
}

/** A minor amount as the clerk would type it back: 1050 EUR → "10.50", 1500 JPY → "1500". */
export function minorToInput(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(minor));
  if (digits === 0) return `${sign}${abs}`;
  const scale = 10 ** digits;
  return `${sign}${Math.floor(abs / scale)}.${String(abs % scale).padStart(digits, "0")}`;
}

/**
 * "120", "120.5", "1,200.50" → minor units of `currency`; null when not an amount, negative, with
 * more decimals than the currency has ("12.345" is BHD, not EUR), or the currency is unknown.
 * A comma only groups thousands ("1,200"); "12,50" is refused rather than misread.
 */
export function parseMoney(text: string, currency: string): number | null {
  let digits: number;
  try {
    digits = minorDigits(currency);
  } catch {
    return null;
  }
  const trimmed = text.trim();
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/.exec(trimmed);
  if (!match) return null;
  const units = match[1].replace(/,/g, "");
  const decimals = match[2] ?? "";
  if (decimals.length > digits) return null;
  const minor =
    Number(units) * 10 ** digits + (digits > 0 ? Number(decimals.padEnd(digits, "0")) : 0);
  return Number.isSafeInteger(minor) ? minor : null;
}

/** The sum of minor amounts (integers, so no rounding drift). */
export function sumMinor(amounts: Iterable<number>): number {
  let total = 0;
  for (const amount of amounts) {
    if (!Number.isInteger(amount)) throw new RangeError(`not a minor amount: ${amount}`);
    total += amount;
  }
  return total;
}
