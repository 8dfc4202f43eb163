//! A guest invoice (or the credit note that corrects one) as a PDF: the hotel's bill to its
//! guest, issued offline on the laptop. Not the platform's `invoices` (a tenant's subscription
//! bills): everything here is `guest_invoice`.
//!
//! The caller hands over an [`InvoiceDocument`], plain data already computed and numbered (this
//! module reads no database and does no arithmetic on money beyond formatting it), and
//! [`render`] lays it out on A4 pages: the property, the title and number, who is billed, the
//! stay, the lines, the taxes per rate, the totals, the payments and the balance due. Lines that
//! overflow a page go on to the next one under the table's header again; every page has a
//! footer "Page i of n".
//!
//! # Why `pdf-writer`
//! It is typst's low-level PDF writer: a handful of small dependencies, no I/O, no clock and no
//! randomness, so the same invoice always renders the same bytes (no creation date, no random
//! file id), which an immutable document wants. It writes the base-14 fonts (Helvetica) without
//! embedding a font file, which keeps the output a few kilobytes and the text extractable;
//! `printpdf` would bring a far larger tree for features (images, SVG, font shaping) an invoice
//! does not need.
//!
//! # Text and characters
//! Text is set in Helvetica and Helvetica-Bold with `WinAnsiEncoding` (Windows-1252), which
//! covers ASCII, Latin-1 (José Müller, Françoise, Ærø) and a few more (€, –, —, “ ”, Œ, Š, Ž).
//! A character outside it (Greek, Cyrillic, CJK, emoji) is written as `?` on purpose: the
//! base-14 fonts have no glyph for it, and embedding a font covering every script is out of
//! scope here. [`to_win_ansi`] is that mapping. Control characters (tabs, new lines) become
//! spaces. Widths for layout (right-aligned amounts, wrapped descriptions) come from the
//! Helvetica metrics below.
//!
//! # Money
//! Every amount is an integer in the currency's minor units, with the currency's exponent given
//! by the caller ([`InvoiceDocument::minor_digits`]: JPY 0, EUR 2, BHD 3), and is printed by
//! [`format_minor`]: thousands separators, the decimals, the code (`1,234.500 BHD`).

use chrono::NaiveDate;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use serde::{Deserialize, Serialize};

/// An invoice or a credit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Invoice,
    /// Corrects an issued invoice (named in [`InvoiceDocument::corrects`]).
    CreditNote,
}

impl DocumentKind {
    /// The document's title as printed.
    pub fn title(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "Invoice",
            DocumentKind::CreditNote => "Credit note",
        }
    }
}

/// A party on the document: the property issuing it, or the guest or company billed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyBlock {
    pub name: String,
    /// The postal address, one printed line each.
    #[serde(default)]
    pub address_lines: Vec<String>,
    /// The tax or VAT id, printed as "Tax ID: …" when present.
    #[serde(default)]
    pub tax_id: Option<String>,
}

/// The stay the document bills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StayBlock {
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    /// The room's number or name.
    #[serde(default)]
    pub room: Option<String>,
    /// The guest who stayed, when the bill goes to someone else (a company).
    #[serde(default)]
    pub guest_name: Option<String>,
}

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The business date of the charge.
    pub date: NaiveDate,
    pub description: String,
    /// A whole count (nights, items).
    pub quantity: i64,
    /// In minor units; printed as given.
    pub unit_price_minor: i64,
    /// In minor units; printed as given (the caller computed it; a credit note's are negative).
    pub amount_minor: i64,
}

/// One row of the tax summary: a rate's net and tax ("VAT 10%"), or a tax of its own without a
/// net base (the city tax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    /// As printed: "VAT 10%", "City tax".
    pub label: String,
    /// The net the rate applies to; `None` for a tax that has none (city tax).
    #[serde(default)]
    pub net_minor: Option<i64>,
    pub tax_minor: i64,
}

/// A payment received, listed above the total paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    pub date: NaiveDate,
    /// As printed: "Card", "Cash", "Deposit (transfer)".
    pub description: String,
    pub amount_minor: i64,
}

/// Everything printed on a guest invoice or credit note; amounts in the currency's minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDocument {
    pub kind: DocumentKind,
    /// The number in its laptop series, e.g. "D1-000012"; not empty.
    pub number_label: String,
    pub issued_on: NaiveDate,
    /// The hotel issuing the document.
    pub property: PartyBlock,
    /// The guest or company billed.
    pub bill_to: PartyBlock,
    #[serde(default)]
    pub stay: Option<StayBlock>,
    /// The ISO 4217 code, printed after each amount ("EUR").
    pub currency: String,
    /// The currency's exponent: JPY 0, EUR 2, BHD 3.
    pub minor_digits: u8,
    pub lines: Vec<Line>,
    /// Grouped per rate by the caller, printed in this order.
    #[serde(default)]
    pub taxes: Vec<TaxLine>,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    /// The individual payments (may be empty; `paid_minor` is printed either way).
    #[serde(default)]
    pub payments: Vec<PaymentLine>,
    /// Payments received.
    pub paid_minor: i64,
    /// What remains to pay.
    pub balance_minor: i64,
    /// For a credit note: the number of the invoice it corrects. `None` for an invoice.
    #[serde(default)]
    pub corrects: Option<String>,
}

