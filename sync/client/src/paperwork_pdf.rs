//! [`Paperwork`] laid out as a PDF on the property's paper (A4 or Letter): each list a table
//! under a heading (the property, the list and its date, when it was printed), continued over as
//! many pages as it needs with its header again; each registration card a page of its own with
//! a signature line; every page footed "Page i of n".
//!
//! Built the way [`crate::guest_invoice_pdf`] builds invoices (`pdf-writer`, Helvetica in
//! WinAnsiEncoding without an embedded font, no clock or randomness in the bytes), and with its
//! text helpers: the same paperwork always gives the same bytes, a few kilobytes, and its text
//! reads back with `pdftotext`. The words printed are English or Spanish ([`Language`]).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::guest_invoice_pdf::{format_minor, text_width, to_win_ansi, wrap, Face};
use crate::paperwork::{Language, Paperwork, RegistrationCard, RoomLine, Section, StayLine};

/// The words on the paper, in one language.
struct Words {
    arrivals: &'static str,
    departures: &'static str,
    in_house: &'static str,
    housekeeping: &'static str,
    registration_card: &'static str,
    continued: &'static str,
    printed: &'static str,
    page: &'static str,
    of: &'static str,
    room: &'static str,
    guest: &'static str,
    booking: &'static str,
    room_type: &'static str,
    nights: &'static str,
    guests: &'static str,
    arrival: &'static str,
    departure: &'static str,
    status: &'static str,
    balance: &'static str,
    floor: &'static str,
    today: &'static str,
    notes: &'static str,
    done: &'static str,
    leaves: &'static str,
    arrives: &'static str,
    requests: &'static str,
    total: &'static str,
    none: &'static str,
    adults: &'static str,
    children: &'static str,
    rate: &'static str,
    email: &'static str,
    phone: &'static str,
    address: &'static str,
    birth: &'static str,
    nationality: &'static str,
    document_type: &'static str,
    document_number: &'static str,
    document_expiry: &'static str,
    stay: &'static str,
    guest_details: &'static str,
    declaration: &'static str,
    signature: &'static str,
    date: &'static str,
    clerk: &'static str,
}

const EN: Words = Words {
    arrivals: "Arrivals",
    departures: "Departures",
    in_house: "In house",
    housekeeping: "Housekeeping",
    registration_card: "Registration card",
    continued: "continued",
    printed: "Printed",
    page: "Page",
    of: "of",
    room: "Room",
    guest: "Guest",
    booking: "Booking",
    room_type: "Type",
    nights: "Nights",
    guests: "Guests",
    arrival: "Arrival",
    departure: "Departure",
    status: "Status",
    balance: "Balance",
    floor: "Floor",
    today: "Today",
    notes: "Notes",
    done: "Done",
    leaves: "leaves",
    arrives: "arrives",
    requests: "Requests",
    total: "Total",
    none: "None.",
    adults: "Adults",
    children: "Children",
    rate: "Rate per night",
    email: "Email",
    phone: "Phone",
    address: "Address",
    birth: "Date of birth",
    nationality: "Nationality",
    document_type: "Identity document",
    document_number: "Document number",
    document_expiry: "Valid until",
    stay: "Stay",
    guest_details: "Guest",
    declaration: "I confirm these details are correct and agree to pay for my stay and the \
                  charges I incur, under the hotel's terms.",
    signature: "Guest's signature",
    date: "Date",
    clerk: "Clerk",
};

const ES: Words = Words {
    arrivals: "Llegadas",
    departures: "Salidas",
    in_house: "Alojados",
    housekeeping: "Limpieza",
    registration_card: "Ficha de registro",
    continued: "continuación",
    printed: "Impreso",
    page: "Página",
    of: "de",
    room: "Hab.",
    guest: "Huésped",
    booking: "Reserva",
    room_type: "Tipo",
    nights: "Noches",
    guests: "Pers.",
    arrival: "Llegada",
    departure: "Salida",
    status: "Estado",
    balance: "Saldo",
    floor: "Planta",
    today: "Hoy",
    notes: "Notas",
    done: "Hecho",
    leaves: "sale",
    arrives: "llega",
    requests: "Peticiones",
    total: "Total",
    none: "Ninguna.",
    adults: "Adultos",
    children: "Niños",
    rate: "Precio por noche",
    email: "Correo",
    phone: "Teléfono",
    address: "Dirección",
    birth: "Fecha de nacimiento",
    nationality: "Nacionalidad",
    document_type: "Documento de identidad",
    document_number: "Número de documento",
    document_expiry: "Válido hasta",
    stay: "Estancia",
    guest_details: "Huésped",
    declaration: "Confirmo que estos datos son correctos y me comprometo a pagar mi estancia y \
                  los cargos que genere, según las condiciones del hotel.",
    signature: "Firma del huésped",
    date: "Fecha",
    clerk: "Recepción",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &EN,
        Language::Es => &ES,
    }
}

