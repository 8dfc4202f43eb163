import { describe, expect, it } from "vitest";
import {
  balanceOf,
  CARD_NUMBER_MESSAGE,
  checkOutGuard,
  choiceLabel,
  containsCardNumber,
  folioRows,
  recomputeBalances,
  remainingOfCharge,
  validateCharge,
  validatePayment,
  validateReason,
  validateSplit,
} from "./folio";
import type { ChargeItem, FolioEntry, StayFolio } from "./types";

let next = 0;
function entry(
  fields: Partial<FolioEntry> & Pick<FolioEntry, "kind" | "amount_minor">,
): FolioEntry {
  next++;
  return {
    id: `e${next}`,
    folio_id: "g",
    currency: "EUR",
    business_date: "2026-12-01",
    description: null,
    payment_method: null,
    external_reference: null,
    voids_entry_id: null,
    charge_type: null,
    quantity: 1,
    applies_to_entry_id: null,
    tax_rate_bp: null,
    ...fields,
  };
}

// A stay as get_folio sends it, balances as the server computed them.
const room = entry({
  id: "room",
  kind: "charge",
  amount_minor: 10000,
  charge_type: "room",
  description: "Room 101",
});
const vat = entry({
  id: "vat",
  kind: "tax",
  amount_minor: 1000,
  charge_type: "vat",
  tax_rate_bp: 1000,
});
const minibar = entry({
  id: "minibar",
  kind: "charge",
  amount_minor: 450,
  charge_type: "minibar",
  description: "Minibar",
});
const minibarVoid = entry({
  id: "minibar-void",
  kind: "charge",
  amount_minor: 450,
  voids_entry_id: "minibar",
  description: "posted twice",
});
const goodwill = entry({
  id: "goodwill",
  kind: "adjustment",
  amount_minor: -500,
  description: "Goodwill",
});
const card = entry({
  id: "card",
  kind: "payment",
  amount_minor: 5000,
  payment_method: "card",
  external_reference: "TRX-1",
});
const cash = entry({ id: "cash", kind: "payment", amount_minor: 2000, payment_method: "cash" });
const cashVoid = entry({
  id: "cash-void",
  kind: "payment",
  amount_minor: 2000,
  payment_method: "cash",
  voids_entry_id: "cash",
});
const refund = entry({ id: "refund", kind: "refund", amount_minor: 300, payment_method: "cash" });
const dinner = entry({
  id: "dinner",
  folio_id: "c",
  kind: "charge",
  amount_minor: 3000,
  charge_type: "food",
  description: "Dinner",
});
const wire = entry({
  id: "wire",
  folio_id: "c",
  kind: "payment",
  amount_minor: 1000,
  payment_method: "transfer",
});
const override = entry({
  id: "override",
  kind: "override",
  amount_minor: 5800,
  description: "Known corporate guest",
});

const stay: StayFolio = {
  currency: "EUR",
  folios: [
    {
      id: "g",
      kind: "guest",
      name: null,
      status: "open",
      currency: "EUR",
      balance: { charged_minor: 10500, paid_minor: 4700, balance_minor: 5800 },
    },
    {
      id: "c",
      kind: "company",
      name: "ACME",
      status: "open",
      currency: "EUR",
      balance: { charged_minor: 3000, paid_minor: 1000, balance_minor: 2000 },
    },
    {
      id: "x",
      kind: "company",
      name: "Closed Ltd",
      status: "closed",
      currency: "EUR",
      balance: { charged_minor: 0, paid_minor: 0, balance_minor: 0 },
    },
  ],
  entries: [
    room,
    vat,
    minibar,
    minibarVoid,
    goodwill,
    card,
    cash,
    cashVoid,
    refund,
    dinner,
    wire,
    override,
  ],
  balance: { charged_minor: 13500, paid_minor: 5700, balance_minor: 7800 },
};

describe("balances from entries", () => {
  it("equal the server's per folio and for the stay (voids, adjustments, refunds, taxes, overrides)", () => {
    const mine = recomputeBalances(stay);
    for (const f of stay.folios) expect(mine.folios[f.id]).toEqual(f.balance);
    expect(mine.stay).toEqual(stay.balance);
  });
  it("counts a voided entry and its void for nothing, and an override for nothing", () => {
    expect(balanceOf([room, minibar, minibarVoid]).balance_minor).toBe(10000);
    expect(balanceOf([room, cash, cashVoid]).paid_minor).toBe(0);
    expect(balanceOf([room, override]).balance_minor).toBe(10000);
    // a void seen without its voided entry still counts for nothing
    expect(balanceOf([cashVoid]).paid_minor).toBe(0);
  });
  it("adds refunds back and takes adjustments with their sign", () => {
    expect(balanceOf([room, card, refund])).toEqual({
      charged_minor: 10000,
      paid_minor: 4700,
      balance_minor: 5300,
    });
    expect(balanceOf([room, goodwill]).charged_minor).toBe(9500);
  });
});

