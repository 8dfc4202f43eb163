import { get } from "svelte/store";
import { describe, expect, it } from "vitest";
import {
  CATALOGUES,
  LANGUAGES,
  STORAGE_KEY,
  initialLanguage,
  isMessageKey,
  languageState,
  localeFor,
  lookup,
  translate,
  type Message,
} from "./i18n";

const placeholders = (message: Message) =>
  (typeof message === "string" ? [message] : [message.one, message.other])
    .flatMap((m) => [...m.matchAll(/\{(\w+)\}/g)].map((x) => x[1]))
    .sort();

class MemoryStorage {
  values = new Map<string, string>();
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
}

describe("the catalogue", () => {
  it("has every English key in every language, with the same placeholders", () => {
    const english = CATALOGUES.en;
    for (const { id } of LANGUAGES) {
      const other = CATALOGUES[id] as Record<string, Message>;
      const missing = Object.keys(english).filter((key) => !(key in other) || other[key] === "");
      expect(missing, `${id} lacks`).toEqual([]);
      const extra = Object.keys(other).filter((key) => !(key in english));
      expect(extra, `${id} has keys English lacks`).toEqual([]);
      for (const [key, message] of Object.entries(english)) {
        expect(placeholders(other[key]), `${id} ${key}`).toEqual(placeholders(message));
        expect(typeof other[key], `${id} ${key}: plural in one language, not in the other`).toBe(
          typeof message,
        );
      }
    }
  });
  it("fills in names and picks the plural form by count", () => {
    expect(translate("en", "today.checkedIn", { guest: "Ana", room: "101" })).toBe(
      "Ana checked in to room 101.",
    );
    expect(translate("es", "today.checkedIn", { guest: "Ana", room: "101" })).toBe(
      "Ana se alojó en la habitación 101.",
    );
    expect(translate("en", "sync.waiting", { count: 1 })).toBe("1 change waiting");
    expect(translate("en", "sync.waiting", { count: 0 })).toBe("0 changes waiting");
    expect(translate("en", "sync.waiting", { count: 2 })).toBe("2 changes waiting");
    expect(translate("es", "count.nights", { count: 1 })).toBe("1 noche");
    expect(translate("es", "count.nights", { count: 1000000 })).toBe("1000000 noches");
    // a missing parameter stays visible rather than turning into "undefined"
    expect(translate("en", "today.due")).toBe("{amount} due");
  });
  it("looks up keys made at run time, with a fallback", () => {
    expect(lookup("es", "status.dirty", () => "x")).toBe("Sucia");
    expect(lookup("es", "status.brand_new", () => "brand new")).toBe("brand new");
  });
});

describe("the laptop's language", () => {
  it("starts from the stored choice, else the system's, else English", () => {
    expect(initialLanguage("es", "en-US")).toBe("es");
    expect(initialLanguage(null, "es-MX")).toBe("es");
    expect(initialLanguage(null, "de-DE")).toBe("en");
    expect(initialLanguage("klingon", undefined)).toBe("en");
  });
  it("formats in the system's region when it speaks the language", () => {
    expect(localeFor("es", "es-MX")).toBe("es-MX");
    expect(localeFor("es", "en-GB")).toBe("es");
  });
  it("switches every message and remembers the choice", () => {
    const storage = new MemoryStorage();
    const desk = languageState(storage, "en-GB");
    expect(get(desk.t)("nav.today")).toBe("Today");
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
    expect(get(desk.locale)).toBe("en-GB");
    desk.language.set("es");
    expect(get(desk.t)("nav.today")).toBe("Hoy");
    expect(get(desk.locale)).toBe("es");
    expect(storage.getItem(STORAGE_KEY)).toBe("es");
    // the next start of the app on this laptop
    expect(get(languageState(storage, "en-GB").language)).toBe("es");
  });
  it("still works when storage refuses", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
    };
    const desk = languageState(broken, "es-ES");
    expect(get(desk.language)).toBe("es");
    desk.language.set("en");
    expect(get(desk.t)("nav.today")).toBe("Today");
  });
});

describe("the screens' names", () => {
  it("has a name in the catalogue for every screen of the keyboard map", async () => {
    const { SCREENS } = await import("./keys");
    for (const { id } of LANGUAGES)
      for (const screen of SCREENS)
        expect(isMessageKey(`nav.${screen.id}`) && translate(id, `nav.${screen.id}`)).toBeTruthy();
  });
});