/// A status as printed.
fn status_word(language: Language, status: &str) -> String {
    let (en, es) = match status {
        "pending" => ("Pending", "Pendiente"),
        "confirmed" => ("Confirmed", "Confirmada"),
        "checked_in" => ("In house", "Alojado"),
        "checked_out" => ("Checked out", "Salida registrada"),
        "clean" => ("Clean", "Limpia"),
        "dirty" => ("Dirty", "Sucia"),
        "inspected" => ("Inspected", "Revisada"),
        "out_of_order" => ("Out of order", "Fuera de servicio"),
        other => (other, other),
    };
    match language {
        Language::En => en.to_owned(),
        Language::Es => es.to_owned(),
    }
}

const MARGIN: f32 = 40.0;
const BOTTOM: f32 = 60.0;
const FOOTER_Y: f32 = 30.0;
const BODY: f32 = 9.0;
const LEADING: f32 = 13.0;

/// How a column sits: text from its left edge, or numbers against its right edge.
#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// A column: its heading, its share of the page's width and its alignment.
struct Column {
    title: &'static str,
    share: f32,
    align: Align,
}

/// One row of a table: a cell per column, and an optional note under it across the row.
struct Row {
    cells: Vec<String>,
    note: Option<String>,
    /// A box to tick by hand in the last column.
    tick_box: bool,
}

/// The pages being written.
struct Canvas<'a> {
    doc: &'a Paperwork,
    words: &'static Words,
    width: f32,
    height: f32,
    /// Finished pages and the label in their footer.
    done: Vec<(Content, String)>,
    page: Content,
    label: String,
    y: f32,
}

impl<'a> Canvas<'a> {
    fn new(doc: &'a Paperwork) -> Self {
        let (width, height) = doc.paper.points();
        Canvas {
            doc,
            words: words(doc.language),
            width,
            height,
            done: Vec::new(),
            page: Content::new(),
            label: String::new(),
            y: height - MARGIN,
        }
    }

    fn right(&self) -> f32 {
        self.width - MARGIN
    }

    fn text(&mut self, x: f32, y: f32, face: Face, size: f32, text: &str) {
        self.page
            .begin_text()
            .set_font(face.resource(), size)
            .next_line(x, y)
            .show(Str(&to_win_ansi(text)))
            .end_text();
    }

    fn text_right(&mut self, right: f32, y: f32, face: Face, size: f32, text: &str) {
        let x = right - text_width(&to_win_ansi(text), face, size);
        self.text(x, y, face, size, text);
    }

    /// `text` cut to `width` with "..." when it is longer.
    fn fit(text: &str, face: Face, size: f32, width: f32) -> String {
        if text_width(&to_win_ansi(text), face, size) <= width {
            return text.to_owned();
        }
        let mut out: String = text.to_owned();
        while !out.is_empty() && text_width(&to_win_ansi(&format!("{out}...")), face, size) > width
        {
            out.pop();
        }
        format!("{}...", out.trim_end())
    }

    fn rule(&mut self, y: f32, from: f32, to: f32, gray: f32) {
        self.page
            .save_state()
            .set_stroke_gray(gray)
            .set_line_width(0.6)
            .move_to(from, y)
            .line_to(to, y)
            .stroke()
            .restore_state();
    }

    /// Ends the page being written (if anything is on it) and starts another.
    fn new_page(&mut self) {
        let full = std::mem::replace(&mut self.page, Content::new());
        self.done.push((full, self.label.clone()));
        self.y = self.height - MARGIN;
    }

