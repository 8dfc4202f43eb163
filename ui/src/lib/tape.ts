// The tape chart's grid: rooms down, days across, each stay a bar from its arrival column
// spanning its nights (clipped to the window).

import { addDays, nightsBetween } from "./format";
import type { RoomOffer, TapeStay } from "./types";

export interface Bar {
  stay: TapeStay;
  /** First column (0-based day in the window). */
  start: number;
  /** Columns covered (nights inside the window). */
  span: number;
  /** Started before the window / continues after it. */
  clippedStart: boolean;
  clippedEnd: boolean;
}

export interface TapeRow {
  room: RoomOffer;
  bars: Bar[];
  /** Day columns with no stay (for the "book here" cells). */
  free: boolean[];
}

export function days(start: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => addDays(start, i));
}

export function layout(rooms: RoomOffer[], stays: TapeStay[], start: string, count: number): TapeRow[] {
  const byRoom = new Map<string, TapeStay[]>();
  for (const stay of stays) {
    const list = byRoom.get(stay.room_id) ?? [];
    list.push(stay);
    byRoom.set(stay.room_id, list);
  }
  return rooms.map((room) => {
    const free = Array.from({ length: count }, () => true);
    const bars: Bar[] = [];
    for (const stay of byRoom.get(room.id) ?? []) {
      const from = nightsBetween(start, stay.check_in);
      const to = nightsBetween(start, stay.check_out);
      if (from === null || to === null) continue;
      const first = Math.max(0, from);
      const last = Math.min(count, to);
      if (last <= first) continue;
      for (let d = first; d < last; d++) free[d] = false;
      bars.push({ stay, start: first, span: last - first, clippedStart: from < 0, clippedEnd: to > count });
    }
    bars.sort((a, b) => a.start - b.start);
    return { room, bars, free };
  });
}

/** Share of room-nights sold in the window, per day. */
export function occupancyByDay(rows: TapeRow[], count: number): number[] {
  const sellable = rows.filter((r) => r.room.housekeeping_status !== "out_of_order").length;
  return Array.from({ length: count }, (_, d) => {
    if (sellable === 0) return 0;
    const sold = rows.filter((r) => !r.free[d]).length;
    return Math.round((sold * 100) / sellable);
  });
}
