import { describe, expect, it } from "vitest";
import { documentKindLabel, historyBy, historySentence, type HistoryContext } from "./history";
import type { HistoryLine } from "./types";

const ROOM_A = "0190a1b2-0000-7000-8000-000000000101";
const ROOM_B = "0190a1b2-0000-7000-8000-000000000102";
const TYPE_A = "0190a1b2-0000-7000-8000-00000000aaaa";

const en: HistoryContext = { language: "en", locale: "en-GB", currency: "EUR" };
// en-US writes ¥ where en-GB writes JP¥
const us: HistoryContext = { language: "en", locale: "en-US", currency: "EUR" };
const withRooms: HistoryContext = {
  ...en,
  rooms: new Map([
    [ROOM_A, "101"],
    [ROOM_B, "102"],
  ]),
};

function line(action: string, detail: Record<string, unknown> | null = null): HistoryLine {
  return { at: "2026-12-03T09:30:00Z", action, detail, by: null };
}

// every action the backend sends, with the detail it sends
const EVERY: HistoryLine[] = [
  line("booked"),
  line("changed", {
    check_in_date: ["2026-12-03", "2026-12-05"],
    check_out_date: ["2026-12-06", "2026-12-08"],
    room_id: [ROOM_A, ROOM_B],
    room_type_id: [TYPE_A, null],
    adults: [1, 2],
    children: [0, 1],
    guest_name: ["Ana", "Ana Lopes"],
    total_amount_cents: [30000, 36000],
    rate_per_night_cents: [10000, 12000],
  }),
  line("changed", { room_id: [null, ROOM_B] }),
  line("checked_in"),
  line("checked_out"),
  line("checked_out", { reason: "Company pays next week" }),
  line("cancelled"),
  line("cancelled", { reason: "Flight cancelled" }),
  line("no_show"),
  line("registered", { date_of_birth: "1980-02-01", nationality: "PT", document: "passport" }),
  line("registered", null),
  line("payment", { amount_minor: 12345, currency: "EUR", description: null, method: "card" }),
  line("refund", { amount_minor: 500, currency: "EUR", description: null, method: null }),
  line("charge", { amount_minor: 450, currency: "EUR", description: "Minibar", method: null }),
  line("adjustment", { amount_minor: -1000, currency: "EUR", description: null, method: null }),
  line("void", {
    amount_minor: 450,
    currency: "EUR",
    description: "Void of Minibar: wrong room",
    method: null,
  }),
  line("override", { amount_minor: 2000, currency: "EUR", description: "x", method: null }),
  line("invoice", { number: 42, total_minor: 36000, currency: "EUR" }),
  line("invoice", { number: null, total_minor: 36000, currency: "EUR" }),
  line("something_new", { id: ROOM_A }),
];

