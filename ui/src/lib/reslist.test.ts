import { describe, expect, it } from "vitest";
import { collect, datesFor, statusesIn, withStatus } from "./reslist";
import type { Reservation } from "./types";

const booking = (
  id: string,
  guest: string,
  status: string,
  check_in: string,
  room: string | null = null,
): Reservation => ({
  id,
  confirmation_number: null,
  legacy_code: null,
  guest_id: null,
  guest_name: guest,
  guest_email: null,
  guest_phone: null,
  status,
  room_id: room,
  room_number: room,
  room_type_id: "t",
  room_type_name: null,
  check_in,
  check_out: "2026-12-31",
  nights: 1,
  adults: 1,
  children: 0,
  rate_per_night_cents: 0,
  total_amount_cents: 0,
  deposit_paid_cents: 0,
  balance_due_cents: 0,
  currency: "EUR",
  payment_status: "unpaid",
  special_requests: null,
  notes: null,
  pending_sync: false,
});
const day = (
  arrivals: Reservation[] = [],
  departures: Reservation[] = [],
  in_house: Reservation[] = [],
) => ({ arrivals, departures, in_house });

describe("reservation list days", () => {
  it("asks for the chosen day, or the 14 days after it for upcoming (across a month end)", () => {
    expect(datesFor("arrivals", "2026-12-05")).toEqual(["2026-12-05"]);
    expect(datesFor("departures", "2026-12-05")).toEqual(["2026-12-05"]);
    const upcoming = datesFor("upcoming", "2026-12-25");
    expect(upcoming).toHaveLength(14);
    expect(upcoming[0]).toBe("2026-12-26");
    expect(upcoming[13]).toBe("2027-01-08");
  });
});

describe("reservation list", () => {
  it("puts arrivals still to check in first, then by name", () => {
    const list = collect("arrivals", [
      day([
        booking("1", "Zoe", "confirmed", "d"),
        booking("2", "Ana", "checked_in", "d"),
        booking("3", "Bea", "pending", "d"),
      ]),
    ]);
    expect(list.map((r) => r.guest_name)).toEqual(["Bea", "Zoe", "Ana"]);
  });
  it("orders the house by room number as a person reads it (9 before 10)", () => {
    const list = collect("in_house", [
      day(
        [],
        [],
        [booking("1", "A", "checked_in", "d", "10"), booking("2", "B", "checked_in", "d", "9")],
      ),
    ]);
    expect(list.map((r) => r.room_number)).toEqual(["9", "10"]);
  });
  it("merges the upcoming days by arrival date, each booking once", () => {
    const later = booking("1", "Ana", "confirmed", "2026-12-07");
    const list = collect("upcoming", [
      day([later, booking("2", "Zoe", "confirmed", "2026-12-06")]),
      day([later]),
    ]);
    expect(list.map((r) => r.id)).toEqual(["2", "1"]);
  });
  it("takes departures from the departures, not the arrivals", () => {
    const list = collect("departures", [
      day(
        [booking("a", "Arriving", "confirmed", "d")],
        [booking("o", "Out", "checked_out", "d"), booking("s", "Still", "checked_in", "d")],
      ),
    ]);
    expect(list.map((r) => r.guest_name)).toEqual(["Still", "Out"]);
  });
  it("offers the statuses found, in a stay's order, and filters by one", () => {
    const list = [
      booking("1", "A", "checked_in", "d"),
      booking("2", "B", "pending", "d"),
      booking("3", "C", "weird", "d"),
      booking("4", "D", "pending", "d"),
    ];
    expect(statusesIn(list)).toEqual(["pending", "checked_in", "weird"]);
    expect(withStatus(list, "pending").map((r) => r.id)).toEqual(["2", "4"]);
    expect(withStatus(list, "")).toHaveLength(4);
  });
});