/// Why a document could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    #[error("the document has no number: number it in its series before rendering it")]
    MissingNumber,
    #[error("a credit note must name the invoice it corrects")]
    CreditNoteWithoutCorrects,
    #[error("an invoice corrects nothing: only a credit note names the invoice it corrects")]
    InvoiceCorrects,
}

/// `amount` (in minor units) with thousands separators, `digits` decimals and the currency code:
/// `format_minor(123450, 2, "EUR")` is `1,234.50 EUR`, `format_minor(15000, 0, "JPY")` is
/// `15,000 JPY`, `format_minor(-1234500, 3, "BHD")` is `-1,234.500 BHD`. No code, no space.
pub fn format_minor(amount: i64, digits: u8, currency: &str) -> String {
    let digits = usize::from(digits);
    let mut abs = amount.unsigned_abs().to_string();
    if abs.len() <= digits {
        abs = format!("{}{abs}", "0".repeat(digits + 1 - abs.len()));
    }
    let (whole, fraction) = abs.split_at(abs.len() - digits);
    let mut out = String::with_capacity(abs.len() + abs.len() / 3 + currency.len() + 3);
    if amount < 0 {
        out.push('-');
    }
    out.push_str(&group_thousands(whole));
    if digits > 0 {
        out.push('.');
        out.push_str(fraction);
    }
    if !currency.is_empty() {
        out.push(' ');
        out.push_str(currency);
    }
    out
}

/// A whole number with thousands separators: `-12,345`.
fn format_count(n: i64) -> String {
    let grouped = group_thousands(&n.unsigned_abs().to_string());
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// Digits with a comma every three from the right.
fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `text` in WinAnsiEncoding (Windows-1252), the encoding the document's fonts use: ASCII and
/// Latin-1 as themselves, the few extra characters of 0x80–0x9F (€, –, —, quotes, Œ, Š, Ž, …)
/// at their codes, control characters as spaces, and anything else as `?`.
pub fn to_win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => b' ',
            ' '..='~' | '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            _ => b'?',
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Font metrics: Helvetica and Helvetica-Bold advance widths (per 1000 units of the font size),
// from Adobe's AFM files for the base-14 fonts, for the printable ASCII codes 32..=126.

#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,      // p..~
];

#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// The two faces the document uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

impl Face {
    pub(crate) fn resource(self) -> Name<'static> {
        match self {
            Face::Regular => Name(b"F1"),
            Face::Bold => Name(b"F2"),
        }
    }
}

/// The advance width of one WinAnsi code, per 1000 units. Above ASCII an accented letter is as
/// wide as its base letter (as in Helvetica); the rest take a typical width.
fn code_width(code: u8, face: Face) -> u16 {
    let table = match face {
        Face::Regular => &HELVETICA,
        Face::Bold => &HELVETICA_BOLD,
    };
    let ascii = |b: u8| table[usize::from(b - 32)];
    match code {
        32..=126 => ascii(code),
        0xc0..=0xc5 => ascii(b'A'),
        0xc7 => ascii(b'C'),
        0xc8..=0xcb => ascii(b'E'),
        0xcc..=0xcf => ascii(b'I'),
        0xd0 => ascii(b'D'),
        0xd1 => ascii(b'N'),
        0xd2..=0xd6 | 0xd8 | 0x8c => ascii(b'O'),
        0xd9..=0xdc => ascii(b'U'),
        0xdd | 0x9f => ascii(b'Y'),
        0x8a => ascii(b'S'),
        0x8e => ascii(b'Z'),
        0xe0..=0xe5 => ascii(b'a'),
        0xe7 => ascii(b'c'),
        0xe8..=0xeb => ascii(b'e'),
        0xec..=0xef => ascii(b'i'),
        0xf1 => ascii(b'n'),
        0xf2..=0xf6 | 0xf8 => ascii(b'o'),
        0xf9..=0xfc => ascii(b'u'),
        0xfd | 0xff => ascii(b'y'),
        0x9a => ascii(b's'),
        0x9e => ascii(b'z'),
        0xa0 => ascii(b' '),
        0xc6 | 0x85 | 0x89 | 0x97 | 0x99 | 0x9c => 1000,
        0xe6 => 889,
        _ => 556,
    }
}

