import { describe, expect, it } from "vitest";
import {
  CHOICES,
  CHOICE_FIELDS,
  FORM_FIELDS,
  LIST_FIELDS,
  TEXT_FIELDS,
  choiceLabel,
  preferenceChanges,
  preferenceField,
  preferenceLabel,
  preferenceLines,
  preferencesForm,
  splitList,
  timeOf,
  validatePreferences,
  type PreferencesForm,
} from "./preferences";
import { isMessageKey, translate } from "./i18n";
import { longDay } from "./format";

// the record as get_guest sends it back (lists as arrays, the time with seconds)
const saved: Record<string, unknown> = {
  id: "p1",
  tenant_id: "t1",
  guest_id: "g1",
  legacy_id: null,
  created_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-02T10:00:00Z",
  bed_type: "king",
  smoking: "non_smoking",
  floor_preference: "specific",
  specific_floor: 4,
  room_temperature_c: 21.5,
  housekeeping_time: null,
  wake_up_call: true,
  wake_up_time: "07:30:00",
  occasion_type: "anniversary",
  occasion_date: "2026-06-12",
  room_type: null,
  view_preference: "Sea",
  pillow_type: "",
  newspaper: null,
  preferred_language: "es",
  notes: null,
  dietary_restrictions: ["vegetarian"],
  allergies: ["nuts", "shellfish"],
  favorite_foods: [],
  favorite_drinks: [],
  special_requests: [],
  accessibility_needs: [],
};

const empty = preferencesForm(null);

function typed(fields: Partial<PreferencesForm>, over: PreferencesForm = empty): PreferencesForm {
  return { ...over, ...fields };
}

describe("the preferences form", () => {
  it("starts empty without a record", () => {
    expect(empty.bed_type).toBe("");
    expect(empty.wake_up_call).toBe(false);
    expect(empty.specific_floor).toBeNull();
    expect(empty.allergies).toBe("");
    expect(Object.keys(empty).sort()).toEqual([...FORM_FIELDS].sort());
  });

  it("is filled from the saved record, lists one item per line and the time as HH:MM", () => {
    const form = preferencesForm(saved);
    expect(form.bed_type).toBe("king");
    expect(form.smoking).toBe("non_smoking");
    expect(form.housekeeping_time).toBe("");
    expect(form.specific_floor).toBe(4);
    expect(form.room_temperature_c).toBe(21.5);
    expect(form.wake_up_call).toBe(true);
    expect(form.wake_up_time).toBe("07:30");
    expect(form.occasion_date).toBe("2026-06-12");
    expect(form.allergies).toBe("nuts\nshellfish");
    expect(form.favorite_foods).toBe("");
    expect(form.room_type).toBe("");
    expect(form.view_preference).toBe("Sea");
    // a value the server no longer offers is not pre-selected
    expect(preferencesForm({ bed_type: "waterbed" }).bed_type).toBe("");
  });

  it("sends nothing when nothing changed", () => {
    expect(preferenceChanges(empty, empty)).toEqual({});
    const before = preferencesForm(saved);
    expect(preferenceChanges({ ...before }, before)).toEqual({});
    // the same list typed differently is the same list
    expect(
      preferenceChanges(typed({ allergies: " nuts ,\nshellfish\n\n" }, before), before),
    ).toEqual({});
    // a number input's 21.5 and a typed "21,5" are the same temperature
    expect(preferenceChanges(typed({ room_temperature_c: "21,5" }, before), before)).toEqual({});
  });

  it("sends only the changed columns, emptied ones as null and lists as arrays", () => {
    const before = preferencesForm(saved);
    expect(
      preferenceChanges(
        typed(
          {
            bed_type: "twin",
            view_preference: "  ",
            allergies: "nuts\nshellfish\ngluten",
            favorite_drinks: "Rioja, sparkling water",
            room_temperature_c: null,
          },
          before,
        ),
        before,
      ),
    ).toEqual({
      bed_type: "twin",
      view_preference: null,
      allergies: ["nuts", "shellfish", "gluten"],
      favorite_drinks: ["Rioja", "sparkling water"],
      room_temperature_c: null,
    });
    expect(preferenceChanges(typed({ notes: " Quiet room " }), empty)).toEqual({
      notes: "Quiet room",
    });
    expect(preferenceChanges(typed({ specific_floor: 2 }, before), before)).toEqual({
      specific_floor: 2,
    });
  });

  it("clears the floor when the guest no longer wants a specific one", () => {
    const before = preferencesForm(saved);
    expect(preferenceChanges(typed({ floor_preference: "high" }, before), before)).toEqual({
      floor_preference: "high",
      specific_floor: null,
    });
    expect(
      preferenceChanges(typed({ floor_preference: "specific", specific_floor: "3" }), empty),
    ).toEqual({ floor_preference: "specific", specific_floor: 3 });
  });

  it("sends the wake-up call with its time, and clears the time when the call is off", () => {
    expect(preferenceChanges(typed({ wake_up_call: true, wake_up_time: "06:45" }), empty)).toEqual({
      wake_up_call: true,
      wake_up_time: "06:45",
    });
    const before = preferencesForm(saved);
    expect(preferenceChanges(typed({ wake_up_call: false }, before), before)).toEqual({
      wake_up_call: false,
      wake_up_time: null,
    });
  });
});

