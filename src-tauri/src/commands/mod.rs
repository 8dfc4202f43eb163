//! The commands the UI calls, one module per screen area. Each module holds plain functions over
//! the mirror connection (tested directly) and thin `#[tauri::command]` wrappers; every command
//! returns `Result<_, CommandError>` (a typed error with a clerk's message).

pub mod admin;
pub mod campaigns;
pub mod folio;
pub mod guests;
pub mod housekeeping;
pub mod loyalty;
pub mod paperwork;
pub mod registration;
pub mod reports;
pub mod reservations;
pub mod setup;
pub mod staff;
pub mod support;
pub mod sync;
pub mod today;
pub mod update;

use tauri::Manager;

use crate::error::{AppError, AppResult, CommandError};
use crate::state::Desk;

/// Refuses what only the owner and managers do (revenue figures, loyalty programs, how long
/// documents are kept) to other roles; a local desk acts as its owner.
pub(crate) fn managers_only(desk: &Desk) -> AppResult<()> {
    let role = match desk.user() {
        Some(user) => user.role,
        None => crate::db::desk_state(&desk.conn(), "desk_staff_role")?
            .unwrap_or_else(|| "owner".into()),
    };
    if matches!(role.as_str(), "owner" | "manager") {
        Ok(())
    } else {
        Err(AppError::ManagersOnly)
    }
}

/// What a locked desk (connected to a server, nobody signed in) still answers.
const OPEN_WHEN_LOCKED: &[&str] = &[
    "get_app_status",
    "get_sync_status",
    "get_update_status",
    "sign_in",
    "sign_out",
    "connect_server",
    // support is most needed when signing in fails; the text holds no guest data
    "get_diagnostics",
];

/// Every command, for `Builder::invoke_handler` (the app and the mock-runtime tests). While the
/// desk is locked, the others are refused with `SignInRequired`; each of them counts as the
/// signed-in colleague's activity, and one that comes after the idle time locks the desk first.
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    let commands = all::<R>();
    move |invoke: tauri::ipc::Invoke<R>| {
        let guarded = !OPEN_WHEN_LOCKED.contains(&invoke.message.command());
        let locked = guarded
            && invoke
                .message
                .webview_ref()
                .try_state::<Desk>()
                .is_some_and(|desk| {
                    lock_when_idle(&desk);
                    if !desk.is_locked() {
                        desk.touch();
                    }
                    desk.is_locked()
                });
        if locked {
            invoke
                .resolver
                .reject(CommandError(AppError::SignInRequired));
            return true;
        }
        commands(invoke)
    }
}

/// Locks the desk when its colleague has been idle longer than the owner allows: the command
/// that finds it so is refused like any on a locked desk, and the next colleague signs in.
fn lock_when_idle(desk: &Desk) {
    let minutes =
        setup::idle_lock_minutes(&desk.conn()).unwrap_or(setup::DEFAULT_IDLE_LOCK_MINUTES);
    if minutes > 0 {
        desk.lock_if_idle(chrono::Duration::minutes(minutes));
    }
}

fn all<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        setup::get_app_status,
        setup::setup_local_hotel,
        setup::load_demo,
        setup::list_properties,
        setup::set_desk_property,
        setup::connect_server,
        setup::sign_in,
        setup::sign_out,
        setup::set_idle_lock,
        staff::list_staff,
        staff::add_staff,
        staff::change_staff_role,
        staff::disable_staff,
        staff::give_temporary_password,
        today::get_today,
        reservations::search_reservations,
        reservations::get_reservation,
        reservations::find_available_rooms,
        reservations::create_reservation,
        reservations::change_reservation,
        reservations::reservation_action,
        reservations::booking_history,
        registration::get_registration,
        registration::capture_registration,
        registration::set_document_retention,
        folio::get_folio,
        folio::post_charge,
        folio::record_payment,
        folio::record_refund,
        folio::void_folio_entry,
        folio::open_company_folio,
        folio::move_folio_entry,
        folio::list_charge_items,
        folio::get_business_day,
        folio::run_night_audit,
        folio::issue_guest_invoice,
        folio::issue_credit_note,
        folio::list_guest_invoices,
        folio::open_guest_invoice,
        reservations::get_tape_chart,
        guests::search_guests,
        guests::get_guest,
        guests::create_guest,
        guests::update_guest,
        guests::merge_guests,
        guests::save_guest_preferences,
        guests::log_communication,
        housekeeping::list_rooms,
        housekeeping::set_room_status,
        paperwork::print_paperwork,
        paperwork::print_registration_card,
        loyalty::list_programs,
        loyalty::create_loyalty_program,
        loyalty::update_loyalty_program,
        loyalty::enroll_guest,
        loyalty::redeem_points,
        loyalty::add_points,
        loyalty::member_ledger,
        campaigns::list_campaigns,
        campaigns::preview_audience,
        campaigns::create_campaign,
        reports::get_report,
        reports::export_report_csv,
        reports::export_guests_csv,
        admin::get_billing,
        sync::get_sync_status,
        sync::sync_now,
        sync::list_conflicts,
        sync::resolve_conflict,
        support::get_diagnostics,
        update::check_for_update,
        update::install_update,
        update::get_update_status,
        update::set_update_checks,
    ]
}
