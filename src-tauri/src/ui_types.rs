//! The UI's TypeScript types, generated from the Rust types the commands send and take
//! (`ts-rs`), so a renamed or retyped field breaks `svelte-check` instead of a screen at run
//! time. The file is committed (`ui/src/lib/generated/types.ts`) and the test
//! `tests/ui_types.rs` fails when it and the code disagree; regenerate it with
//! `PMS_UPDATE_UI_TYPES=1 cargo test -p pms-desk --test ui_types`.
//!
//! Integers are `number`: every i64 the desk sends (money in minor units, counts, points) stays far
//! below 2^53. `AppError` is not here: its JSON is built by hand (`AppError::to_json`), and
//! `ui/src/lib/types.ts` keeps its shape next to the re-exports.

use ts_rs::{Config, TS};

use crate::commands::{
    admin, campaigns, folio, guests, housekeeping, loyalty, reservations, setup, staff, sync,
    today, update,
};
use pms_sync_client::{
    business_day, communications, folio as folio_domain, guest_invoice, history, loyalty_programs,
    night_audit, paperwork, registration, remote, reports,
};

/// The committed file, relative to the workspace root.
pub const COMMITTED_PATH: &str = "ui/src/lib/generated/types.ts";

/// One declaration per type, in the order a reader meets them.
fn declarations(cfg: &Config) -> Vec<String> {
    macro_rules! decls {
        ($($ty:ty),* $(,)?) => { vec![$(<$ty as TS>::decl(cfg)),*] };
    }
    decls![
        // setup and the status bar
        setup::Mode,
        paperwork::PaperSize,
        crate::db::Property,
        crate::state::User,
        setup::AppStatus,
        setup::SyncProgress,
        crate::state::SyncInfo,
        sync::SyncStatus,
        sync::Conflict,
        crate::update_checks::UpdateStatus,
        update::UpdateCheck,
        // bookings, rooms, today
        reservations::Reservation,
        reservations::RoomOffer,
        reservations::TapeStay,
        reservations::TapeChart,
        history::HistoryLine,
        registration::DocumentInput,
        registration::RegistrationInput,
        registration::Document,
        registration::Registration,
        housekeeping::RoomStatus,
        today::Occupancy,
        today::Today,
        // guests and loyalty
        guests::GuestHit,
        guests::Communication,
        guests::Profile,
        guests::GuestInput,
        communications::Kind,
        communications::NewCommunication,
        loyalty::Membership,
        loyalty::Tier,
        loyalty::Program,
        loyalty_programs::TierInput,
        loyalty_programs::ProgramInput,
        loyalty::LedgerEntry,
        campaigns::Campaign,
        admin::Billing,
        // folios, the business day, invoices
        folio_domain::Folio,
        folio_domain::Entry,
        folio_domain::Balance,
        folio::FolioWithBalance,
        folio::StayFolio,
        folio::ChargeItem,
        business_day::BusinessDay,
        night_audit::Revenue,
        night_audit::Takings,
        night_audit::DaySummary,
        guest_invoice::Line,
        guest_invoice::TaxLine,
        guest_invoice::GuestInvoice,
        // reports and staff
        reports::Figures,
        reports::ReportDay,
        reports::Report,
        staff::Colleague,
        remote::TemporaryPassword,
    ]
}

/// The whole generated file.
pub fn generate() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the desk's Rust types by src-tauri/src/ui_types.rs: do not edit.\n\
         // Regenerate: PMS_UPDATE_UI_TYPES=1 cargo test -p pms-desk --test ui_types\n",
    );
    for declaration in declarations(&cfg) {
        out.push('\n');
        out.push_str("export ");
        out.push_str(declaration.trim_end());
        if !declaration.trim_end().ends_with(';') {
            out.push(';');
        }
        out.push('\n');
    }
    out
}