describe("folio rows", () => {
  it("strike voided entries and voids, and offer void only where it makes sense", () => {
    const rows = folioRows(stay, "g");
    expect(rows.map((r) => r.entry.id)).toEqual([
      "room",
      "vat",
      "minibar",
      "minibar-void",
      "goodwill",
      "card",
      "cash",
      "cash-void",
      "refund",
      "override",
    ]);
    const by = Object.fromEntries(rows.map((r) => [r.entry.id, r]));
    expect(by.minibar.voided).toBe(true);
    expect(by["minibar-void"].voided).toBe(true);
    expect(by["minibar-void"].isVoid).toBe(true);
    expect(by.room.voided).toBe(false);
    expect(rows.filter((r) => r.canVoid).map((r) => r.entry.id)).toEqual([
      "room",
      "vat",
      "goodwill",
      "card",
      "refund",
    ]);
    expect(by.card.signed_minor).toBe(-5000);
    expect(by.refund.signed_minor).toBe(300);
    expect(by.override.signed_minor).toBe(0);
    expect(by.override.label).toContain("Known corporate guest");
    expect(by.card.label).toContain("TRX-1");
    expect(by.vat.label).toContain("10%");
  });
  it("keep to their folio", () => {
    expect(folioRows(stay, "c").map((r) => r.entry.id)).toEqual(["dinner", "wire"]);
    expect(folioRows(stay, "x")).toEqual([]);
  });
});

describe("split to another folio", () => {
  it("moves a positive part of a charge that still counts", () => {
    expect(remainingOfCharge(room, stay.entries)).toBe(10000);
    expect(remainingOfCharge(minibar, stay.entries)).toBe(0);
    expect(remainingOfCharge(card, stay.entries)).toBe(0);
    expect(validateSplit(stay, { entry_id: "room", amount: "40", to_folio_id: "c" })).toEqual({
      ok: true,
      value: { entry_id: "room", amount_minor: 4000, to_folio_id: "c" },
    });
    expect(validateSplit(stay, { entry_id: "room", amount: "100.00", to_folio_id: "c" }).ok).toBe(
      true,
    );
  });
  it("refuses zero, more than the charge, the same folio, a closed one, a voided charge", () => {
    const errors = (draft: { entry_id: string; amount: string; to_folio_id: string }) => {
      const checked = validateSplit(stay, draft);
      return checked.ok ? {} : checked.errors;
    };
    expect(errors({ entry_id: "room", amount: "0", to_folio_id: "c" })).toHaveProperty("amount");
    expect(errors({ entry_id: "room", amount: "100.01", to_folio_id: "c" }).amount).toMatch(
      /100[.,]00/,
    );
    expect(errors({ entry_id: "room", amount: "10", to_folio_id: "g" })).toHaveProperty(
      "to_folio_id",
    );
    expect(errors({ entry_id: "room", amount: "10", to_folio_id: "x" }).to_folio_id).toMatch(
      /closed/,
    );
    expect(errors({ entry_id: "room", amount: "10", to_folio_id: "" })).toHaveProperty(
      "to_folio_id",
    );
    expect(errors({ entry_id: "minibar", amount: "1", to_folio_id: "c" })).toHaveProperty(
      "entry_id",
    );
  });
});

describe("payment and refund forms", () => {
  it("accept an amount, a method and a receipt reference", () => {
    expect(
      validatePayment({ amount: "58", method: "card", reference: " TRX-2026-000123 " }, "EUR"),
    ).toEqual({
      ok: true,
      value: { amount_minor: 5800, method: "card", reference: "TRX-2026-000123" },
    });
    expect(validatePayment({ amount: "12.345", method: "cash", reference: "" }, "BHD")).toEqual({
      ok: true,
      value: { amount_minor: 12345, method: "cash", reference: null },
    });
  });
  it("refuse a card number in the reference, with a message the clerk reads", () => {
    for (const reference of [
      "4111111111111111",
      "paid 4111 1111 1111 1111",
      "5500-0000-0000-0004",
      "3782 822463 10005",
    ]) {
      const checked = validatePayment({ amount: "10", method: "card", reference }, "EUR");
      expect(checked.ok ? null : checked.errors.reference).toBe(CARD_NUMBER_MESSAGE);
    }
  });
  it("let references that only look long pass", () => {
    for (const text of [
      "4111111111111112",
      "411111111111",
      "41111111111111111111111",
      "Room 101 - 2 nights",
      "4111 1111  1111 1111",
    ])
      expect(containsCardNumber(text), text).toBe(false);
  });
  it("refuse bad amounts and methods, and a refund above what was paid", () => {
    const fails = (checked: ReturnType<typeof validatePayment>) =>
      checked.ok ? {} : checked.errors;
    expect(
      fails(validatePayment({ amount: "0", method: "cash", reference: "" }, "EUR")),
    ).toHaveProperty("amount");
    expect(
      fails(validatePayment({ amount: "10.5", method: "cash", reference: "" }, "JPY")),
    ).toHaveProperty("amount");
    expect(
      fails(validatePayment({ amount: "10", method: "cheque", reference: "" }, "EUR")),
    ).toHaveProperty("method");
    expect(
      fails(
        validatePayment({ amount: "47.01", method: "cash", reference: "" }, "EUR", "refund", 4700),
      ).amount,
    ).toMatch(/47[.,]00/);
    expect(
      validatePayment({ amount: "47", method: "cash", reference: "" }, "EUR", "refund", 4700).ok,
    ).toBe(true);
    expect(
      fails(validatePayment({ amount: "1", method: "cash", reference: "" }, "EUR", "refund", 0))
        .amount,
    ).toMatch(/Nothing was paid/);
  });
});

