//! Configuration from the environment. Each variable is read where a command needs it, so
//! `migrate` does not ask for the serving URL and `serve` never sees the admin one.

use crate::error::{Error, Result};

pub const ADMIN_URL_VAR: &str = "PMS_ADMIN_DATABASE_URL";
pub const APP_URL_VAR: &str = "DATABASE_URL";
pub const APP_ROLE_VAR: &str = "PMS_APP_ROLE";
pub const APP_PASSWORD_VAR: &str = "PMS_APP_PASSWORD";
pub const DEFAULT_APP_ROLE: &str = "pms_app";

/// A secret read from the environment; never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The owner's URL, used by `migrate` and every admin command.
pub fn admin_database_url() -> Result<String> {
    required_url(
        ADMIN_URL_VAR,
        "export the owner's URL, e.g. PMS_ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pms",
    )
}

/// The unprivileged login role's URL, used by `serve`.
pub fn app_database_url() -> Result<String> {
    required_url(
        APP_URL_VAR,
        "export the serving role's URL, e.g. DATABASE_URL=postgres://pms_app@127.0.0.1:5432/pms",
    )
}

/// The name of the login role `migrate` creates for `serve`.
pub fn app_role() -> Result<String> {
    let role = std::env::var(APP_ROLE_VAR).unwrap_or_else(|_| DEFAULT_APP_ROLE.to_owned());
    validate_role_name(&role)?;
    Ok(role)
}

/// The password `migrate` sets on the login role, where one is given.
pub fn app_password() -> Option<Secret> {
    std::env::var(APP_PASSWORD_VAR)
        .ok()
        .filter(|p| !p.is_empty())
        .map(Secret::new)
}

pub fn validate_role_name(role: &str) -> Result<()> {
    let valid = !role.is_empty()
        && role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidEnv {
            var: APP_ROLE_VAR,
            reason: format!("{role:?} is not a plain lower-case identifier"),
            hint: "use letters, digits and underscores, e.g. pms_app",
        })
    }
}

fn required_url(var: &'static str, hint: &'static str) -> Result<String> {
    let value = std::env::var(var).map_err(|_| Error::MissingEnv { var, hint })?;
    if value.trim().is_empty() {
        return Err(Error::MissingEnv { var, hint });
    }
    if !(value.starts_with("postgres://") || value.starts_with("postgresql://")) {
        return Err(Error::InvalidEnv {
            var,
            reason: "not a postgres:// URL".to_owned(),
            hint,
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_plain_identifiers() {
        for ok in ["pms_app", "_x", "a1"] {
            assert!(validate_role_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1abc", "Pms", "pms-app", "x\"; drop", &"a".repeat(64)] {
            assert!(validate_role_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2".into())),
            "Secret(***)"
        );
    }
}
