import { describe, expect, it } from "vitest";
import { conflictText, describeConflict, maskCardNumbers, type Lookups } from "./conflicts";
import type { Conflict, Row } from "./types";

// Ids as the sync records carry them (UUIDv7).
const TENANT = "01902611-0000-7000-8000-000000000001";
const ROW = "01902611-7c1e-7b2a-9f00-00000000a001";
const ROOM_101 = "01902611-7c1e-7b2a-9f00-000000000101";
const ROOM_102 = "01902611-7c1e-7b2a-9f00-000000000102";
const ROOM_UNKNOWN = "01902611-7c1e-7b2a-9f00-0000000009ff";
const GUEST = "01902611-7c1e-7b2a-9f00-00000000b001";
const PROPERTY = "01902611-7c1e-7b2a-9f00-00000000c001";
const ROOM_TYPE = "01902611-7c1e-7b2a-9f00-00000000d001";

const lookups: Lookups = {
  rooms: new Map([
    [ROOM_101, "101"],
    [ROOM_102, "102"],
  ]),
  guests: new Map([[GUEST, "Ana García"]]),
  currency: "EUR",
  timeZone: "Pacific/Auckland",
};

function conflict(
  table: string,
  reason: string,
  mine: Row,
  theirs: Row | null,
  message: string | null = null,
): Conflict {
  return {
    id: 1,
    table,
    row_id: ROW,
    op: theirs ? "update" : "insert",
    reason,
    message,
    summary: "",
    mine,
    theirs,
    created_at: "2026-11-25T20:30:00Z",
  };
}

const booking: Row = {
  tenant_id: TENANT,
  id: ROW,
  guest_id: GUEST,
  guest_name: "Clash Walkin",
  guest_email: null,
  guest_phone: null,
  status: "confirmed",
  property_id: PROPERTY,
  room_type_id: ROOM_TYPE,
  room_id: ROOM_101,
  check_in_date: "2026-11-25",
  check_out_date: "2026-11-27",
  nights: 2,
  adults: 2,
  children: 0,
  rate_per_night_cents: 12000,
  total_amount_cents: 24000,
  currency: "EUR",
  deposit_paid_cents: 0,
  balance_due_cents: 24000,
  payment_status: "unpaid",
  special_requests: null,
  notes: null,
  cancellation_reason: null,
  created_at: "2026-11-25T20:30:00Z",
  updated_at: "2026-11-25T20:30:00Z",
};