describe("posting an extra", () => {
  const items: ChargeItem[] = [
    { id: "beer", name: "Beer", charge_type: "beverage", price_minor: 450, currency: "EUR" },
    { id: "sake", name: "Sake", charge_type: "beverage", price_minor: 800, currency: "JPY" },
  ];
  it("takes an item's name, price and type, times the quantity", () => {
    expect(
      validateCharge(
        { item_id: "beer", quantity: "3", description: "", price: "", charge_type: "" },
        items,
        "EUR",
      ),
    ).toEqual({
      ok: true,
      value: {
        charge_item_id: "beer",
        description: "Beer",
        unit_price_minor: 450,
        quantity: 3,
        charge_type: "beverage",
      },
    });
  });
  it("takes a free description, price and type", () => {
    expect(
      validateCharge(
        {
          item_id: "",
          quantity: "1",
          description: "Late check-out",
          price: "25",
          charge_type: "other",
        },
        items,
        "EUR",
      ),
    ).toEqual({
      ok: true,
      value: {
        charge_item_id: null,
        description: "Late check-out",
        unit_price_minor: 2500,
        quantity: 1,
        charge_type: "other",
      },
    });
  });
  it("refuses a missing description or price, a bad quantity, a foreign-currency item, a card number", () => {
    const fails = (checked: ReturnType<typeof validateCharge>) =>
      checked.ok ? {} : checked.errors;
    const free = {
      item_id: "",
      quantity: "1",
      description: "Taxi",
      price: "30",
      charge_type: "other",
    };
    expect(fails(validateCharge({ ...free, description: " " }, items, "EUR"))).toHaveProperty(
      "description",
    );
    expect(fails(validateCharge({ ...free, price: "" }, items, "EUR"))).toHaveProperty("price");
    expect(fails(validateCharge({ ...free, charge_type: "" }, items, "EUR"))).toHaveProperty(
      "charge_type",
    );
    expect(fails(validateCharge({ ...free, quantity: "0" }, items, "EUR"))).toHaveProperty(
      "quantity",
    );
    expect(fails(validateCharge({ ...free, quantity: "1.5" }, items, "EUR"))).toHaveProperty(
      "quantity",
    );
    expect(
      fails(validateCharge({ ...free, description: "card 4111111111111111" }, items, "EUR"))
        .description,
    ).toBe(CARD_NUMBER_MESSAGE);
    expect(fails(validateCharge({ ...free, item_id: "sake" }, items, "EUR")).item_id).toMatch(
      /JPY/,
    );
  });
});

describe("labels", () => {
  it("name methods and charge types for the forms", () => {
    expect(choiceLabel("card")).toBe("Card");
    expect(choiceLabel("no_show")).toBe("No-show fee");
    expect(choiceLabel("city_tax")).toBe("City tax");
    expect(choiceLabel("spa_treatment")).toBe("Spa treatment");
    expect(choiceLabel("card", "es")).toBe("Tarjeta");
  });
});

describe("check-out", () => {
  it("lets a settled stay go", () => {
    expect(checkOutGuard(0, "EUR")).toEqual({ ok: true, needsOverride: false, message: null });
  });
  it("asks for payment or a manager's reason when the guest owes, in the stay's currency", () => {
    const guard = checkOutGuard(5800, "EUR");
    expect(guard.ok).toBe(false);
    expect(guard.needsOverride).toBe(true);
    expect(guard.message).toMatch(/owes/);
    expect(guard.message).toMatch(/58[.,]00/);
    expect(checkOutGuard(1500, "JPY").message).toMatch(/1[,. \u00a0\u202f]?500/);
    expect(checkOutGuard(1500, "JPY").message).not.toMatch(/15[.,]00/);
  });
  it("asks for a refund when the stay is in credit", () => {
    const guard = checkOutGuard(-1234, "BHD");
    expect(guard.needsOverride).toBe(true);
    expect(guard.message).toMatch(/credit/);
    expect(guard.message).toMatch(/1[.,]234/);
  });
  it("wants a real reason for an override", () => {
    expect(validateReason("  ")).not.toBeNull();
    expect(validateReason("4111 1111 1111 1111")).toBe(CARD_NUMBER_MESSAGE);
    expect(validateReason("ok", "es")).toBe("Escriba el motivo (unas palabras).");
    expect(checkOutGuard(1050, "EUR", "es").message).toMatch(/^El huésped aún debe 10,50\s€\./);
    expect(validateReason("Company pays by invoice")).toBeNull();
  });
});
