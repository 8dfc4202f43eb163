//! Where campaign messages go: a provider interface with SMTP (lettre) for e-mail, and a file
//! provider (one JSON line per message) for local use and demos.
//!
//! Configured by `PMS_MAIL_PROVIDER` (`smtp` or `file`, default `file`), with `PMS_SMTP_URL`
//! (`smtp://user:password@host:587?tls=required`, or `smtps://…`; see lettre's
//! `AsyncSmtpTransport::from_url`), `PMS_MAIL_FILE` (default `pms-outbox.jsonl`) and
//! `PMS_MAIL_FROM`. The SMTP URL holds a password: it is never logged.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outgoing {
    /// `email` or `sms`.
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Why a message was not sent; kept with the recipient.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// A configured provider.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: lettre::message::Mailbox,
    },
    File {
        path: PathBuf,
    },
}

impl std::fmt::Debug for Mailer {
    // The transport holds credentials: show only the kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp { from, .. } => write!(f, "Mailer::Smtp(from {from})"),
            Mailer::File { path } => write!(f, "Mailer::File({})", path.display()),
        }
    }
}

impl Mailer {
    /// From the environment (see the module header).
    pub fn from_env() -> Result<Self> {
        let from = std::env::var("PMS_MAIL_FROM")
            .unwrap_or_else(|_| "PMS <no-reply@localhost>".to_owned());
        match std::env::var("PMS_MAIL_PROVIDER").as_deref() {
            Ok("smtp") => {
                let url = std::env::var("PMS_SMTP_URL").map_err(|_| Error::MissingEnv {
                    var: "PMS_SMTP_URL",
                    hint: "set e.g. PMS_SMTP_URL=smtp://user:password@mail.example.com:587?tls=required",
                })?;
                Self::smtp(&url, &from)
            }
            Ok("file") | Err(_) => Ok(Self::File {
                path: std::env::var("PMS_MAIL_FILE")
                    .unwrap_or_else(|_| "pms-outbox.jsonl".to_owned())
                    .into(),
            }),
            Ok(other) => Err(Error::InvalidEnv {
                var: "PMS_MAIL_PROVIDER",
                reason: format!("{other:?} is not a provider"),
                hint: "use smtp or file",
            }),
        }
    }

    /// An SMTP provider for `url`, sending as `from`.
    pub fn smtp(url: &str, from: &str) -> Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // the URL may hold a password: the message names the variable, not the value
            .map_err(|_| Error::InvalidEnv {
                var: "PMS_SMTP_URL",
                reason: "not a valid SMTP URL".to_owned(),
                hint: "use smtp://user:password@host:port (or smtps://…)",
            })?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(|_| Error::InvalidEnv {
            var: "PMS_MAIL_FROM",
            reason: format!("{from:?} is not a mailbox"),
            hint: "use e.g. PMS_MAIL_FROM='Hotel <no-reply@example.com>'",
        })?;
        Ok(Self::Smtp {
            transport: Box::new(transport),
            from,
        })
    }

    pub async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        match self {
            Mailer::Smtp { transport, from } => {
                if message.channel != "email" {
                    return Err(SendError(format!(
                        "no {} provider is configured",
                        message.channel
                    )));
                }
                let to = message
                    .to
                    .parse()
                    .map_err(|_| SendError(format!("{:?} is not an e-mail address", message.to)))?;
                let email = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&message.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.body.clone())
                    .map_err(|e| SendError(format!("the message could not be built: {e}")))?;
                transport
                    .send(email)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError(format!("the mail server refused or failed: {e}")))
            }
            Mailer::File { path } => {
                let mut line =
                    serde_json::to_string(message).map_err(|e| SendError(e.to_string()))?;
                line.push('\n');
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(|e| SendError(format!("cannot write {}: {e}", path.display())))?;
                file.write_all(line.as_bytes())
                    .await
                    .map_err(|e| SendError(format!("cannot write {}: {e}", path.display())))
            }
        }
    }
}