    /// The heading of a section's page: the property and when it was printed, then the title.
    fn heading(&mut self, title: &str, continued: bool) {
        let top = self.height - MARGIN;
        let name = self.doc.property.name.clone();
        self.text(MARGIN, top, Face::Bold, 11.0, &name);
        let printed = format!("{} {}", self.words.printed, self.doc.printed_at);
        let right = self.right();
        self.text_right(right, top, Face::Regular, 8.0, &printed);
        let title = if continued {
            format!("{title} ({})", self.words.continued)
        } else {
            title.to_owned()
        };
        self.text(MARGIN, top - 22.0, Face::Bold, 16.0, &title);
        self.y = top - 44.0;
    }

    fn columns_x(&self, columns: &[Column]) -> Vec<(f32, f32)> {
        let total: f32 = columns.iter().map(|c| c.share).sum();
        let width = self.width - 2.0 * MARGIN;
        let mut x = MARGIN;
        columns
            .iter()
            .map(|c| {
                let w = width * c.share / total;
                let span = (x, w);
                x += w;
                span
            })
            .collect()
    }

    fn table_header(&mut self, columns: &[Column]) {
        let y = self.y;
        let right = self.right();
        self.page
            .save_state()
            .set_fill_gray(0.9)
            .rect(MARGIN - 3.0, y - 4.0, right - MARGIN + 6.0, LEADING + 1.0)
            .fill_nonzero()
            .restore_state();
        for (column, (x, w)) in columns.iter().zip(self.columns_x(columns)) {
            match column.align {
                Align::Left => self.text(x, y, Face::Bold, BODY, column.title),
                Align::Right => self.text_right(x + w - 4.0, y, Face::Bold, BODY, column.title),
            }
        }
        self.y -= LEADING + 5.0;
    }

    /// A table under `title`, over as many pages as it takes; `summary` closes it.
    fn table(&mut self, title: &str, columns: &[Column], rows: &[Row], summary: Option<String>) {
        self.label = title.to_owned();
        self.heading(title, false);
        self.table_header(columns);
        let spans = self.columns_x(columns);
        let note_x = spans.get(1).map_or(MARGIN, |s| s.0);
        let note_width = self.right() - note_x;
        if rows.is_empty() {
            let none = self.words.none;
            self.text(MARGIN, self.y, Face::Regular, BODY, none);
            self.y -= LEADING;
        }
        for row in rows {
            let note = row
                .note
                .as_deref()
                .map(|n| wrap(&to_win_ansi(n), Face::Regular, 8.0, note_width))
                .unwrap_or_default();
            let height = LEADING + note.len() as f32 * 10.0 + 4.0;
            if self.y - height < BOTTOM {
                self.new_page();
                self.heading(title, true);
                self.table_header(columns);
            }
            let y = self.y;
            for (i, (cell, (x, w))) in row.cells.iter().zip(&spans).enumerate() {
                let face = if i == 1 { Face::Bold } else { Face::Regular };
                let text = Self::fit(cell, face, BODY, w - 6.0);
                match columns[i].align {
                    Align::Left => self.text(*x, y, face, BODY, &text),
                    Align::Right => self.text_right(x + w - 4.0, y, face, BODY, &text),
                }
            }
            if row.tick_box {
                if let Some((x, _)) = spans.last() {
                    self.page
                        .save_state()
                        .set_line_width(0.7)
                        .rect(*x, y - 2.0, 9.0, 9.0)
                        .stroke()
                        .restore_state();
                }
            }
            let mut note_y = y - 10.0;
            for line in &note {
                self.page
                    .begin_text()
                    .set_font(Face::Regular.resource(), 8.0)
                    .next_line(note_x, note_y)
                    .show(Str(line))
                    .end_text();
                note_y -= 10.0;
            }
            self.y -= height;
            let right = self.right();
            self.rule(self.y + LEADING - 3.0, MARGIN, right, 0.85);
        }
        if let Some(summary) = summary {
            if self.y - LEADING < BOTTOM {
                self.new_page();
                self.heading(title, true);
            }
            self.y -= 4.0;
            self.text(MARGIN, self.y, Face::Bold, BODY, &summary);
            self.y -= LEADING;
        }
        self.new_page();
    }

    fn money(&self, stay: &StayLine) -> String {
        let digits = pms_sync_protocol::money::minor_digits(&stay.currency).unwrap_or(2);
        format_minor(stay.balance_minor, digits, &stay.currency)
    }

