import { describe, expect, it } from "vitest";
import { fieldOf, messageIn, messageOf } from "./errors";

describe("errors", () => {
  it("shows the command's message, or a fallback for its kind", () => {
    expect(
      messageOf({ kind: "RoomTaken", room: "101", message: "Room 101 is already booked." }),
    ).toBe("Room 101 is already booked.");
    expect(messageOf({ kind: "ServerUnreachable", message: "" })).toMatch(/cannot be reached/);
    expect(messageOf("plain text")).toBe("plain text");
    expect(messageOf(undefined)).toMatch(/Nothing was lost/);
    expect(messageOf({ kind: "card_number", message: "" })).toMatch(/receipt reference/);
    expect(messageOf({ kind: "balance_due", message: "" })).toMatch(/manager/);
    expect(messageOf({ kind: "audit_not_due", message: "" })).toMatch(/not ended/);
  });
  it("finds the field to focus", () => {
    expect(fieldOf({ kind: "Validation", field: "email", message: "x" })).toBe("email");
    expect(fieldOf({ kind: "DatesOutOfOrder", message: "x" })).toBe("check_out");
    expect(fieldOf({ kind: "RoomTaken", message: "x" })).toBe("room_id");
    expect(fieldOf({ kind: "ServerUnreachable", message: "x" })).toBeNull();
    expect(fieldOf({ kind: "card_number", message: "x" })).toBe("reference");
    expect(fieldOf({ kind: "card_number", field: "description", message: "x" })).toBe(
      "description",
    );
    expect(fieldOf(new Error("x"))).toBeNull();
  });
});

describe("messageIn", () => {
  it("says the desk's own errors in the clerk's language, with their details", () => {
    const error = {
      kind: "NoArrivals",
      date: "2026-12-24",
      message: "No guests arrive on 2026-12-24, so there is no registration card to print.",
    };
    expect(messageIn(error, "es")).toBe(
      "Nadie llega el 2026-12-24, así que no hay fichas de registro que imprimir.",
    );
    expect(messageIn(error, "en")).toBe(error.message);
    const notSaved = { kind: "NotSaved", folder: "/data/paperwork", message: "x" };
    expect(messageIn(notSaved, "es")).toContain("/data/paperwork");
  });
  it("falls back to the command's message for errors the catalogue does not know", () => {
    expect(messageIn({ kind: "RoomTaken", message: "Room 101 is already booked." }, "es")).toBe(
      "Room 101 is already booked.",
    );
    expect(messageIn("plain", "es")).toBe("plain");
  });
});
