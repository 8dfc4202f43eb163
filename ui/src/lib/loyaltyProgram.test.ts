import { describe, expect, it } from "vitest";
import {
  blankProgram,
  blankTier,
  checkTiers,
  managesPrograms,
  programField,
  programForm,
  programInput,
  pointWorth,
  splitBenefits,
  tierInputs,
  validateProgram,
  type ProgramForm,
  type TierRow,
} from "./loyaltyProgram";
import { translate } from "./i18n";
import type { Program } from "./types";

const program: Program = {
  id: "p1",
  name: "Friends of the house",
  description: null,
  enabled: true,
  tiers: [
    { name: "Silver", required_points: 0, multiplier: 1, benefits: [] },
    {
      name: "Gold",
      required_points: 5000,
      multiplier: 1.5,
      benefits: ["Late check-out", "Welcome drink"],
    },
  ],
  points_per_currency_unit: 1,
  first_stay_bonus_points: 500,
  birthday_bonus_points: 200,
  point_value_cents: 0.5,
  minimum_redemption_points: 1000,
  points_expiry_days: null,
  currency: "EUR",
  members: 12,
};

function typed(fields: Partial<ProgramForm>, over: ProgramForm = programForm(program)) {
  return { ...over, ...fields };
}
const row = (fields: Partial<TierRow>): TierRow => ({
  name: "",
  required_points: null,
  multiplier: 1,
  benefits: "",
  ...fields,
});

describe("a program as a form", () => {
  it("holds its rules, an empty expiry, and benefits one per line", () => {
    const form = programForm(program);
    expect(form).toEqual({
      name: "Friends of the house",
      description: "",
      enabled: true,
      points_per_currency_unit: 1,
      first_stay_bonus_points: 500,
      birthday_bonus_points: 200,
      point_value_cents: 0.5,
      minimum_redemption_points: 1000,
      points_expiry_days: null,
      tiers: [
        { name: "Silver", required_points: 0, multiplier: 1, benefits: "" },
        {
          name: "Gold",
          required_points: 5000,
          multiplier: 1.5,
          benefits: "Late check-out\nWelcome drink",
        },
      ],
    });
  });

  it("goes back as the same ProgramInput when nothing was changed", () => {
    expect(programInput(programForm(program))).toEqual({
      ok: true,
      value: {
        name: program.name,
        description: null,
        enabled: true,
        points_per_currency_unit: 1,
        first_stay_bonus_points: 500,
        birthday_bonus_points: 200,
        point_value_cents: 0.5,
        minimum_redemption_points: 1000,
        points_expiry_days: null,
        tiers: program.tiers,
      },
    });
  });

  it("parses typed numbers, an empty expiry as never, an empty description as null", () => {
    const answer = programInput(
      typed({
        name: "  Club  ",
        description: "  ",
        points_per_currency_unit: "2,5",
        first_stay_bonus_points: "",
        birthday_bonus_points: "100",
        point_value_cents: "1",
        minimum_redemption_points: null,
        points_expiry_days: "  ",
        tiers: [],
      }),
    );
    expect(answer).toEqual({
      ok: true,
      value: {
        name: "Club",
        description: null,
        enabled: true,
        points_per_currency_unit: 2.5,
        first_stay_bonus_points: 0,
        birthday_bonus_points: 100,
        point_value_cents: 1,
        minimum_redemption_points: 0,
        points_expiry_days: null,
        tiers: [],
      },
    });
    const expiring = programInput(typed({ points_expiry_days: "365" }));
    expect(expiring.ok && expiring.value.points_expiry_days).toBe(365);
  });

  it("starts a new program enabled, with sensible rules and no tiers", () => {
    const answer = programInput({ ...blankProgram(), name: "Club" });
    expect(answer).toEqual({
      ok: true,
      value: {
        name: "Club",
        description: null,
        enabled: true,
        points_per_currency_unit: 1,
        first_stay_bonus_points: 0,
        birthday_bonus_points: 0,
        point_value_cents: 1,
        minimum_redemption_points: 0,
        points_expiry_days: null,
        tiers: [],
      },
    });
  });
});

