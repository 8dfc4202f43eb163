//! The crate's error type. Messages are one line and say what to do about the problem.

use std::fmt;

/// A database URL with its password hidden, for messages and logs.
#[derive(Clone)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    pub fn new(raw: &str) -> Self {
        match url::Url::parse(raw) {
            Ok(mut url) => {
                if url.password().is_some() {
                    // set_password only fails for URLs that cannot carry one
                    let _ = url.set_password(Some("***"));
                }
                Self(url.to_string())
            }
            Err(_) => Self("<unparseable URL>".to_owned()),
        }
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{var} is not set: {hint}")]
    MissingEnv {
        var: &'static str,
        hint: &'static str,
    },

    #[error("{var} is not a valid value ({reason}): {hint}")]
    InvalidEnv {
        var: &'static str,
        reason: String,
        hint: &'static str,
    },

    #[error("cannot connect to {url} ({reason}): check that Postgres is running and that {var} is right")]
    Connect {
        var: &'static str,
        url: RedactedUrl,
        reason: String,
    },

    #[error("applying the migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("the login role {role:?} is unsafe for `serve` ({reason}): use another PMS_APP_ROLE or fix the role")]
    UnsafeAppRole { role: String, reason: String },

    #[error("{0}")]
    Invalid(String),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_but_keeps_the_rest() {
        let url = RedactedUrl::new("postgres://pms_app:s3cret@db.example:5432/pms");
        assert_eq!(
            url.to_string(),
            "postgres://pms_app:***@db.example:5432/pms"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn garbage_is_not_echoed() {
        assert_eq!(
            RedactedUrl::new("::not a url::").to_string(),
            "<unparseable URL>"
        );
    }
}
