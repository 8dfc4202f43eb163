import { describe, expect, it } from "vitest";
import { CATALOGUES } from "./i18n";
import { TODAY_PRINTS, fileName, pageRule } from "./paperwork";

describe("printing", () => {
  it("prints a screen on the property's paper", () => {
    expect(pageRule("letter")).toContain("size: letter");
    expect(pageRule("a4")).toContain("size: A4");
    expect(pageRule(null)).toContain("size: A4");
  });
  it("names the saved file, whatever the system's separator", () => {
    expect(fileName("/home/desk/.local/share/pms/paperwork/2026-12-05-outage-pack.pdf")).toBe(
      "2026-12-05-outage-pack.pdf",
    );
    expect(fileName("C:\\Users\\desk\\AppData\\paperwork\\2026-12-05-arrivals.pdf")).toBe(
      "2026-12-05-arrivals.pdf",
    );
  });
  it("labels every print button in both languages", () => {
    expect(TODAY_PRINTS.map((p) => p.kind)).toEqual([
      "arrivals",
      "departures",
      "in_house",
      "housekeeping",
      "registration_cards",
    ]);
    for (const { key } of TODAY_PRINTS) {
      expect(CATALOGUES.en[key]).toBeTruthy();
      expect(CATALOGUES.es[key]).not.toEqual(CATALOGUES.en[key]);
    }
  });
});