describe("a booking's history in words", () => {
  it("renders every action as a sentence with no id, null, undefined or raw cents", () => {
    for (const language of ["en", "es"] as const) {
      for (const l of EVERY) {
        const sentence = historySentence(l, { ...withRooms, language, locale: language });
        expect(sentence, l.action).not.toBe("");
        expect(sentence, l.action).not.toMatch(/null|undefined|NaN|\{\w+\}/);
        expect(sentence, l.action).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/i);
        for (const raw of ["12345", "30000", "36000", "10000", "450", "-1000", "2000"])
          expect(sentence, `${l.action} shows ${raw}`).not.toContain(raw);
      }
    }
  });

  it("says what was booked, checked in or out, cancelled and why", () => {
    expect(historySentence(line("booked"), en)).toBe("Booked");
    expect(historySentence(line("checked_in"), en)).toBe("Checked in");
    expect(historySentence(line("no_show"), en)).toBe("Marked as no-show");
    expect(historySentence(line("cancelled", { reason: "Flight cancelled" }), en)).toBe(
      "Cancelled: Flight cancelled",
    );
    expect(historySentence(line("cancelled", { reason: " " }), en)).toBe("Cancelled");
    expect(historySentence(line("checked_out", { reason: "Pays later" }), en)).toBe(
      "Checked out with a balance: Pays later",
    );
    expect(historySentence(line("booked"), { ...en, language: "es" })).toBe("Reservada");
  });

  it("shows changed dates as days of the locale", () => {
    expect(
      historySentence(line("changed", { check_out_date: ["2026-12-03", "2026-12-05"] }), en),
    ).toBe("Departure changed: Thu 3 Dec → Sat 5 Dec");
    expect(
      historySentence(
        line("changed", {
          check_in_date: ["2026-12-01", "2026-12-02"],
          check_out_date: ["2026-12-03", "2026-12-05"],
        }),
        en,
      ),
    ).toBe("Dates changed: Tue 1 Dec – Thu 3 Dec → Wed 2 Dec – Sat 5 Dec");
  });

  it("names rooms by number when it knows them, and never by id", () => {
    const moved = line("changed", { room_id: [ROOM_A, ROOM_B] });
    expect(historySentence(moved, withRooms)).toBe("Room changed: 101 → 102");
    expect(historySentence(moved, en)).toBe("Room changed");
    expect(historySentence(line("changed", { room_id: [null, ROOM_B] }), withRooms)).toBe(
      "Room changed to 102",
    );
    expect(historySentence(line("changed", { room_id: [ROOM_A, null] }), withRooms)).toBe(
      "Room unassigned",
    );
    expect(historySentence(line("changed", { room_type_id: [TYPE_A, ROOM_A] }), en)).toBe(
      "Room type changed",
    );
  });

  it("joins several changes and formats money in the stay's currency", () => {
    expect(
      historySentence(line("changed", { adults: [1, 2], total_amount_cents: [30000, 36000] }), en),
    ).toBe("Adults: 1 → 2; Total: €300.00 → €360.00");
    expect(
      historySentence(line("changed", { rate_per_night_cents: [10000, 12000] }), {
        ...us,
        currency: "JPY",
      }),
    ).toBe("Rate per night: ¥10,000 → ¥12,000");
    expect(historySentence(line("changed", {}), en)).toBe("Booking changed");
  });

  it("lists what a registration took, never the values", () => {
    const s = historySentence(
      line("registered", { date_of_birth: "1980-02-01", nationality: "PT", document: "passport" }),
      en,
    );
    expect(s).toBe("Registration details taken: date of birth, nationality, and Passport");
    expect(s).not.toContain("1980");
    expect(s).not.toContain("PT");
    expect(historySentence(line("registered", { document: "national_id" }), en)).toBe(
      "Registration details taken: National ID card",
    );
  });

  it("formats folio amounts with the currency's minor units", () => {
    const paid = line("payment", { amount_minor: 12345, currency: "EUR", method: "card" });
    expect(historySentence(paid, en)).toBe("Payment of €123.45 (Card)");
    expect(historySentence(paid, { ...en, language: "es", locale: "es" })).toMatch(
      /^Cobro de 123,45\s€ \(Tarjeta\)$/,
    );
    // JPY has no minor units: 1500 is ¥1,500, not ¥15.00
    expect(
      historySentence(line("payment", { amount_minor: 1500, currency: "JPY", method: null }), us),
    ).toBe("Payment of ¥1,500");
    // BHD has three
    expect(
      historySentence(line("refund", { amount_minor: 1234, currency: "BHD", method: "cash" }), en),
    ).toMatch(/^Refund of BHD\s1\.234 \(Cash\)$/);
    expect(
      historySentence(
        line("charge", { amount_minor: 450, currency: "EUR", description: "Minibar" }),
        en,
      ),
    ).toBe("Charge: Minibar, €4.50");
    expect(
      historySentence(
        line("void", {
          amount_minor: 450,
          currency: "EUR",
          description: "Void of Minibar: wrong room",
        }),
        en,
      ),
    ).toBe("Voided: Minibar: wrong room, €4.50");
    expect(historySentence(line("adjustment", { amount_minor: -1000, currency: "EUR" }), en)).toBe(
      "Adjustment of -€10.00",
    );
    // a line without its currency takes the stay's
    expect(
      historySentence(line("payment", { amount_minor: 1500 }), { ...us, currency: "JPY" }),
    ).toBe("Payment of ¥1,500");
  });

  it("names invoices and credit notes by number", () => {
    expect(
      historySentence(line("invoice", { number: 42, total_minor: 36000, currency: "EUR" }), en),
    ).toBe("Invoice 42 issued: €360.00");
    expect(
      historySentence(line("invoice", { number: 43, total_minor: -36000, currency: "EUR" }), en),
    ).toBe("Credit note 43 issued: -€360.00");
    expect(
      historySentence(line("invoice", { number: null, total_minor: 500, currency: "JPY" }), us),
    ).toBe("Invoice issued: ¥500");
  });

  it("says who did it when a colleague is named", () => {
    expect(historyBy({ ...line("booked"), by: "Ana" }, "en")).toBe("by Ana");
    expect(historyBy({ ...line("booked"), by: "Ana" }, "es")).toBe("por Ana");
    expect(historyBy(line("booked"), "en")).toBeNull();
    expect(historyBy({ ...line("booked"), by: "  " }, "en")).toBeNull();
  });

  it("names document kinds, an unknown one as another document", () => {
    expect(documentKindLabel("driving_licence", "en")).toBe("Driving licence");
    expect(documentKindLabel("residence_permit", "es")).toBe("Permiso de residencia");
    expect(documentKindLabel("tax_card", "en")).toBe("Other document");
  });
});