/// The width of WinAnsi text in points.
pub(crate) fn text_width(text: &[u8], face: Face, size: f32) -> f32 {
    let units: u32 = text.iter().map(|&b| u32::from(code_width(b, face))).sum();
    units as f32 * size / 1000.0
}

/// WinAnsi text broken at spaces into lines no wider than `width` (a word wider than a line is
/// broken where it must). Always at least one line.
pub(crate) fn wrap(text: &[u8], face: Face, size: f32, width: f32) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let mut candidate = current.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if text_width(&candidate, face, size) <= width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // The word alone: break it if even that does not fit.
        for &b in word {
            current.push(b);
            if text_width(&current, face, size) > width && current.len() > 1 {
                current.pop();
                lines.push(std::mem::replace(&mut current, vec![b]));
            }
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// Layout, in points on an A4 page (origin bottom left).

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const TOP: f32 = 790.0;
/// Content stays above this; the footer goes below.
const BOTTOM: f32 = 70.0;
const FOOTER_Y: f32 = 40.0;

/// The table's columns: the date and the description from their left edge, the rest
/// right-aligned at their right edge.
const COL_DATE: f32 = LEFT;
const COL_DESCRIPTION: f32 = 112.0;
const DESCRIPTION_WIDTH: f32 = 215.0;
const COL_QUANTITY_RIGHT: f32 = 355.0;
const COL_UNIT_RIGHT: f32 = 450.0;
const COL_AMOUNT_RIGHT: f32 = RIGHT;

/// The summary (taxes, totals, payments) sits on the right: labels from here.
const SUMMARY_LABEL: f32 = 300.0;
const SUMMARY_MIDDLE_RIGHT: f32 = 450.0;

const BODY: f32 = 9.0;
const LEADING: f32 = 12.0;

/// Pages being laid out: those done, and the one being written.
struct Layout<'a> {
    doc: &'a InvoiceDocument,
    done: Vec<Content>,
    page: Content,
    /// The baseline of the next row on `page`.
    y: f32,
}

impl<'a> Layout<'a> {
    fn new(doc: &'a InvoiceDocument) -> Self {
        Layout {
            doc,
            done: Vec::new(),
            page: Content::new(),
            y: TOP,
        }
    }

    fn amount(&self, minor: i64) -> String {
        format_minor(minor, self.doc.minor_digits, &self.doc.currency)
    }

    fn text(&mut self, x: f32, y: f32, face: Face, size: f32, text: &[u8]) {
        self.page
            .begin_text()
            .set_font(face.resource(), size)
            .next_line(x, y)
            .show(Str(text))
            .end_text();
    }

    fn text_right(&mut self, right: f32, y: f32, face: Face, size: f32, text: &[u8]) {
        let x = right - text_width(text, face, size);
        self.text(x, y, face, size, text);
    }

    fn rule(&mut self, y: f32, from: f32, to: f32, gray: f32, width: f32) {
        self.page
            .save_state()
            .set_stroke_gray(gray)
            .set_line_width(width)
            .move_to(from, y)
            .line_to(to, y)
            .stroke()
            .restore_state();
    }

    /// A paragraph from `x` at most `width` wide, its first baseline at `y`; returns the
    /// baseline below its last line.
    fn paragraph(&mut self, x: f32, y: f32, width: f32, face: Face, size: f32, text: &str) -> f32 {
        let mut y = y;
        for line in wrap(&to_win_ansi(text), face, size, width) {
            self.text(x, y, face, size, &line);
            y -= size + 3.0;
        }
        y
    }

