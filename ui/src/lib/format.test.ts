import { describe, expect, it } from "vitest";
import {
  addDays,
  ago,
  blankNumber,
  confirmation,
  dateTime,
  dayHead,
  dayIn,
  dayRange,
  formatNumber,
  longDay,
  nightsBetween,
  numberIn,
  parseDay,
  shortDay,
  statusLabel,
} from "./format";
import { formatMoney } from "./money";

/** ICU versions differ in which space they put (no-break, thin, narrow): compare the words. */
const norm = (text: string) => text.replace(/[\s\u2009\u202f\u00a0]+/g, " ").replace(/ ?– ?/g, "–");

describe("dates", () => {
  it("parses calendar dates and refuses impossible ones", () => {
    expect(parseDay("2026-02-28")?.getUTCDate()).toBe(28);
    expect(parseDay("2026-02-30")).toBeNull();
    expect(parseDay("28/02/2026")).toBeNull();
  });
  it("counts nights and adds days across months and years", () => {
    expect(nightsBetween("2026-12-30", "2027-01-02")).toBe(3);
    expect(nightsBetween("2026-03-28", "2026-03-30")).toBe(2);
    expect(nightsBetween("2026-01-05", "2026-01-01")).toBe(-4);
    expect(nightsBetween("x", "2026-01-01")).toBeNull();
    expect(addDays("2026-02-27", 2)).toBe("2026-03-01");
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
  });
  it("writes business dates in the locale, the same day whatever the laptop's zone", () => {
    expect(shortDay("2026-11-25", "en-GB")).toBe("Wed 25 Nov");
    expect(shortDay("2026-11-25", "es")).toBe("mié, 25 nov");
    expect(shortDay("2026-11-25", "de")).toBe("Mi., 25. Nov.");
    expect(longDay("2026-01-01", "en-GB")).toBe("Thu, 1 Jan 2026");
    // the first and last day of a year, where a shifted zone would show the wrong year
    expect(longDay("2026-12-31", "en-US")).toBe("Thu, Dec 31, 2026");
    expect(shortDay("not a day", "en")).toBe("not a day");
    expect(dayHead("2026-11-25", "en-GB")).toBe("Wed 25");
    expect(dayHead("2026-11-25", "es")).toBe("mié 25");
  });
  it("writes a stay's dates as one range", () => {
    expect(norm(dayRange("2026-11-25", "2026-11-28", "en-GB"))).toBe("25–28 Nov 2026");
    expect(norm(dayRange("2026-12-30", "2027-01-02", "en-GB"))).toBe("30 Dec 2026–2 Jan 2027");
    expect(norm(dayRange("2026-11-25", "2026-11-28", "es"))).toBe("25–28 nov 2026");
  });
  it("puts an instant on the property's calendar, not the laptop's", () => {
    // 20:30 UTC on 25 Nov: already the 26th in Auckland (UTC+13), still the 25th in Los Angeles (UTC-8)
    const instant = "2026-11-25T20:30:00Z";
    expect(dayIn(instant, "Pacific/Auckland")).toBe("2026-11-26");
    expect(dayIn(instant, "America/Los_Angeles")).toBe("2026-11-25");
    expect(norm(dateTime(instant, "Pacific/Auckland", "en-GB"))).toBe("26 Nov 2026, 09:30");
    expect(norm(dateTime(instant, "America/Los_Angeles", "en-GB"))).toBe("25 Nov 2026, 12:30");
    expect(dayIn("garbage", "Pacific/Auckland")).toBeNull();
  });
  it("says how long ago the last sync was, in the locale", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    expect(ago(null, now)).toBeNull();
    expect(ago("2026-11-25T11:59:00Z", now, "en")).toBe("1 minute ago");
    expect(ago("2026-11-25T09:00:00Z", now, "en")).toBe("3 hours ago");
    expect(ago("2026-11-23T12:00:00Z", now, "en")).toBe("2 days ago");
    expect(ago("2026-11-25T09:00:00Z", now, "es")).toBe("hace 3 horas");
  });
});

describe("numbers and money in the property's locale", () => {
  it("groups counts per locale", () => {
    expect(formatNumber(12345, "en")).toBe("12,345");
    expect(formatNumber(12345, "de")).toBe("12.345");
  });
  it("shows yen without decimals and dinars with three", () => {
    expect(formatMoney(1500, "JPY", "ja-JP")).toBe("￥1,500");
    expect(formatMoney(1500, "JPY", "en")).toBe("¥1,500");
    expect(norm(formatMoney(1234567, "BHD", "en"))).toBe("BHD 1,234.567");
  });
  it("writes euros the German, Spanish and English way", () => {
    expect(norm(formatMoney(123456, "EUR", "de"))).toBe("1.234,56 €");
    expect(norm(formatMoney(123456, "EUR", "es"))).toBe("1234,56 €");
    expect(norm(formatMoney(1234567, "EUR", "es"))).toBe("12.345,67 €");
    expect(formatMoney(123456, "EUR", "en")).toBe("€1,234.56");
  });
});

describe("labels", () => {
  it("names statuses for the clerk in the desk's language", () => {
    expect(statusLabel("checked_in")).toBe("In house");
    expect(statusLabel("out_of_order")).toBe("Out of order");
    expect(statusLabel("checked_in", "es")).toBe("Alojado");
    expect(statusLabel("something_new")).toBe("something new");
  });
  it("shows the number, the legacy code, or that the number comes with sync", () => {
    expect(confirmation(1042, null)).toBe("#1042");
    expect(confirmation(null, "T-101-18C2F")).toBe("T-101-18C2F");
    expect(confirmation(null, null)).toBe("number on sync");
    expect(confirmation(null, null, "es")).toBe("número al sincronizar");
  });
});

describe("a number typed in a form", () => {
  it("is read from a number input or from text, a decimal comma too", () => {
    expect(numberIn(21.5)).toBe(21.5);
    expect(numberIn(" 21,5 ")).toBe(21.5);
    expect(numberIn("-3")).toBe(-3);
    expect(numberIn("12")).toBe(12);
    expect(numberIn(null)).toBeNull();
    expect(numberIn("")).toBeNull();
    expect(numberIn("12abc")).toBeNull();
    expect(numberIn("1e3")).toBeNull();
    expect(numberIn(Number.NaN)).toBeNull();
  });
  it("is blank only when nothing was typed", () => {
    expect(blankNumber(null)).toBe(true);
    expect(blankNumber(undefined)).toBe(true);
    expect(blankNumber("  ")).toBe(true);
    expect(blankNumber(0)).toBe(false);
    expect(blankNumber("abc")).toBe(false);
  });
});
