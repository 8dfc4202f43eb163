import { describe, expect, it } from "vitest";
import {
  actionsFor,
  canManage,
  checkNewColleague,
  normalised,
  roleKey,
  ROLES,
  sortStaff,
} from "./staff";
import { CATALOGUES } from "./i18n";
import type { Colleague } from "./types";

const colleague = (over: Partial<Colleague> = {}): Colleague => ({
  id: "s1",
  user_id: "u1",
  email: "ana@hotel.test",
  display_name: "Ana",
  role: "front_desk",
  enabled: true,
  pending: false,
  ...over,
});

describe("the add form", () => {
  const good = { email: "  Luis@Hotel.Test ", display_name: " Luis ", role: "manager" };
  it("accepts a good colleague and sends it trimmed, the email in lower case", () => {
    expect(checkNewColleague(good, [colleague()])).toBeNull();
    expect(normalised(good)).toEqual({
      email: "luis@hotel.test",
      display_name: "Luis",
      role: "manager",
    });
  });
  it("marks the field at fault", () => {
    expect(checkNewColleague({ ...good, email: "luis" }, [])).toEqual({
      field: "email",
      message: "staff.invalidEmail",
    });
    expect(checkNewColleague({ ...good, email: "lu is@hotel.test" }, [])?.field).toBe("email");
    expect(checkNewColleague({ ...good, display_name: "   " }, [])).toEqual({
      field: "display_name",
      message: "staff.invalidName",
    });
    expect(checkNewColleague({ ...good, role: "" }, [])).toEqual({
      field: "role",
      message: "staff.invalidRole",
    });
    expect(checkNewColleague({ ...good, role: "admin" }, [])?.field).toBe("role");
  });
  it("refuses an email already on the team, whatever its case", () => {
    expect(checkNewColleague({ ...good, email: "ANA@hotel.test" }, [colleague()])).toEqual({
      field: "email",
      message: "staff.emailTaken",
    });
  });
});

describe("the actions on a row", () => {
  const owner = { role: "owner", user_id: "me" };
  it("gives the owner every action on an enabled colleague on the server", () => {
    expect(actionsFor(colleague(), owner)).toEqual(["role", "disable", "temporary_password"]);
  });
  it("gives no temporary password for a colleague still waiting to be sent", () => {
    expect(actionsFor(colleague({ pending: true }), owner)).toEqual(["role", "disable"]);
  });
  it("gives none on a disabled account, nor on one's own", () => {
    expect(actionsFor(colleague({ enabled: false }), owner)).toEqual([]);
    expect(actionsFor(colleague({ user_id: "me", role: "owner" }), owner)).toEqual([]);
  });
  it("acts at a local desk, where the owner has no account id", () => {
    expect(actionsFor(colleague(), { role: "owner", user_id: null })).toHaveLength(3);
  });
  it("gives a manager (who may read the list) no action at all", () => {
    expect(actionsFor(colleague(), { role: "manager", user_id: "me" })).toEqual([]);
    expect(canManage("manager")).toBe(false);
    expect(canManage("owner")).toBe(true);
  });
});

describe("the list", () => {
  it("puts enabled colleagues first, then by name ignoring case and accents, then email", () => {
    const rows = [
      colleague({ id: "1", display_name: "zoe", email: "z@h" }),
      colleague({ id: "2", display_name: "Álvaro", email: "a@h", enabled: false }),
      colleague({ id: "3", display_name: "Bea", email: "b2@h" }),
      colleague({ id: "4", display_name: "Ángela", email: "g@h" }),
      colleague({ id: "5", display_name: "bea", email: "b1@h" }),
    ];
    expect(sortStaff(rows).map((r) => r.id)).toEqual(["4", "5", "3", "1", "2"]);
    expect(rows[0].id).toBe("1");
  });
});

describe("role labels", () => {
  it("has every role in both languages, and none for an unknown role", () => {
    for (const role of ROLES) {
      const key = roleKey(role)!;
      expect(CATALOGUES.en[key]).toBeTruthy();
      expect(CATALOGUES.es[key]).toBeTruthy();
    }
    expect(roleKey("admin")).toBeNull();
  });
});
