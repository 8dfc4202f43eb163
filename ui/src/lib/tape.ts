// The tape chart's grid: rooms down, days across, each stay a bar from its arrival column
// spanning its nights (clipped to the window); and what a drag of a bar means (issue 18 item 9):
// dragged by its body to another room row and/or other days, or by its end to another departure.
// The availability rules stay the Rust side's (`change_reservation` refuses RoomTaken etc.): here
// only the pixels become dates and a room, so that part is tested without a screen.

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

/** Where a stay's nights fall in the window (columns), or null when none of them is in it. */
export function place(
  checkIn: string,
  checkOut: string,
  start: string,
  count: number,
): Omit<Bar, "stay"> | null {
  const from = nightsBetween(start, checkIn);
  const to = nightsBetween(start, checkOut);
  if (from === null || to === null) return null;
  const first = Math.max(0, from);
  const last = Math.min(count, to);
  if (last <= first) return null;
  return { start: first, span: last - first, clippedStart: from < 0, clippedEnd: to > count };
}

export function layout(
  rooms: RoomOffer[],
  stays: TapeStay[],
  start: string,
  count: number,
): TapeRow[] {
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
      const placed = place(stay.check_in, stay.check_out, start, count);
      if (!placed) continue;
      for (let d = placed.start; d < placed.start + placed.span; d++) free[d] = false;
      bars.push({ stay, ...placed });
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

/** A drag by the bar's body (room and/or dates move together) or by its end (the departure). */
export type DragKind = "move" | "end";

/** Whether a stay can be dragged at all: a stay that has left is history. */
export function draggable(stay: TapeStay): boolean {
  return ["pending", "confirmed", "checked_in"].includes(stay.status);
}

/**
 * Whole days a pointer moved, from the distance in pixels and a day column's width: half a
 * column or more counts as a day, so a small jitter while clicking moves nothing.
 */
export function daysMoved(dx: number, columnWidth: number): number {
  if (!(columnWidth > 0)) return 0;
  const days = Math.round(dx / columnWidth);
  return days === 0 ? 0 : days; // never -0
}

export interface StayChange {
  id: string;
  check_in: string;
  check_out: string;
  room_id: string | null;
}

/**
 * The `change_reservation` input a drop asks for, or null when it changes nothing.
 * - move: the stay goes to `roomId` and its dates shift by `days`; a guest already in the house
 *   keeps the arrival (the Rust side refuses changing it), so only the room moves.
 * - end: the departure shifts by `days`, never before the night after arrival.
 */
export function dropChange(
  stay: TapeStay,
  kind: DragKind,
  roomId: string,
  days: number,
): StayChange | null {
  if (!draggable(stay)) return null;
  let checkIn = stay.check_in;
  let checkOut = stay.check_out;
  let room = stay.room_id;
  if (kind === "move") {
    room = roomId;
    if (stay.status !== "checked_in") {
      checkIn = addDays(stay.check_in, days);
      checkOut = addDays(stay.check_out, days);
    }
  } else {
    checkOut = addDays(stay.check_out, days);
    if ((nightsBetween(checkIn, checkOut) ?? 0) < 1) checkOut = addDays(checkIn, 1);
  }
  if (room === stay.room_id && checkIn === stay.check_in && checkOut === stay.check_out)
    return null;
  return { id: stay.id, check_in: checkIn, check_out: checkOut, room_id: room };
}
