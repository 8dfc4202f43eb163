import { describe, expect, it } from "vitest";
import { days, layout, occupancyByDay } from "./tape";
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
    expect(r101.bars.map((b) => [b.stay.id, b.start, b.span, b.clippedStart, b.clippedEnd])).toEqual([
      ["a", 0, 1, true, false],
      ["b", 2, 1, false, false],
    ]);
    expect(r101.free).toEqual([false, true, false, true, true, true, true]);
    expect(r102.bars[0]).toMatchObject({ start: 4, span: 3, clippedEnd: true });
  });

  it("leaves out stays outside the window and computes occupancy per day", () => {
    const rows = layout(
      [room("101"), room("102"), room("103", "out_of_order")],
      [stay("old", "101", "2026-11-01", "2026-11-05"), stay("d", "102", "2026-12-01", "2026-12-02")],
      "2026-12-01",
      2,
    );
    expect(rows[0].bars).toEqual([]);
    expect(occupancyByDay(rows, 2)).toEqual([50, 0]);
  });
});
