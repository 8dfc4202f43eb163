//! Errors of the sync client; messages say what to do.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("local database error: {0}")]
    Local(#[from] rusqlite::Error),
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
    #[error("the initial sync was interrupted; run it again to resume where it stopped")]
    Interrupted,
    #[error(
        "this local database holds another tenant's data: use a new database for this account"
    )]
    OtherTenant,
    #[error("unexpected data: {0}")]
    Data(String),
}

impl Error {
    /// Worth retrying later (the network), as opposed to a problem a person must fix.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_))
            || matches!(self, Self::Refused { status, .. } if *status >= 500)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