describe("tier rows", () => {
  it("are sent trimmed, empty rows left out, benefits split by line", () => {
    expect(
      tierInputs([
        row({ name: " Bronze ", required_points: "0", multiplier: "1", benefits: "" }),
        row({}),
        row({
          name: "Gold",
          required_points: 5000,
          multiplier: "1,5",
          benefits: " Late check-out \n\n Upgrade, when free ",
        }),
      ]),
    ).toEqual([
      { name: "Bronze", required_points: 0, multiplier: 1, benefits: [] },
      {
        name: "Gold",
        required_points: 5000,
        multiplier: 1.5,
        benefits: ["Late check-out", "Upgrade, when free"],
      },
    ]);
    expect(splitBenefits("a\n b \n\n")).toEqual(["a", "b"]);
  });

  it("are added asking for more points than the last", () => {
    expect(blankTier()).toEqual({ name: "", required_points: 0, multiplier: 1, benefits: "" });
    expect(blankTier(row({ required_points: 5000 })).required_points).toBe(6000);
    expect(blankTier(row({ required_points: null })).required_points).toBeNull();
  });

  it("must climb, be named once each, and multiply by 1 to 10, as the server checks", () => {
    expect(checkTiers(programForm(program).tiers)).toBeNull();
    expect(
      checkTiers([row({ name: "Silver", required_points: 0 }), row({ required_points: 10 })]),
    ).toEqual({ row: 1, message: translate("en", "program.tierName") });
    expect(
      checkTiers([
        row({ name: "Silver", required_points: 0 }),
        row({ name: "silver", required_points: 10 }),
      ]),
    ).toEqual({ row: 1, message: translate("en", "program.tierTwice", { name: "silver" }) });
    expect(
      checkTiers([
        row({ name: "Silver", required_points: 5000 }),
        row({ name: "Gold", required_points: 5000 }),
      ]),
    ).toEqual({ row: 1, message: translate("en", "program.tiersClimb", { name: "Gold" }) });
    expect(
      checkTiers(
        [
          row({ name: "Silver", required_points: 5000 }),
          row({ name: "Gold", required_points: 1000 }),
        ],
        "es",
      ),
    ).toEqual({ row: 1, message: translate("es", "program.tiersClimb", { name: "Gold" }) });
    expect(checkTiers([row({ name: "Gold", required_points: 0, multiplier: 11 })])).toEqual({
      row: 0,
      message: translate("en", "program.multiplierRange", { name: "Gold" }),
    });
    expect(checkTiers([row({ name: "Gold", required_points: 0, multiplier: 0.5 })])?.row).toBe(0);
    expect(checkTiers([row({ name: "Gold", required_points: "1.5" })])).toEqual({
      row: 0,
      message: translate("en", "program.tierPoints", { name: "Gold" }),
    });
    expect(checkTiers([row({ name: "Gold", required_points: -1 })])?.row).toBe(0);
    // an empty row between two is skipped, not compared
    expect(
      checkTiers([
        row({ name: "Silver", required_points: 0 }),
        row({}),
        row({ name: "Gold", required_points: 10, multiplier: 10 }),
      ]),
    ).toBeNull();
  });
});

describe("the program checks", () => {
  it("mirror the server's, each at its field", () => {
    expect(validateProgram(programForm(program))).toEqual({});
    expect(
      validateProgram(
        typed({
          name: " ",
          points_per_currency_unit: 1001,
          point_value_cents: "",
          first_stay_bonus_points: -5,
          birthday_bonus_points: "2.5",
          minimum_redemption_points: "lots",
          points_expiry_days: 0,
        }),
      ),
    ).toEqual({
      name: translate("en", "program.nameNeeded"),
      points_per_currency_unit: translate("en", "program.perUnitRange"),
      point_value_cents: translate("en", "program.pointValueRange"),
      first_stay_bonus_points: translate("en", "program.wholePoints"),
      birthday_bonus_points: translate("en", "program.wholePoints"),
      minimum_redemption_points: translate("en", "program.wholePoints"),
      points_expiry_days: translate("en", "program.expiryWhole"),
    });
  });

  it("put a tier's problem on the table and on its row, and send nothing", () => {
    const form = typed({
      tiers: [
        row({ name: "Gold", required_points: 100 }),
        row({ name: "Silver", required_points: 0 }),
      ],
    });
    const message = translate("en", "program.tiersClimb", { name: "Silver" });
    expect(validateProgram(form)).toEqual({ tiers: message, "tier.1": message });
    expect(programInput(form)).toEqual({
      ok: false,
      errors: { tiers: message, "tier.1": message },
    });
  });

  it("know the fields the server names in its refusals", () => {
    expect(programField("points_expiry_days")).toBe("points_expiry_days");
    expect(programField("tiers")).toBe("tiers");
    expect(programField("id")).toBeNull();
    expect(programField(undefined)).toBeNull();
  });
});

describe("who sets programs up", () => {
  it("is owners and managers only", () => {
    expect(managesPrograms("owner")).toBe(true);
    expect(managesPrograms("manager")).toBe(true);
    expect(managesPrograms("front_desk")).toBe(false);
    expect(managesPrograms("housekeeping")).toBe(false);
    expect(managesPrograms(null)).toBe(false);
  });
});

describe("a point's worth", () => {
  it("is shown in the currency, fractions of a cent kept", () => {
    expect(pointWorth(1, "EUR", "en")).toBe("€0.01");
    expect(pointWorth(0.5, "EUR", "en")).toBe("€0.005");
    expect(pointWorth(150, "USD", "en-US")).toBe("$1.50");
    expect(pointWorth(1, "??", "en")).toBe("0.01 ??");
  });
});