    fn party(stay: &StayLine) -> String {
        if stay.children > 0 {
            format!("{}+{}", stay.adults, stay.children)
        } else {
            stay.adults.to_string()
        }
    }

    fn arrivals(&mut self, date: chrono::NaiveDate, stays: &[StayLine]) {
        let w = self.words;
        let columns = [
            col(w.room, 0.08, Align::Left),
            col(w.guest, 0.27, Align::Left),
            col(w.booking, 0.11, Align::Left),
            col(w.room_type, 0.14, Align::Left),
            col(w.nights, 0.08, Align::Right),
            col(w.guests, 0.07, Align::Right),
            col(w.departure, 0.12, Align::Left),
            col(w.status, 0.13, Align::Left),
        ];
        let language = self.doc.language;
        let rows: Vec<Row> = stays
            .iter()
            .map(|s| Row {
                cells: vec![
                    s.room.clone().unwrap_or_else(|| "-".to_owned()),
                    s.guest_name.clone(),
                    s.reference.clone(),
                    s.room_type.clone().unwrap_or_default(),
                    s.nights().to_string(),
                    Self::party(s),
                    s.departure.to_string(),
                    status_word(language, &s.status),
                ],
                note: s
                    .special_requests
                    .as_ref()
                    .map(|r| format!("{}: {r}", w.requests)),
                tick_box: false,
            })
            .collect();
        let summary = format!("{}: {}", w.total, stays.len());
        self.table(
            &format!("{} {date}", w.arrivals),
            &columns,
            &rows,
            Some(summary),
        );
    }

    fn departures(&mut self, date: chrono::NaiveDate, stays: &[StayLine]) {
        let w = self.words;
        let columns = [
            col(w.room, 0.08, Align::Left),
            col(w.guest, 0.28, Align::Left),
            col(w.booking, 0.11, Align::Left),
            col(w.arrival, 0.13, Align::Left),
            col(w.nights, 0.08, Align::Right),
            col(w.status, 0.14, Align::Left),
            col(w.balance, 0.18, Align::Right),
        ];
        let language = self.doc.language;
        let rows: Vec<Row> = stays
            .iter()
            .map(|s| Row {
                cells: vec![
                    s.room.clone().unwrap_or_else(|| "-".to_owned()),
                    s.guest_name.clone(),
                    s.reference.clone(),
                    s.arrival.to_string(),
                    s.nights().to_string(),
                    status_word(language, &s.status),
                    self.money(s),
                ],
                note: None,
                tick_box: false,
            })
            .collect();
        let summary = format!("{}: {}", w.total, stays.len());
        self.table(
            &format!("{} {date}", w.departures),
            &columns,
            &rows,
            Some(summary),
        );
    }

    fn in_house(&mut self, date: chrono::NaiveDate, stays: &[StayLine]) {
        let w = self.words;
        let columns = [
            col(w.room, 0.08, Align::Left),
            col(w.guest, 0.28, Align::Left),
            col(w.booking, 0.11, Align::Left),
            col(w.arrival, 0.13, Align::Left),
            col(w.departure, 0.13, Align::Left),
            col(w.guests, 0.08, Align::Right),
            col(w.balance, 0.19, Align::Right),
        ];
        let rows: Vec<Row> = stays
            .iter()
            .map(|s| Row {
                cells: vec![
                    s.room.clone().unwrap_or_else(|| "-".to_owned()),
                    s.guest_name.clone(),
                    s.reference.clone(),
                    s.arrival.to_string(),
                    s.departure.to_string(),
                    Self::party(s),
                    self.money(s),
                ],
                note: None,
                tick_box: false,
            })
            .collect();
        // The balances in the property's currency add up; a stay in another is left out.
        let currency = self.doc.property.currency.clone();
        let owed: i64 = stays
            .iter()
            .filter(|s| s.currency == currency)
            .map(|s| s.balance_minor)
            .sum();
        let digits = pms_sync_protocol::money::minor_digits(&currency).unwrap_or(2);
        let summary = format!(
            "{}: {} · {} {}",
            w.total,
            stays.len(),
            w.balance,
            format_minor(owed, digits, &currency)
        );
        self.table(
            &format!("{} {date}", w.in_house),
            &columns,
            &rows,
            Some(summary),
        );
    }

