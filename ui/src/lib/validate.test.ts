import { describe, expect, it } from "vitest";
import { validateBooking, validateGuest } from "./validate";

const draft = {
  guest_id: null,
  guest_name: "Ana Reis",
  check_in: "2026-12-01",
  check_out: "2026-12-03",
  room_id: "r1",
  adults: "2",
  children: "0",
};

describe("booking form", () => {
  it("accepts a complete booking", () => {
    expect(validateBooking(draft)).toEqual({});
  });
  it("names the field at fault", () => {
    expect(validateBooking({ ...draft, check_out: "2026-12-01" })).toEqual({
      check_out: "The departure date must be after the arrival date.",
    });
    expect(validateBooking({ ...draft, guest_name: " " })).toHaveProperty("guest_name");
    expect(validateBooking({ ...draft, guest_name: "", guest_id: "g1" })).toEqual({});
    expect(validateBooking({ ...draft, room_id: null })).toHaveProperty("room_id");
    expect(validateBooking({ ...draft, adults: "0" })).toHaveProperty("adults");
    expect(validateBooking({ ...draft, children: "-1" })).toHaveProperty("children");
    expect(validateBooking({ ...draft, check_in: "tomorrow" })).toHaveProperty("check_in");
  });
});

describe("guest form", () => {
  it("needs a name, a plausible email and a two-letter country", () => {
    expect(validateGuest({ first_name: "A", last_name: "", email: "", country_code: "" })).toEqual(
      {},
    );
    expect(
      validateGuest({ first_name: "", last_name: "", email: "", country_code: "" }),
    ).toHaveProperty("last_name");
    expect(
      validateGuest({ first_name: "A", last_name: "B", email: "a@", country_code: "" }),
    ).toHaveProperty("email");
    expect(
      validateGuest({ first_name: "A", last_name: "B", email: "", country_code: "FRA" }),
    ).toHaveProperty("country_code");
  });
});

describe("in Spanish", () => {
  it("explains the refusal in the desk's language", () => {
    expect(
      validateGuest({ first_name: "", last_name: "", email: "", country_code: "" }, "es"),
    ).toEqual({ last_name: "Escriba el nombre del huésped." });
  });
});
