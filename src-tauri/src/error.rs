//! The one error type every command returns. It crosses to the UI as JSON with a `kind` (what
//! the UI switches on), the variant's fields, and a `message` written for the clerk at the desk
//! (what to do, never internals or secrets).

use serde::Serialize;

/// What went wrong, in the terms of the front desk.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind")]
pub enum AppError {
    /// A field the clerk typed is missing or not valid; `field` names the input to focus.
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("The departure date must be after the arrival date.")]
    DatesOutOfOrder,
    #[error(
        "Room {room} is already booked for some of these nights. Pick another room or other dates."
    )]
    RoomTaken { room: String },
    #[error("Room {room} is out of order and cannot be booked.")]
    RoomOutOfOrder { room: String },
    #[error("Not enough points: {available} available, {requested} asked.")]
    NotEnoughPoints { available: i64, requested: i64 },
    #[error("This booking is {from}; it cannot be {action}.")]
    InvalidTransition { from: String, action: String },
    #[error("{what} was not found on this laptop.")]
    NotFound { what: String },
    #[error(
        "The server cannot be reached. Work goes on here and is sent when the connection is back."
    )]
    ServerUnreachable,
    #[error("Your session has expired. Sign in again to keep syncing.")]
    SessionExpired,
    #[error("The email or password is not right.")]
    SignInRefused,
    #[error("Sign in to continue.")]
    SignInRequired,
    #[error("The server needs a newer version of this app. Install the update to sync again.")]
    ClientTooOld,
    #[error("The update server cannot be reached. Check the internet connection and try again later; work goes on here meanwhile.")]
    UpdateUnreachable,
    #[error("The update on offer is not signed with this app's key, so it was not installed. Tell whoever looks after the app.")]
    UpdateNotTrusted,
    #[error(
        "No newer version is published yet. Try again later, or ask whoever looks after the app."
    )]
    NoUpdate,
    #[error("The update could not be installed: {message}")]
    UpdateFailed { message: String },
    #[error("The server refused: {message}")]
    ServerRefused { message: String },
    #[error("This laptop is not set up yet.")]
    NotSetUp,
    #[error("This laptop is already set up.")]
    AlreadySetUp,
    #[error("This folio is closed and takes no new entries.")]
    FolioClosed,
    /// Check-out refused: the folio is not settled. A manager may override with a reason.
    #[serde(rename = "balance_due")]
    #[error(
        "The guest still owes {balance}. Take the payment first, or a manager can let the guest \
         leave with the balance open by giving a reason."
    )]
    BalanceDue { balance: String },
    #[error("Only a manager or the owner can let a guest leave with a balance open.")]
    ManagerRequired,
    /// The night audit cannot close the business date (it has not begun at the hotel).
    #[serde(rename = "audit_not_due")]
    #[error("{message}")]
    AuditNotDue { message: String },
    /// Signed in with a temporary password an owner gave: choose one's own (`new_password`).
    #[error(
        "This is a temporary password: choose a password of your own (at least 10 characters) \
         to sign in."
    )]
    PasswordChangeRequired,
    /// Something only the hotel's owner does (staff accounts, the idle lock).
    #[error("Only the owner can do this.")]
    OwnerOnly,
    /// Figures and exports for the owner and the managers.
    #[error("Only the owner and the managers see the hotel's figures.")]
    ManagersOnly,
    /// The server must have received this first (a colleague added offline is still waiting).
    #[error(
        "{what} has not reached the server yet: try again once the desk is online and synced."
    )]
    NotYetOnServer { what: String },
    /// Registration cards for a date nobody arrives on.
    #[error("No guests arrive on {date}, so there is no registration card to print.")]
    NoArrivals { date: String },
    /// A printout could not be written to the data folder.
    #[error(
        "The PDF could not be saved in {folder}. Check that the disk has space, then print again."
    )]
    NotSaved { folder: String },
    #[error("The local database had a problem: {message}")]
    Local { message: String },
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// The error as the UI receives it: the tagged variant plus `message`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("message".to_owned(), self.to_string().into());
        }
        value
    }
}

