import { describe, expect, it } from "vitest";
import { days, daysMoved, draggable, dropChange, layout, occupancyByDay, place } from "./tape";
import type { RoomOffer, TapeStay } from "./types";

const room = (id: string, status = "clean"): RoomOffer => ({
  id,
  number: id,
  room_type_id: "t",
  room_type_name: "Standard",
  base_rate_cents: 10000,
  max_occupancy: 2,
  housekeeping_status: status,
});
const stay = (id: string, room_id: string, check_in: string, check_out: string): TapeStay => ({
  id,
  room_id,
  guest_name: id,
  status: "confirmed",
  check_in,
  check_out,
});

describe("tape chart layout", () => {
  it("lists the window's days", () => {
    expect(days("2026-11-30", 3)).toEqual(["2026-11-30", "2026-12-01", "2026-12-02"]);
  });

  it("places each stay from its arrival column over its nights, clipped to the window", () => {
    const rows = layout(
      [room("101"), room("102")],
      [
        stay("a", "101", "2026-11-28", "2026-12-02"), // started before the window
        stay("b", "101", "2026-12-03", "2026-12-04"),
        stay("c", "102", "2026-12-05", "2026-12-20"), // runs past it
      ],
      "2026-12-01",
      7,
    );
    const [r101, r102] = rows;
    expect(
      r101.bars.map((b) => [b.stay.id, b.start, b.span, b.clippedStart, b.clippedEnd]),
    ).toEqual([
      ["a", 0, 1, true, false],
      ["b", 2, 1, false, false],
    ]);
    expect(r101.free).toEqual([false, true, false, true, true, true, true]);
    expect(r102.bars[0]).toMatchObject({ start: 4, span: 3, clippedEnd: true });
  });

  it("leaves out stays outside the window and computes occupancy per day", () => {
    const rows = layout(
      [room("101"), room("102"), room("103", "out_of_order")],
      [
        stay("old", "101", "2026-11-01", "2026-11-05"),
        stay("d", "102", "2026-12-01", "2026-12-02"),
      ],
      "2026-12-01",
      2,
    );
    expect(rows[0].bars).toEqual([]);
    expect(occupancyByDay(rows, 2)).toEqual([50, 0]);
  });
});

describe("dragging a stay", () => {
  const booked = stay("s", "101", "2026-12-03", "2026-12-05");

  it("turns pixels into whole days, half a column or more counting", () => {
    expect(daysMoved(0, 30)).toBe(0);
    expect(daysMoved(14, 30)).toBe(0);
    expect(daysMoved(15, 30)).toBe(1);
    expect(daysMoved(-14, 30)).toBe(0);
    expect(Object.is(daysMoved(-14, 30), -0)).toBe(false);
    expect(daysMoved(-61, 30)).toBe(-2);
    expect(daysMoved(100, 0)).toBe(0);
  });

  it("moves a stay to another room and other days together", () => {
    expect(dropChange(booked, "move", "102", 0)).toEqual({
      id: "s",
      check_in: "2026-12-03",
      check_out: "2026-12-05",
      room_id: "102",
    });
    expect(dropChange(booked, "move", "101", 29)).toEqual({
      id: "s",
      check_in: "2027-01-01",
      check_out: "2027-01-03",
      room_id: "101",
    });
    expect(dropChange(booked, "move", "101", 0)).toBeNull();
  });

  it("moves only the room of a guest in the house (the arrival has happened)", () => {
    const inHouse = { ...booked, status: "checked_in" };
    expect(dropChange(inHouse, "move", "102", 3)).toEqual({
      id: "s",
      check_in: "2026-12-03",
      check_out: "2026-12-05",
      room_id: "102",
    });
    expect(dropChange(inHouse, "move", "101", 3)).toBeNull();
    // but the departure of a guest in the house can move
    expect(dropChange(inHouse, "end", "102", 2)).toMatchObject({
      check_out: "2026-12-07",
      room_id: "101",
    });
  });

  it("drags the end to another departure, never before one night", () => {
    expect(dropChange(booked, "end", "999", -1)).toEqual({
      id: "s",
      check_in: "2026-12-03",
      check_out: "2026-12-04",
      room_id: "101",
    });
    expect(dropChange(booked, "end", "101", -5)).toMatchObject({ check_out: "2026-12-04" });
    expect(dropChange({ ...booked, check_out: "2026-12-04" }, "end", "101", -3)).toBeNull();
  });

  it("leaves stays that have left where they are", () => {
    const gone = { ...booked, status: "checked_out" };
    expect(draggable(gone)).toBe(false);
    expect(dropChange(gone, "move", "102", 1)).toBeNull();
    expect(draggable(booked)).toBe(true);
  });

  it("places the dragged stay's preview like any bar, clipped to the window", () => {
    expect(place("2026-12-03", "2026-12-05", "2026-12-01", 7)).toEqual({
      start: 2,
      span: 2,
      clippedStart: false,
      clippedEnd: false,
    });
    expect(place("2026-11-29", "2026-12-10", "2026-12-01", 7)).toEqual({
      start: 0,
      span: 7,
      clippedStart: true,
      clippedEnd: true,
    });
    expect(place("2026-12-09", "2026-12-10", "2026-12-01", 7)).toBeNull();
  });
});
