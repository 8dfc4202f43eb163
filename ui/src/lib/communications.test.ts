import { describe, expect, it } from "vitest";
import {
  KINDS,
  blankCommunication,
  communicationEntry,
  communicationField,
  communicationLine,
  communicationSentence,
  communicationStatus,
  entrySentence,
  hasDirection,
  kindLabel,
  validateCommunication,
  type CommunicationForm,
} from "./communications";
import { dateOf } from "./format";
import { isMessageKey, translate } from "./i18n";
import type { Communication } from "./types";

function typed(fields: Partial<CommunicationForm>): CommunicationForm {
  return { ...blankCommunication(), ...fields };
}

function logged(fields: Partial<Communication>): Communication {
  return {
    id: "c1",
    kind: "phone",
    direction: "inbound",
    subject: null,
    status: "sent",
    created_at: "2026-11-25T09:30:00Z",
    ...fields,
  };
}

describe("logging a communication", () => {
  it("starts as a call from the guest", () => {
    expect(blankCommunication()).toEqual({
      kind: "call",
      inbound: true,
      subject: "",
      message: "",
    });
  });

  it("sends trimmed texts, an empty subject as null", () => {
    expect(
      communicationEntry(
        typed({ kind: "email", inbound: false, subject: "  ", message: " Sent the invoice. " }),
      ),
    ).toEqual({ kind: "email", inbound: false, subject: null, message: "Sent the invoice." });
    expect(
      communicationEntry(
        typed({ kind: "call", subject: " Late arrival ", message: "Arrives 23:00" }),
      ),
    ).toEqual({ kind: "call", inbound: true, subject: "Late arrival", message: "Arrives 23:00" });
  });

  it("asks for a direction for calls and e-mails only; a note is always inbound", () => {
    expect(KINDS.filter(hasDirection)).toEqual(["call", "email"]);
    expect(communicationEntry(typed({ kind: "note", inbound: false, message: "VIP" }))).toEqual({
      kind: "note",
      inbound: true,
      subject: null,
      message: "VIP",
    });
  });

  it("needs a message and refuses card numbers, in the desk's language", () => {
    expect(validateCommunication(typed({ message: "Asked for a cot" }))).toEqual({});
    expect(validateCommunication(typed({ message: "   " }))).toEqual({
      message: translate("en", "comm.writeMessage"),
    });
    expect(
      validateCommunication(
        typed({ subject: "4111 1111 1111 1111", message: "card 4111111111111111" }),
        "es",
      ),
    ).toEqual({
      subject: translate("es", "comm.cardNumber"),
      message: translate("es", "comm.cardNumber"),
    });
    expect(validateCommunication(typed({ kind: "fax" as never, message: "x" }))).toEqual({
      kind: translate("en", "comm.chooseKind"),
    });
  });

  it("says what was just logged as the profile will show it", () => {
    const entry = (kind: CommunicationForm["kind"], inbound: boolean) =>
      entrySentence(communicationEntry(typed({ kind, inbound, message: "x" })), "en");
    expect(entry("call", true)).toBe("Call from guest");
    expect(entry("call", false)).toBe("Call to guest");
    expect(entry("email", false)).toBe("E-mail to guest");
    expect(entry("note", false)).toBe("Note");
    expect(kindLabel("email", "es")).toBe("Correo");
  });

  it("knows the fields the server names in its refusals", () => {
    expect(communicationField("message")).toBe("message");
    expect(communicationField("guest_id")).toBeNull();
    expect(communicationField(undefined)).toBeNull();
  });
});

describe("a communication on the profile", () => {
  it("says what it was and which way, in English", () => {
    const say = (kind: string | null, direction: string | null) =>
      communicationSentence(logged({ kind, direction }), "en");
    expect(say("phone", "inbound")).toBe("Call from guest");
    expect(say("phone", "outbound")).toBe("Call to guest");
    expect(say("email", "inbound")).toBe("E-mail from guest");
    expect(say("email", "outbound")).toBe("E-mail to guest");
    expect(say("in_person", "inbound")).toBe("Note");
    expect(say("in_person", "outbound")).toBe("Note");
    expect(say("sms", "outbound")).toBe("Text message to guest");
    expect(say("whatsapp", "inbound")).toBe("Whatsapp from guest");
    expect(say("phone", null)).toBe("Call");
    expect(say(null, null)).toBe("Message");
  });

  it("and in Spanish", () => {
    const say = (kind: string | null, direction: string | null) =>
      communicationSentence(logged({ kind, direction }), "es");
    expect(say("phone", "inbound")).toBe("Llamada del huésped");
    expect(say("phone", "outbound")).toBe("Llamada al huésped");
    expect(say("email", "inbound")).toBe("Correo del huésped");
    expect(say("email", "outbound")).toBe("Correo al huésped");
    expect(say("in_person", "inbound")).toBe("Nota");
    expect(say("whatsapp", "outbound")).toBe("Whatsapp al huésped");
    expect(say(null, "inbound")).toBe("Mensaje del huésped");
  });

  it("shows a status only when it says something", () => {
    expect(communicationStatus(logged({ status: "sent" }), "en")).toBeNull();
    expect(communicationStatus(logged({ status: null }), "en")).toBeNull();
    expect(communicationStatus(logged({ status: "failed" }), "es")).toBe("no entregado");
    expect(communicationStatus(logged({ status: "soft_bounce" }), "en")).toBe("soft bounce");
  });

  it("is a line with the date in the desk's locale, never a raw id or null", () => {
    const line = communicationLine(
      logged({ kind: "email", direction: "outbound", subject: " Invoice " }),
      "en",
      "en-GB",
      "Europe/Madrid",
    );
    expect(line).toEqual({
      id: "c1",
      when: dateOf("2026-11-25T09:30:00Z", "Europe/Madrid", "en-GB"),
      what: "E-mail to guest",
      subject: "Invoice",
      status: null,
    });
    expect(line.when).toBe("25 Nov 2026");
    const bare = communicationLine(
      logged({ kind: "in_person", subject: " ", created_at: null }),
      "es",
    );
    expect(bare).toEqual({ id: "c1", when: "", what: "Nota", subject: null, status: null });
  });

  it("offers each kind of the form with a name in both languages", () => {
    for (const kind of KINDS) {
      const key = `comm.form.${kind}`;
      expect(isMessageKey(key), key).toBe(true);
      if (isMessageKey(key)) expect(translate("es", key)).not.toBe(translate("en", key));
    }
  });
});
