// Printing from the desk: the lists, cards and the outage pack are PDFs the desk makes
// (src-tauri/src/commands/paperwork.rs); a screen printed with Ctrl+P follows the property's
// paper size through the @page rule set here.

import type { PaperSize } from "./types";

/** What the desk prints (`print_paperwork`'s `kind`). */
export type PaperworkKind =
  "arrivals" | "departures" | "in_house" | "housekeeping" | "registration_cards" | "outage_pack";

/** The Today screen's print buttons, in order, with their catalogue keys. */
export const TODAY_PRINTS: {
  kind: PaperworkKind;
  key:
    "print.arrivals" | "print.departures" | "print.inHouse" | "print.housekeeping" | "print.cards";
}[] = [
  { kind: "arrivals", key: "print.arrivals" },
  { kind: "departures", key: "print.departures" },
  { kind: "in_house", key: "print.inHouse" },
  { kind: "housekeeping", key: "print.housekeeping" },
  { kind: "registration_cards", key: "print.cards" },
];

/** The @page rule for printing a screen on `paper` (A4 when unknown). */
export function pageRule(paper: PaperSize | null | undefined): string {
  return paper === "letter"
    ? "@page { size: letter portrait; margin: 0.5in; }"
    : "@page { size: A4 portrait; margin: 12mm; }";
}

/** Puts the @page rule for `paper` in the document's head (once; replaced on change). */
export function applyPageRule(doc: Document, paper: PaperSize | null | undefined) {
  let style = doc.getElementById("page-size") as HTMLStyleElement | null;
  if (!style) {
    style = doc.createElement("style");
    style.id = "page-size";
    doc.head.appendChild(style);
  }
  style.textContent = pageRule(paper);
}

/** The file's name from a saved PDF's path (Linux, macOS or Windows). */
export function fileName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}