describe("the preferences checks", () => {
  it("pass an empty form and the saved record", () => {
    expect(validatePreferences(empty)).toEqual({});
    expect(validatePreferences(preferencesForm(saved))).toEqual({});
  });

  it("mirror the server's rules, in the desk's language", () => {
    expect(
      validatePreferences(
        typed({
          bed_type: "waterbed",
          floor_preference: "specific",
          specific_floor: null,
          room_temperature_c: 40,
          wake_up_call: true,
          wake_up_time: "",
          occasion_date: "2026-02-30",
        }),
      ),
    ).toEqual({
      bed_type: translate("en", "pref.chooseOption"),
      specific_floor: translate("en", "pref.floorNeeded"),
      room_temperature_c: translate("en", "pref.temperatureRange"),
      wake_up_time: translate("en", "pref.timeNeeded"),
      occasion_date: translate("en", "reg.badDate"),
    });
    expect(
      validatePreferences(
        typed({ floor_preference: "specific", specific_floor: 2.5, room_temperature_c: "9" }),
        "es",
      ),
    ).toEqual({
      specific_floor: translate("es", "pref.floorNeeded"),
      room_temperature_c: translate("es", "pref.temperatureRange"),
    });
    expect(validatePreferences(typed({ room_temperature_c: "10" }))).toEqual({});
    expect(validatePreferences(typed({ room_temperature_c: 35 }))).toEqual({});
    expect(validatePreferences(typed({ wake_up_call: true, wake_up_time: "25:00" }))).toEqual({
      wake_up_time: translate("en", "pref.badTime"),
    });
  });

  it("refuse a payment card number in a text", () => {
    expect(validatePreferences(typed({ notes: "card 4111 1111 1111 1111" }))).toEqual({
      notes: translate("en", "pref.cardNumber"),
    });
  });

  it("know the fields the server names in its refusals", () => {
    expect(preferenceField("specific_floor")).toBe("specific_floor");
    expect(preferenceField("allergies")).toBe("allergies");
    expect(preferenceField("preferences")).toBeNull();
    expect(preferenceField(null)).toBeNull();
  });
});

describe("lists and times", () => {
  it("split at commas and new lines, blanks dropped", () => {
    expect(splitList("nuts, shellfish\n\n gluten ")).toEqual(["nuts", "shellfish", "gluten"]);
    expect(splitList(["a ", "", 3, "b"])).toEqual(["a", "b"]);
    expect(splitList(null)).toEqual([]);
  });
  it("read a time with or without seconds", () => {
    expect(timeOf("07:30:00")).toBe("07:30");
    expect(timeOf("7:05")).toBe("07:05");
    expect(timeOf("24:00")).toBe("");
    expect(timeOf(null)).toBe("");
  });
});

describe("the preferences on the profile", () => {
  it("read as labelled lines, lists comma-separated, nothing empty or internal", () => {
    const lines = preferenceLines(saved, "en", "en-GB");
    expect(lines.map((l) => [l.label, l.value])).toEqual([
      ["Bed", "King"],
      ["Floor", "Floor 4"],
      ["View", "Sea"],
      ["Smoking", "Non-smoking"],
      ["Room temperature (°C)", "21.5 °C"],
      ["Wake-up call", "at 07:30"],
      ["Language", "es"],
      ["Diet", "vegetarian"],
      ["Allergies", "nuts, shellfish"],
      ["Occasion", `Anniversary, ${longDay("2026-06-12", "en-GB")}`],
    ]);
    const text = lines.map((l) => `${l.label} ${l.value}`).join(" | ");
    for (const raw of ["null", "p1", "t1", "g1", "07:30:00", "[", "non_smoking"])
      expect(text).not.toContain(raw);
  });

  it("speak the desk's language", () => {
    const lines = preferenceLines(saved, "es", "es");
    expect(lines[0]).toEqual({ field: "bed_type", label: "Cama", value: "King" });
    expect(lines.find((l) => l.field === "room_temperature_c")?.value).toBe("21,5 °C");
    expect(lines.find((l) => l.field === "smoking")?.value).toBe("No fumador");
  });

  it("are none for no record, or a record of defaults", () => {
    expect(preferenceLines(null, "en")).toEqual([]);
    expect(
      preferenceLines({ id: "p1", wake_up_call: false, allergies: [], notes: null }, "en"),
    ).toEqual([]);
  });

  it("have a label and every choice a name in both languages", () => {
    for (const field of [...FORM_FIELDS, ...TEXT_FIELDS, ...LIST_FIELDS]) {
      const key = `pref.${field}`;
      expect(isMessageKey(key), key).toBe(true);
      expect(preferenceLabel(field, "es")).not.toBe(field.replace(/_/g, " "));
    }
    for (const field of CHOICE_FIELDS)
      for (const value of CHOICES[field]) {
        expect(isMessageKey(`pref.${field}.${value}`), `${field}.${value}`).toBe(true);
        expect(choiceLabel(field, value, "en")).not.toContain("_");
      }
  });
});