    fn housekeeping(&mut self, date: chrono::NaiveDate, rooms: &[RoomLine]) {
        let w = self.words;
        let columns = [
            col(w.room, 0.08, Align::Left),
            col(w.room_type, 0.15, Align::Left),
            col(w.floor, 0.07, Align::Right),
            col(w.status, 0.15, Align::Left),
            col(w.guest, 0.22, Align::Left),
            col(w.today, 0.26, Align::Left),
            col(w.done, 0.07, Align::Left),
        ];
        let language = self.doc.language;
        let rows: Vec<Row> = rooms
            .iter()
            .map(|r| {
                let mut today = Vec::new();
                if r.departing {
                    today.push(w.leaves.to_owned());
                }
                if let Some(guest) = &r.arriving {
                    today.push(format!("{guest} {}", w.arrives));
                }
                Row {
                    cells: vec![
                        r.number.clone(),
                        r.room_type.clone(),
                        r.floor.map(|f| f.to_string()).unwrap_or_default(),
                        status_word(language, &r.status),
                        r.occupant.clone().unwrap_or_default(),
                        today.join("; "),
                        String::new(),
                    ],
                    note: r.notes.as_ref().map(|n| format!("{}: {n}", w.notes)),
                    tick_box: true,
                }
            })
            .collect();
        self.table(&format!("{} {date}", w.housekeeping), &columns, &rows, None);
    }

    /// A labelled field: the label small above, the value (or a blank line to fill in).
    fn field(&mut self, x: f32, y: f32, width: f32, label: &str, value: Option<&str>) {
        self.text(x, y, Face::Regular, 7.5, label);
        match value.filter(|v| !v.trim().is_empty()) {
            Some(value) => {
                let value = Self::fit(value, Face::Bold, 10.0, width - 8.0);
                self.text(x, y - 13.0, Face::Bold, 10.0, &value);
            }
            None => self.rule(y - 15.0, x, x + width - 10.0, 0.5),
        }
    }

