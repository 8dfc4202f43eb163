import { describe, expect, it } from "vitest";
import { parseRoomList } from "./rooms";

describe("parseRoomList", () => {
  it("expands ranges and keeps single rooms", () => {
    expect(parseRoomList("101-103, 201 305A")).toEqual({
      ok: true,
      rooms: ["101", "102", "103", "201", "305A"],
    });
  });
  it("keeps leading zeros of a range", () => {
    expect(parseRoomList("01-03")).toEqual({ ok: true, rooms: ["01", "02", "03"] });
  });
  it("refuses duplicates, backwards and huge ranges, and odd characters", () => {
    expect(parseRoomList("101-103, 102")).toEqual({
      ok: false,
      message: "Room 102 is listed twice.",
    });
    expect(parseRoomList("110-101")).toEqual({
      ok: false,
      message: "110-101: the range goes backwards.",
    });
    expect(parseRoomList("1-9999").ok).toBe(false);
    expect(parseRoomList("10#")).toEqual({ ok: false, message: "10# is not a room number." });
    expect(parseRoomList("  ")).toEqual({
      ok: false,
      message: "List the rooms, for example 101-110.",
    });
  });
  it("says so in the desk's language", () => {
    expect(parseRoomList("101-103, 102", "es")).toEqual({
      ok: false,
      message: "La habitación 102 aparece dos veces.",
    });
  });
});
