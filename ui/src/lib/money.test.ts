import { describe, expect, it } from "vitest";
import { formatMoney, isCurrency, minorDigits, minorToInput, parseMoney, sumMinor } from "./money";

describe("minor digits from ISO 4217", () => {
  it("knows each currency's decimals", () => {
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("EUR")).toBe(2);
    expect(minorDigits("usd")).toBe(2);
    expect(minorDigits("BHD")).toBe(3);
    expect(minorDigits("KWD")).toBe(3);
  });
  it("tells a currency code from a typo", () => {
    expect(isCurrency("EUR")).toBe(true);
    expect(isCurrency("EU")).toBe(false);
    expect(isCurrency("E1R")).toBe(false);
    expect(() => minorDigits("EU")).toThrow(RangeError);
  });
});

describe("formatMoney", () => {
  it("shows yen without decimals", () => {
    const text = formatMoney(1500, "JPY", "en-US");
    expect(text).toMatch(/1,500/);
    expect(text).toMatch(/¥/);
    expect(text).not.toMatch(/\./);
  });
  it("shows three decimals for dinars and two for euros", () => {
    expect(formatMoney(1234, "BHD", "en-US")).toMatch(/1\.234$/);
    expect(formatMoney(1050, "EUR", "en-US")).toBe("€10.50");
    expect(formatMoney(5, "EUR", "en-US")).toBe("€0.05");
    expect(formatMoney(123456789, "EUR", "en-US")).toBe("€1,234,567.89");
    expect(formatMoney(-2500, "EUR", "en-US")).toMatch(/^-€25\.00$/);
  });
  it("follows the locale given", () => {
    expect(formatMoney(1050, "EUR", "de-DE")).toMatch(/^10,50\s€$/);
  });
  it("shows raw minor units for a malformed code rather than guessing", () => {
    expect(formatMoney(1050, "EU", "en-US")).toBe("1050 EU");
  });
});

describe("parseMoney", () => {
  it("reads amounts into the currency's minor units", () => {
    expect(parseMoney("120", "EUR")).toBe(12000);
    expect(parseMoney("120.5", "EUR")).toBe(12050);
    expect(parseMoney(" 1,200.05 ", "EUR")).toBe(120005);
    expect(parseMoney("12.345", "BHD")).toBe(12345);
    expect(parseMoney("12.3", "BHD")).toBe(12300);
    expect(parseMoney("1500", "JPY")).toBe(1500);
    expect(parseMoney("1,500", "JPY")).toBe(1500);
  });
  it("refuses more decimals than the currency has", () => {
    expect(parseMoney("12.345", "EUR")).toBeNull();
    expect(parseMoney("1500.5", "JPY")).toBeNull();
    expect(parseMoney("1.2345", "BHD")).toBeNull();
  });
  it("refuses what is not an amount", () => {
    expect(parseMoney("-3", "EUR")).toBeNull();
    expect(parseMoney("ten", "EUR")).toBeNull();
    expect(parseMoney("", "EUR")).toBeNull();
    expect(parseMoney("12,50", "EUR")).toBeNull();
    expect(parseMoney("1.", "EUR")).toBeNull();
    expect(parseMoney("10", "EU")).toBeNull();
  });
  it("round-trips with the input form", () => {
    expect(minorToInput(12345, "BHD")).toBe("12.345");
    expect(minorToInput(1050, "EUR")).toBe("10.50");
    expect(minorToInput(1500, "JPY")).toBe("1500");
    for (const [minor, currency] of [
      [7, "EUR"],
      [1, "BHD"],
      [99999, "JPY"],
    ] as const)
      expect(parseMoney(minorToInput(minor, currency), currency)).toBe(minor);
  });
});

describe("sumMinor", () => {
  it("adds minor amounts exactly", () => {
    expect(sumMinor([])).toBe(0);
    expect(sumMinor([1050, -50, 3])).toBe(1003);
    // 0.1 + 0.2 style drift cannot happen in minor units
    expect(sumMinor([10, 20])).toBe(30);
    expect(() => sumMinor([1.5])).toThrow(RangeError);
  });
});
