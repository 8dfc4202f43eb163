// The setup form's room list: "101-110, 201, 305A" → the room numbers, with a clear message
// for what cannot be read (in the desk's language, English unless given).

import { translator, type Language } from "./i18n";

export type RoomList = { ok: true; rooms: string[] } | { ok: false; message: string };

const MAX_RANGE = 500;

export function parseRoomList(text: string, language: Language = "en"): RoomList {
  const t = translator(language);
  const rooms: string[] = [];
  const seen = new Set<string>();
  const parts = text
    .split(/[,;\s]+/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) return { ok: false, message: t("rooms.listThem") };
  for (const part of parts) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    const numbers: string[] = [];
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) return { ok: false, message: t("rooms.backwards", { part }) };
      if (to - from + 1 > MAX_RANGE)
        return { ok: false, message: t("rooms.tooMany", { part, max: MAX_RANGE }) };
      const width = range[1].length;
      for (let n = from; n <= to; n++) numbers.push(String(n).padStart(width, "0"));
    } else if (/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(part)) {
      numbers.push(part);
    } else {
      return { ok: false, message: t("rooms.notANumber", { part }) };
    }
    for (const number of numbers) {
      if (seen.has(number)) return { ok: false, message: t("rooms.twice", { number }) };
      seen.add(number);
      rooms.push(number);
    }
  }
  return { ok: true, rooms };
}