    fn card(&mut self, card: &RegistrationCard) {
        let w = self.words;
        let stay = &card.stay;
        self.label = format!("{} {}", w.registration_card, stay.guest_name);
        let top = self.height - MARGIN;
        let right = self.right();
        let property = self.doc.property.clone();
        self.text(MARGIN, top, Face::Bold, 13.0, &property.name);
        let mut y = top - 13.0;
        for line in property.address_lines.iter().chain(property.phone.as_ref()) {
            self.text(MARGIN, y, Face::Regular, 8.5, line);
            y -= 11.0;
        }
        self.text_right(right, top, Face::Bold, 18.0, w.registration_card);
        if !stay.reference.is_empty() {
            let booking = format!("{} {}", w.booking, stay.reference);
            self.text_right(right, top - 20.0, Face::Bold, 10.0, &booking);
        }
        let printed = format!("{} {}", w.printed, self.doc.printed_at);
        self.text_right(right, top - 32.0, Face::Regular, 8.0, &printed);

        let width = right - MARGIN;
        let half = width / 2.0;
        let quarter = width / 4.0;
        let mut y = y.min(top - 44.0) - 16.0;

        self.text(MARGIN, y, Face::Bold, 11.0, w.stay);
        self.rule(y - 4.0, MARGIN, right, 0.6);
        y -= 20.0;
        let room = stay.room.clone().unwrap_or_default();
        let room_type = stay.room_type.clone().unwrap_or_default();
        self.field(MARGIN, y, quarter, w.room, Some(&room));
        self.field(
            MARGIN + quarter,
            y,
            quarter * 3.0,
            w.room_type,
            Some(&room_type),
        );
        y -= 32.0;
        let (arrival, departure) = (stay.arrival.to_string(), stay.departure.to_string());
        self.field(MARGIN, y, quarter, w.arrival, Some(&arrival));
        self.field(MARGIN + quarter, y, quarter, w.departure, Some(&departure));
        self.field(
            MARGIN + 2.0 * quarter,
            y,
            quarter,
            w.nights,
            Some(&stay.nights().to_string()),
        );
        let party = format!(
            "{} {} / {} {}",
            stay.adults, w.adults, stay.children, w.children
        );
        self.field(MARGIN + 3.0 * quarter, y, quarter, w.guests, Some(&party));
        y -= 32.0;
        if let Some(rate) = card.rate_per_night_minor {
            let digits = pms_sync_protocol::money::minor_digits(&stay.currency).unwrap_or(2);
            let rate = format_minor(rate, digits, &stay.currency);
            self.field(MARGIN, y, half, w.rate, Some(&rate));
            y -= 32.0;
        }

        y -= 6.0;
        self.text(MARGIN, y, Face::Bold, 11.0, w.guest_details);
        self.rule(y - 4.0, MARGIN, right, 0.6);
        y -= 20.0;
        self.field(MARGIN, y, width, w.guest, Some(&stay.guest_name));
        y -= 32.0;
        self.field(MARGIN, y, half, w.email, card.email.as_deref());
        self.field(MARGIN + half, y, half, w.phone, card.phone.as_deref());
        y -= 32.0;
        let address = card.address_lines.join(", ");
        self.field(MARGIN, y, width, w.address, Some(&address));
        y -= 32.0;
        self.field(MARGIN, y, half, w.birth, card.date_of_birth.as_deref());
        self.field(
            MARGIN + half,
            y,
            half,
            w.nationality,
            card.nationality.as_deref(),
        );
        y -= 32.0;
        let document = &card.document;
        self.field(MARGIN, y, half, w.document_type, document.kind.as_deref());
        self.field(
            MARGIN + half,
            y,
            quarter,
            w.document_number,
            document.number.as_deref(),
        );
        self.field(
            MARGIN + half + quarter,
            y,
            quarter,
            w.document_expiry,
            document.expires_on.as_deref(),
        );
        y -= 32.0;
        if let Some(requests) = &stay.special_requests {
            self.text(MARGIN, y, Face::Regular, 7.5, w.requests);
            y -= 12.0;
            for line in wrap(&to_win_ansi(requests), Face::Regular, BODY, width) {
                self.page
                    .begin_text()
                    .set_font(Face::Regular.resource(), BODY)
                    .next_line(MARGIN, y)
                    .show(Str(&line))
                    .end_text();
                y -= 12.0;
            }
            y -= 8.0;
        }

        y -= 10.0;
        for line in wrap(&to_win_ansi(w.declaration), Face::Regular, BODY, width) {
            self.page
                .begin_text()
                .set_font(Face::Regular.resource(), BODY)
                .next_line(MARGIN, y)
                .show(Str(&line))
                .end_text();
            y -= 12.0;
        }
        // The signature line, the date beside it, and the clerk's initials.
        let sign_y = (y - 50.0).max(BOTTOM + 20.0);
        self.rule(sign_y, MARGIN, MARGIN + half + 40.0, 0.0);
        self.text(MARGIN, sign_y - 12.0, Face::Regular, 8.0, w.signature);
        let date_x = MARGIN + half + 70.0;
        self.rule(sign_y, date_x, right, 0.0);
        self.text(date_x, sign_y - 12.0, Face::Regular, 8.0, w.date);
        let clerk_y = sign_y - 40.0;
        if clerk_y > BOTTOM - 10.0 {
            self.rule(clerk_y, date_x, right, 0.0);
            self.text(date_x, clerk_y - 12.0, Face::Regular, 8.0, w.clerk);
        }
        self.new_page();
    }

    /// Every page with its footer.
    fn finish(mut self) -> Vec<Content> {
        if self.done.is_empty() {
            // Nothing at all to print still makes a page (a PDF must have one).
            self.new_page();
        }
        let count = self.done.len();
        let mut pages = Vec::with_capacity(count);
        for (i, (content, label)) in std::mem::take(&mut self.done).into_iter().enumerate() {
            self.page = content;
            let right = self.right();
            self.rule(FOOTER_Y + 11.0, MARGIN, right, 0.7);
            let left = format!("{} - {label}", self.doc.property.name);
            let left = Self::fit(&left, Face::Regular, 7.5, right - MARGIN - 90.0);
            self.text(MARGIN, FOOTER_Y, Face::Regular, 7.5, &left);
            let page = format!("{} {} {} {count}", self.words.page, i + 1, self.words.of);
            self.text_right(right, FOOTER_Y, Face::Regular, 7.5, &page);
            pages.push(std::mem::replace(&mut self.page, Content::new()));
        }
        pages
    }
}

