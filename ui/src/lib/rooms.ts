// The setup form's room list: "101-110, 201, 305A" → the room numbers, with a clear message
// for what cannot be read.

export type RoomList = { ok: true; rooms: string[] } | { ok: false; message: string };

const MAX_RANGE = 500;

export function parseRoomList(text: string): RoomList {
  const rooms: string[] = [];
  const seen = new Set<string>();
  const parts = text
    .split(/[,;\s]+/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) return { ok: false, message: "List the rooms, for example 101-110." };
  for (const part of parts) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    const numbers: string[] = [];
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) return { ok: false, message: `${part}: the range goes backwards.` };
      if (to - from + 1 > MAX_RANGE) return { ok: false, message: `${part}: more than ${MAX_RANGE} rooms.` };
      const width = range[1].length;
      for (let n = from; n <= to; n++) numbers.push(String(n).padStart(width, "0"));
    } else if (/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(part)) {
      numbers.push(part);
    } else {
      return { ok: false, message: `${part} is not a room number.` };
    }
    for (const number of numbers) {
      if (seen.has(number)) return { ok: false, message: `Room ${number} is listed twice.` };
      seen.add(number);
      rooms.push(number);
    }
  }
  return { ok: true, rooms };
}
