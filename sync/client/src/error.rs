//! Errors of the sync client; messages say what to do.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("local database error: {0}")]
    Local(rusqlite::Error),
    /// SQLite could not grow the file (`SQLITE_FULL`): the disk, or the size the database may
    /// reach, is used up. The failed transaction was rolled back whole.
    #[error(
        "the laptop's disk is full, so this was not saved: free some space on the disk (or ask \
         whoever looks after the laptop), then try again; work not yet sent to the server is kept"
    )]
    DiskFull,
    /// The local database may only be read (`SQLITE_READONLY`): the file or its folder became
    /// read-only, or the database was opened for reading only.
    #[error(
        "the local database cannot be written to (it is read-only), so this was not saved: \
         restart the app, and if that does not help ask whoever looks after the laptop to check \
         the app's data folder; work not yet sent to the server is kept"
    )]
    ReadOnly,
    #[error("the local database could not be migrated: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("{0} is not a synced table")]
    UnknownTable(String),
    #[error("the sync server cannot be reached: {0}")]
    Unreachable(String),
    #[error("the server refused the request ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("not signed in: sign in to the server first")]
    NotSignedIn,
    #[error("not enough points: {available} available, {requested} asked")]
    InsufficientPoints { available: i64, requested: i64 },
    /// Free text that holds a card number (a payment reference, a description): card numbers
    /// are never written down in the PMS.
    #[error(
        "this looks like a card number: card numbers are never written down here; remove it \
         from the {field} (keep only the last four digits or the payment provider's reference)"
    )]
    CardNumber { field: &'static str },
    #[error("the folio is closed and takes no new entries")]
    FolioClosed,
    /// Check-out refused: the stay's folios are not settled (a manager may let the guest go).
    #[error(
        "the guest still owes {}: take the payment first, or a manager lets the guest leave with \
         the balance open by giving a reason",
        pms_sync_protocol::money::format_minor(*balance_minor, currency)
    )]
    BalanceDue {
        balance_minor: i64,
        currency: String,
    },
    #[error("only a manager or the owner can let a guest leave with a balance open")]
    ManagerRequired,
    #[error("a {status} stay takes no payment")]
    StayNotPayable { status: String },
    /// A value the clerk typed that the rules refuse, with the field at fault.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A registration card was asked for a date nobody arrives on.
    #[error("no guests arrive on {date}, so there is no registration card to print")]
    NoArrivals { date: chrono::NaiveDate },
    #[error("the initial sync was interrupted; run it again to resume where it stopped")]
    Interrupted,
    #[error(
        "this local database holds another tenant's data: use a new database for this account"
    )]
    OtherTenant,
    #[error("unexpected data: {0}")]
    Data(String),
}

impl From<rusqlite::Error> for Error {
    /// A full disk and a read-only database get errors of their own: a person can do something
    /// about them, and the desk must say so rather than show an SQLite message.
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::DiskFull,
            Some(ErrorCode::ReadOnly) => Self::ReadOnly,
            _ => Self::Local(error),
        }
    }
}

impl Error {
    /// Worth retrying later (the network), as opposed to a problem a person must fix.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_))
            || matches!(self, Self::Refused { status, .. } if *status >= 500)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
