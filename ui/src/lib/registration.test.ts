import { describe, expect, it } from "vitest";
import {
  DOCUMENT_KINDS,
  formField,
  formFrom,
  maskNumber,
  parseRetentionDays,
  registrationInput,
  setsRetention,
  validateRegistration,
  type RegistrationForm,
} from "./registration";
import { isMessageKey, translate } from "./i18n";
import type { Registration } from "./types";

const nothing = formFrom(null);

const onFile: Registration = {
  reservation_id: "r1",
  guest_id: "g1",
  date_of_birth: "1980-02-01",
  nationality: "PT",
  document: {
    id: "d1",
    kind: "national_id",
    number: "12345678 9ZZ1",
    issuing_country: "PT",
    expires_on: "2030-05-01",
    reservation_id: null,
    kept_until: "2027-12-06",
  },
};

function typed(fields: Partial<RegistrationForm>, over = nothing): RegistrationForm {
  return { ...over, ...fields };
}

describe("the registration form", () => {
  it("starts empty with a passport, or with what is on file", () => {
    expect(nothing).toEqual({
      date_of_birth: "",
      nationality: "",
      document_kind: "passport",
      document_number: "",
      document_country: "",
      document_expires_on: "",
    });
    expect(formFrom(onFile)).toEqual({
      date_of_birth: "1980-02-01",
      nationality: "PT",
      document_kind: "national_id",
      document_number: "12345678 9ZZ1",
      document_country: "PT",
      document_expires_on: "2030-05-01",
    });
  });

  it("sends nothing when nothing was typed or changed", () => {
    expect(registrationInput(nothing, nothing)).toBeNull();
    const before = formFrom(onFile);
    expect(registrationInput({ ...before }, before)).toBeNull();
    // only the kind chosen, no number: no document to send
    expect(registrationInput(typed({ document_kind: "other" }), nothing)).toBeNull();
    // a field emptied keeps what is on file
    expect(registrationInput(typed({ nationality: " " }, before), before)).toBeNull();
  });

  it("omits empty fields and upper-cases the countries", () => {
    expect(registrationInput(typed({ nationality: " pt " }), nothing)).toEqual({
      date_of_birth: null,
      nationality: "PT",
      document: null,
    });
    expect(
      registrationInput(
        typed({
          date_of_birth: "1990-07-14",
          document_number: "  X12  345 ",
          document_country: "de",
        }),
        nothing,
      ),
    ).toEqual({
      date_of_birth: "1990-07-14",
      nationality: null,
      document: { kind: "passport", number: "X12 345", issuing_country: "DE", expires_on: null },
    });
  });

  it("sends only what changed from what is on file, and the document whole", () => {
    const before = formFrom(onFile);
    expect(registrationInput(typed({ nationality: "pt" }, before), before)).toBeNull();
    expect(registrationInput(typed({ nationality: "es" }, before), before)).toEqual({
      date_of_birth: null,
      nationality: "ES",
      document: null,
    });
    expect(registrationInput(typed({ document_expires_on: "2031-01-01" }, before), before)).toEqual(
      {
        date_of_birth: null,
        nationality: null,
        document: {
          kind: "national_id",
          number: "12345678 9ZZ1",
          issuing_country: "PT",
          expires_on: "2031-01-01",
        },
      },
    );
  });

  it("checks dates, countries and the number before sending", () => {
    expect(validateRegistration(nothing, nothing)).toEqual({});
    expect(
      validateRegistration(typed({ date_of_birth: "1980-02-31", nationality: "PRT" }), nothing),
    ).toEqual({
      date_of_birth: translate("en", "reg.badDate"),
      nationality: "Two letters, such as FR.",
    });
    // the document's own fields are checked once it has a number
    expect(
      validateRegistration(
        typed({ document_number: "X1", document_country: "1", document_expires_on: "soon" }),
        nothing,
      ),
    ).toEqual({
      document_country: "Two letters, such as FR.",
      document_expires_on: translate("en", "reg.badDate"),
    });
    expect(validateRegistration(typed({ document_country: "PT" }), nothing)).toEqual({
      document_number: translate("en", "reg.numberNeeded"),
    });
    expect(validateRegistration(typed({ document_number: "x".repeat(41) }), nothing)).toEqual({
      document_number: translate("en", "reg.numberTooLong"),
    });
    expect(
      validateRegistration(typed({ document_number: "X1", document_kind: "visa" }), nothing),
    ).toEqual({ document_kind: translate("en", "reg.chooseKind") });
  });

  it("refuses a payment card number typed as the document's number", () => {
    expect(
      validateRegistration(typed({ document_number: "4111 1111 1111 1111" }), nothing, "es"),
    ).toEqual({ document_number: translate("es", "reg.cardNumber") });
    expect(validateRegistration(typed({ document_number: "L01X00T47" }), nothing)).toEqual({});
  });

  it("knows the fields the Rust side names in its refusals", () => {
    expect(formField("document number")).toBe("document_number");
    expect(formField("nationality")).toBe("nationality");
    expect(formField("document_expires_on")).toBe("document_expires_on");
    expect(formField("document")).toBeNull();
    expect(formField("reservation_id")).toBeNull();
    expect(formField(undefined)).toBeNull();
  });

  it("offers the kinds the backend records, each with a name in both languages", () => {
    expect([...DOCUMENT_KINDS]).toEqual([
      "passport",
      "national_id",
      "driving_licence",
      "residence_permit",
      "other",
    ]);
    for (const kind of DOCUMENT_KINDS) {
      const key = `doc.${kind}`;
      expect(isMessageKey(key), key).toBe(true);
      if (isMessageKey(key)) expect(translate("es", key)).not.toBe(translate("en", key));
    }
  });
});

describe("a document number on screen", () => {
  it("keeps only the last four characters", () => {
    expect(maskNumber("X1234567")).toBe("••••4567");
    expect(maskNumber("12345678 9ZZ1")).toBe("••••••••9ZZ1");
    expect(maskNumber("12345678 9ZZ1")).not.toContain("5678");
    expect(maskNumber("AB12")).toBe("••••");
    expect(maskNumber("")).toBe("");
  });
});

describe("how long documents are kept", () => {
  it("takes a whole number of days from 1 to 3650", () => {
    expect(parseRetentionDays(" 90 ")).toBe(90);
    expect(parseRetentionDays("1")).toBe(1);
    expect(parseRetentionDays("3650")).toBe(3650);
    expect(parseRetentionDays("0")).toBeNull();
    expect(parseRetentionDays("3651")).toBeNull();
    expect(parseRetentionDays("-5")).toBeNull();
    expect(parseRetentionDays("7.5")).toBeNull();
    expect(parseRetentionDays("")).toBeNull();
  });
  it("is set by owners and managers only", () => {
    expect(setsRetention("owner")).toBe(true);
    expect(setsRetention("manager")).toBe(true);
    expect(setsRetention("front_desk")).toBe(false);
    expect(setsRetention("housekeeping")).toBe(false);
  });
});