/// What commands return: `Result<T, CommandError>` serializes the error with its message.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandError(pub AppError);

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.to_json().serialize(serializer)
    }
}

impl<E: Into<AppError>> From<E> for CommandError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Local {
            message: error.to_string(),
        }
    }
}

impl From<pms_sync_client::Error> for AppError {
    fn from(error: pms_sync_client::Error) -> Self {
        use pms_sync_client::Error as E;
        match error {
            E::Unreachable(_) => Self::ServerUnreachable,
            E::NotSignedIn => Self::SessionExpired,
            E::InsufficientPoints {
                available,
                requested,
            } => Self::NotEnoughPoints {
                available,
                requested,
            },
            E::CardNumber { field } => Self::Validation {
                field: field.to_owned(),
                message:
                    "This looks like a card number. Card numbers are never written down \
                          here: keep only the last four digits or the payment provider's reference."
                        .to_owned(),
            },
            E::Invalid { field, message } => Self::Validation {
                field: field.to_owned(),
                message,
            },
            E::FolioClosed => Self::FolioClosed,
            E::NoArrivals { date } => Self::NoArrivals {
                date: date.to_string(),
            },
            E::BalanceDue {
                balance_minor,
                currency,
            } => Self::BalanceDue {
                balance: pms_sync_protocol::money::format_minor(balance_minor, &currency),
            },
            E::ManagerRequired => Self::ManagerRequired,
            E::Refused { status: 426, .. } => Self::ClientTooOld,
            E::Refused { code, .. } if code == "invalid_credentials" => Self::SignInRefused,
            E::Refused { code, .. } if code == "password_change_required" => {
                Self::PasswordChangeRequired
            }
            E::Refused { code, .. } if code == "weak_password" => Self::Validation {
                field: "new_password".to_owned(),
                message: "Choose a password of at least 10 characters.".to_owned(),
            },
            E::Refused { code, .. } if code == "owner_only" => Self::OwnerOnly,
            E::Refused { code, .. }
                if matches!(
                    code.as_str(),
                    "invalid_refresh_token" | "session_revoked" | "invalid_token" | "missing_token"
                ) =>
            {
                Self::SessionExpired
            }
            E::Refused { status, .. } if status >= 500 => Self::ServerUnreachable,
            E::Refused { message, code, .. } => Self::ServerRefused {
                message: if message.is_empty() { code } else { message },
            },
            other => Self::Local {
                message: other.to_string(),
            },
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
/// The result type of `#[tauri::command]` functions.
pub type CmdResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_as_kind_fields_and_a_clerk_message() {
        let json = AppError::RoomTaken { room: "101".into() }.to_json();
        assert_eq!(json["kind"], "RoomTaken");
        assert_eq!(json["room"], "101");
        assert!(json["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Room 101 is already booked")));
        let json = AppError::validation("email", "That email is not valid.").to_json();
        assert_eq!(json["kind"], "Validation");
        assert_eq!(json["field"], "email");
        assert_eq!(json["message"], "That email is not valid.");
    }

    #[test]
    fn client_errors_map_to_what_the_clerk_can_do() {
        use pms_sync_client::Error as E;
        let refused = |status, code: &str| E::Refused {
            status,
            code: code.into(),
            message: String::new(),
        };
        assert_eq!(
            AppError::from(E::Unreachable("connection refused".into())),
            AppError::ServerUnreachable
        );
        assert_eq!(
            AppError::from(refused(401, "invalid_credentials")),
            AppError::SignInRefused
        );
        assert_eq!(
            AppError::from(refused(401, "session_revoked")),
            AppError::SessionExpired
        );
        assert_eq!(
            AppError::from(refused(426, "client_too_old")),
            AppError::ClientTooOld
        );
        assert_eq!(
            AppError::from(refused(503, "internal")),
            AppError::ServerUnreachable
        );
        assert_eq!(
            AppError::from(E::InsufficientPoints {
                available: 5,
                requested: 9
            }),
            AppError::NotEnoughPoints {
                available: 5,
                requested: 9
            }
        );
    }
}