    /// Starts a new page if fewer than `height` points are left on this one; returns whether
    /// it did.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y - height >= BOTTOM {
            return false;
        }
        let full = std::mem::replace(&mut self.page, Content::new());
        self.done.push(full);
        self.y = TOP;
        let heading = format!(
            "{} {} (continued)",
            self.doc.kind.title(),
            self.doc.number_label
        );
        self.text(LEFT, self.y, Face::Bold, 11.0, &to_win_ansi(&heading));
        self.y -= 24.0;
        true
    }

    /// The first page's head: the property on the left, title and number on the right, then
    /// who is billed and the stay.
    fn head(&mut self) {
        let doc = self.doc;
        // The property.
        let mut left = self.paragraph(LEFT, TOP, 260.0, Face::Bold, 13.0, &doc.property.name);
        left = self.party_details(LEFT, left, 260.0, &doc.property);

        // Title, number, date, what it corrects.
        let mut right = TOP;
        self.text_right(RIGHT, right, Face::Bold, 20.0, doc.kind.title().as_bytes());
        right -= 22.0;
        let number = to_win_ansi(&format!("No. {}", doc.number_label));
        self.text_right(RIGHT, right, Face::Bold, 10.0, &number);
        right -= LEADING;
        let issued = format!("Issued {}", doc.issued_on);
        self.text_right(RIGHT, right, Face::Regular, BODY, issued.as_bytes());
        right -= LEADING;
        if let Some(corrected) = &doc.corrects {
            let corrects = to_win_ansi(&format!("Corrects invoice {corrected}"));
            self.text_right(RIGHT, right, Face::Bold, BODY, &corrects);
            right -= LEADING;
        }

        // Who is billed, and the stay beside it.
        let mut y = left.min(right) - 18.0;
        self.text(LEFT, y, Face::Bold, BODY, b"Bill to");
        let mut billed = y - LEADING;
        billed = self.paragraph(LEFT, billed, 240.0, Face::Regular, 10.0, &doc.bill_to.name);
        billed = self.party_details(LEFT, billed, 240.0, &doc.bill_to);

        let mut stay_y = y;
        if let Some(stay) = &doc.stay {
            self.text(SUMMARY_LABEL, y, Face::Bold, BODY, b"Stay");
            stay_y -= LEADING;
            let width = RIGHT - SUMMARY_LABEL;
            if let Some(guest) = &stay.guest_name {
                let text = format!("Guest: {guest}");
                stay_y = self.paragraph(SUMMARY_LABEL, stay_y, width, Face::Regular, BODY, &text);
            }
            let nights = (stay.departure - stay.arrival).num_days();
            let plural = if nights == 1 { "night" } else { "nights" };
            let dates = format!(
                "{} \u{2013} {} ({nights} {plural})",
                stay.arrival, stay.departure
            );
            stay_y = self.paragraph(SUMMARY_LABEL, stay_y, width, Face::Regular, BODY, &dates);
            if let Some(room) = &stay.room {
                let text = format!("Room {room}");
                stay_y = self.paragraph(SUMMARY_LABEL, stay_y, width, Face::Regular, BODY, &text);
            }
        }
        y = billed.min(stay_y) - 16.0;
        self.y = y;
    }

    /// A party's address lines and tax id under its name.
    fn party_details(&mut self, x: f32, y: f32, width: f32, party: &PartyBlock) -> f32 {
        let mut y = y;
        for line in &party.address_lines {
            y = self.paragraph(x, y, width, Face::Regular, BODY, line);
        }
        if let Some(tax_id) = &party.tax_id {
            y = self.paragraph(
                x,
                y,
                width,
                Face::Regular,
                BODY,
                &format!("Tax ID: {tax_id}"),
            );
        }
        y
    }

    /// The table's header row on a shaded band.
    fn table_header(&mut self) {
        let y = self.y;
        self.page
            .save_state()
            .set_fill_gray(0.9)
            .rect(LEFT - 4.0, y - 4.0, RIGHT - LEFT + 8.0, LEADING + 2.0)
            .fill_nonzero()
            .restore_state();
        self.text(COL_DATE, y, Face::Bold, BODY, b"Date");
        self.text(COL_DESCRIPTION, y, Face::Bold, BODY, b"Description");
        self.text_right(COL_QUANTITY_RIGHT, y, Face::Bold, BODY, b"Qty");
        self.text_right(COL_UNIT_RIGHT, y, Face::Bold, BODY, b"Unit price");
        self.text_right(COL_AMOUNT_RIGHT, y, Face::Bold, BODY, b"Amount");
        self.y -= LEADING + 6.0;
    }

    fn lines(&mut self) {
        self.table_header();
        for line in &self.doc.lines {
            let description = wrap(
                &to_win_ansi(&line.description),
                Face::Regular,
                BODY,
                DESCRIPTION_WIDTH,
            );
            let height = description.len() as f32 * LEADING + 2.0;
            if self.ensure(height) {
                self.table_header();
            }
            let y = self.y;
            self.text(
                COL_DATE,
                y,
                Face::Regular,
                BODY,
                line.date.to_string().as_bytes(),
            );
            let mut row = y;
            for text in &description {
                self.text(COL_DESCRIPTION, row, Face::Regular, BODY, text);
                row -= LEADING;
            }
            let quantity = format_count(line.quantity);
            self.text_right(
                COL_QUANTITY_RIGHT,
                y,
                Face::Regular,
                BODY,
                quantity.as_bytes(),
            );
            let unit = to_win_ansi(&self.amount(line.unit_price_minor));
            self.text_right(COL_UNIT_RIGHT, y, Face::Regular, BODY, &unit);
            let amount = to_win_ansi(&self.amount(line.amount_minor));
            self.text_right(COL_AMOUNT_RIGHT, y, Face::Regular, BODY, &amount);
            self.y -= height;
        }
        self.rule(self.y + LEADING - 4.0, LEFT, RIGHT, 0.5, 0.6);
        self.y -= 8.0;
    }

    /// One summary row: a label, an optional middle amount, an amount at the right edge.
    fn summary_row(&mut self, face: Face, label: &str, middle: Option<&str>, right: &str) {
        self.ensure(LEADING);
        let y = self.y;
        self.text(SUMMARY_LABEL, y, face, BODY, &to_win_ansi(label));
        if let Some(middle) = middle {
            self.text_right(SUMMARY_MIDDLE_RIGHT, y, face, BODY, &to_win_ansi(middle));
        }
        self.text_right(RIGHT, y, face, BODY, &to_win_ansi(right));
        self.y -= LEADING;
    }

    /// Taxes per rate, the totals, the payments and the balance, kept together on one page
    /// when they fit on one.
    fn summary(&mut self) {
        let doc = self.doc;
        let rows = doc.taxes.len() + usize::from(!doc.taxes.is_empty()) + doc.payments.len() + 5;
        let height = rows as f32 * LEADING + 3.0 * 6.0;
        if height <= TOP - BOTTOM {
            self.ensure(height);
        }

        if !doc.taxes.is_empty() {
            self.summary_row(Face::Bold, "Taxes", Some("Net"), "Tax");
            for tax in &doc.taxes {
                let net = tax.net_minor.map(|net| self.amount(net));
                let amount = self.amount(tax.tax_minor);
                self.summary_row(Face::Regular, &tax.label, net.as_deref(), &amount);
            }
            self.y -= 6.0;
        }

        let net = self.amount(doc.net_minor);
        self.summary_row(Face::Regular, "Net", None, &net);
        let tax = self.amount(doc.tax_minor);
        self.summary_row(Face::Regular, "Tax", None, &tax);
        self.rule(self.y + LEADING - 3.0, SUMMARY_LABEL, RIGHT, 0.5, 0.6);
        let total = self.amount(doc.total_minor);
        self.summary_row(Face::Bold, "Total", None, &total);
        self.y -= 6.0;

        for payment in &doc.payments {
            let label = format!("Payment {} {}", payment.date, payment.description);
            let amount = self.amount(payment.amount_minor);
            self.summary_row(Face::Regular, &label, None, &amount);
        }
        let paid = self.amount(doc.paid_minor);
        self.summary_row(Face::Regular, "Payments received", None, &paid);
        self.rule(self.y + LEADING - 3.0, SUMMARY_LABEL, RIGHT, 0.5, 0.6);
        let balance = self.amount(doc.balance_minor);
        self.summary_row(Face::Bold, "Balance due", None, &balance);
    }

    /// Every page, each with its footer.
    fn finish(mut self) -> Vec<Content> {
        let full = std::mem::replace(&mut self.page, Content::new());
        self.done.push(full);
        let count = self.done.len();
        let label = to_win_ansi(&format!(
            "{} {}",
            self.doc.kind.title(),
            self.doc.number_label
        ));
        let mut pages = Vec::with_capacity(count);
        for (i, content) in std::mem::take(&mut self.done).into_iter().enumerate() {
            self.page = content;
            self.rule(FOOTER_Y + 12.0, LEFT, RIGHT, 0.7, 0.5);
            self.text(LEFT, FOOTER_Y, Face::Regular, 8.0, &label);
            let page = format!("Page {} of {count}", i + 1);
            self.text_right(RIGHT, FOOTER_Y, Face::Regular, 8.0, page.as_bytes());
            pages.push(std::mem::replace(&mut self.page, Content::new()));
        }
        pages
    }
}