/** What no clerk should ever read. */
function expectReadable(c: Conflict, language: "en" | "es" = "en") {
  const view = describeConflict(c, lookups, language, language === "en" ? "en-GB" : "es");
  const text = conflictText(view);
  expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/i);
  expect(text).not.toMatch(/null|undefined|NaN|\[object/i);
  expect(text).not.toMatch(/cents|minor|_/i);
  expect(text).not.toMatch(/"/);
  expect(view.reason).not.toBe("");
  return { view, text };
}

const row = (view: ReturnType<typeof describeConflict>, label: string) =>
  view.lines.find((l) => l.label === label);
const norm = (text: string | null | undefined) =>
  (text ?? "").replace(/[\s\u2009\u202f\u00a0]+/g, " ").replace(/ ?– ?/g, "–");

describe("a refused change, by reason", () => {
  it("room_unavailable: the guest, the stay and the room, and what the laptop booked", () => {
    const { view, text } = expectReadable(
      conflict(
        "reservations",
        "room_unavailable",
        booking,
        null,
        "the room is already taken for some of these nights",
      ),
    );
    expect(norm(view.title)).toBe("Clash Walkin · 25–27 Nov 2026 · room 101");
    expect(view.reason).toMatch(/Another desk booked this room/);
    expect(view.onlyYours).toBe(true);
    expect(row(view, "Total")?.yours).toBe("€240.00");
    expect(row(view, "Adults")?.yours).toBe("2");
    // what the title says, and the zero deposit, are not repeated below it
    expect(text).not.toMatch(/Deposit|Arrival/);
  });
  it("insufficient_points: the points to redeem, without the sign", () => {
    const mine = {
      tenant_id: TENANT,
      id: ROW,
      member_id: ROW,
      program_id: ROW,
      guest_id: GUEST,
      type: "redeem",
      points: -1500,
      description: "Free night",
      reference_type: null,
      reference_id: null,
      balance_before: null,
      balance_after: null,
    };
    const { view } = expectReadable(
      conflict("loyalty_transactions", "insufficient_points", mine, null),
    );
    expect(view.title).toBe("Loyalty points · Ana García · 1,500 points");
    expect(row(view, "Kind")?.yours).toBe("Points redeemed");
    expect(row(view, "Points")?.yours).toBe("-1,500 points");
  });
  it("forbidden: a rate change shows both amounts", () => {
    const { view } = expectReadable(
      conflict(
        "reservations",
        "forbidden",
        { rate_per_night_cents: 9000, total_amount_cents: 18000 },
        booking,
      ),
    );
    expect(view.reason).toMatch(/may not make this change/);
    expect(row(view, "Rate per night")).toEqual({
      label: "Rate per night",
      yours: "€90.00",
      theirs: "€120.00",
    });
    expect(row(view, "Total")).toEqual({ label: "Total", yours: "€180.00", theirs: "€240.00" });
    expect(view.lines).toHaveLength(2);
  });
  it("not_found: never the server's message with the row's id in it", () => {
    const c = conflict(
      "guests",
      "not_found",
      { email: "ana@example.com" },
      null,
      `no guests row ${ROW} is visible to this account`,
    );
    const { view } = expectReadable({ ...c, row_id: GUEST });
    expect(view.title).toBe("Ana García");
    expect(view.reason).toMatch(/no longer has this record/);
    expect(row(view, "Email")?.yours).toBe("ana@example.com");
  });
  it("invalid_value: the count the hotel refused", () => {
    const { view } = expectReadable(
      conflict("reservations", "invalid_value", { adults: 0 }, booking),
    );
    expect(view.title.startsWith("Clash Walkin")).toBe(true);
    expect(row(view, "Adults")).toEqual({ label: "Adults", yours: "0", theirs: "2" });
  });
  it("duplicate_key: the guest entered twice, only what differs", () => {
    const guest = {
      tenant_id: TENANT,
      id: GUEST,
      first_name: "Ana",
      last_name: "García",
      email: "ana@example.com",
      phone: null,
      marketing_consent: false,
      tags: [],
    };
    const { view } = expectReadable(
      conflict(
        "guests",
        "duplicate_key",
        { ...guest, email: "ana.garcia@example.com", phone: "+34 600 000 000" },
        guest,
      ),
    );
    expect(view.title).toBe("Ana García");
    expect(view.lines.map((l) => l.label)).toEqual(["Email", "Phone"]);
    expect(row(view, "Phone")).toEqual({ label: "Phone", yours: "+34 600 000 000", theirs: "—" });
  });
  it("missing_reference: a yen charge, without decimals", () => {
    const mine = {
      tenant_id: TENANT,
      id: ROW,
      folio_id: ROW,
      reservation_id: ROW,
      kind: "charge",
      amount_minor: 1500,
      currency: "JPY",
      business_date: "2026-11-25",
      description: "Minibar",
      charge_type: "minibar",
      quantity: 1,
      voids_entry_id: null,
      tax_rate_bp: null,
    };
    const { view } = expectReadable(conflict("folio_entries", "missing_reference", mine, null));
    // en-GB writes yen "JP¥"; either way, no decimals
    expect(view.title).toMatch(/^Folio entry · Minibar · (JP)?¥1,500$/);
    expect(row(view, "Amount")?.yours).toMatch(/^(JP)?¥1,500$/);
    expect(row(view, "Date")?.yours).toBe("Wed, 25 Nov 2026");
    expect(row(view, "Charge type")?.yours).toBe("Minibar");
  });
  it("server_owned: the balance the server keeps, and a hidden number counted", () => {
    const { view } = expectReadable(
      conflict(
        "reservations",
        "server_owned",
        { balance_due_cents: 0, confirmation_number: 1042 },
        { ...booking, confirmation_number: 1041 },
      ),
    );
    expect(row(view, "Balance due")).toEqual({
      label: "Balance due",
      yours: "€0.00",
      theirs: "€240.00",
    });
    expect(view.hidden).toBe(1);
  });
  it("card_number: the card number is masked, not shown again", () => {
    const mine = {
      kind: "payment",
      amount_minor: 5000,
      currency: "EUR",
      payment_method: "card",
      external_reference: "4111 1111 1111 1111",
      business_date: "2026-11-25",
    };
    const { view, text } = expectReadable(conflict("folio_entries", "card_number", mine, null));
    expect(view.reason).toMatch(/card number/);
    expect(text).not.toMatch(/4111 1111/);
    expect(row(view, "Reference")?.yours).toBe("•••• 1111");
    expect(row(view, "Method")?.yours).toBe("Card");
  });
  it("folio_closed: a dinar charge with three decimals", () => {
    const mine = {
      kind: "charge",
      amount_minor: 12345,
      currency: "BHD",
      description: "Dinner",
      charge_type: "food",
      business_date: "2026-11-26",
    };
    const { view } = expectReadable(conflict("folio_entries", "folio_closed", mine, null));
    expect(view.reason).toMatch(/folio was closed/);
    expect(norm(row(view, "Amount")?.yours)).toBe("BHD 12.345");
  });
  it("a value the same in words on both sides (a number sent as text) is neither shown nor counted", () => {
    const { view } = expectReadable(
      conflict("reservations", "superseded", { total_amount_cents: "24000", adults: 3 }, booking),
    );
    expect(view.lines.map((l) => l.label)).toEqual(["Adults"]);
    expect(view.hidden).toBe(0);
  });
  it("an unknown reason still reads as a sentence", () => {
    const { view } = expectReadable(
      conflict("reservations", "out_of_order", { notes: "late arrival" }, booking),
    );
    expect(view.reason).toBe("The hotel refused this change.");
    expect(row(view, "Notes")).toEqual({ label: "Notes", yours: "late arrival", theirs: "—" });
  });
});

describe("a merged field group", () => {
  const held = {
    guest_name: "Ana García",
    check_in: "2026-11-25",
    check_out: "2026-11-27",
    room_number: "102",
  };
  it("superseded stay: dates and rooms side by side; a room this laptop does not know is 'another room'", () => {
    const mine = {
      check_in_date: "2026-11-26",
      check_out_date: "2026-11-28",
      room_type_id: ROOM_TYPE,
      room_id: ROOM_UNKNOWN,
      property_id: PROPERTY,
    };
    const theirs = {
      check_in_date: "2026-11-25",
      check_out_date: "2026-11-27",
      room_type_id: ROOM_TYPE,
      room_id: ROOM_102,
      property_id: PROPERTY,
    };
    const c = conflict(
      "reservations",
      "superseded",
      mine,
      theirs,
      "field group stay was edited elsewhere at the same time",
    );
    const view = describeConflict(c, { ...lookups, reservation: held }, "en", "en-GB");
    expectReadable(c);
    expect(norm(view.title)).toBe("Ana García · 26–28 Nov 2026 · room 102");
    expect(view.reason).toMatch(/their version was kept/);
    expect(row(view, "Arrival")).toEqual({
      label: "Arrival",
      yours: "Thu, 26 Nov 2026",
      theirs: "Wed, 25 Nov 2026",
    });
    expect(row(view, "Room")).toEqual({ label: "Room", yours: "another room", theirs: "102" });
  });
  it("overwritten contact preferences: yes and no", () => {
    const mine = {
      contact_by_email: true,
      contact_by_sms: false,
      contact_by_phone: true,
      marketing_consent: true,
    };
    const theirs = {
      contact_by_email: true,
      contact_by_sms: false,
      contact_by_phone: false,
      marketing_consent: false,
    };
    const { view } = expectReadable({
      ...conflict("guests", "overwritten", mine, theirs),
      row_id: GUEST,
    });
    expect(view.title).toBe("Ana García");
    expect(view.lines).toEqual([
      { label: "May be called", yours: "yes", theirs: "no" },
      { label: "Agreed to marketing", yours: "yes", theirs: "no" },
    ]);
  });
  it("invalid_transition: statuses in words, times at the hotel (Auckland), empty as a dash", () => {
    const mine = {
      status: "checked_in",
      checked_in_at: "2026-11-25T20:30:00Z",
      cancelled_at: null,
      cancellation_reason: null,
    };
    const theirs = {
      status: "cancelled",
      checked_in_at: null,
      cancelled_at: "2026-11-25T19:00:00Z",
      cancellation_reason: "guest called",
    };
    const { view } = expectReadable(conflict("reservations", "invalid_transition", mine, theirs));
    expect(row(view, "Status")).toEqual({
      label: "Status",
      yours: "In house",
      theirs: "Cancelled",
    });
    expect(norm(row(view, "Checked in")?.yours)).toBe("26 Nov 2026, 09:30");
    expect(row(view, "Checked in")?.theirs).toBe("—");
    expect(row(view, "Cancellation reason")).toEqual({
      label: "Cancellation reason",
      yours: "—",
      theirs: "guest called",
    });
  });
  it("superseded payment: amounts in the row's own currency", () => {
    const mine = { total_amount_cents: 30000, rate_per_night_cents: 15000, currency: "JPY" };
    const theirs = { total_amount_cents: 24000, rate_per_night_cents: 12000, currency: "JPY" };
    const { view } = expectReadable(conflict("reservations", "superseded", mine, theirs));
    expect(row(view, "Total")?.yours).toMatch(/^(JP)?¥30,000$/);
    expect(row(view, "Total")?.theirs).toMatch(/^(JP)?¥24,000$/);
  });
});

describe("card numbers", () => {
  it("keeps only the last four digits of a card-like run, and leaves phone numbers", () => {
    expect(maskCardNumbers("paid 4111-1111-1111-1111 ok")).toBe("paid •••• 1111 ok");
    expect(maskCardNumbers("+34 600 123 456")).toBe("+34 600 123 456");
  });
});

describe("in Spanish", () => {
  it("says the same in the clerk's language, amounts and dates the Spanish way", () => {
    const { view } = expectReadable(
      conflict(
        "reservations",
        "forbidden",
        { rate_per_night_cents: 900000, check_in_date: "2026-11-26" },
        booking,
      ),
      "es",
    );
    expect(view.reason).toBe("Su cuenta no puede hacer este cambio. Consulte a un gerente.");
    expect(norm(row(view, "Precio por noche")?.yours)).toBe("9000,00 €");
    expect(row(view, "Llegada")?.yours).toBe("jue, 26 nov 2026");
  });
});