fn col(title: &'static str, share: f32, align: Align) -> Column {
    Column {
        title,
        share,
        align,
    }
}

/// The paperwork as a PDF on its paper size. The same paperwork always gives the same bytes.
pub fn render(doc: &Paperwork) -> Vec<u8> {
    let mut canvas = Canvas::new(doc);
    for section in &doc.sections {
        match section {
            Section::Arrivals { date, stays } => canvas.arrivals(*date, stays),
            Section::Departures { date, stays } => canvas.departures(*date, stays),
            Section::InHouse { date, stays } => canvas.in_house(*date, stays),
            Section::Housekeeping { date, rooms } => canvas.housekeeping(*date, rooms),
            Section::Card(card) => canvas.card(card),
        }
    }
    let (width, height) = doc.paper.points();
    let pages = canvas.finish();

    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let regular_id = Ref::new(3);
    let bold_id = Ref::new(4);
    let info_id = Ref::new(5);
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
    let title = format!(
        "{} {} {}",
        doc.property.name,
        doc.kind.file_stem(),
        doc.date
    );
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .producer(TextStr("pms-sync-client"));
    for (content, (page_id, content_id)) in pages.into_iter().zip(&page_ids) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, width, height));
        page.parent(tree_id);
        page.contents(*content_id);
        page.resources()
            .fonts()
            .pair(Face::Regular.resource(), regular_id)
            .pair(Face::Bold.resource(), bold_id);
        page.finish();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paperwork::{IdentityDocument, Kind, PaperSize, PropertyBlock};
    use chrono::NaiveDate;
    use std::process::Command;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    fn stay(guest: &str, room: &str, balance_minor: i64) -> StayLine {
        StayLine {
            reservation_id: uuid::Uuid::now_v7().to_string(),
            reference: "#1042".to_owned(),
            guest_name: guest.to_owned(),
            room: Some(room.to_owned()),
            room_type: Some("Deluxe".to_owned()),
            arrival: date("2026-12-05"),
            departure: date("2026-12-08"),
            adults: 2,
            children: 1,
            status: "confirmed".to_owned(),
            special_requests: Some("Late arrival, around 23:00".to_owned()),
            currency: "EUR".to_owned(),
            balance_minor,
        }
    }

    fn paperwork(language: Language, paper: PaperSize, sections: Vec<Section>) -> Paperwork {
        Paperwork {
            kind: Kind::OutagePack,
            property: PropertyBlock {
                name: "Pension Azul".to_owned(),
                address_lines: vec!["Rua Augusta 10".to_owned(), "1100 Lisboa".to_owned()],
                phone: Some("+351 21 000 0000".to_owned()),
                currency: "EUR".to_owned(),
            },
            paper,
            language,
            printed_at: "2026-12-05 10:30".to_owned(),
            date: date("2026-12-05"),
            sections,
        }
    }

    /// The PDF's text as `pdftotext -layout` reads it, and its page size and count.
    fn read_back(name: &str, bytes: &[u8]) -> (String, String) {
        let path = std::env::temp_dir().join(format!(
            "paperwork-{}-{name}-{}.pdf",
            std::process::id(),
            uuid::Uuid::now_v7()
        ));
        std::fs::write(&path, bytes).expect("write the PDF");
        let run = |tool: &str, args: &[&str]| {
            let out = Command::new(tool)
                .args(args)
                .arg(&path)
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
        };
        let text = run("pdftotext", &["-layout", "-enc", "UTF-8"]);
        let info = run("pdfinfo", &[]);
        let _ = std::fs::remove_file(&path);
        (text, info)
    }

    fn pages(info: &str) -> usize {
        info.lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("pdfinfo prints Pages")
    }

    fn assert_contains(text: &str, wanted: &str) {
        assert!(
            text.contains(wanted),
            "{wanted:?} not in the PDF's text:\n{text}"
        );
    }

    #[test]
    fn each_list_prints_its_guests_rooms_and_balances() {
        let rooms = vec![
            RoomLine {
                number: "101".to_owned(),
                room_type: "Standard".to_owned(),
                floor: Some(1),
                status: "dirty".to_owned(),
                occupant: Some("Ines Prata".to_owned()),
                notes: Some("Broken lamp".to_owned()),
                departing: true,
                arriving: Some("Rui Lobo".to_owned()),
            },
            RoomLine {
                number: "202".to_owned(),
                room_type: "Deluxe".to_owned(),
                floor: Some(2),
                status: "out_of_order".to_owned(),
                occupant: None,
                notes: None,
                departing: false,
                arriving: None,
            },
        ];
        let doc = paperwork(
            Language::En,
            PaperSize::A4,
            vec![
                Section::Arrivals {
                    date: date("2026-12-05"),
                    stays: vec![stay("Rui Lobo", "101", 0)],
                },
                Section::Departures {
                    date: date("2026-12-05"),
                    stays: vec![stay("Ines Prata", "101", 4_500)],
                },
                Section::InHouse {
                    date: date("2026-12-05"),
                    stays: vec![
                        stay("Ines Prata", "101", 4_500),
                        stay("José Müller", "103", -1_000),
                    ],
                },
                Section::Housekeeping {
                    date: date("2026-12-05"),
                    rooms,
                },
            ],
        );
        let (text, info) = read_back("lists", &render(&doc));
        assert_contains(&info, "595 x 842");
        assert_eq!(pages(&info), 4, "a page per list");
        for wanted in [
            "Pension Azul",
            "Printed 2026-12-05 10:30",
            "Arrivals 2026-12-05",
            "Rui Lobo",
            "#1042",
            "Requests: Late arrival, around 23:00",
            "Departures 2026-12-05",
            "Ines Prata",
            "45.00 EUR",
            "In house 2026-12-05",
            "José Müller",
            "-10.00 EUR",
            // the two balances in the house: 45.00 owed, 10.00 in credit
            "Total: 2 · Balance 35.00 EUR",
            "Housekeeping 2026-12-05",
            "Dirty",
            "Out of order",
            "leaves; Rui Lobo arrives",
            "Notes: Broken lamp",
            "Page 4 of 4",
        ] {
            assert_contains(&text, wanted);
        }
        // Rooms sit on their guests' rows.
        assert!(
            text.lines()
                .any(|l| l.contains("103") && l.contains("José Müller")),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.contains("101") && l.contains("Ines Prata") && l.contains("45.00 EUR")),
            "{text}"
        );
        assert_eq!(render(&doc), render(&doc), "the same bytes each time");
    }

    #[test]
    fn a_registration_card_is_pre_filled_with_a_signature_line_in_spanish_on_letter() {
        let card = RegistrationCard {
            stay: stay("Ana Fernández", "204", 0),
            email: Some("ana@example.com".to_owned()),
            phone: None,
            address_lines: vec!["Calle Mayor 3".to_owned(), "28013 Madrid".to_owned()],
            date_of_birth: Some("1985-04-12".to_owned()),
            nationality: Some("ES".to_owned()),
            document: IdentityDocument::default(),
            rate_per_night_minor: Some(12_000),
        };
        let doc = paperwork(
            Language::Es,
            PaperSize::Letter,
            vec![Section::Card(Box::new(card))],
        );
        let (text, info) = read_back("card", &render(&doc));
        assert_contains(&info, "612 x 792");
        for wanted in [
            "Ficha de registro",
            "Reserva #1042",
            "Ana Fernández",
            "204",
            "Deluxe",
            "2026-12-05",
            "2026-12-08",
            "120.00 EUR",
            "ana@example.com",
            "Calle Mayor 3, 28013 Madrid",
            "1985-04-12",
            "Documento de identidad",
            "Firma del huésped",
            "Página 1 de 1",
        ] {
            assert_contains(&text, wanted);
        }
    }

    #[test]
    fn a_long_list_runs_over_pages_with_its_header_again() {
        let stays: Vec<StayLine> = (1..=80)
            .map(|i| stay(&format!("Guest {i:02}"), &format!("{}", 100 + i), i * 100))
            .collect();
        let doc = paperwork(
            Language::En,
            PaperSize::A4,
            vec![Section::InHouse {
                date: date("2026-12-05"),
                stays,
            }],
        );
        let (text, _) = read_back("long", &render(&doc));
        assert_contains(&text, "In house 2026-12-05 (continued)");
        assert_contains(&text, "Guest 01");
        assert_contains(&text, "Guest 80");
        assert_contains(&text, "Total: 80");
        assert!(
            text.matches("Balance").count() >= 3,
            "the header on each page"
        );
    }
}
