// The staff screen's decisions, kept pure so they can be tested: whether the add form may be sent
// (the same rules as `commands/staff.rs`, checked here so the owner sees the field at fault
// without a round trip), which actions the owner gets on which row, and the list's order.

import type { MessageKey } from "./i18n";
import type { Colleague } from "./types";

/** The roles, in the order the role select offers them; labels are the catalogue's `role.<id>`. */
export const ROLES = ["owner", "manager", "front_desk", "housekeeping"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** `role.<id>` for a known role, so a label is always in both catalogues. */
export function roleKey(role: string): MessageKey | null {
  return isRole(role) ? (`role.${role}` as MessageKey) : null;
}

export interface NewColleague {
  email: string;
  display_name: string;
  role: string;
}

/** The form's values as they are sent: the email trimmed and in lower case, the name trimmed. */
export function normalised(input: NewColleague): NewColleague {
  return {
    email: input.email.trim().toLowerCase(),
    display_name: input.display_name.trim(),
    role: input.role,
  };
}

export interface Problem {
  field: "email" | "display_name" | "role";
  message: MessageKey;
}

/**
 * The first problem with the add form, or null. Mirrors the Rust checks (an `@`, no spaces, a
 * name, a known role, an email not already on the team) so the form marks the field at once.
 */
export function checkNewColleague(input: NewColleague, team: Colleague[]): Problem | null {
  const { email, display_name, role } = normalised(input);
  if (!email.includes("@") || /\s/.test(email))
    return { field: "email", message: "staff.invalidEmail" };
  if (display_name === "") return { field: "display_name", message: "staff.invalidName" };
  if (!isRole(role)) return { field: "role", message: "staff.invalidRole" };
  if (team.some((c) => c.email.toLowerCase() === email))
    return { field: "email", message: "staff.emailTaken" };
  return null;
}

export type StaffAction = "role" | "disable" | "temporary_password";

export interface Viewer {
  role: string;
  /** The signed-in account's user id; null at a local or demo desk (no account). */
  user_id: string | null;
}

/**
 * What the viewer may do on a row. Only the owner acts; nobody acts on a disabled account (it is
 * enabled again by the platform, not the desk) nor on their own (the server refuses disabling
 * oneself, and an owner demoting themself would lose this screen). A colleague still waiting to
 * be sent has no account on the server yet, so no temporary password.
 */
export function actionsFor(row: Colleague, viewer: Viewer): StaffAction[] {
  if (viewer.role !== "owner" || !row.enabled) return [];
  if (viewer.user_id !== null && row.user_id === viewer.user_id) return [];
  return row.pending ? ["role", "disable"] : ["role", "disable", "temporary_password"];
}

/** Whether the add form and the action column show at all: the owner's only. */
export function canManage(viewerRole: string): boolean {
  return viewerRole === "owner";
}

/** Enabled colleagues first, then by name (ignoring case and accents), then email. */
export function sortStaff(rows: Colleague[], locale = "en"): Colleague[] {
  const collator = new Intl.Collator(locale, { sensitivity: "base" });
  return [...rows].sort(
    (a, b) =>
      Number(b.enabled) - Number(a.enabled) ||
      collator.compare(a.display_name, b.display_name) ||
      collator.compare(a.email, b.email),
  );
}