fn validate(doc: &InvoiceDocument) -> Result<(), PdfError> {
    if doc.number_label.trim().is_empty() {
        return Err(PdfError::MissingNumber);
    }
    let corrects = doc
        .corrects
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match (doc.kind, corrects) {
        (DocumentKind::CreditNote, None) => Err(PdfError::CreditNoteWithoutCorrects),
        (DocumentKind::Invoice, Some(_)) => Err(PdfError::InvoiceCorrects),
        _ => Ok(()),
    }
}

/// The document as a PDF (A4, as many pages as its lines need). The same document always gives
/// the same bytes. Fails only on a document that may not be issued as it is (no number, a
/// credit note not naming its invoice, an invoice naming one).
pub fn render(doc: &InvoiceDocument) -> Result<Vec<u8>, PdfError> {
    validate(doc)?;

    let mut layout = Layout::new(doc);
    layout.head();
    layout.lines();
    layout.summary();
    let pages = layout.finish();

    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let regular_id = Ref::new(3);
    let bold_id = Ref::new(4);
    let info_id = Ref::new(5);
    // Each page and its content stream, numbered on from the objects above.
    let mut next = 6;
    let page_ids: Vec<(Ref, Ref)> = pages
        .iter()
        .map(|_| {
            let ids = (Ref::new(next), Ref::new(next + 1));
            next += 2;
            ids
        })
        .collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(page_ids.len() as i32);
    pdf.type1_font(regular_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let title = format!("{} {}", doc.kind.title(), doc.number_label);
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .producer(TextStr("pms-sync-client"));

    for (content, (page_id, content_id)) in pages.into_iter().zip(&page_ids) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree_id);
        page.contents(*content_id);
        page.resources()
            .fonts()
            .pair(Face::Regular.resource(), regular_id)
            .pair(Face::Bold.resource(), bold_id);
        page.finish();
        pdf.stream(*content_id, &content.finish());
    }
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    fn party(name: &str) -> PartyBlock {
        PartyBlock {
            name: name.to_owned(),
            address_lines: vec!["Via Roma 1".to_owned(), "00100 Roma".to_owned()],
            tax_id: Some("IT01234567890".to_owned()),
        }
    }

    fn line(day: &str, description: &str, quantity: i64, unit: i64) -> Line {
        Line {
            date: date(day),
            description: description.to_owned(),
            quantity,
            unit_price_minor: unit,
            amount_minor: quantity * unit,
        }
    }

    /// A 3-line EUR invoice with VAT 10% and a city tax.
    fn eur_invoice() -> InvoiceDocument {
        InvoiceDocument {
            kind: DocumentKind::Invoice,
            number_label: "D1-000012".to_owned(),
            issued_on: date("2026-12-04"),
            property: party("Hotel Bellavista"),
            bill_to: PartyBlock {
                name: "Acme Travel GmbH".to_owned(),
                address_lines: vec!["Hauptstrasse 5".to_owned(), "10115 Berlin".to_owned()],
                tax_id: Some("DE123456789".to_owned()),
            },
            stay: Some(StayBlock {
                arrival: date("2026-12-01"),
                departure: date("2026-12-04"),
                room: Some("204".to_owned()),
                guest_name: Some("Anna Schmidt".to_owned()),
            }),
            currency: "EUR".to_owned(),
            minor_digits: 2,
            lines: vec![
                line("2026-12-01", "Double room, 3 nights", 3, 120_000),
                line("2026-12-02", "Breakfast buffet", 2, 1_850),
                line("2026-12-03", "Minibar", 1, 950),
            ],
            taxes: vec![
                TaxLine {
                    label: "VAT 10%".to_owned(),
                    net_minor: Some(331_864),
                    tax_minor: 33_186,
                },
                TaxLine {
                    label: "City tax".to_owned(),
                    net_minor: None,
                    tax_minor: 600,
                },
            ],
            net_minor: 331_864,
            tax_minor: 33_786,
            total_minor: 365_650,
            payments: vec![PaymentLine {
                date: date("2026-12-01"),
                description: "Card".to_owned(),
                amount_minor: 100_000,
            }],
            paid_minor: 100_000,
            balance_minor: 265_650,
            corrects: None,
        }
    }

    /// The PDF in a file of its own under the temp dir (removed by the caller's guard).
    struct TempPdf(PathBuf);

    impl TempPdf {
        fn write(name: &str, bytes: &[u8]) -> TempPdf {
            let path = std::env::temp_dir()
                .join(format!("guest-invoice-{}-{name}.pdf", std::process::id()));
            std::fs::write(&path, bytes).expect("write the PDF");
            TempPdf(path)
        }

        fn run(&self, tool: &str, args: &[&str]) -> String {
            let out = Command::new(tool)
                .args(args)
                .arg(&self.0)
                .args(if tool == "pdftotext" {
                    &["-"][..]
                } else {
                    &[][..]
                })
                .output()
                .unwrap_or_else(|e| panic!("run {tool} (poppler-utils): {e}"));
            assert!(
                out.status.success(),
                "{tool}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("UTF-8 from poppler")
        }

        fn text(&self) -> String {
            self.run("pdftotext", &["-layout", "-enc", "UTF-8"])
        }

        fn pages(&self) -> usize {
            let info = self.run("pdfinfo", &[]);
            info.lines()
                .find_map(|l| l.strip_prefix("Pages:"))
                .and_then(|n| n.trim().parse().ok())
                .expect("pdfinfo prints Pages")
        }
    }

    impl Drop for TempPdf {
        fn drop(&mut self) {
            // GUEST_INVOICE_PDF_KEEP=1 keeps the PDFs to look at.
            if std::env::var_os("GUEST_INVOICE_PDF_KEEP").is_some() {
                return;
            }
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn render_text(name: &str, doc: &InvoiceDocument) -> String {
        let bytes = render(doc).expect("render");
        assert!(bytes.starts_with(b"%PDF-"));
        TempPdf::write(name, &bytes).text()
    }

    fn assert_contains(text: &str, wanted: &str) {
        assert!(
            text.contains(wanted),
            "{wanted:?} not in the PDF's text:\n{text}"
        );
    }

    #[test]
    fn format_minor_uses_the_currency_exponent() {
        assert_eq!(format_minor(123_450, 2, "EUR"), "1,234.50 EUR");
        assert_eq!(format_minor(1_234_500, 3, "BHD"), "1,234.500 BHD");
        assert_eq!(format_minor(15_000, 0, "JPY"), "15,000 JPY");
        assert_eq!(format_minor(5, 2, "EUR"), "0.05 EUR");
        assert_eq!(format_minor(0, 3, "BHD"), "0.000 BHD");
        assert_eq!(format_minor(-50, 2, "EUR"), "-0.50 EUR");
        assert_eq!(format_minor(-1_234_567_890, 2, "EUR"), "-12,345,678.90 EUR");
        assert_eq!(format_minor(999, 0, ""), "999");
        assert_eq!(
            format_minor(i64::MIN, 2, "EUR"),
            "-92,233,720,368,547,758.08 EUR"
        );
    }

    #[test]
    fn eur_invoice_reads_back_with_lines_taxes_and_totals() {
        let text = render_text("eur", &eur_invoice());
        for wanted in [
            "Invoice",
            "D1-000012",
            "2026-12-04",
            "Hotel Bellavista",
            "IT01234567890",
            "Acme Travel GmbH",
            "DE123456789",
            "Anna Schmidt",
            "2026-12-01 – 2026-12-04 (3 nights)",
            "Room 204",
            "Double room, 3 nights",
            "1,200.00 EUR",
            "3,600.00 EUR",
            "Breakfast buffet",
            "18.50 EUR",
            "37.00 EUR",
            "Minibar",
            "9.50 EUR",
            "VAT 10%",
            "3,318.64 EUR",
            "331.86 EUR",
            "City tax",
            "6.00 EUR",
            "337.86 EUR",
            "3,656.50 EUR",
            "1,000.00 EUR",
            "Balance due",
            "2,656.50 EUR",
            "Page 1 of 1",
        ] {
            assert_contains(&text, wanted);
        }
        assert!(!text.contains("Credit note"));
    }

    #[test]
    fn jpy_invoice_has_no_decimals() {
        let mut doc = eur_invoice();
        doc.currency = "JPY".to_owned();
        doc.minor_digits = 0;
        doc.lines = vec![line("2026-12-01", "Tatami room", 2, 15_000)];
        doc.taxes = vec![TaxLine {
            label: "Consumption tax 10%".to_owned(),
            net_minor: Some(27_273),
            tax_minor: 2_727,
        }];
        doc.net_minor = 27_273;
        doc.tax_minor = 2_727;
        doc.total_minor = 30_000;
        doc.payments = Vec::new();
        doc.paid_minor = 0;
        doc.balance_minor = 30_000;
        let text = render_text("jpy", &doc);
        for wanted in [
            "15,000 JPY",
            "30,000 JPY",
            "27,273 JPY",
            "2,727 JPY",
            "0 JPY",
        ] {
            assert_contains(&text, wanted);
        }
        assert!(!text.contains("15,000.00"), "{text}");
    }

    #[test]
    fn bhd_invoice_has_three_decimals() {
        let mut doc = eur_invoice();
        doc.currency = "BHD".to_owned();
        doc.minor_digits = 3;
        doc.lines = vec![line("2026-12-01", "Suite", 1, 1_234_500)];
        doc.taxes = Vec::new();
        doc.net_minor = 1_234_500;
        doc.tax_minor = 0;
        doc.total_minor = 1_234_500;
        doc.payments = Vec::new();
        doc.paid_minor = 234_500;
        doc.balance_minor = 1_000_000;
        let text = render_text("bhd", &doc);
        for wanted in ["1,234.500 BHD", "0.000 BHD", "234.500 BHD", "1,000.000 BHD"] {
            assert_contains(&text, wanted);
        }
    }

    #[test]
    fn credit_note_names_the_invoice_it_corrects() {
        let mut doc = eur_invoice();
        doc.kind = DocumentKind::CreditNote;
        doc.number_label = "D1-000013".to_owned();
        doc.corrects = Some("D1-000012".to_owned());
        doc.lines = vec![line("2026-12-03", "Minibar (not consumed)", 1, -950)];
        doc.taxes = Vec::new();
        doc.net_minor = -950;
        doc.tax_minor = 0;
        doc.total_minor = -950;
        doc.payments = Vec::new();
        doc.paid_minor = 0;
        doc.balance_minor = -950;
        let text = render_text("credit", &doc);
        for wanted in [
            "Credit note",
            "D1-000013",
            "Corrects invoice D1-000012",
            "-9.50 EUR",
        ] {
            assert_contains(&text, wanted);
        }
    }

    #[test]
    fn documents_that_may_not_be_issued_are_refused() {
        let mut doc = eur_invoice();
        doc.number_label = "  ".to_owned();
        assert_eq!(render(&doc), Err(PdfError::MissingNumber));

        let mut doc = eur_invoice();
        doc.kind = DocumentKind::CreditNote;
        assert_eq!(render(&doc), Err(PdfError::CreditNoteWithoutCorrects));

        let mut doc = eur_invoice();
        doc.corrects = Some("D1-000001".to_owned());
        assert_eq!(render(&doc), Err(PdfError::InvoiceCorrects));
    }

    #[test]
    fn many_lines_run_over_several_pages() {
        let mut doc = eur_invoice();
        doc.lines = (1..=120)
            .map(|i| {
                line(
                    "2026-12-02",
                    &format!("Room service order {i}"),
                    1,
                    1_000 + i,
                )
            })
            .collect();
        let bytes = render(&doc).expect("render");
        let pdf = TempPdf::write("long", &bytes);
        let pages = pdf.pages();
        assert!(pages > 1, "{pages} page(s)");
        let text = pdf.text();
        assert_contains(&text, "Page 2 of");
        assert_contains(&text, &format!("Page {pages} of {pages}"));
        assert_contains(&text, "D1-000012 (continued)");
        for i in [1, 60, 120] {
            assert_contains(&text, &format!("Room service order {i} "));
            assert_contains(&text, &format_minor(1_000 + i, 2, "EUR"));
        }
        // The totals come once, after the last line.
        assert_eq!(text.matches("Balance due").count(), 1);
        let last_line = text.find("Room service order 120 ").expect("last line");
        assert!(text.find("Balance due").expect("balance") > last_line);
    }

    #[test]
    fn long_descriptions_wrap_within_their_column() {
        let mut doc = eur_invoice();
        let long = "Late check-out until 18:00 including use of the spa, the sauna and the \
                    fitness room for two guests";
        doc.lines[0].description = long.to_owned();
        let text = render_text("wrap", &doc);
        assert_contains(&text, "Late check-out");
        assert_contains(&text, "fitness room for two guests");
        assert_contains(&text, "3,600.00 EUR");
    }

    #[test]
    fn latin1_accents_survive_and_others_become_question_marks() {
        let mut doc = eur_invoice();
        doc.bill_to.name = "José Müller".to_owned();
        doc.stay = Some(StayBlock {
            arrival: date("2026-12-01"),
            departure: date("2026-12-02"),
            room: Some("Suite Côte d'Azur".to_owned()),
            guest_name: Some("Françoise Ærø".to_owned()),
        });
        doc.lines[1].description = "Crème brûlée – 2 × Œufs".to_owned();
        doc.lines[2].description = "Tea 茶 Чай".to_owned();
        let text = render_text("accents", &doc);
        for wanted in [
            "José Müller",
            "Françoise Ærø",
            "Suite Côte d'Azur",
            "(1 night)",
            "Crème brûlée – 2 × Œufs",
            "Tea ? ???",
        ] {
            assert_contains(&text, wanted);
        }
    }

    #[test]
    fn the_same_document_renders_the_same_bytes() {
        let doc = eur_invoice();
        let first = render(&doc).expect("render");
        let second = render(&doc).expect("render");
        assert_eq!(first, second);
        // And the document survives a JSON round trip unchanged.
        let json = serde_json::to_string(&doc).expect("serialize");
        let back: InvoiceDocument = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(render(&back).expect("render"), first);
    }

    #[test]
    fn win_ansi_mapping() {
        assert_eq!(
            to_win_ansi("Aé€–\t字"),
            vec![b'A', 0xe9, 0x80, 0x96, b' ', b'?']
        );
        let lines = wrap(b"aaa bbb ccc", Face::Regular, 10.0, 40.0);
        assert_eq!(lines, vec![b"aaa bbb".to_vec(), b"ccc".to_vec()]);
        assert_eq!(wrap(b"", Face::Regular, 10.0, 40.0), vec![Vec::<u8>::new()]);
        assert!(wrap(&[b'W'; 50], Face::Bold, 10.0, 40.0).len() > 1);
    }
}
