// The list the Reservations screen opens on (issue 18 item 9), instead of an empty search box:
// today's arrivals, the guests in house, the departures of a day, and the arrivals of the next
// 14 days, filtered by status.
//
// Why built from `get_today` rather than `search_reservations`: the search takes only a text and
// answers nothing for an empty one, while `get_today {date}` already gives a day's arrivals,
// departures and the house, from the mirror (offline too). The upcoming tab asks it for each of
// the 14 days and merges; the choice of days, the merge and the filters are here, tested.

import { addDays } from "./format";
import type { Reservation, Today } from "./types";

export type ListTab = "arrivals" | "in_house" | "departures" | "upcoming";
export const LIST_TABS: ListTab[] = ["arrivals", "in_house", "departures", "upcoming"];

/** How far the upcoming tab looks ahead, in days after the chosen date. */
export const UPCOMING_DAYS = 14;

/** The dates to ask `get_today` for: the chosen date, or the 14 days after it for upcoming. */
export function datesFor(tab: ListTab, date: string, ahead = UPCOMING_DAYS): string[] {
  if (tab === "upcoming") return Array.from({ length: ahead }, (_, i) => addDays(date, i + 1));
  return [date];
}

/** The tab's bookings out of the days' answers: each booking once, in the order a clerk works them. */
export function collect(
  tab: ListTab,
  days: Pick<Today, "arrivals" | "departures" | "in_house">[],
): Reservation[] {
  const seen = new Set<string>();
  const list: Reservation[] = [];
  for (const day of days) {
    const part =
      tab === "in_house" ? day.in_house : tab === "departures" ? day.departures : day.arrivals;
    for (const r of part) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      list.push(r);
    }
  }
  return list.sort(order(tab));
}

function order(tab: ListTab): (a: Reservation, b: Reservation) => number {
  const byName = (a: Reservation, b: Reservation) => a.guest_name.localeCompare(b.guest_name);
  const byRoom = (a: Reservation, b: Reservation) =>
    (a.room_number ?? "").localeCompare(b.room_number ?? "", undefined, { numeric: true }) ||
    byName(a, b);
  if (tab === "in_house") return byRoom;
  if (tab === "upcoming") return (a, b) => a.check_in.localeCompare(b.check_in) || byName(a, b);
  // arrivals and departures: still to do first (not yet in / still in), then by name
  const done = tab === "arrivals" ? "checked_in" : "checked_out";
  return (a, b) => Number(a.status === done) - Number(b.status === done) || byName(a, b);
}

/** The statuses found in a list, in the order of a stay's life, for the status filter. */
export function statusesIn(list: Reservation[]): string[] {
  const lifecycle = ["pending", "confirmed", "checked_in", "checked_out", "no_show", "cancelled"];
  const found = new Set(list.map((r) => r.status));
  return [
    ...lifecycle.filter((s) => found.has(s)),
    ...[...found].filter((s) => !lifecycle.includes(s)).sort(),
  ];
}

/** The list with only one status ("" keeps all). */
export function withStatus(list: Reservation[], status: string): Reservation[] {
  return status === "" ? list : list.filter((r) => r.status === status);
}
