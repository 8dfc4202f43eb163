// The keyboard map: Alt+digit (0 the night audit) or Alt+R (reports: the digits are all taken) opens a screen, "/" focuses the screen's search, Alt+N starts a
// new booking or guest, Escape closes what is open. Kept pure so it can be tested.

export type Screen =
  | "today"
  | "reservations"
  | "tape"
  | "guests"
  | "housekeeping"
  | "conflicts"
  | "loyalty"
  | "campaigns"
  | "billing"
  | "audit"
  | "reports"
  | "staff";

/** Each screen and its Alt key; its name is the catalogue's `nav.<id>` (i18n.ts). */
export const SCREENS: { id: Screen; key: string }[] = [
  { id: "today", key: "1" },
  { id: "reservations", key: "2" },
  { id: "tape", key: "3" },
  { id: "guests", key: "4" },
  { id: "housekeeping", key: "5" },
  { id: "conflicts", key: "6" },
  { id: "loyalty", key: "7" },
  { id: "campaigns", key: "8" },
  { id: "billing", key: "9" },
  { id: "audit", key: "0" },
  { id: "reports", key: "R" },
  { id: "staff", key: "T" },
];

/**
 * Which roles see a screen in the menu (absent: every role). The Rust commands refuse the others
 * anyway (`ManagersOnly`, `OwnerOnly`); hiding the entry spares a clerk a screen of refusals.
 * Staff is the owner's: managers may read the list, but the menu entry is for the owner only.
 */
const ROLES_FOR: Partial<Record<Screen, string[]>> = {
  billing: ["owner", "manager"],
  reports: ["owner", "manager"],
  staff: ["owner"],
};

/** Whether `role` may open `screen` (from the menu or by its Alt key). */
export function screenAllowed(screen: Screen, role: string): boolean {
  const roles = ROLES_FOR[screen];
  return !roles || roles.includes(role);
}

/** The menu for a role, in the keyboard map's order. */
export function screensFor(role: string): { id: Screen; key: string }[] {
  return SCREENS.filter((s) => screenAllowed(s.id, role));
}

export type KeyAction =
  | { kind: "screen"; screen: Screen }
  | { kind: "search" }
  | { kind: "new" }
  | { kind: "close" }
  | { kind: "sync" };

export interface KeyLike {
  key: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  /** The element typed into is an input, textarea or select. */
  inField: boolean;
}

export function actionFor(event: KeyLike): KeyAction | null {
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    // letters either case: Shift or Caps Lock must not change what Alt+R does
    const screen = SCREENS.find((s) => s.key.toLowerCase() === event.key.toLowerCase());
    if (screen) return { kind: "screen", screen: screen.id };
    if (event.key.toLowerCase() === "n") return { kind: "new" };
    if (event.key.toLowerCase() === "s") return { kind: "sync" };
  }
  if (event.key === "Escape") return { kind: "close" };
  if (event.key === "/" && !event.inField && !event.altKey && !event.ctrlKey)
    return { kind: "search" };
  return null;
}
